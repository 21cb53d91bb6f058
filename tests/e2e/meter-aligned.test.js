'use strict';
/* Clock-aligned MeterValues of sitegate-meter through the real ocpp-bridge to
 * the strict CSMS: every ClockAlignedDataInterval (here 5 s) from midnight UTC,
 * stamped exactly on the boundary, for each connector and for connector 0 (their
 * sum); outside a transaction sent as they are, during one through the queue
 * with its transactionId and into StopTxnAlignedData. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const CP = 'CP1';
const INTERVAL_MS = 5000;

async function gateway(t) {
	const env = await h.withGateway(t, { csms: true, services: ['ocpp-bridge', 'meter'] });
	await env.csms.waitForCall(CP, 'BootNotification', { timeout: h.ms(20000) });
	await env.probe.waitFor(`${CP}/config/ClockAlignedDataInterval`);
	return env;
}

async function configure(env, key, value) {
	const deadline = Date.now() + h.TIMEOUT;
	for (;;) {
		const r = await env.csms.call(CP, 'ChangeConfiguration', { key, value });
		if (r.status !== 'NotSupported' || Date.now() > deadline) return r.status;
		await env.probe.waitFor(`${CP}/config/${key}`);
	}
}

const contextOf = (mv) => mv.sampledValue[0].context;
function sv(mv, measurand, phase) {
	return mv.sampledValue.find((v) => v.measurand === measurand && v.phase === phase);
}
const num = (mv, measurand, phase) => Number(sv(mv, measurand, phase)?.value);

/* The clock-aligned values the CSMS got: {connectorId, transactionId, mv, at}. */
function aligned(csms, where = () => true) {
	const out = [];
	for (const e of csms.calls(CP, 'MeterValues')) {
		for (const mv of e.payload.meterValue) {
			const item = { connectorId: e.payload.connectorId, transactionId: e.payload.transactionId, mv, at: e.ts };
			if (contextOf(mv) === 'Sample.Clock' && where(item)) out.push(item);
		}
	}
	return out;
}

async function waitForAligned(csms, pred, what, timeout = h.ms(40000)) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const v = pred();
		if (v) return v;
		if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
		await csms.waitForCall(CP, 'MeterValues', { after: csms.mark(), timeout: Math.max(1, deadline - Date.now()) })
			.catch(() => {});
	}
}

test('clock-aligned values on the boundaries, per connector and for connector 0', { timeout: h.ms(120000) }, async (t) => {
	const env = await gateway(t);
	/* connector 1 charges without a transaction (as a free-vend charger would);
	 * connector 2 stands idle */
	await env.probe.publish(`${CP}/1/hw`, { plugged: true, ev_state: 'C', contactor: true, offered_a: 10, phases: 3 }, { retain: true });
	assert.equal(await configure(env, 'MeterValuesAlignedData',
		'Energy.Active.Import.Register,Energy.Active.Import.Interval,Power.Active.Import,Current.Import,Voltage,Temperature'), 'Accepted');
	assert.equal(await configure(env, 'ClockAlignedDataInterval', '5'), 'Accepted');
	const since = Date.now();

	const per = (c) => aligned(env.csms, (x) => x.connectorId === c);
	await waitForAligned(env.csms, () => [0, 1, 2].every((c) => per(c).length >= 4), 'four aligned values of connectors 0, 1 and 2');

	for (const c of [0, 1, 2]) {
		const list = per(c);
		let prev = null;
		for (const { mv, transactionId, at } of list) {
			assert.equal(transactionId, undefined, 'no transaction');
			const ts = Date.parse(mv.timestamp);
			assert.equal(ts % INTERVAL_MS, 0, `connector ${c}: ${mv.timestamp} lies on a 5 s boundary`);
			assert.match(mv.timestamp, /\.000Z$/);
			assert.ok(ts >= since - INTERVAL_MS && at - ts >= 0 && at - ts < h.ms(3000), `sent soon after ${mv.timestamp}`);
			for (const v of mv.sampledValue) {
				assert.equal(v.context, 'Sample.Clock');
				assert.equal(v.format, 'Raw');
				assert.equal(v.location, v.measurand === 'Temperature' ? 'Body' : c === 0 ? 'Inlet' : 'Outlet');
			}
			const wh = num(mv, 'Energy.Active.Import.Register');
			if (prev) {
				assert.equal(ts - prev.ts, INTERVAL_MS, `connector ${c}: consecutive boundaries`);
				assert.ok(wh >= prev.wh, `connector ${c}: energy never goes back`);
				/* the interval energy is the register's step (rounded to 0.1 Wh each) */
				assert.ok(Math.abs(num(mv, 'Energy.Active.Import.Interval') - (wh - prev.wh)) <= 0.25);
			}
			prev = { ts, wh };
		}
	}
	/* connector 1 charged: ~10 A x 3 at ~230 V averaged over the interval */
	const last1 = per(1).at(-1).mv;
	const p1 = num(last1, 'Power.Active.Import');
	assert.ok(p1 > 10 * 230 * 3 * 0.93 && p1 < 10 * 230 * 3 * 1.05, `power ${p1}`);
	assert.ok(num(last1, 'Energy.Active.Import.Interval') > p1 * 5 / 3600 * 0.9);
	assert.ok(num(last1, 'Current.Import', 'L3') > 9.5);
	assert.equal(num(per(2).at(-1).mv, 'Power.Active.Import'), 0);
	/* connector 0 is their sum, at the same boundary */
	for (const { mv } of per(0)) {
		const m1 = per(1).find((x) => x.mv.timestamp === mv.timestamp);
		const m2 = per(2).find((x) => x.mv.timestamp === mv.timestamp);
		if (!m1 || !m2) continue;
		const sum = num(m1.mv, 'Energy.Active.Import.Register') + num(m2.mv, 'Energy.Active.Import.Register');
		assert.ok(Math.abs(num(mv, 'Energy.Active.Import.Register') - sum) <= 0.15, `connector 0 ${mv.timestamp}`);
		assert.equal(sv(mv, 'Voltage', 'L1-N').unit, 'V');
	}

	/* 0 stops them */
	assert.equal(await configure(env, 'ClockAlignedDataInterval', '0'), 'Accepted');
	const stopped = Date.now();
	const mark = env.csms.mark();
	await assert.rejects(env.csms.waitForCall(CP, 'MeterValues', { after: mark, timeout: h.ms(1.5 * INTERVAL_MS) }), { code: 'ETIMEDOUT' });
	assert.ok(aligned(env.csms, (x) => Date.parse(x.mv.timestamp) > stopped).length === 0);
	assert.deepEqual(env.csms.validationFailures, []);
});

