'use strict';
/* sitegate-connector: the demo's charging session end to end against the strict
 * CSMS, driven with `sitegatectl sim` as an operator would; two connectors at once. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const c = require('./connector-lib');

test('a full session: plug in, RFID tap, charging, unplug', { timeout: h.ms(90000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms, probe } = env;
	await c.waitStatus(env, 'CP1', 1, 'Available');
	await c.waitStatus(env, 'CP1', 0, 'Available');
	const mark = csms.mark();

	env.meter.set('CP1', 1, 12000);
	await c.sim(env, 'CP1', 1, 'plug');
	await c.waitStatus(env, 'CP1', 1, 'Preparing', { after: mark });
	await probe.waitFor('CP1/1/hw', (p) => p.plugged && p.ev_state === 'B' && !p.locked);
	await c.sim(env, 'CP1', 1, 'rfid', 'DEMO-TAG');
	const auth = await probe.waitFor('CP1/1/authorize', (p) => p.id_tag === 'DEMO-TAG');
	assert.equal(auth.payload.purpose, 'start');
	const startEntry = await csms.waitForCallEntry('CP1', 'StartTransaction', { after: mark });
	assert.equal(startEntry.payload.connectorId, 1);
	assert.equal(startEntry.payload.idTag, 'DEMO-TAG');
	assert.equal(startEntry.payload.meterStart, 12000);
	assert.ok(Math.abs(Date.parse(startEntry.payload.timestamp) - Date.now()) < 10000);
	assert.equal(startEntry.payload.reservationId, undefined);
	const txId = await c.transactionIdOf(env, 'CP1', startEntry);
	const started = await probe.waitFor('CP1/1/tx', (p) => p.event === 'started');
	assert.equal(started.payload.id_tag, 'DEMO-TAG');
	assert.ok(started.payload.tx_ref > 0);
	/* the EV is in state B: energy offered, not taken */
	await c.waitStatus(env, 'CP1', 1, 'SuspendedEV', { after: mark });
	await probe.waitFor('CP1/1/state', (p) => p.status === 'SuspendedEV' && p.transaction_id === txId && p.id_tag === 'DEMO-TAG');
	await c.sim(env, 'CP1', 1, 'ev', 'C');
	await c.waitStatus(env, 'CP1', 1, 'Charging', { after: mark });
	await probe.waitFor('CP1/1/hw', (p) => p.contactor && p.locked && p.offered_a === 32 && p.ev_state === 'C');
	await env.meter.sample('CP1', 1, 12500);
	env.meter.set('CP1', 1, 13456);

	await c.sim(env, 'CP1', 1, 'unplug');
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.transactionId, txId);
	assert.equal(stop.meterStop, 13456);
	assert.equal(stop.reason, 'EVDisconnected');
	assert.equal(stop.idTag, undefined);
	assert.equal(stop.transactionData.length, 1);
	const read = env.meter.reads.find((r) => r.stop);
	assert.equal(read.tx_ref, started.payload.tx_ref);
	assert.equal(read.reason, 'EVDisconnected');
	/* unlocked (UnlockConnectorOnEVSideDisconnect), the cable comes out: Available */
	await c.waitStatus(env, 'CP1', 1, 'Available', { after: mark });
	const stopped = await probe.waitFor('CP1/1/tx', (p) => p.event === 'stopped');
	assert.equal(stopped.payload.reason, 'EVDisconnected');
	assert.equal(stopped.payload.meter_wh, 13456);
	assert.equal(stopped.payload.transaction_id, txId);
	assert.deepEqual(c.statuses(env, 'CP1', 1, mark.traffic),
		['Preparing', 'SuspendedEV', 'Charging', 'Finishing', 'Available']);
	/* the status on the bus says it too, and sitegatectl status shows it */
	const st = await env.ctl(['status']);
	assert.match(st.stdout, /connector 1\s+Available/);
	c.assertClean(env);
});

