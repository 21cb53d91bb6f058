'use strict';
/* ocpp-bridge: the persistent transaction-message queue. The probe plays the
 * connector service: it sends ocpp_tx requests and reads ocpp_tx_result
 * events. Order, transactionId substitution, TransactionMessageAttempts and
 * TransactionMessageRetryInterval, a Central System that goes away. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { startCsms } = require('../csms/csms');

const TEST_TIMEOUT = h.ms(40000);

const ts = () => new Date().toISOString();
const start = (meterStart) => ({ connectorId: 1, idTag: 'TAG1', meterStart, timestamp: ts() });
const mv = (transactionId, n) => ({
	connectorId: 1,
	transactionId,
	meterValue: [{ timestamp: ts(), sampledValue: [{ value: String(n), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }],
});
const stop = (transactionId, meterStop) => ({ transactionId, meterStop, timestamp: ts() });
const TX_ACTIONS = new Set(['StartTransaction', 'StopTransaction', 'MeterValues']);
const verboseLog = (name) => (process.env.SITEGATE_E2E_VERBOSE ? (l) => process.stderr.write(`[${name}] ${l}\n`) : undefined);

/* Sends one ocpp_tx request; resolves with the ack's seq (asserted stored). */
async function push(probe, action, payload, txRef, periodic) {
	const ack = await probe.request(`CP1/ocpp/tx/${action}`, { payload, tx_ref: txRef, ...(periodic ? { periodic: true } : {}) });
	assert.ok(ack.seq > 0, `${action} of tx ${txRef} stored: ${JSON.stringify(ack)}`);
	return ack.seq;
}

/* The transaction messages a CSMS received from CP1, as short labels. */
function label(e) {
	if (e.action === 'StartTransaction') return `Start(${e.payload.meterStart})`;
	if (e.action === 'StopTransaction') return `Stop(${e.payload.transactionId},${e.payload.meterStop})`;
	return `MV(${e.payload.transactionId},${e.payload.meterValue[0].sampledValue[0].value})`;
}
const txCalls = (csms) => csms.traffic.filter((e) => e.cp === 'CP1' && e.dir === 'in' && e.type === 'CALL' && TX_ACTIONS.has(e.action));

async function queueEnv(t, keys = {}) {
	const env = await h.withGateway(t, { csms: true });
	await env.probe.subscribe('CP1/ocpp/txresult');
	const bridge = await env.startService('ocpp-bridge');
	await env.probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
	for (const [key, value] of Object.entries(keys)) {
		assert.equal((await env.csms.call('CP1', 'ChangeConfiguration', { key, value })).status, 'Accepted', key);
	}
	return { env, bridge, csms: env.csms, probe: env.probe };
}

const results = (probe) => probe.messages.filter((m) => m.topic === probe.topic('CP1/ocpp/txresult')).map((m) => m.payload);

