'use strict';
/* ocpp-bridge: a queue of 1,000 transaction messages survives kill -9. They
 * are pushed while the Central System is down; the bridge is SIGKILLed the
 * moment the last ocpp_tx_ack arrives, so every acknowledged message must
 * already be on disk; after a restart each is delivered exactly once, in
 * order, with the transactionId of the StartTransaction.conf filled in. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { startCsms } = require('../csms/csms');

const N_METER = 998;
const WINDOW = 32; /* ocpp_tx requests in flight at once */

const ts = () => new Date().toISOString();
const verboseLog = (name) => (process.env.SITEGATE_E2E_VERBOSE ? (l) => process.stderr.write(`[${name}] ${l}\n`) : undefined);

test('1,000 queued messages survive SIGKILL: each delivered exactly once, in order', { timeout: h.ms(80000) }, async (t) => {
	const env = await h.withGateway(t, { csms: true });
	const { probe } = env;
	const port = env.csms.port;
	let bridge = await env.startService('ocpp-bridge');
	await probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
	await env.csms.close();
	await probe.waitFor('CP1/state', (p) => p.connection !== 'connected');

	/* Start, 998 periodic MeterValues, Stop: transactionId 0, unknown while offline */
	const msgs = [['StartTransaction', { connectorId: 1, idTag: 'TAG1', meterStart: 0, timestamp: ts() }, false]];
	for (let n = 1; n <= N_METER; n++) {
		msgs.push(['MeterValues', {
			connectorId: 1,
			transactionId: 0,
			meterValue: [{ timestamp: ts(), sampledValue: [{ value: String(n), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }],
		}, true]);
	}
	msgs.push(['StopTransaction', { transactionId: 0, meterStop: N_METER + 1, timestamp: ts() }, false]);
	assert.equal(msgs.length, 1000);

	const seqs = new Array(msgs.length);
	let killedAt = null;
	/* requests publish in call order once the reply topic is subscribed: so the queue's
	 * order is the push order, which the increasing seqs confirm */
	await probe.subscribe(probe.replyTopic);
	const t0 = Date.now();
	let next = 0;
	async function worker() {
		while (next < msgs.length) {
			const i = next++;
			const [action, payload, periodic] = msgs[i];
			const ack = await probe.request(`CP1/ocpp/tx/${action}`, { payload, tx_ref: 1, ...(periodic ? { periodic } : {}) },
				{ timeout: h.ms(20000) });
			seqs[i] = ack.seq;
			/* the last ack: the bridge dies at once */
			if (i === msgs.length - 1) {
				bridge.kill('SIGKILL');
				killedAt = Date.now();
			}
		}
	}
	await Promise.all(Array.from({ length: WINDOW }, worker));
	const pushMs = killedAt - t0;
	assert.deepEqual(await bridge.waitExit(), { code: null, signal: 'SIGKILL' });
	for (let i = 0; i < seqs.length; i++) {
		assert.ok(seqs[i] > 0, `message ${i} stored: ${seqs[i]}`);
		if (i) assert.ok(seqs[i] > seqs[i - 1], `message ${i} queued after message ${i - 1}`);
	}

	/* the Central System and the bridge come back */
	const csms = await startCsms({ port, log: verboseLog('csms#2') });
	env.onTeardown(() => csms.close());
	csms.handle('StartTransaction', () => ({ transactionId: 77, idTagInfo: { status: 'Accepted' } }));
	const t1 = Date.now();
	bridge = await env.startService('ocpp-bridge');
	await csms.waitForCall('CP1', 'StopTransaction', { timeout: h.ms(45000) });
	const deliverMs = Date.now() - t1;

	const tx = csms.traffic.filter((e) => e.dir === 'in' && e.type === 'CALL' &&
		['StartTransaction', 'MeterValues', 'StopTransaction'].includes(e.action));
	assert.equal(tx.length, 1000, 'each exactly once');
	assert.equal(tx[0].action, 'StartTransaction');
	assert.deepEqual(tx[0].payload, msgs[0][1]);
	for (let n = 1; n <= N_METER; n++) {
		const e = tx[n];
		assert.equal(e.action, 'MeterValues', `message ${n}`);
		assert.equal(e.payload.transactionId, 77, `message ${n}: the transactionId filled in`);
		assert.equal(e.payload.meterValue[0].sampledValue[0].value, String(n), `message ${n} in order`);
		assert.deepEqual(e.payload.meterValue, msgs[n][1].meterValue);
	}
	assert.deepEqual(tx[999].payload, { ...msgs[999][1], transactionId: 77 });
	/* one at a time: each sent after the previous one was answered */
	for (let i = 1; i < tx.length; i++) {
		const answer = csms.traffic.find((e) => e.dir === 'out' && e.id === tx[i - 1].id);
		assert.ok(answer && answer.index < tx[i].index, `message ${i} after the answer to ${i - 1}`);
	}
	await probe.waitFor('CP1/state', (p) => p.connection === 'connected' && p.queue_depth === 0 && p.queue_drops === 0);
	assert.equal(csms.validationFailures.length, 0);
	t.diagnostic(`1000 acks in ${pushMs} ms; delivered in ${deliverMs} ms after the restart`);
});
