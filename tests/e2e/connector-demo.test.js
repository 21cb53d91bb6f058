'use strict';
/* The demo with the real services: ocpp-bridge, auth, meter and connector
 * against the strict CSMS; the operator drives the simulated car with
 * `sitegatectl sim`. The auth service asks the Central System (Authorize), the
 * simulated meter follows the connector's hardware state. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./lib/harness');
const c = require('./connector-lib');

const missing = ['auth', 'meter'].filter((s) => !fs.existsSync(h.serviceBinary(s)));

test('demo: plug in, RFID tap, charging, unplug with the real auth and meter services', {
	timeout: h.ms(120000),
	skip: missing.length ? `not built: ${missing.join(', ')}` : false,
}, async (t) => {
	const env = await h.withGateway(t, { csms: true, chargePoints: [{ id: 'CP1', connectors: 2 }] });
	for (const topic of ['+/+/tx', '+/+/state', '+/+/hw', '+/+/meter']) await env.probe.subscribe(topic);
	env.bridge = await env.startService('ocpp-bridge');
	await env.csms.waitForCall('CP1', 'BootNotification', { timeout: h.ms(20000) });
	await env.startService('auth');
	await env.startService('meter');
	await c.startConnector(env);
	await c.setKey(env, 'CP1', 'MinimumStatusDuration', 0);
	const { csms, probe } = env;
	const mark = csms.mark();

	await c.sim(env, 'CP1', 1, 'plug');
	await c.waitStatus(env, 'CP1', 1, 'Preparing', { after: mark });
	await c.sim(env, 'CP1', 1, 'ev', 'C');
	await c.sim(env, 'CP1', 1, 'rfid', 'DEMO1');
	const authorize = await csms.waitForCall('CP1', 'Authorize', { after: mark, timeout: h.ms(20000) });
	assert.equal(authorize.idTag, 'DEMO1');
	const start = await csms.waitForCall('CP1', 'StartTransaction', { after: mark, timeout: h.ms(20000) });
	assert.equal(start.idTag, 'DEMO1');
	await c.waitStatus(env, 'CP1', 1, 'Charging', { after: mark });
	/* the simulated meter counts while the contactor is closed */
	const s1 = await probe.waitFor('CP1/1/meter', (p) => p.power_w > 0, { timeout: h.ms(20000) });
	await probe.waitFor('CP1/1/meter', (p) => p.energy_wh > s1.payload.energy_wh, { timeout: h.ms(20000) });
	await c.sim(env, 'CP1', 1, 'unplug');
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark, timeout: h.ms(20000) });
	assert.equal(stop.reason, 'EVDisconnected');
	assert.ok(stop.meterStop > start.meterStart, `meterStop ${stop.meterStop} > meterStart ${start.meterStart}`);
	await c.waitStatus(env, 'CP1', 1, 'Available', { after: mark });
	assert.deepEqual(c.statuses(env, 'CP1', 1, mark.traffic),
		['Preparing', 'Charging', 'Finishing', 'Available']);
	c.assertClean(env);
});
