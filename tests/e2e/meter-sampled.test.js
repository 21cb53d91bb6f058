'use strict';
/* sitegate-meter with the real ocpp-bridge and the strict CSMS; the probe plays
 * the connector service (retained conn_hw, StartTransaction/StopTransaction
 * through the bridge's queue, tx_event, meter_read). Sampled MeterValues at a
 * 1 s interval, Transaction.Begin, the stop transaction data in the meter_read
 * reply (and the CSMS accepting it in StopTransaction), key validation, and a
 * restart of the meter in the middle of a transaction. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const CP = 'CP1';
const TEST_TIMEOUT = h.ms(120000);

/* The gateway: bridge + meter, connected and registered, the meter's keys known
 * to the bridge. */
async function gateway(t) {
	const env = await h.withGateway(t, { csms: true, services: ['ocpp-bridge', 'meter'] });
	await env.csms.waitForCall(CP, 'BootNotification', { timeout: h.ms(20000) });
	await env.probe.waitFor(`${CP}/config/MeterValueSampleInterval`);
	return env;
}

/* ChangeConfiguration through the bridge; retried while the bridge has not yet
 * seen the meter's retained keys (NotSupported). */
async function configure(env, key, value) {
	const deadline = Date.now() + h.TIMEOUT;
	for (;;) {
		const r = await env.csms.call(CP, 'ChangeConfiguration', { key, value });
		if (r.status !== 'NotSupported' || Date.now() > deadline) return r.status;
		await env.probe.waitFor(`${CP}/config/${key}`);
	}
}

async function setKeys(env, keys) {
	for (const [key, value] of Object.entries(keys)) {
		assert.equal(await configure(env, key, value), 'Accepted', `${key} = ${value}`);
	}
}

/* The EV charges: plugged, state C, contactor closed, 16 A offered. */
function charging(env, conn, amps = 16) {
	return env.probe.publish(`${CP}/${conn}/hw`,
		{ plugged: true, ev_state: 'C', contactor: true, offered_a: amps, phases: 3 }, { retain: true });
}

/* What the connector service does to start a transaction: meterStart from the
 * meter, StartTransaction into the bridge's queue, then tx_event started. */
async function startTx(env, conn, txRef) {
	const start = await env.probe.request(`${CP}/${conn}/meter/read`, {});
	const ts = Date.now();
	const ack = await env.probe.request(`${CP}/ocpp/tx/StartTransaction`, {
		payload: { connectorId: conn, idTag: 'TAG1', meterStart: Math.floor(start.energy_wh), timestamp: new Date(ts).toISOString() },
		tx_ref: txRef,
	});
	assert.ok(ack.seq >= 0, `StartTransaction queued: ${JSON.stringify(ack)}`);
	await env.probe.publish(`${CP}/${conn}/tx`,
		{ event: 'started', tx_ref: txRef, transaction_id: 0, id_tag: 'TAG1', ts, meter_wh: start.energy_wh });
	const st = await env.csms.waitForCall(CP, 'StartTransaction', { where: (p) => p.connectorId === conn });
	return { meterStart: start.energy_wh, ts, startTx: st };
}

/* ... and to stop it: meterStop and the transaction data from the meter,
 * StopTransaction into the queue, tx_event stopped. Returns the meter's reply. */
async function stopTx(env, conn, txRef) {
	const reading = await env.probe.request(`${CP}/${conn}/meter/read`, { tx_ref: txRef, stop: true, reason: 'Local' });
	const payload = {
		transactionId: 0,
		idTag: 'TAG1',
		meterStop: Math.floor(reading.energy_wh),
		timestamp: new Date(reading.ts).toISOString(),
		reason: 'Local',
	};
	if (reading.transaction_data !== undefined) payload.transactionData = reading.transaction_data;
	const ack = await env.probe.request(`${CP}/ocpp/tx/StopTransaction`, { payload, tx_ref: txRef });
	assert.ok(ack.seq >= 0, `StopTransaction queued: ${JSON.stringify(ack)}`);
	await env.probe.publish(`${CP}/${conn}/tx`,
		{ event: 'stopped', tx_ref: txRef, id_tag: 'TAG1', ts: reading.ts, meter_wh: reading.energy_wh, reason: 'Local' });
	return reading;
}

const values = (mv) => mv.sampledValue;
const contextOf = (mv) => mv.sampledValue[0].context;
function valueOf(mv, measurand, phase) {
	const sv = mv.sampledValue.find((v) => v.measurand === measurand && v.phase === phase);
	return sv === undefined ? undefined : Number(sv.value);
}

/* Every MeterValues CALL the CSMS got, one entry per meterValue. */
function meterValues(csms, where = () => true) {
	const out = [];
	for (const e of csms.calls(CP, 'MeterValues')) {
		for (const mv of e.payload.meterValue) {
			if (where(e.payload, mv)) out.push({ ...e.payload, mv, at: e.ts });
		}
	}
	return out;
}

