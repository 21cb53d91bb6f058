'use strict';
/* TriggerMessage through the real ocpp-bridge, with the connector, meter, auth
 * and maintenance services: the bridge sends BootNotification, Heartbeat and
 * StatusNotification itself, the meter MeterValues and maintenance the two
 * status notifications (ocpp_trigger). Accepted always reaches the Central
 * System before the message it triggers; a connectorId the charge point does not
 * have, or MeterValues without a meter service, is Rejected. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const r = require('./remote-lib');

const TEST_TIMEOUT = h.ms(60000);
const SERVICES = ['connector', 'meter', 'auth', 'maintenance'];

/**
 * TriggerMessage on CP1: asserts status, and resolves with r.call()'s
 * {result, call, answer} (answer: the CALLRESULT's traffic entry).
 */
async function trigger(env, requestedMessage, connectorId, status = 'Accepted') {
	const payload = { requestedMessage };
	if (connectorId !== undefined) payload.connectorId = connectorId;
	const res = await r.call(env, 'CP1', 'TriggerMessage', payload);
	assert.deepEqual(res.result, { status }, `TriggerMessage ${JSON.stringify(payload)}`);
	return res;
}

/**
 * A position in the probe's messages after everything the bridge published so far:
 * the probe may read a trigger only after the CSMS got what it triggered.
 */
async function settled(env) {
	await r.syncBridge(env);
	return env.probe.mark();
}

/** No ocpp_trigger went to a service since busMark. */
function assertNothingTriggered(probe, busMark) {
	const sent = probe.messages.slice(busMark).filter((m) => h.topicMatches(probe.topic('+/trigger/+'), m.topic));
	assert.deepEqual(sent.map((m) => `${m.topic} ${JSON.stringify(m.payload)}`), [], 'nothing triggered');
}

/** The next CALL of action from CP1 after the trigger's answer; asserts it came after. */
async function triggered(env, res, action, where) {
	const e = await env.csms.waitForCallEntry('CP1', action, { where, after: res.call.index, timeout: h.ms(15000) });
	assert.ok(e.index > res.answer.index, `${action} (frame ${e.index}) after the Accepted (frame ${res.answer.index})`);
	return e;
}

test('TriggerMessage BootNotification, Heartbeat and StatusNotification: the bridge sends them',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await r.gateway(t, { services: SERVICES });
		const { csms, probe } = env;
		await probe.subscribe('CP1/trigger/+');

		/* BootNotification: sent again, the registration stays as it is */
		let busMark = await settled(env);
		let res = await trigger(env, 'BootNotification');
		const boot = await triggered(env, res, 'BootNotification');
		assert.deepEqual(boot.payload, csms.calls('CP1', 'BootNotification')[0].payload);
		const sent = await r.sendThrough(env, 'CP1');
		assert.equal(sent.error, '', 'an ocpp_send still goes through');
		assert.ok(sent.payload.currentTime);
		assert.deepEqual(r.callsSince(env, 'CP1', 'StatusNotification', res.call.index), [],
			'no StatusNotifications after a triggered BootNotification');
		assert.ok(!probe.messages.slice(busMark).some((m) => m.topic === probe.topic('CP1/state')),
			'cp_state unchanged: still connected and Accepted');
		assert.equal(csms.events.filter((e) => e.cp === 'CP1').length, 1, 'the same connection');

		/* Heartbeat */
		res = await trigger(env, 'Heartbeat');
		await triggered(env, res, 'Heartbeat');

		/* StatusNotification of one connector: that one only */
		res = await trigger(env, 'StatusNotification', 2);
		const one = await triggered(env, res, 'StatusNotification');
		assert.deepEqual({ connectorId: one.payload.connectorId, status: one.payload.status },
			{ connectorId: 2, status: 'Available' });
		await r.sendThrough(env, 'CP1');
		assert.deepEqual(r.callsSince(env, 'CP1', 'StatusNotification', res.call.index).map((e) => e.payload.connectorId), [2]);

		/* StatusNotification without connectorId: every connector, 0 too */
		res = await trigger(env, 'StatusNotification');
		for (const conn of [0, 1, 2]) await triggered(env, res, 'StatusNotification', (p) => p.connectorId === conn);
		await r.sendThrough(env, 'CP1');
		assert.deepEqual(r.callsSince(env, 'CP1', 'StatusNotification', res.call.index)
			.map((e) => e.payload.connectorId).sort(), [0, 1, 2]);

		/* StatusNotification of the charge point itself */
		res = await trigger(env, 'StatusNotification', 0);
		await triggered(env, res, 'StatusNotification', (p) => p.connectorId === 0);

		/* a connector CP1 does not have */
		busMark = await settled(env);
		res = await trigger(env, 'StatusNotification', 3, 'Rejected');
		await trigger(env, 'MeterValues', 3, 'Rejected');
		await trigger(env, 'StatusNotification', -1, 'Rejected');
		await trigger(env, 'MeterValues', -1, 'Rejected');
		await r.sendThrough(env, 'CP1');
		assert.deepEqual(r.callsSince(env, 'CP1', 'StatusNotification', res.call.index), []);
		assert.deepEqual(r.callsSince(env, 'CP1', 'MeterValues', res.call.index), []);
		assertNothingTriggered(probe, busMark);
		r.assertClean(env);
	});

