'use strict';
/* MeterValues of a running transaction are not lost while something is away:
 * taken while the Central System is unreachable they wait in the bridge's queue
 * and arrive after it comes back; taken while the broker is away they wait in
 * the meter's bus queue and reach the bridge after the reconnect. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { startCsms } = require('../csms/csms');

const CP = 'CP1';
const TEST_TIMEOUT = h.ms(150000);

async function gateway(t) {
	const env = await h.withGateway(t, {
		csms: true,
		services: ['ocpp-bridge', 'meter'],
		config: { meter: { ack_timeout_s: 5 } },
	});
	await env.csms.waitForCall(CP, 'BootNotification', { timeout: h.ms(20000) });
	await env.probe.waitFor(`${CP}/config/MeterValueSampleInterval`);
	for (;;) {
		const r = await env.csms.call(CP, 'ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '1' });
		if (r.status === 'Accepted') break;
		assert.equal(r.status, 'NotSupported'); /* the bridge has not seen the key yet */
	}
	await env.probe.publish(`${CP}/1/hw`, { plugged: true, ev_state: 'C', contactor: true, offered_a: 16, phases: 3 }, { retain: true });
	const start = await env.probe.request(`${CP}/1/meter/read`, {});
	const ts = Date.now();
	assert.ok((await env.probe.request(`${CP}/ocpp/tx/StartTransaction`, {
		payload: { connectorId: 1, idTag: 'TAG1', meterStart: Math.floor(start.energy_wh), timestamp: new Date(ts).toISOString() },
		tx_ref: 1,
	})).seq >= 0);
	await env.probe.publish(`${CP}/1/tx`, { event: 'started', tx_ref: 1, id_tag: 'TAG1', ts, meter_wh: start.energy_wh });
	await env.csms.waitForCall(CP, 'StartTransaction');
	return env;
}

/* Sampled values (timestamp -> energy) of transaction 1 that a CSMS got. */
function sampled(csms) {
	const out = new Map();
	for (const e of csms.calls(CP, 'MeterValues')) {
		if (e.payload.transactionId !== 1) continue;
		for (const mv of e.payload.meterValue) {
			if (mv.sampledValue[0].context === 'Sample.Periodic') out.set(mv.timestamp, Number(mv.sampledValue[0].value));
		}
	}
	return out;
}

async function until(csms, pred, what, timeout) {
	const deadline = Date.now() + timeout;
	while (!pred()) {
		if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
		await csms.waitForCall(CP, 'MeterValues', { after: csms.mark(), timeout: Math.max(1, deadline - Date.now()) })
			.catch(() => {});
	}
}

/* The sampled MeterValues the meter handed to the bridge from probe index `after` on. */
function handed(env, after) {
	return env.probe.messages.slice(after)
		.filter((m) => m.topic === env.probe.topic(`${CP}/ocpp/tx/MeterValues`) && m.payload.periodic)
		.map((m) => m.payload.payload.meterValue[0].timestamp);
}

test('values taken while the Central System is away arrive after it comes back', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await gateway(t);
	await env.probe.subscribe(`${CP}/ocpp/tx/+`);
	await until(env.csms, () => sampled(env.csms).size >= 2, 'sampled values', h.ms(20000));

	const port = env.csms.port;
	const stateMark = env.probe.mark();
	await env.csms.close();
	await env.probe.waitFor(`${CP}/state`, (p) => p.connection !== 'connected', { after: stateMark });
	const outage = env.probe.mark();
	/* the queue grows while the meter goes on sampling */
	await env.probe.waitFor(`${CP}/state`, (p) => p.queue_depth >= 4, { after: outage, timeout: h.ms(20000) });
	const during = handed(env, outage);
	assert.ok(during.length >= 3, `sampled while away: ${during}`);

	const csms2 = await startCsms({ port });
	t.after(() => csms2.close());
	await csms2.waitForConnection(CP, { timeout: h.ms(60000) });
	await until(csms2, () => during.every((ts) => sampled(csms2).has(ts)), 'the values taken during the outage', h.ms(30000));

	/* in order, and the energy never went back */
	const got = [...sampled(csms2)];
	for (let i = 1; i < got.length; i++) {
		assert.ok(Date.parse(got[i][0]) > Date.parse(got[i - 1][0]), 'in the order they were taken');
		assert.ok(got[i][1] >= got[i - 1][1]);
	}
	/* nothing lost between the last value before and the first after */
	const before = [...sampled(env.csms).keys()].map(Date.parse);
	const all = [...before, ...got.map(([ts]) => Date.parse(ts))].sort((a, b) => a - b);
	for (let i = 1; i < all.length; i++) assert.ok(all[i] - all[i - 1] < 1800, `no gap: ${new Date(all[i - 1]).toISOString()} .. ${new Date(all[i]).toISOString()}`);
	assert.deepEqual(csms2.validationFailures, []);
	assert.deepEqual(env.csms.validationFailures, []);
});

test('values taken while the broker is away reach the Central System after it is back', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await gateway(t);
	await until(env.csms, () => sampled(env.csms).size >= 2, 'sampled values', h.ms(20000));

	const meter = env.services.get('meter');
	const line = meter.lines.length;
	const stoppedAt = Date.now();
	await env.broker.stop();
	const lost = await meter.waitForLog(/bus: lost the broker/, { after: line });
	/* three values taken without a broker */
	for (let i = 0, after = lost.index; i < 3; i++) {
		after = (await meter.waitForLog(/MeterValues of transaction 1 to the bridge/, { after: after + 1, timeout: h.ms(10000) })).index;
	}
	const away = Date.now();
	await env.broker.restart();
	await meter.waitForLog(/bus: connected/, { after: lost.index });

	/* The values of the outage arrive: the series closes without a gap. One
	 * sent just as the broker went down is lost with it and sent again after
	 * meter.ack_timeout_s (5 s here), so wait for the series, not for the
	 * first value after the outage. */
	const gaps = () => {
		const all = [...sampled(env.csms).keys()].map(Date.parse).sort((a, b) => a - b);
		const out = [];
		for (let i = 1; i < all.length; i++) {
			if (all[i] - all[i - 1] >= 1800) out.push(`${new Date(all[i - 1]).toISOString()} .. ${new Date(all[i]).toISOString()}`);
		}
		return all.some((ts) => ts > away + 1000) ? out : ['no value after the outage yet'];
	};
	await until(env.csms, () => gaps().length === 0, 'the series without gaps', h.ms(30000)).catch(() => {
		assert.fail(`gaps in the series: ${gaps().join(', ')}`);
	});
	const all = [...sampled(env.csms).keys()].map(Date.parse).sort((a, b) => a - b);
	assert.ok(all.filter((ts) => ts >= stoppedAt && ts <= away).length >= 3, 'the values taken without a broker arrived');
	assert.deepEqual(env.csms.validationFailures, []);
});