async function waitForMeterValues(csms, n, where, timeout = h.ms(20000)) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const got = meterValues(csms, where);
		if (got.length >= n) return got;
		if (Date.now() > deadline) assert.fail(`${got.length} of ${n} MeterValues arrived`);
		await csms.waitForCall(CP, 'MeterValues', { after: csms.mark(), timeout: Math.max(1, deadline - Date.now()) })
			.catch(() => {});
	}
}

test('sampled MeterValues every second from the transaction start, and the stop transaction data', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await gateway(t);

	/* key validation: measurands the meter does not have are refused */
	assert.equal(await configure(env, 'MeterValuesSampledData', 'RPM'), 'Rejected');
	assert.equal(await configure(env, 'MeterValuesSampledData', 'Energy.Active.Import.Register,Bogus'), 'Rejected');
	assert.equal(await configure(env, 'StopTxnSampledData', 'Power.Reactive.Import'), 'Rejected');
	assert.equal(await configure(env, 'MeterValueSampleInterval', '-1'), 'Rejected');
	assert.equal(await configure(env, 'MeterValuesSampledDataMaxLength', '5'), 'Rejected'); /* read-only */
	const conf = await env.csms.call(CP, 'GetConfiguration', { key: ['MeterValuesSampledData', 'MeterValuesSampledDataMaxLength', 'MeterValueSampleInterval'] });
	const shown = Object.fromEntries(conf.configurationKey.map((k) => [k.key, k]));
	assert.equal(shown.MeterValuesSampledData.value, 'Energy.Active.Import.Register');
	assert.equal(shown.MeterValuesSampledDataMaxLength.value, '11');
	assert.equal(shown.MeterValuesSampledDataMaxLength.readonly, true);
	assert.equal(shown.MeterValueSampleInterval.value, '60');

	await setKeys(env, {
		MeterValueSampleInterval: '1',
		MeterValuesSampledData: 'Energy.Active.Import.Register,Energy.Active.Import.Interval,Power.Active.Import,Current.Import,Current.Offered,Voltage,SoC,Temperature',
		StopTxnSampledData: 'Energy.Active.Import.Register,Power.Active.Import',
	});
	await charging(env, 1);
	const started = await startTx(env, 1, 101);
	const txId = 1;
	const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 0.11, `${what}: ${a} vs ${b}`);

	/* Transaction.Begin first, then Sample.Periodic every second */
	const got = await waitForMeterValues(env.csms, 6, (p) => p.transactionId === txId);
	const begin = got[0];
	assert.equal(begin.connectorId, 1);
	assert.equal(contextOf(begin.mv), 'Transaction.Begin');
	assert.equal(Date.parse(begin.mv.timestamp), started.ts, 'Begin is stamped with the start');
	near(valueOf(begin.mv, 'Energy.Active.Import.Register'), started.meterStart, 'Begin is meterStart');
	assert.equal(valueOf(begin.mv, 'Energy.Active.Import.Interval'), undefined);

	const periodic = got.slice(1);
	let lastTs = Date.parse(begin.mv.timestamp);
	let lastWh = valueOf(begin.mv, 'Energy.Active.Import.Register');
	for (const { mv, connectorId } of periodic) {
		assert.equal(connectorId, 1);
		for (const sv of values(mv)) {
			assert.equal(sv.context, 'Sample.Periodic');
			assert.equal(sv.format, 'Raw');
		}
		const ts = Date.parse(mv.timestamp);
		assert.ok(ts - lastTs > 500 && ts - lastTs < 1700, `about a second apart: ${ts - lastTs} ms`);
		const wh = valueOf(mv, 'Energy.Active.Import.Register');
		assert.ok(wh >= lastWh, `energy never goes back: ${lastWh} -> ${wh}`);
		const power = valueOf(mv, 'Power.Active.Import');
		assert.ok(power > 16 * 230 * 3 * 0.93 && power < 16 * 230 * 3 * 1.05, `power ${power} W follows 16 A x 3`);
		const interval = valueOf(mv, 'Energy.Active.Import.Interval');
		assert.ok(Math.abs(interval - (wh - lastWh)) <= 0.25, `interval ${interval} = ${wh} - ${lastWh}`);
		for (const [phase, v] of [['L1', 'L1-N'], ['L2', 'L2-N'], ['L3', 'L3-N']]) {
			const a = valueOf(mv, 'Current.Import', phase);
			assert.ok(a > 15 && a <= 16.2, `Current.Import ${phase} ${a}`);
			const volts = valueOf(mv, 'Voltage', v);
			assert.ok(volts > 220 && volts < 240, `Voltage ${v} ${volts}`);
		}
		const soc = mv.sampledValue.find((v) => v.measurand === 'SoC');
		assert.deepEqual([soc.unit, soc.location], ['Percent', 'EV']);
		const temp = mv.sampledValue.find((v) => v.measurand === 'Temperature');
		assert.deepEqual([temp.location, temp.unit], ['Body', 'Celcius']);
		const offered = mv.sampledValue.find((v) => v.measurand === 'Current.Offered');
		assert.deepEqual([offered.value, offered.unit], ['16.0', 'A']);
		lastTs = ts;
		lastWh = wh;
	}
	assert.ok(lastWh > valueOf(begin.mv, 'Energy.Active.Import.Register'), 'energy rose while charging');

	/* stop: meterStop and transactionData from the meter */
	const reading = await stopTx(env, 1, 101);
	assert.ok(reading.energy_wh >= lastWh - 0.05, 'meterStop is not below the values sent (to their 0.1 Wh)');
	const td = reading.transaction_data;
	assert.ok(Array.isArray(td) && td.length >= 4, `transaction data: ${JSON.stringify(td)}`);
	assert.equal(contextOf(td[0]), 'Transaction.Begin');
	assert.equal(contextOf(td.at(-1)), 'Transaction.End');
	for (const mv of td.slice(1, -1)) assert.equal(contextOf(mv), 'Sample.Periodic');
	for (const mv of td) {
		assert.deepEqual(mv.sampledValue.map((v) => v.measurand).sort(), ['Energy.Active.Import.Register', 'Power.Active.Import']);
	}
	near(valueOf(td.at(-1), 'Energy.Active.Import.Register'), reading.energy_wh, 'End is meterStop');
	assert.equal(Date.parse(td.at(-1).timestamp), reading.ts);
	for (let i = 1; i < td.length; i++) {
		assert.ok(valueOf(td[i], 'Energy.Active.Import.Register') >= valueOf(td[i - 1], 'Energy.Active.Import.Register'));
		assert.ok(Date.parse(td[i].timestamp) >= Date.parse(td[i - 1].timestamp));
	}

	/* the strict CSMS takes it as StopTransaction.transactionData */
	const stop = await env.csms.waitForCall(CP, 'StopTransaction');
	assert.equal(stop.transactionId, txId);
	assert.deepEqual(stop.transactionData, td);

	/* sampling ended with the transaction: a new one gets its own Begin */
	const mark = env.csms.mark();
	await startTx(env, 1, 102);
	const next = await env.csms.waitForCall(CP, 'MeterValues', { after: mark, where: (p) => p.transactionId === 2 });
	assert.equal(contextOf(next.meterValue[0]), 'Transaction.Begin');
	const late = meterValues(env.csms, (p, mv) => p.transactionId === txId && Date.parse(mv.timestamp) > reading.ts);
	assert.deepEqual(late, [], 'no values of the stopped transaction after its end');
	assert.deepEqual(env.csms.validationFailures, []);
});