test('the CSMS goes away mid-queue and comes back on the same port: nothing lost, order kept, transactionId filled in', { timeout: TEST_TIMEOUT }, async (t) => {
	const { env, bridge, csms, probe } = await queueEnv(t);
	const port = csms.port;
	/* the CSMS dies while MeterValues 3 is on its way: that one stays unanswered */
	csms.handle('MeterValues', (p) => {
		if (p.meterValue[0].sampledValue[0].value !== '3') return {};
		setImmediate(() => csms.close());
		return csms.NOREPLY;
	});
	await push(probe, 'StartTransaction', start(1000), 1);
	for (let n = 1; n <= 5; n++) await push(probe, 'MeterValues', mv(0, n), 1, true);
	await bridge.waitForLog(/CP1: connection lost/);
	await probe.waitFor('CP1/state', (p) => p.connection !== 'connected');
	/* what is not a transaction message is not queued: a service hears at once */
	assert.equal((await probe.request('CP1/ocpp/send/Authorize', { payload: { idTag: 'TAG1' } })).error, 'Offline');
	const tx1 = csms.lastTransactionId;
	assert.equal(tx1, 1);

	/* offline: more of transaction 1, and all of transaction 2, with transactionId 0 */
	for (let n = 6; n <= 8; n++) await push(probe, 'MeterValues', mv(0, n), 1, true);
	await push(probe, 'StopTransaction', stop(0, 1800), 1);
	await push(probe, 'StartTransaction', start(5000), 2);
	await push(probe, 'MeterValues', mv(0, 9), 2, true);
	await push(probe, 'StopTransaction', stop(0, 5900), 2);
	await probe.waitFor('CP1/state', (p) => p.connection !== 'connected' && p.queue_depth === 10);

	const again = await startCsms({ port, log: verboseLog('csms#2') });
	env.onTeardown(() => again.close());
	again.handle('StartTransaction', () => ({ transactionId: 501, idTagInfo: { status: 'Accepted' } }));
	await again.waitForCall('CP1', 'StopTransaction', { where: (p) => p.meterStop === 5900, timeout: h.ms(20000) });

	assert.deepEqual(txCalls(csms).map(label), ['Start(1000)', 'MV(1,1)', 'MV(1,2)', 'MV(1,3)']);
	assert.deepEqual(txCalls(again).map(label), [
		'MV(1,3)', 'MV(1,4)', 'MV(1,5)', 'MV(1,6)', 'MV(1,7)', 'MV(1,8)', 'Stop(1,1800)',
		'Start(5000)', 'MV(501,9)', 'Stop(501,5900)',
	]);
	assert.deepEqual(again.calls('CP1', 'BootNotification').length, 1);
	assert.ok(again.calls('CP1', 'BootNotification')[0].index < txCalls(again)[0].index, 'BootNotification first');

	/* one result per message, in order, with the transactionId the CSMS gave */
	await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 2 && p.action === 'StopTransaction');
	assert.deepEqual(results(probe).map((r) => [r.tx_ref, r.action, r.transaction_id, Boolean(r.dropped)]), [
		[1, 'StartTransaction', 1, false],
		...[1, 2, 3, 4, 5, 6, 7, 8].map(() => [1, 'MeterValues', 1, false]),
		[1, 'StopTransaction', 1, false],
		[2, 'StartTransaction', 501, false],
		[2, 'MeterValues', 501, false],
		[2, 'StopTransaction', 501, false],
	]);
	assert.deepEqual(results(probe)[0].payload, { transactionId: 1, idTagInfo: { status: 'Accepted' } });
	await probe.waitFor('CP1/state', (p) => p.connection === 'connected' && p.queue_depth === 0);
	assert.equal(again.validationFailures.length + csms.validationFailures.length, 0);
});

test('TransactionMessageAttempts and RetryInterval: retried after interval × n, dropped after the last attempt, the queue moves on', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe } = await queueEnv(t, { TransactionMessageAttempts: '3', TransactionMessageRetryInterval: '1' });
	csms.handle('StopTransaction', () => {
		throw csms.createRPCError('InternalError', 'try again later');
	});
	await push(probe, 'StartTransaction', start(0), 1);
	await push(probe, 'StopTransaction', stop(0, 100), 1);
	await push(probe, 'StartTransaction', start(200), 2);

	const dropped = await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 1 && p.action === 'StopTransaction');
	assert.equal(dropped.payload.dropped, true);
	assert.equal(dropped.payload.payload, undefined);
	assert.equal(dropped.payload.transaction_id, 1);
	const stops = csms.calls('CP1', 'StopTransaction');
	assert.equal(stops.length, 3, 'three attempts');
	for (const s of stops) assert.equal(s.payload.transactionId, 1);
	const gaps = [stops[1].ts - stops[0].ts, stops[2].ts - stops[1].ts];
	assert.ok(gaps[0] >= 1000 - 50 && gaps[0] < 1000 + h.ms(1000), `first retry after ${gaps[0]} ms (1 s)`);
	assert.ok(gaps[1] >= 2000 - 50 && gaps[1] < 2000 + h.ms(1000), `second retry after ${gaps[1]} ms (2 s)`);

	/* the queue moves on */
	const next = await csms.waitForCallEntry('CP1', 'StartTransaction', { where: (p) => p.meterStart === 200 });
	assert.ok(next.index > stops[2].index);
	assert.deepEqual(txCalls(csms).map((e) => e.action),
		['StartTransaction', 'StopTransaction', 'StopTransaction', 'StopTransaction', 'StartTransaction']);
	await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 2 && !p.dropped && p.transaction_id === 2);
	await probe.waitFor('CP1/state', (p) => p.queue_drops === 1 && p.queue_depth === 0);
});

