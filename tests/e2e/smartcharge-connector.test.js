'use strict';
/* smartcharge with the real connector and meter services, the ocpp-bridge and the strict
 * CSMS: RemoteStartTransaction's chargingProfile limits the transaction, the connector
 * offers what smartcharge allows (Current.Offered in MeterValues), a 0 A TxProfile makes
 * it SuspendedEVSE, and the TxProfile ends with the transaction. The probe only drives the
 * simulated hardware and answers the connector's authorization requests for the auth
 * service. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const msgpack = require('@msgpack/msgpack');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(90000);

const offeredIn = (p) => {
	const sv = p.meterValue.flatMap((mv) => mv.sampledValue).find((v) => v.measurand === 'Current.Offered');
	return sv ? Number(sv.value) : undefined;
};

test('a TxProfile from RemoteStartTransaction and SetChargingProfile drives Current.Offered and SuspendedEVSE', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, {
		csms: true,
		chargePoints: [{ id: 'CP1', connectors: 1 }],
		config: { site: { grid_limit_a: h.float(63) } },
	});
	const { csms, probe } = env;

	/* the auth service's part: every idTag is Accepted */
	await probe.subscribe('CP1/+/authorize');
	probe.client.on('message', (topic, raw, packet) => {
		const props = packet.properties || {};
		if (!topic.endsWith('/authorize') || !props.responseTopic) return;
		probe.publishRaw(props.responseTopic, msgpack.encode({ v: 1, status: 'Accepted' }),
			{ correlationData: props.correlationData }).catch(() => {});
	});

	for (const name of ['smartcharge', 'meter', 'connector']) await env.startService(name);
	await probe.waitFor('ocpp/owner/SetChargingProfile');
	await probe.waitFor('ocpp/owner/RemoteStartTransaction');
	await env.startService('ocpp-bridge');
	await probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
	await probe.waitFor('CP1/config/MeterValueSampleInterval');
	for (const [key, value] of Object.entries({ MeterValueSampleInterval: '1', MeterValuesSampledData: 'Energy.Active.Import.Register,Current.Offered' })) {
		assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key, value })).status, 'Accepted', key);
	}

	/* a car is plugged in; the Central System starts charging with a 10 A TxProfile */
	assert.equal((await probe.request('CP1/1/sim', { action: 'plug' })).ok, true);
	const res = await csms.call('CP1', 'RemoteStartTransaction', {
		connectorId: 1,
		idTag: 'TAG1',
		chargingProfile: {
			chargingProfileId: 50, stackLevel: 0, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative',
			chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 10 }] },
		},
	});
	assert.equal(res.status, 'Accepted');
	assert.equal((await probe.request('CP1/1/sim', { action: 'ev', value: 'C' })).ok, true);
	await csms.waitForCall('CP1', 'StartTransaction', { timeout: h.ms(15000) });
	const limit = await probe.waitFor('CP1/1/limit', (p) => p.limit_a === 10);
	assert.equal(limit.payload.source, 'TxProfile #50');
	await probe.waitFor('CP1/1/hw', (p) => p.offered_a === 10);
	await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 1 && p.status === 'Charging' });
	await csms.waitForCall('CP1', 'MeterValues', { where: (p) => offeredIn(p) === 10, timeout: h.ms(15000) });
	const txId = (await probe.waitFor('CP1/1/state', (p) => p.transaction_id > 0)).payload.transaction_id;

	/* 0 A: the connector suspends charging */
	let mark = csms.mark();
	assert.equal((await csms.call('CP1', 'SetChargingProfile', {
		connectorId: 1,
		csChargingProfiles: {
			chargingProfileId: 51, transactionId: txId, stackLevel: 1, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative',
			chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 0 }] },
		},
	})).status, 'Accepted');
	await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 1 && p.status === 'SuspendedEVSE', after: mark });
	await csms.waitForCall('CP1', 'MeterValues', { where: (p) => offeredIn(p) === 0, after: mark, timeout: h.ms(15000) });

	/* cleared: back to 10 A and charging */
	mark = csms.mark();
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { id: 51 })).status, 'Accepted');
	await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 1 && p.status === 'Charging', after: mark });
	await csms.waitForCall('CP1', 'MeterValues', { where: (p) => offeredIn(p) === 10, after: mark, timeout: h.ms(15000) });

	/* the transaction ends: so does its TxProfile */
	mark = probe.mark();
	assert.equal((await csms.call('CP1', 'RemoteStopTransaction', { transactionId: txId })).status, 'Accepted');
	await csms.waitForCall('CP1', 'StopTransaction', { timeout: h.ms(15000) });
	await probe.waitFor('CP1/1/limit', (p) => p.limit_a === 32, { after: mark });
	assert.equal((await csms.call('CP1', 'ClearChargingProfile', { id: 50 })).status, 'Unknown');
	assert.deepEqual(csms.validationFailures, []);
});