test('two connectors charge at once, and sitegatectl sim reports errors', { timeout: h.ms(90000) }, async (t) => {
	const env = await c.connGateway(t, {
		chargePoints: [{ id: 'CP1', connectors: [{ id: 1 }, { id: 2, cable: 'fixed' }] }, { id: 'CP2', connectors: 1 }],
	});
	const { csms } = env;
	const mark = csms.mark();
	const s1 = await c.startCharging(env, 'CP1', 1, 'TAG-A', { wh: 100 });
	const s2 = await c.startCharging(env, 'CP1', 2, 'TAG-B', { wh: 200 });
	const s3 = await c.startCharging(env, 'CP2', 1, 'TAG-C', { wh: 300 });
	assert.deepEqual([s1.meterStart, s2.meterStart, s3.meterStart], [100, 200, 300]);
	const ids = new Set(csms.calls(null, 'StartTransaction').map((e) => `${e.cp}:${e.payload.idTag}`));
	assert.equal(ids.size, 3);
	/* tx_refs are unique per charge point */
	const refs = env.probe.messages.filter((m) => /\/tx$/.test(m.topic) && m.payload.event === 'started').map((m) => m.payload.tx_ref);
	assert.equal(new Set(refs).size, 3);

	/* stop CP1/2 with the tag; the others keep charging */
	env.meter.set('CP1', 2, 250);
	await c.sim(env, 'CP1', 2, 'rfid', 'TAG-B');
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'Local');
	assert.equal(stop.idTag, 'TAG-B');
	assert.equal(stop.meterStop, 250);
	const auth = env.authRequests.find((r) => r.purpose === 'stop');
	assert.equal(auth.tx_id_tag, 'TAG-B');
	await c.waitStatus(env, 'CP1', 2, 'Finishing', { after: mark });
	assert.equal(csms.calls(null, 'StopTransaction').length, 1);
	const st = await env.ctl(['--json', 'status']);
	const doc = JSON.parse(st.stdout);
	assert.equal(doc.charge_points.CP1.connectors['1'].status, 'Charging');
	assert.equal(doc.charge_points.CP2.connectors['1'].status, 'Charging');

	/* errors of the sim command */
	const bad = await env.ctl(['sim', 'CP1', '1', 'ev', 'X']);
	assert.equal(bad.code, 1);
	assert.match(bad.stderr, /ev needs a state A\.\.F/);
	const nocp = await env.ctl(['sim', 'CP9', '1', 'plug']);
	assert.equal(nocp.code, 64);
	const noconn = await env.ctl(['sim', 'CP1', '7', 'plug']);
	assert.equal(noconn.code, 1);
	assert.match(noconn.stderr, /no connector CP1\/7/);
	const json = await env.ctl(['--json', 'sim', 'CP1', '2', 'lock-fail']);
	assert.deepEqual(JSON.parse(json.stdout), { ok: false, error: 'this connector has no lock (fixed cable)' });
	c.assertClean(env);
});

test('hardware faults: vendorErrorCode is the hex sum of the bits', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	const mark = env.csms.mark();
	await c.sim(env, 'CP1', 1, 'fault', 'PowerSwitchFailure');
	const f1 = await c.waitStatus(env, 'CP1', 1, 'Faulted', { after: mark });
	assert.equal(f1.errorCode, 'PowerSwitchFailure');
	assert.equal(f1.vendorErrorCode, '0x8000');
	await c.sim(env, 'CP1', 1, 'fault', 'EVCommunicationError');
	const f2 = await env.csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.vendorErrorCode === '0xC000', after: mark });
	assert.equal(f2.status, 'Faulted');
	assert.equal(f2.errorCode, 'PowerSwitchFailure');
	assert.equal(f2.info, 'PowerSwitchFailure+EVCommunicationError');
	assert.equal(f2.vendorId, 'Sitegate');
	await c.sim(env, 'CP1', 1, 'clear');
	const ok = await c.waitStatus(env, 'CP1', 1, 'Available', { after: mark });
	assert.equal(ok.errorCode, 'NoError');
	assert.equal(ok.vendorErrorCode, undefined);
	/* a contactor that does not follow */
	await c.startCharging(env, 'CP1', 1, 'T');
	const m2 = env.csms.mark();
	await c.sim(env, 'CP1', 1, 'contactor-fail');
	await c.sim(env, 'CP1', 1, 'ev', 'B');
	await c.sim(env, 'CP1', 1, 'ev', 'C');
	const f3 = await c.waitStatus(env, 'CP1', 1, 'Faulted', { after: m2, errorCode: 'PowerSwitchFailure' });
	assert.equal(f3.vendorErrorCode, '0x8000');
	await c.sim(env, 'CP1', 1, 'contactor-ok');
	await c.waitStatus(env, 'CP1', 1, 'Charging', { after: m2 });
	c.assertClean(env);
});
