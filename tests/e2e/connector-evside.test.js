'use strict';
/* sitegate-connector: the EV unplugs at the car during a transaction, with
 * every combination of StopTransactionOnEVSideDisconnect and
 * UnlockConnectorOnEVSideDisconnect (OCPP 1.6 section 9.1; the compliance test
 * cases TC_005_1..3 describe the expected traffic). The socket's cable stays in
 * the charge point: `sim ev A` disconnects the car only. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const c = require('./connector-lib');

async function unplugAtCar(t, stop, unlock) {
	const env = await c.connGateway(t, {
		keys: { StopTransactionOnEVSideDisconnect: stop, UnlockConnectorOnEVSideDisconnect: unlock },
	});
	await c.startCharging(env, 'CP1', 1, 'TAG-EV', { wh: 100 });
	await env.probe.waitFor('CP1/1/hw', (p) => p.locked && p.contactor);
	env.meter.set('CP1', 1, 900);
	const mark = env.csms.mark();
	const pmark = env.probe.mark();
	await c.sim(env, 'CP1', 1, 'ev', 'A');
	return { env, mark, pmark };
}

test('StopTransactionOnEVSideDisconnect true, UnlockConnectorOnEVSideDisconnect true', { timeout: h.ms(60000) }, async (t) => {
	const { env, mark, pmark } = await unplugAtCar(t, true, true);
	const stop = await env.csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'EVDisconnected');
	assert.equal(stop.meterStop, 900);
	await c.waitStatus(env, 'CP1', 1, 'Finishing', { after: mark });
	await env.probe.waitFor('CP1/1/hw', (p) => !p.locked && !p.contactor && p.ev_state === 'A', { after: pmark });
	await c.sim(env, 'CP1', 1, 'remove');
	await c.waitStatus(env, 'CP1', 1, 'Available', { after: mark });
	assert.deepEqual(c.statuses(env, 'CP1', 1, mark.traffic), ['Finishing', 'Available']);
	c.assertClean(env);
});

test('StopTransactionOnEVSideDisconnect true, UnlockConnectorOnEVSideDisconnect false', { timeout: h.ms(60000) }, async (t) => {
	const { env, mark, pmark } = await unplugAtCar(t, true, false);
	const stop = await env.csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'EVDisconnected');
	await c.waitStatus(env, 'CP1', 1, 'Finishing', { after: mark });
	await env.probe.waitFor('CP1/1/hw', (p) => !p.contactor && p.ev_state === 'A', { after: pmark });
	/* the cable stays locked: the user cannot take it */
	await c.sim(env, 'CP1', 1, 'remove');
	const last = env.probe.messages.filter((m) => m.topic.endsWith('CP1/1/hw')).at(-1);
	assert.equal(last.payload.locked, true);
	assert.equal(c.statuses(env, 'CP1', 1, mark.traffic).at(-1), 'Finishing');
	/* TC_005_2: the Central System unlocks it, the waiting user takes the cable */
	assert.deepEqual(await env.csms.call('CP1', 'UnlockConnector', { connectorId: 1 }), { status: 'Unlocked' });
	await c.waitStatus(env, 'CP1', 1, 'Available', { after: mark });
	assert.equal(env.csms.calls('CP1', 'StopTransaction').length, 1);
	c.assertClean(env);
});

for (const unlock of [true, false]) {
	test(`StopTransactionOnEVSideDisconnect false, UnlockConnectorOnEVSideDisconnect ${unlock}`, { timeout: h.ms(60000) }, async (t) => {
		const { env, mark, pmark } = await unplugAtCar(t, false, unlock);
		/* the transaction goes on, suspended; the cable stays locked whatever the unlock key says */
		await c.waitStatus(env, 'CP1', 1, 'SuspendedEV', { after: mark });
		await env.probe.waitFor('CP1/1/hw', (p) => p.locked && !p.contactor && p.ev_state === 'A', { after: pmark });
		assert.equal(env.csms.calls('CP1', 'StopTransaction').length, 0);
		/* the car comes back */
		await c.sim(env, 'CP1', 1, 'ev', 'C');
		await c.waitStatus(env, 'CP1', 1, 'Charging', { after: mark });
		/* TC_005_3: unplugged again, the Central System stops it */
		await c.sim(env, 'CP1', 1, 'ev', 'A');
		const m2 = env.csms.mark();
		await c.waitStatus(env, 'CP1', 1, 'SuspendedEV', { after: mark });
		const state = await env.probe.waitFor('CP1/1/state', (p) => p.transaction_id > 0);
		assert.deepEqual(await env.csms.call('CP1', 'RemoteStopTransaction', { transactionId: state.payload.transaction_id }),
			{ status: 'Accepted' });
		const stop = await env.csms.waitForCall('CP1', 'StopTransaction', { after: m2 });
		assert.equal(stop.reason, 'Remote');
		await c.waitStatus(env, 'CP1', 1, 'Finishing', { after: m2 });
		await env.probe.waitFor('CP1/1/hw', (p) => !p.locked, { after: pmark });
		c.assertClean(env);
	});
}

test('a fixed cable unplugged at the car ends the transaction and frees the connector', { timeout: h.ms(60000) }, async (t) => {
	const env = await c.connGateway(t);
	await c.startCharging(env, 'CP1', 2, 'TAG-F');
	const mark = env.csms.mark();
	await c.sim(env, 'CP1', 2, 'unplug');
	const stop = await env.csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'EVDisconnected');
	await c.waitStatus(env, 'CP1', 2, 'Available', { after: mark });
	assert.deepEqual(c.statuses(env, 'CP1', 2, mark.traffic), ['Available']);
	c.assertClean(env);
});