test('five real connectors on three charge points share 32 A: what they offer never adds up to more', { timeout: TEST_TIMEOUT }, async (t) => {
	const cars = [['CP1', 1], ['CP2', 1], ['CP3', 1], ['CP1', 2], ['CP2', 2]];
	const env = await h.withGateway(t, {
		csms: true,
		chargePoints: [{ id: 'CP1', connectors: 2 }, { id: 'CP2', connectors: 2 }, { id: 'CP3', connectors: 1 }],
		config: { site: { grid_limit_a: h.float(32) } },
	});
	const { csms, probe } = env;
	await probe.subscribe('+/+/authorize');
	probe.client.on('message', (topic, raw, packet) => {
		const props = packet.properties || {};
		if (!topic.endsWith('/authorize') || !props.responseTopic) return;
		probe.publishRaw(props.responseTopic, msgpack.encode({ v: 1, status: 'Accepted' }),
			{ correlationData: props.correlationData }).catch(() => {});
	});
	/* what the connectors offer, as they say in conn_hw, summed after every message */
	const offered = new Map();
	let peak = 0;
	await probe.subscribe('+/+/hw');
	probe.client.on('message', (topic) => {
		const m = probe.messages[probe.messages.length - 1];
		if (!topic.endsWith('/hw') || !m.payload) return;
		offered.set(topic, m.payload.contactor ? m.payload.offered_a : 0);
		const sum = [...offered.values()].reduce((a, b) => a + b, 0);
		peak = Math.max(peak, sum);
	});

	for (const name of ['smartcharge', 'meter', 'connector']) await env.startService(name);
	await probe.waitFor('ocpp/owner/RemoteStartTransaction');
	await env.startService('ocpp-bridge');
	for (const cp of ['CP1', 'CP2', 'CP3']) await probe.waitFor(`${cp}/state`, (p) => p.registration === 'Accepted');

	const expected = [32, 16, 10.6, 8, 6.4];
	for (let i = 0; i < cars.length; i++) {
		const [cp, c] = cars[i];
		const mark = probe.mark();
		for (const [action, value] of [['plug'], ['rfid', `TAG${i}`], ['ev', 'C']]) {
			const r = await probe.request(`${cp}/${c}/sim`, value ? { action, value } : { action });
			assert.equal(r.ok, true, `${cp}/${c} ${action}: ${r.error}`);
		}
		for (const [kcp, kc] of cars.slice(0, i + 1)) {
			await probe.waitFor(`${kcp}/${kc}/hw`, (p) => p.contactor && Math.abs(p.offered_a - expected[i]) < 1e-9,
				{ after: mark, timeout: h.ms(15000) });
		}
	}
	await csms.waitForCall('CP3', 'StatusNotification', { where: (p) => p.connectorId === 1 && p.status === 'Charging' });

	/* two cars leave (unplugged: StopTransactionOnEVSideDisconnect) */
	const mark = probe.mark();
	for (const [cp, c] of cars.slice(0, 2)) {
		assert.equal((await probe.request(`${cp}/${c}/sim`, { action: 'unplug' })).ok, true);
	}
	for (const [cp, c] of cars.slice(2)) {
		await probe.waitFor(`${cp}/${c}/hw`, (p) => p.contactor && Math.abs(p.offered_a - 10.6) < 1e-9, { after: mark, timeout: h.ms(15000) });
	}
	assert.ok(peak <= 32 + 1e-6, `the connectors offered ${peak} A together at some point`);
	assert.deepEqual(csms.validationFailures, []);
});