test('clock-aligned values during a transaction go through the queue and into the stop data', { timeout: h.ms(120000) }, async (t) => {
	const env = await gateway(t);
	await env.probe.publish(`${CP}/1/hw`, { plugged: true, ev_state: 'C', contactor: true, offered_a: 16, phases: 3 }, { retain: true });
	for (const [k, v] of [['ClockAlignedDataInterval', '5'], ['MeterValuesAlignedData', 'Energy.Active.Import.Register,Power.Active.Import'],
		['StopTxnAlignedData', 'Energy.Active.Import.Register'], ['StopTxnSampledData', '']]) {
		assert.equal(await configure(env, k, v), 'Accepted', k);
	}

	/* the connector service starts a transaction */
	const start = await env.probe.request(`${CP}/1/meter/read`, {});
	const ts = Date.now();
	assert.ok((await env.probe.request(`${CP}/ocpp/tx/StartTransaction`, {
		payload: { connectorId: 1, idTag: 'TAG1', meterStart: Math.floor(start.energy_wh), timestamp: new Date(ts).toISOString() },
		tx_ref: 3,
	})).seq >= 0);
	await env.probe.publish(`${CP}/1/tx`, { event: 'started', tx_ref: 3, id_tag: 'TAG1', ts, meter_wh: start.energy_wh });
	await env.csms.waitForCall(CP, 'StartTransaction');

	/* (a boundary in the few ms before the meter heard of the start went out as it was) */
	const inTx = () => aligned(env.csms, (x) => x.connectorId === 1 && Date.parse(x.mv.timestamp) > ts + 1000);
	await waitForAligned(env.csms, () => inTx().length >= 3, 'three aligned values of the transaction');
	for (const { mv, transactionId } of inTx()) {
		assert.equal(transactionId, 1, 'queued with the transaction');
		assert.equal(Date.parse(mv.timestamp) % INTERVAL_MS, 0);
	}
	/* connector 2 and connector 0 have no transaction */
	for (const c of [0, 2]) {
		assert.ok(aligned(env.csms, (x) => x.connectorId === c).every((x) => x.transactionId === undefined));
	}

	const reading = await env.probe.request(`${CP}/1/meter/read`, { tx_ref: 3, stop: true, reason: 'EVDisconnected' });
	const td = reading.transaction_data;
	assert.equal(td[0].sampledValue[0].context, 'Transaction.Begin');
	assert.equal(td.at(-1).sampledValue[0].context, 'Transaction.End');
	const clock = td.filter((mv) => mv.sampledValue[0].context === 'Sample.Clock');
	assert.ok(clock.length >= 3, `StopTxnAlignedData: ${JSON.stringify(td)}`);
	for (const mv of clock) {
		assert.equal(Date.parse(mv.timestamp) % INTERVAL_MS, 0);
		assert.deepEqual(mv.sampledValue.map((v) => v.measurand), ['Energy.Active.Import.Register']);
		/* the same reading as the one sent */
		const sent = inTx().find((x) => x.mv.timestamp === mv.timestamp);
		if (sent) assert.equal(num(sent.mv, 'Energy.Active.Import.Register'), num(mv, 'Energy.Active.Import.Register'));
	}
	assert.ok(td.every((mv) => mv.sampledValue.every((v) => v.context !== 'Sample.Periodic')), 'StopTxnSampledData is empty');

	/* the strict CSMS accepts it */
	assert.ok((await env.probe.request(`${CP}/ocpp/tx/StopTransaction`, {
		payload: { transactionId: 0, meterStop: Math.floor(reading.energy_wh), timestamp: new Date(reading.ts).toISOString(), reason: 'EVDisconnected', transactionData: td },
		tx_ref: 3,
	})).seq >= 0);
	const stop = await env.csms.waitForCall(CP, 'StopTransaction');
	assert.equal(stop.transactionData.length, td.length);
	await env.probe.publish(`${CP}/1/tx`, { event: 'stopped', tx_ref: 3, id_tag: 'TAG1', ts: reading.ts, meter_wh: reading.energy_wh, reason: 'EVDisconnected' });

	/* after the transaction: sent as they are again */
	const after = reading.ts;
	await waitForAligned(env.csms, () => aligned(env.csms, (x) => x.connectorId === 1 && Date.parse(x.mv.timestamp) > after).length >= 1,
		'an aligned value after the transaction');
	const last = aligned(env.csms, (x) => x.connectorId === 1 && Date.parse(x.mv.timestamp) > after)[0];
	assert.equal(last.transactionId, undefined);
	assert.deepEqual(env.csms.validationFailures, []);
});
