'use strict';
/* smartcharge: the Central System's smart charging calls through the real ocpp-bridge and
 * the strict test CSMS. SetChargingProfile for each purpose, a TxProfile without (and with
 * the wrong) transaction, ClearChargingProfile, GetCompositeSchedule in A and W, the keys'
 * limits, limits published as conn_limit (also when a period boundary passes), profiles
 * kept across a restart, RemoteStartTransaction's profile. The probe plays the connector
 * service (tx_event, conn_hw, ocpp_tx). */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(60000);
const ACTIONS = ['SetChargingProfile', 'ClearChargingProfile', 'GetCompositeSchedule'];

/* A profile: {id, stack, purpose, kind, limits: [[startPeriod, limit], ...], unit, ...extra}. */
function profile({ id, stack = 0, purpose = 'TxDefaultProfile', kind = 'Relative', unit = 'A', limits = [[0, 16]], start, duration, ...extra }) {
	const schedule = {
		chargingRateUnit: unit,
		chargingSchedulePeriod: limits.map(([startPeriod, limit]) => ({ startPeriod, limit })),
	};
	if (start) schedule.startSchedule = start;
	if (duration) schedule.duration = duration;
	return { chargingProfileId: id, stackLevel: stack, chargingProfilePurpose: purpose, chargingProfileKind: kind, ...extra, chargingSchedule: schedule };
}

async function set(csms, connectorId, p) {
	return (await csms.call('CP1', 'SetChargingProfile', { connectorId, csChargingProfiles: profile(p) })).status;
}

/* Broker, CSMS, smartcharge, then the bridge once smartcharge owns its actions. */
async function gateway(t, { config } = {}) {
	const env = await h.withGateway(t, {
		csms: true,
		chargePoints: [{ id: 'CP1', connectors: 2 }],
		config: { site: { grid_limit_a: h.float(63) }, ...config },
	});
	const sc = await env.startService('smartcharge');
	for (const action of ACTIONS) {
		const m = await env.probe.waitFor(`ocpp/owner/${action}`);
		assert.equal(m.payload.svc, 'smartcharge');
		assert.equal(m.retained, true);
	}
	await env.probe.subscribe('CP1/ocpp/txresult');
	await env.startService('ocpp-bridge');
	await env.probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
	return { env, sc, csms: env.csms, probe: env.probe };
}

/* The next conn_limit of CP1/conn matching pred (limit_a when a number). */
function limit(probe, conn, want, opts) {
	const pred = typeof want === 'number' ? (p) => Math.abs(p.limit_a - want) < 1e-9 : want;
	return probe.waitFor(`CP1/${conn}/limit`, pred, opts);
}

/* Starts a transaction on CP1/conn the way the connector service does: conn_hw, tx_event,
 * StartTransaction through the bridge's queue. Resolves with the CSMS's transactionId. */
async function startTx(probe, conn, txRef, extra = {}) {
	await probe.publish(`CP1/${conn}/hw`, { plugged: true, ev_state: 'C', contactor: true, offered_a: 16, phases: 3 }, { retain: true });
	await probe.publish(`CP1/${conn}/tx`, { event: 'started', tx_ref: txRef, transaction_id: 0, id_tag: 'TAG1', ts: Date.now(), ...extra });
	const ack = await probe.request('CP1/ocpp/tx/StartTransaction', {
		payload: { connectorId: conn, idTag: 'TAG1', meterStart: 0, timestamp: new Date().toISOString() },
		tx_ref: txRef,
	});
	assert.ok(ack.seq > 0);
	const res = await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === txRef && p.action === 'StartTransaction');
	assert.ok(res.payload.transaction_id > 0);
	return res.payload.transaction_id;
}

async function stopTx(probe, conn, txRef) {
	await probe.publish(`CP1/${conn}/tx`, { event: 'stopped', tx_ref: txRef, id_tag: 'TAG1', ts: Date.now(), reason: 'Local' });
	await probe.publish(`CP1/${conn}/hw`, { plugged: false, ev_state: 'A', contactor: false, offered_a: 0, phases: 3 }, { retain: true });
}

