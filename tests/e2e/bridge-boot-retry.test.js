'use strict';
/* ocpp-bridge: a BootNotification the Central System never answers is retried
 * on the same connection: after the CALL's timeout (30 s) and the bridge's
 * retry delay after a failed BootNotification (30 s). A file of its own: this
 * one test takes about a minute. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const CALL_TIMEOUT_MS = 30000; /* BRIDGE_CALL_TIMEOUT_MS */
const BOOT_RETRY_MS = 30000; /* BRIDGE_BOOT_RETRY_S */

test('an unanswered BootNotification is retried; nothing else is sent meanwhile', { timeout: h.ms(85000) }, async (t) => {
	const env = await h.withGateway(t, { csms: true });
	const { csms, probe } = env;
	await probe.publish('CP1/1/state', { status: 'Available' }, { retain: true });
	let boots = 0;
	csms.handle('BootNotification', () => {
		boots++;
		if (boots === 1) return csms.NOREPLY;
		return { status: 'Accepted', interval: 300, currentTime: new Date().toISOString() };
	});
	const bridge = await env.startService('ocpp-bridge');

	const first = await csms.waitForCallEntry('CP1', 'BootNotification');
	/* while the BootNotification is outstanding the charge point is not registered */
	assert.equal((await probe.request('CP1/ocpp/send/Authorize', { payload: { idTag: 'T' } })).error, 'NotRegistered');
	await bridge.waitForLog(/BootNotification failed: Timeout/, { timeout: h.ms(CALL_TIMEOUT_MS + 5000) });
	const second = await csms.waitForCallEntry('CP1', 'BootNotification',
		{ after: first.index + 1, timeout: h.ms(BOOT_RETRY_MS + 10000) });
	const gap = second.ts - first.ts;
	assert.ok(gap >= CALL_TIMEOUT_MS + BOOT_RETRY_MS - 100 && gap < CALL_TIMEOUT_MS + BOOT_RETRY_MS + h.ms(5000),
		`retried after ${gap} ms`);
	assert.deepEqual(second.payload, first.payload);
	const between = csms.traffic.slice(first.index + 1, second.index).filter((e) => e.dir === 'in');
	assert.deepEqual(between, [], 'nothing sent while the BootNotification was outstanding');

	await csms.waitForCall('CP1', 'StatusNotification', { after: second.index });
	assert.equal(csms.events.filter((e) => e.type === 'connect').length, 1, 'on the same connection');
});
