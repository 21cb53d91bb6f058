'use strict';
/* sitegate-connector: the Central System's calls it owns, through the real
 * ocpp-bridge: RemoteStartTransaction (with and without connectorId, with a
 * TxProfile), RemoteStopTransaction, UnlockConnector. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const c = require('./connector-lib');

const PROFILE = {
	chargingProfileId: 7,
	stackLevel: 1,
	chargingProfilePurpose: 'TxProfile',
	chargingProfileKind: 'Relative',
	chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] },
};

test('RemoteStartTransaction with connectorId and a TxProfile', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms, probe } = env;
	const mark = csms.mark();
	env.meter.set('CP1', 1, 500);
	await c.sim(env, 'CP1', 1, 'plug');
	await c.waitStatus(env, 'CP1', 1, 'Preparing', { after: mark });
	const r = await csms.call('CP1', 'RemoteStartTransaction', { connectorId: 1, idTag: 'APP-USER', chargingProfile: PROFILE });
	assert.deepEqual(r, { status: 'Accepted' });
	const auth = await probe.waitFor('CP1/1/authorize', (p) => p.id_tag === 'APP-USER');
	assert.equal(auth.payload.purpose, 'remote');
	const start = await csms.waitForCall('CP1', 'StartTransaction', { after: mark });
	assert.equal(start.connectorId, 1);
	assert.equal(start.idTag, 'APP-USER');
	assert.equal(start.meterStart, 500);
	const ev = await probe.waitFor('CP1/1/tx', (p) => p.event === 'started');
	assert.deepEqual(ev.payload.charging_profile, PROFILE);
	/* busy now, and a profile of another purpose is refused */
	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', { connectorId: 1, idTag: 'X' }), { status: 'Rejected' });
	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', {
		connectorId: 2, idTag: 'X', chargingProfile: { ...PROFILE, chargingProfilePurpose: 'TxDefaultProfile' },
	}), { status: 'Rejected' });
	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', { connectorId: 5, idTag: 'X' }), { status: 'Rejected' });
	c.assertClean(env);
});

test('RemoteStartTransaction without connectorId picks the connector with the EV', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms } = env;
	const mark = csms.mark();
	await c.sim(env, 'CP1', 2, 'plug');
	await c.waitStatus(env, 'CP1', 2, 'Preparing', { after: mark });
	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', { idTag: 'APP-2' }), { status: 'Accepted' });
	const start = await csms.waitForCall('CP1', 'StartTransaction', { after: mark });
	assert.equal(start.connectorId, 2);
	assert.equal(start.idTag, 'APP-2');
	/* then the free one; auth refusing it ends that session */
	await c.fakeAuth(env, (p) => ({ status: p.id_tag === 'NOPE' ? 'Invalid' : 'Accepted' }));
	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', { idTag: 'NOPE' }), { status: 'Accepted' });
	await env.probe.waitFor('CP1/1/authorize', (p) => p.id_tag === 'NOPE');
	await env.connector.waitForLog(/CP1\/1: idTag "NOPE" not accepted: Invalid/);
	assert.equal(csms.calls('CP1', 'StartTransaction').length, 1);
	c.assertClean(env);
});

test('RemoteStopTransaction: Rejected for an unknown id, Accepted and Remote for the running one', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms } = env;
	assert.deepEqual(await csms.call('CP1', 'RemoteStopTransaction', { transactionId: 4711 }), { status: 'Rejected' });
	const mark = csms.mark();
	const entry = await csms.waitForCallEntry('CP1', 'StartTransaction', { after: mark, timeout: 1 }).catch(() => null);
	assert.equal(entry, null);
	await c.startCharging(env, 'CP1', 1, 'TAG-R', { wh: 1000 });
	const startEntry = csms.calls('CP1', 'StartTransaction').at(-1);
	const txId = await c.transactionIdOf(env, 'CP1', startEntry);
	await env.probe.waitFor('CP1/1/state', (p) => p.transaction_id === txId);
	assert.deepEqual(await csms.call('CP1', 'RemoteStopTransaction', { transactionId: txId + 1 }), { status: 'Rejected' });
	env.meter.set('CP1', 1, 1700);
	assert.deepEqual(await csms.call('CP1', 'RemoteStopTransaction', { transactionId: txId }), { status: 'Accepted' });
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'Remote');
	assert.equal(stop.transactionId, txId);
	assert.equal(stop.meterStop, 1700);
	assert.equal(stop.idTag, undefined);
	await c.waitStatus(env, 'CP1', 1, 'Finishing', { after: mark });
	c.assertClean(env);
});

test('UnlockConnector: stops the transaction first (UnlockCommand); NotSupported on a fixed cable', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms, probe } = env;
	assert.deepEqual(await csms.call('CP1', 'UnlockConnector', { connectorId: 2 }), { status: 'NotSupported' });
	assert.deepEqual(await csms.call('CP1', 'UnlockConnector', { connectorId: 1 }), { status: 'Unlocked' });
	const mark = csms.mark();
	await c.startCharging(env, 'CP1', 1, 'TAG-U', { wh: 10 });
	await probe.waitFor('CP1/1/hw', (p) => p.locked);
	env.meter.set('CP1', 1, 20);
	assert.deepEqual(await csms.call('CP1', 'UnlockConnector', { connectorId: 1 }), { status: 'Unlocked' });
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'UnlockCommand');
	assert.equal(stop.meterStop, 20);
	await probe.waitFor('CP1/1/hw', (p) => !p.locked && !p.contactor);
	await c.waitStatus(env, 'CP1', 1, 'Finishing', { after: mark });
	await c.sim(env, 'CP1', 1, 'remove');
	await c.waitStatus(env, 'CP1', 1, 'Available', { after: mark });
	/* a lock that does not open: UnlockFailed, ConnectorLockFailure */
	await c.sim(env, 'CP1', 1, 'lock-fail');
	const m2 = csms.mark();
	await c.sim(env, 'CP1', 1, 'plug');
	await c.sim(env, 'CP1', 1, 'rfid', 'TAG-L');
	const f = await c.waitStatus(env, 'CP1', 1, 'Faulted', { after: m2 });
	assert.equal(f.errorCode, 'ConnectorLockFailure');
	assert.equal(csms.calls('CP1', 'StartTransaction').filter((e) => e.index >= m2.traffic).length, 0);
	c.assertClean(env);
});