test('SetChargingProfile for each purpose, TxProfile only with its transaction, ClearChargingProfile, limits in conn_limit', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe, sc } = await gateway(t);

	/* without profiles: the connector's rating */
	let m = await limit(probe, 1, 32);
	assert.equal(m.payload.source, 'connector rating');
	assert.equal(m.retained, true);

	assert.equal(await set(csms, 0, { id: 1, purpose: 'ChargePointMaxProfile', kind: 'Absolute', start: new Date().toISOString(), limits: [[0, 24]] }), 'Accepted');
	assert.equal(await set(csms, 1, { id: 2, purpose: 'ChargePointMaxProfile', limits: [[0, 24]] }), 'Rejected');
	let mark = probe.mark();
	assert.equal(await set(csms, 0, { id: 3, limits: [[0, 16]] }), 'Accepted');
	m = await limit(probe, 1, 16, { after: mark });
	assert.equal(m.payload.source, 'TxDefaultProfile #3');
	assert.equal(m.payload.ocpp_limit_a, 16);
	await limit(probe, 2, 16);

	/* a TxProfile needs a transaction */
	assert.equal(await set(csms, 1, { id: 4, purpose: 'TxProfile', limits: [[0, 10]] }), 'Rejected');
	assert.equal(await set(csms, 0, { id: 4, purpose: 'TxProfile', limits: [[0, 10]] }), 'Rejected');
	const txId = await startTx(probe, 1, 1);
	assert.equal(await set(csms, 1, { id: 4, purpose: 'TxProfile', transactionId: txId + 1, limits: [[0, 10]] }), 'Rejected');
	mark = probe.mark();
	assert.equal(await set(csms, 1, { id: 4, purpose: 'TxProfile', transactionId: txId, limits: [[0, 10]] }), 'Accepted');
	m = await limit(probe, 1, 10, { after: mark });
	assert.equal(m.payload.source, 'TxProfile #4');
	assert.equal(await set(csms, 2, { id: 5, purpose: 'TxProfile', limits: [[0, 10]] }), 'Rejected');

	/* the keys' limits: ChargeProfileMaxStackLevel 30, ChargingScheduleMaxPeriods 48 */
	assert.equal(await set(csms, 0, { id: 6, stack: 31 }), 'Rejected');
	const periods = Array.from({ length: 49 }, (_, i) => [i * 60, 16]);
	assert.equal(await set(csms, 0, { id: 6, stack: 2, limits: periods }), 'Rejected');
	assert.equal(await set(csms, 0, { id: 6, stack: 2, limits: periods.slice(0, 48) }), 'Accepted');
	const keys = await csms.call('CP1', 'GetConfiguration', {
		key: ['ChargeProfileMaxStackLevel', 'ChargingScheduleMaxPeriods', 'MaxChargingProfilesInstalled', 'ChargingScheduleAllowedChargingRateUnit'],
	});
	assert.deepEqual(Object.fromEntries(keys.configurationKey.map((k) => [k.key, k.value])), {
		ChargeProfileMaxStackLevel: '30',
		ChargingScheduleMaxPeriods: '48',
		MaxChargingProfilesInstalled: '30',
		ChargingScheduleAllowedChargingRateUnit: 'Current,Power',
	});

	/* ClearChargingProfile: by id, by criteria, nothing matching */
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { id: 99 })).status, 'Unknown');
	mark = probe.mark();
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { id: 4 })).status, 'Accepted');
	await limit(probe, 1, 16, { after: mark });
	mark = probe.mark();
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { connectorId: 0, chargingProfilePurpose: 'TxDefaultProfile' })).status, 'Accepted');
	m = await limit(probe, 1, 24, { after: mark });
	assert.equal(m.payload.source, 'ChargePointMaxProfile #1');
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { chargingProfilePurpose: 'TxDefaultProfile' })).status, 'Unknown');

	/* a TxProfile ends with its transaction */
	assert.equal(await set(csms, 1, { id: 7, purpose: 'TxProfile', limits: [[0, 8]] }), 'Accepted');
	await limit(probe, 1, 8);
	mark = probe.mark();
	await stopTx(probe, 1, 1);
	await limit(probe, 1, 24, { after: mark });
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { id: 7 })).status, 'Unknown');

	assert.deepEqual(csms.validationFailures, []);
	assert.equal(sc.running(), true);
});