test('TriggerMessage MeterValues (meter) and the status notifications (maintenance)',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await r.gateway(t, { services: SERVICES });
		const { csms, probe } = env;
		await probe.subscribe('CP1/trigger/+');
		const contexts = (p) => p.meterValue.flatMap((mv) => mv.sampledValue).map((sv) => sv.context);
		const triggerValues = (e) => contexts(e.payload).every((ctx) => ctx === 'Trigger');

		/* one connector: its MeterValues, context Trigger */
		let res = await trigger(env, 'MeterValues', 1);
		const mv = await triggered(env, res, 'MeterValues');
		assert.equal(mv.payload.connectorId, 1);
		assert.equal(mv.payload.transactionId, undefined);
		assert.ok(mv.payload.meterValue.length > 0);
		assert.ok(triggerValues(mv), JSON.stringify(mv.payload));
		assert.ok(mv.payload.meterValue[0].sampledValue.some((sv) => (sv.measurand ?? 'Energy.Active.Import.Register') ===
			'Energy.Active.Import.Register'));
		await r.sendThrough(env, 'CP1');
		assert.deepEqual(r.callsSince(env, 'CP1', 'MeterValues', res.call.index).map((e) => e.payload.connectorId), [1]);

		/* none given: every connector and the charge point as a whole */
		res = await trigger(env, 'MeterValues');
		for (const conn of [0, 1, 2]) {
			const e = await triggered(env, res, 'MeterValues', (p) => p.connectorId === conn);
			assert.ok(triggerValues(e), JSON.stringify(e.payload));
		}
		await r.sendThrough(env, 'CP1');
		assert.deepEqual(r.callsSince(env, 'CP1', 'MeterValues', res.call.index).map((e) => e.payload.connectorId).sort(),
			[0, 1, 2]);

		/* a connector with a transaction: its MeterValues name it (and go through the queue) */
		const tx = await r.startTransaction(env, 'CP1', 2, 'TAG');
		res = await trigger(env, 'MeterValues', 2);
		/* (the transaction's own Transaction.Begin values may be on their way too) */
		const txValues = await triggered(env, res, 'MeterValues',
			(p) => p.connectorId === 2 && contexts(p).includes('Trigger'));
		assert.equal(txValues.payload.transactionId, tx.transactionId);
		assert.ok(triggerValues(txValues), JSON.stringify(txValues.payload));

		/* maintenance: nothing under way, so Idle */
		res = await trigger(env, 'DiagnosticsStatusNotification');
		assert.deepEqual((await triggered(env, res, 'DiagnosticsStatusNotification')).payload, { status: 'Idle' });
		res = await trigger(env, 'FirmwareStatusNotification');
		assert.deepEqual((await triggered(env, res, 'FirmwareStatusNotification')).payload, { status: 'Idle' });

		/* without the meter service nobody could send MeterValues: Rejected */
		const busMark = await settled(env);
		await env.services.get('meter').stop();
		await probe.waitFor('service/meter/status', (p) => p.state === 'offline', { after: busMark });
		await r.syncBridge(env);
		res = await trigger(env, 'MeterValues', 1, 'Rejected');
		await trigger(env, 'MeterValues', undefined, 'Rejected');
		await r.sendThrough(env, 'CP1');
		assert.deepEqual(r.callsSince(env, 'CP1', 'MeterValues', res.call.index), []);
		assertNothingTriggered(probe, busMark);
		/* what the bridge answers itself does not need the meter */
		res = await trigger(env, 'StatusNotification', 1);
		await triggered(env, res, 'StatusNotification', (p) => p.connectorId === 1);
		assert.equal(csms.validationFailures.length, 0);
		r.assertClean(env);
	});
