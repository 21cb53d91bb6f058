'use strict';
/* A StartTransaction.conf that refuses the idTag: StopTransactionOnInvalidId
 * stops the transaction (conn_control stop, DeAuthorized) or suspends it, after
 * MaxEnergyOnInvalidId has flowed (from the meter's readings against the
 * transaction's start), also for a transaction started offline and refused
 * once the gateway is back online, and across a restart of sitegate-auth. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const a = require('./auth-common');

const TEST_TIMEOUT = h.ms(120000);

/* The bridge's ocpp_tx_result for a StartTransaction the Central System refused. */
function refused(env, txRef, status = 'Invalid') {
	return env.probe.publish('CP1/ocpp/txresult', {
		tx_ref: txRef,
		action: 'StartTransaction',
		transaction_id: 900 + txRef,
		payload: { transactionId: 900 + txRef, idTagInfo: { status } },
	});
}

const sample = (env, conn, wh) => env.probe.publish(`CP1/${conn}/meter`, { ts: Date.now(), energy_wh: wh }, { qos: 0 });

test('StopTransactionOnInvalidId: stop, or suspend, when the Central System refuses the idTag',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await a.authGateway(t);
		env.csms.handle('StartTransaction', (p) => ({
			transactionId: 40 + p.connectorId,
			idTagInfo: { status: p.idTag === 'GOODTAG' ? 'Accepted' : 'Invalid' },
		}));
		const control = await a.serveControl(env);
		const startTx = async (conn, txRef, idTag) => {
			await a.txEvent(env, 'CP1', conn, 'started', txRef, idTag, 1000);
			const ack = await env.probe.request('CP1/ocpp/tx/StartTransaction', {
				payload: { connectorId: conn, idTag, meterStart: 1000, timestamp: new Date().toISOString() },
				tx_ref: txRef,
			});
			assert.ok(ack.seq > 0);
		};

		await startTx(1, 21, 'GOODTAG');
		await startTx(1, 22, 'BADTAG');
		let c = await control.next();
		assert.equal(c.topic, 'CP1/1/control');
		assert.deepEqual({ action: c.payload.action, reason: c.payload.reason, tx_ref: c.payload.tx_ref },
			{ action: 'stop', reason: 'DeAuthorized', tx_ref: 22 });
		assert.equal(control.length, 1, 'nothing for the accepted transaction');
		await a.txEvent(env, 'CP1', 1, 'stopped', 22, 'BADTAG', 1000);

		await a.setKeys(env, 'CP1', { StopTransactionOnInvalidId: false });
		await startTx(2, 23, 'WORSETAG');
		c = await control.next();
		assert.equal(c.topic, 'CP1/2/control');
		assert.equal(c.payload.action, 'suspend');
		assert.equal(c.payload.tx_ref, 23);
		assert.equal(env.csms.validationFailures.length, 0);
	});

test('MaxEnergyOnInvalidId: the energy flows first, measured from the transaction start',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await a.authGateway(t, { keys: { MaxEnergyOnInvalidId: 500 } });
		const control = await a.serveControl(env);

		await sample(env, 1, 900);
		await a.txEvent(env, 'CP1', 1, 'started', 31, 'BADTAG', 1000);
		await refused(env, 31);
		await sample(env, 1, 1200);
		await sample(env, 1, 1499.5);
		await a.sync(env);
		assert.equal(control.length, 0, 'still below 500 Wh');
		await sample(env, 1, 1500);
		const c = await control.next();
		assert.deepEqual({ topic: c.topic, action: c.payload.action, tx_ref: c.payload.tx_ref },
			{ topic: 'CP1/1/control', action: 'stop', tx_ref: 31 });
		await a.txEvent(env, 'CP1', 1, 'stopped', 31, 'BADTAG', 1500);
		await sample(env, 1, 1600);
		await a.sync(env);
		assert.equal(control.length, 1, 'once');

		/* a transaction without meterStart: measured from the first reading after its start */
		await a.txEvent(env, 'CP1', 2, 'started', 32, 'BADTAG');
		await refused(env, 32, 'Blocked');
		await sample(env, 2, 7000);
		await sample(env, 2, 7400);
		await a.sync(env);
		assert.equal(control.length, 1);
		/* the watch survives a restart of sitegate-auth */
		await a.restartAuth(env);
		await sample(env, 2, 7499);
		await a.sync(env);
		assert.equal(control.length, 1);
		await sample(env, 2, 7500);
		const c2 = await control.next();
		assert.deepEqual({ action: c2.payload.action, tx_ref: c2.payload.tx_ref }, { action: 'stop', tx_ref: 32 });
	});

test('a transaction started offline and refused once back online is capped as well', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t, {
		keys: { MaxEnergyOnInvalidId: 500, StopTransactionOnInvalidId: false, AllowOfflineTxForUnknownId: true },
	});
	const control = await a.serveControl(env);
	await a.csmsDown(env);
	const r = await a.authorize(env, 'CP1', 1, 'STRANGER');
	assert.deepEqual({ status: r.status, source: r.source, offline: r.offline },
		{ status: 'Accepted', source: 'unknown', offline: true });
	await a.txEvent(env, 'CP1', 1, 'started', 41, 'STRANGER', 2000);
	await env.probe.request('CP1/ocpp/tx/StartTransaction', {
		payload: { connectorId: 1, idTag: 'STRANGER', meterStart: 2000, timestamp: new Date().toISOString() },
		tx_ref: 41,
	});
	/* charging offline well beyond the cap */
	await sample(env, 1, 2300);
	await sample(env, 1, 2800);
	await a.sync(env);
	assert.equal(control.length, 0);
	/* back online, the queued StartTransaction is refused: suspended at once */
	await a.csmsUp(env, 'CP1', {
		setup: (csms) => csms.handle('StartTransaction', () => ({ transactionId: 5, idTagInfo: { status: 'Invalid' } })),
	});
	const c = await control.next(h.ms(60000));
	assert.deepEqual({ topic: c.topic, action: c.payload.action, tx_ref: c.payload.tx_ref },
		{ topic: 'CP1/1/control', action: 'suspend', tx_ref: 41 });
	await env.auth.waitForLog(/transaction 41 .*suspending \(800 Wh delivered\)/);
});