test('GetCompositeSchedule: stacked profiles, a gap, unit conversion, connector 0, Rejected', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms } = await gateway(t);
	/* an absolute TxDefaultProfile that starts in 2 minutes, 16 A then 8 A, for 20 minutes */
	const start = Math.floor(Date.now() / 1000) * 1000 + 120000;
	assert.equal(await set(csms, 1, {
		id: 1, kind: 'Absolute', start: new Date(start).toISOString(), duration: 1200, limits: [[0, 16], [600, 8]],
	}), 'Accepted');
	/* the charge point's maximum in W: 13800 W at 230 V on 3 phases is 20 A */
	assert.equal(await set(csms, 0, { id: 2, purpose: 'ChargePointMaxProfile', kind: 'Absolute', start: new Date(start - 600000).toISOString(), unit: 'W', limits: [[0, 13800]] }), 'Accepted');

	const a = await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 1, duration: 3600, chargingRateUnit: 'A' });
	assert.equal(a.status, 'Accepted');
	assert.equal(a.connectorId, 1);
	const s0 = Date.parse(a.scheduleStart);
	assert.ok(Math.abs(s0 - Date.now()) < 5000, `scheduleStart ${a.scheduleStart} is now`);
	const off = Math.round((start - s0) / 1000); /* where the TxDefaultProfile begins */
	assert.deepEqual(a.chargingSchedule, {
		duration: 3600,
		startSchedule: a.scheduleStart,
		chargingRateUnit: 'A',
		chargingSchedulePeriod: [
			{ startPeriod: 0, limit: 20, numberPhases: 3 }, /* before it: the maximum */
			{ startPeriod: off, limit: 16, numberPhases: 3 },
			{ startPeriod: off + 600, limit: 8, numberPhases: 3 },
			{ startPeriod: off + 1200, limit: 20, numberPhases: 3 }, /* after it */
		],
	});
	const w = await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 1, duration: 3600, chargingRateUnit: 'W' });
	assert.deepEqual(w.chargingSchedule.chargingSchedulePeriod.map((p) => p.limit), [13800, 11040, 5520, 13800]);
	/* connector 2 has only the maximum; connector 0: the sum of both, bounded by it */
	const c2 = await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 2, duration: 600 });
	assert.deepEqual(c2.chargingSchedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 20, numberPhases: 3 }]);
	const c0 = await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 0, duration: 600 });
	assert.deepEqual(c0.chargingSchedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 20, numberPhases: 3 }]);

	assert.deepEqual(await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 3, duration: 600 }), { status: 'Rejected' });
	assert.deepEqual(await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 1, duration: 0 }), { status: 'Rejected' });
	assert.deepEqual(csms.validationFailures, []);
});

test('a period boundary changes conn_limit; profiles survive a restart', { timeout: TEST_TIMEOUT }, async (t) => {
	const { env, csms, probe, sc } = await gateway(t);
	/* 16 A now, 8 A from 3 s on */
	const start = Date.now() - 1000;
	assert.equal(await set(csms, 1, { id: 1, kind: 'Absolute', start: new Date(start).toISOString(), limits: [[0, 16], [4, 8]] }), 'Accepted');
	await limit(probe, 1, 16);
	const eight = await limit(probe, 1, 8, { timeout: h.ms(8000) });
	assert.ok(eight.ts >= start + 4000 - 50, 'not before the boundary');
	assert.ok(eight.ts <= start + 4000 + 1500, `within a moment of it (${eight.ts - start - 4000} ms late)`);

	/* a restart: the profile comes back from the database */
	await sc.stop();
	assert.deepEqual(sc.exit, { code: 0, signal: null });
	const mark = probe.mark();
	await env.startService('smartcharge');
	/* a round trip through the bridge: it has seen smartcharge online again, not only the probe */
	await probe.request('service/ocpp-bridge/ping', { seq: 1 });
	const again = await limit(probe, 1, 8, { after: mark });
	assert.equal(again.payload.source, 'TxDefaultProfile #1');
	const cs = await csms.call('CP1', 'GetCompositeSchedule', { connectorId: 1, duration: 60 });
	assert.deepEqual(cs.chargingSchedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 8, numberPhases: 3 }]);
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { id: 1 })).status, 'Accepted');
});

test('RemoteStartTransaction\'s chargingProfile becomes the transaction\'s TxProfile', { timeout: TEST_TIMEOUT }, async (t) => {
	const { probe } = await gateway(t);
	const txProfile = profile({ id: 9, purpose: 'TxProfile', limits: [[0, 12]] });
	let mark = probe.mark();
	await startTx(probe, 2, 5, { charging_profile: txProfile });
	const m = await limit(probe, 2, 12, { after: mark });
	assert.equal(m.payload.source, 'TxProfile #9');
	mark = probe.mark();
	await stopTx(probe, 2, 5);
	await limit(probe, 2, 32, { after: mark });
});