test('time offline consumes no attempt', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe } = await queueEnv(t, { TransactionMessageAttempts: '2', TransactionMessageRetryInterval: '1' });
	let n = 0;
	csms.handle('StopTransaction', (p, cp, ctx) => {
		n++;
		if (n === 1) throw csms.createRPCError('InternalError', 'not now'); /* attempt 1 of 2 */
		if (n === 2) { /* the link dies while attempt 2 is out */
			setImmediate(() => csms.disconnect('CP1', { force: true }));
			return ctx.NOREPLY;
		}
		return { idTagInfo: { status: 'Accepted' } };
	});
	const mark = csms.mark();
	await push(probe, 'StartTransaction', start(0), 1);
	await push(probe, 'StopTransaction', stop(0, 100), 1);

	const res = await probe.waitFor('CP1/ocpp/txresult', (p) => p.action === 'StopTransaction', { timeout: h.ms(15000) });
	assert.equal(Boolean(res.payload.dropped), false, 'delivered, not dropped');
	assert.deepEqual(res.payload.payload, { idTagInfo: { status: 'Accepted' } });
	assert.equal(csms.calls('CP1', 'StopTransaction').length, 3);
	assert.equal(csms.events.filter((e, i) => i >= mark.events && e.type === 'connect').length, 1, 'over a new connection');
	assert.equal(results(probe).filter((r) => r.dropped).length, 0);
});

test('TransactionMessageAttempts 0 means one attempt, no retries', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe } = await queueEnv(t, { TransactionMessageAttempts: '0', TransactionMessageRetryInterval: '1' });
	csms.handle('StopTransaction', () => {
		throw csms.createRPCError('GenericError', 'no');
	});
	await push(probe, 'StartTransaction', start(0), 1);
	await push(probe, 'StopTransaction', stop(0, 100), 1);
	await push(probe, 'StartTransaction', start(300), 2);
	const dropped = await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 1 && p.action === 'StopTransaction');
	assert.equal(dropped.payload.dropped, true);
	await csms.waitForCall('CP1', 'StartTransaction', { where: (p) => p.meterStart === 300 });
	assert.equal(csms.calls('CP1', 'StopTransaction').length, 1);
});

test('a transaction message for a transaction that is not open is refused, not stored', { timeout: TEST_TIMEOUT }, async (t) => {
	const { probe } = await queueEnv(t);
	const ack = await probe.request('CP1/ocpp/tx/StopTransaction', { payload: stop(0, 1), tx_ref: 42 });
	assert.ok(ack.seq < 0, `refused: ${JSON.stringify(ack)}`);
	const unknownCp = await probe.request('CPX/ocpp/tx/StartTransaction', { payload: start(0), tx_ref: 1 });
	assert.ok(unknownCp.seq < 0);
	await push(probe, 'StartTransaction', start(0), 43);
	const dup = await probe.request('CP1/ocpp/tx/StartTransaction', { payload: start(0), tx_ref: 43 });
	assert.ok(dup.seq < 0, 'a second StartTransaction of one tx_ref');
});

test('a full outgoing CALL queue (services flooding ocpp_send) neither drops a transaction message nor loses a StatusNotification', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe } = await queueEnv(t, { TransactionMessageAttempts: '1' });
	await probe.subscribe(probe.replyTopic);
	csms.handle('DataTransfer', () => new Promise((resolve) => setTimeout(() => resolve({ status: 'Accepted' }), 30)));
	/* 70 at once: the bridge holds at most 64 CALLs (RPC_DEFAULT_MAX_QUEUE), the rest are refused */
	const sends = [];
	for (let i = 0; i < 70; i++) {
		sends.push(probe.request('CP1/ocpp/send/DataTransfer', { payload: { vendorId: 'flood', messageId: String(i) } },
			{ timeout: h.ms(20000) }));
	}
	/* while it is full: a transaction message and a connector's new status */
	const tx = push(probe, 'StartTransaction', start(777), 1);
	await probe.publish('CP1/1/state', { status: 'Preparing' }, { retain: true });
	await tx;
	const answers = await Promise.all(sends);
	const ok = answers.filter((a) => !a.error).length;
	assert.ok(ok >= 60 && ok <= 64, `${ok} DataTransfers went through`);
	for (const a of answers.filter((x) => x.error)) assert.equal(a.error, 'InternalError');

	const res = await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 1, { timeout: h.ms(15000) });
	assert.equal(Boolean(res.payload.dropped), false, 'delivered, not dropped');
	assert.equal(csms.calls('CP1', 'StartTransaction').length, 1);
	await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 1 && p.status === 'Preparing', timeout: h.ms(15000) });
});
