'use strict';
/* ocpp-bridge: CALLs the Central System never answers. Each fails after the
 * bridge's CALL timeout (BRIDGE_CALL_TIMEOUT_MS, 30 s): a BootNotification is
 * sent again after the retry delay (30 s), a service's ocpp_send is answered
 * Timeout, a queued transaction message counts the attempt and is retried.
 * The tests wait half a minute or more each, so they run side by side, each
 * with its own broker, bridge and CSMS. */
const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const CALL_TIMEOUT_MS = 30000; /* BRIDGE_CALL_TIMEOUT_MS */
const BOOT_RETRY_MS = 30000; /* BRIDGE_BOOT_RETRY_S */
const SLACK = h.ms(3000);

describe('unanswered CALLs', { concurrency: true }, () => {
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
		const failed = await bridge.waitForLog(/BootNotification failed: Timeout/, { timeout: CALL_TIMEOUT_MS + SLACK });
		const second = await csms.waitForCallEntry('CP1', 'BootNotification',
			{ after: first.index + 1, timeout: BOOT_RETRY_MS + SLACK });
		const gap = second.ts - first.ts;
		assert.ok(gap >= CALL_TIMEOUT_MS + BOOT_RETRY_MS - 100 && gap < CALL_TIMEOUT_MS + BOOT_RETRY_MS + SLACK,
			`retried after ${gap} ms (${failed.line})`);
		assert.deepEqual(second.payload, first.payload);
		const between = csms.traffic.slice(first.index + 1, second.index).filter((e) => e.dir === 'in');
		assert.deepEqual(between, [], 'nothing sent while the BootNotification was outstanding');

		await csms.waitForCall('CP1', 'StatusNotification', { after: second.index });
		assert.equal(csms.events.filter((e) => e.type === 'connect').length, 1, 'on the same connection');
	});

	test('an ocpp_send the CSMS does not answer is answered Timeout after the CALL timeout', { timeout: h.ms(60000) }, async (t) => {
		const env = await h.withGateway(t, { csms: true });
		const { csms, probe } = env;
		csms.handle('DataTransfer', () => csms.NOREPLY);
		await env.startService('ocpp-bridge');
		await probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');

		const t0 = Date.now();
		const res = await probe.request('CP1/ocpp/send/DataTransfer', { payload: { vendorId: 'sitegate', messageId: 'lost' } },
			{ timeout: CALL_TIMEOUT_MS + SLACK });
		const took = Date.now() - t0;
		assert.equal(res.error, 'Timeout');
		assert.ok(took >= CALL_TIMEOUT_MS - 100 && took < CALL_TIMEOUT_MS + SLACK, `answered after ${took} ms`);
		/* and the next CALL goes out */
		csms.handle('DataTransfer', () => ({ status: 'Accepted' }));
		assert.deepEqual((await probe.request('CP1/ocpp/send/DataTransfer', { payload: { vendorId: 'sitegate' } })).payload,
			{ status: 'Accepted' });
	});

	test('a queued message without an answer: the timeout counts as an attempt, then it is retried', { timeout: h.ms(60000) }, async (t) => {
		const env = await h.withGateway(t, { csms: true });
		const { csms, probe } = env;
		await probe.subscribe('CP1/ocpp/txresult');
		let n = 0;
		csms.handle('StartTransaction', () => (++n === 1 ? csms.NOREPLY : { transactionId: 9, idTagInfo: { status: 'Accepted' } }));
		await env.startService('ocpp-bridge');
		await probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
		for (const [key, value] of [['TransactionMessageAttempts', '2'], ['TransactionMessageRetryInterval', '1']]) {
			assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key, value })).status, 'Accepted');
		}
		const ack = await probe.request('CP1/ocpp/tx/StartTransaction', {
			payload: { connectorId: 1, idTag: 'TAG1', meterStart: 0, timestamp: new Date().toISOString() },
			tx_ref: 1,
		});
		assert.ok(ack.seq > 0);
		const res = await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 1, { timeout: CALL_TIMEOUT_MS + SLACK + 1000 });
		assert.equal(Boolean(res.payload.dropped), false);
		assert.equal(res.payload.transaction_id, 9);
		const starts = csms.calls('CP1', 'StartTransaction');
		assert.equal(starts.length, 2);
		const gap = starts[1].ts - starts[0].ts;
		assert.ok(gap >= CALL_TIMEOUT_MS + 1000 - 100 && gap < CALL_TIMEOUT_MS + 1000 + SLACK, `retried after ${gap} ms`);
	});
});
