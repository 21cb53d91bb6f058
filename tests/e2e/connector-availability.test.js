'use strict';
/* sitegate-connector: ChangeAvailability. A change while a transaction runs is
 * Scheduled, persisted, and applied when the transaction ends (also after a
 * restart in between), without an Available in between. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const c = require('./connector-lib');

test('ChangeAvailability Scheduled during a transaction, applied when it ends', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms } = env;
	await c.startCharging(env, 'CP1', 1, 'TAG-S');
	const mark = csms.mark();
	assert.deepEqual(await csms.call('CP1', 'ChangeAvailability', { connectorId: 1, type: 'Inoperative' }), { status: 'Scheduled' });
	/* the free connector changes at once */
	assert.deepEqual(await csms.call('CP1', 'ChangeAvailability', { connectorId: 2, type: 'Inoperative' }), { status: 'Accepted' });
	await c.waitStatus(env, 'CP1', 2, 'Unavailable', { after: mark });
	assert.deepEqual(c.statuses(env, 'CP1', 1, mark.traffic), []);
	const state = await env.probe.waitFor('CP1/1/state', (p) => p.transaction_id > 0);
	assert.deepEqual(await csms.call('CP1', 'RemoteStopTransaction', { transactionId: state.payload.transaction_id }), { status: 'Accepted' });
	await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	await c.waitStatus(env, 'CP1', 1, 'Unavailable', { after: mark });
	/* C8: straight from Charging, never Available or Finishing first */
	assert.deepEqual(c.statuses(env, 'CP1', 1, mark.traffic), ['Unavailable']);
	/* no new transaction while unavailable */
	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', { connectorId: 1, idTag: 'X' }), { status: 'Rejected' });
	await c.sim(env, 'CP1', 1, 'rfid', 'TAG-S');
	await env.connector.waitForLog(/CP1\/1: idTag "TAG-S" ignored: the connector is unavailable/);
	/* back: the cable is still in, so Preparing (H2) */
	assert.deepEqual(await csms.call('CP1', 'ChangeAvailability', { connectorId: 1, type: 'Operative' }), { status: 'Accepted' });
	await c.waitStatus(env, 'CP1', 1, 'Preparing', { after: mark });
	assert.deepEqual(await csms.call('CP1', 'ChangeAvailability', { connectorId: 3, type: 'Operative' }), { status: 'Rejected' });
	c.assertClean(env);
});

test('ChangeAvailability of connector 0: every connector, the charge point after the transaction', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t, { keys: { MinimumStatusDuration: 1 } });
	const { csms } = env;
	await c.startCharging(env, 'CP1', 2, 'TAG-0');
	const mark = csms.mark();
	assert.deepEqual(await csms.call('CP1', 'ChangeAvailability', { connectorId: 0, type: 'Inoperative' }), { status: 'Scheduled' });
	await c.waitStatus(env, 'CP1', 1, 'Unavailable', { after: mark });
	assert.deepEqual(c.statuses(env, 'CP1', 0, mark.traffic), []);
	await c.sim(env, 'CP1', 2, 'unplug');
	await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	await c.waitStatus(env, 'CP1', 2, 'Unavailable', { after: mark });
	await c.waitStatus(env, 'CP1', 0, 'Unavailable', { after: mark });
	assert.deepEqual(c.statuses(env, 'CP1', 2, mark.traffic), ['Unavailable']);
	const m2 = csms.mark();
	assert.deepEqual(await csms.call('CP1', 'ChangeAvailability', { connectorId: 0, type: 'Operative' }), { status: 'Accepted' });
	for (const conn of [0, 1, 2]) await c.waitStatus(env, 'CP1', conn, 'Available', { after: m2 });
	c.assertClean(env);
});

test('a Scheduled change survives a restart mid-transaction', { timeout: h.ms(90000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms } = env;
	await c.startCharging(env, 'CP1', 1, 'TAG-K', { wh: 300 });
	assert.deepEqual(await csms.call('CP1', 'ChangeAvailability', { connectorId: 1, type: 'Inoperative' }), { status: 'Scheduled' });
	const mark = csms.mark();
	env.connector.kill('SIGKILL');
	await env.connector.waitExit();
	await c.startConnector(env);
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'PowerLoss');
	await c.waitStatus(env, 'CP1', 1, 'Unavailable', { after: mark });
	assert.deepEqual(c.statuses(env, 'CP1', 1, mark.traffic), ['Unavailable']);
	/* and it stays so after a plain restart */
	const m2 = csms.mark();
	await env.connector.stop();
	await c.startConnector(env);
	await env.probe.waitFor('CP1/1/state', (p) => p.status === 'Unavailable', { after: env.probe.mark() - 1 });
	assert.ok(!c.statuses(env, 'CP1', 1, m2.traffic).some((s) => s !== 'Unavailable'));
	c.assertClean(env);
});

test('cp_reset stops the transactions (SoftReset) and answers once they are queued; fw_install', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms, probe } = env;
	await c.startCharging(env, 'CP1', 1, 'TAG-RS', { wh: 40 });
	env.meter.set('CP1', 1, 60);
	const mark = csms.mark();
	/* the probe plays the bridge's side of Reset */
	const done = await probe.request('CP1/reset', { type: 'Soft' });
	assert.equal(done.stopped, 1);
	const read = env.meter.reads.find((r) => r.stop);
	assert.equal(read.reason, 'SoftReset');
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'SoftReset');
	assert.equal(stop.meterStop, 60);
	assert.equal((await probe.request('CP1/reset', { type: 'Hard' })).stopped, 0);

	/* a firmware installation is due: Unavailable, nothing starts; then back */
	const m2 = csms.mark();
	await probe.publish('CP1/maintenance/install', { installing: true, since: Date.now() }, { retain: true });
	for (const conn of [0, 1, 2]) await c.waitStatus(env, 'CP1', conn, 'Unavailable', { after: m2 });
	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', { connectorId: 2, idTag: 'X' }), { status: 'Rejected' });
	await probe.publish('CP1/maintenance/install', { installing: false, since: Date.now() }, { retain: true });
	await c.waitStatus(env, 'CP1', 0, 'Available', { after: m2 });
	await c.waitStatus(env, 'CP1', 1, 'Preparing', { after: m2 }); /* the cable is still in */
	await c.waitStatus(env, 'CP1', 2, 'Available', { after: m2 });
	c.assertClean(env);
});