test('the energy register and a running transaction survive a restart of the meter', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await gateway(t);
	await setKeys(env, {
		MeterValueSampleInterval: '1',
		StopTxnSampledData: 'Energy.Active.Import.Register',
	});
	await charging(env, 2, 32);
	await startTx(env, 2, 7);
	await waitForMeterValues(env.csms, 3, (p, mv) => p.connectorId === 2 && contextOf(mv) === 'Sample.Periodic');

	const before = await env.probe.request(`${CP}/2/meter/read`, {});
	assert.ok(before.energy_wh > 0);
	const meter = env.services.get('meter');
	assert.deepEqual(await meter.stop(), { code: 0, signal: null });

	const restarted = await env.startService('meter');
	const after = await env.probe.request(`${CP}/2/meter/read`, {});
	assert.ok(after.energy_wh >= before.energy_wh, `register ${before.energy_wh} -> ${after.energy_wh} Wh`);
	assert.ok(after.energy_wh - before.energy_wh < 32 * 230 * 3 / 3600 * 30, 'and no jump');

	/* the transaction goes on: sampled values after the restart, and the stop
	 * data holds the Begin from before it */
	const mark = env.csms.mark();
	await env.csms.waitForCall(CP, 'MeterValues', { after: mark, timeout: h.ms(15000), where: (p) => p.connectorId === 2 && p.transactionId === 1 });
	const reading = await stopTx(env, 2, 7);
	const td = reading.transaction_data;
	assert.equal(contextOf(td[0]), 'Transaction.Begin');
	assert.equal(contextOf(td.at(-1)), 'Transaction.End');
	assert.ok(td.length >= 4);
	assert.ok(Date.parse(td[0].timestamp) < Date.parse(td.at(-1).timestamp));
	await env.csms.waitForCall(CP, 'StopTransaction');
	assert.deepEqual(env.csms.validationFailures, []);
	assert.ok(restarted.running());
});
