'use strict';
/* ocpp-bridge: Heartbeat after HeartbeatInterval of silence. Timing checks
 * allow slack above the interval but never below it: a heartbeat must not
 * come early. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(40000);
const EARLY = 60; /* ms a timer may appear early through clock granularity */
const LATE = h.ms(900); /* ms a heartbeat may come late on a busy machine */

async function heartbeatEnv(t, interval) {
	const env = await h.withGateway(t, { csms: true });
	env.csms.handle('BootNotification', () => ({ status: 'Accepted', interval, currentTime: new Date().toISOString() }));
	await env.startService('ocpp-bridge');
	await env.csms.waitForCall('CP1', 'BootNotification');
	return env;
}

/* The entry of the CSMS's answer to the charge point's CALL entry e. */
function answerOf(csms, e) {
	return csms.waitForFrame((f) => f.dir === 'out' && f.id === e.id && f.type !== 'CALL');
}

test('idle: a Heartbeat every interval (2 s), each after the last was answered', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await heartbeatEnv(t, 2);
	const { csms } = env;
	const cur = csms.cursor();
	const beats = [];
	for (let i = 0; i < 4; i++) beats.push(await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(5000) }));
	for (let i = 1; i < beats.length; i++) {
		const gap = beats[i].ts - beats[i - 1].ts;
		assert.ok(gap >= 2000 - EARLY && gap <= 2000 + LATE, `heartbeat ${i} after ${gap} ms`);
		const answer = await answerOf(csms, beats[i - 1]);
		assert.ok(answer.index < beats[i].index, 'one heartbeat at a time');
	}
	assert.deepEqual(beats.map((b) => b.payload), [{}, {}, {}, {}]);
	/* idle: heartbeats are all the charge point sent after its boot */
	const boot = csms.calls('CP1', 'BootNotification')[0];
	const other = csms.calls('CP1').filter((e) => e.index > boot.index && e.action !== 'Heartbeat');
	assert.deepEqual(other.map((e) => e.action), []);
});

test('traffic either way resets the heartbeat timer', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await heartbeatEnv(t, 2);
	const { csms, probe } = env;
	const cur = csms.cursor();
	await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(5000) });

	/* the charge point answers a CSMS call half-way through the interval */
	const hb1 = await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(5000) });
	await new Promise((r) => setTimeout(r, 1000)); /* half an interval: the stimulus, not a wait for an event */
	await csms.call('CP1', 'GetConfiguration', { key: ['HeartbeatInterval'] });
	const reply = csms.traffic.filter((e) => e.dir === 'in' && e.type === 'CALLRESULT' && e.action === 'GetConfiguration').at(-1);
	const hb2 = await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(5000) });
	assert.ok(hb2.ts - reply.ts >= 2000 - EARLY, `heartbeat ${hb2.ts - reply.ts} ms after the answer`);
	assert.ok(hb2.ts - hb1.ts >= 2900, `heartbeats ${hb2.ts - hb1.ts} ms apart`);
	assert.ok(hb2.ts - reply.ts <= 2000 + LATE);

	/* the charge point sends a message of its own half-way through */
	await new Promise((r) => setTimeout(r, 1000));
	await probe.publish('CP1/1/state', { status: 'Available' }, { retain: true });
	const sn = await cur.waitForCallEntry('CP1', 'StatusNotification');
	const hb3 = await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(5000) });
	assert.ok(hb3.ts - sn.ts >= 2000 - EARLY, `heartbeat ${hb3.ts - sn.ts} ms after the StatusNotification`);
	assert.ok(hb3.ts - hb2.ts >= 2900, `heartbeats ${hb3.ts - hb2.ts} ms apart`);

	/* and a service's message through ocpp_send */
	await new Promise((r) => setTimeout(r, 1000));
	const res = await probe.request('CP1/ocpp/send/DataTransfer', { payload: { vendorId: 'sitegate', messageId: 'x' } });
	assert.equal(res.payload.status, 'UnknownVendorId');
	const dt = csms.calls('CP1', 'DataTransfer').at(-1);
	const hb4 = await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(5000) });
	assert.ok(hb4.ts - dt.ts >= 2000 - EARLY, `heartbeat ${hb4.ts - dt.ts} ms after the DataTransfer`);
});

test('ChangeConfiguration HeartbeatInterval "1": heartbeats every second from then on', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await heartbeatEnv(t, 300);
	const { csms } = env;
	const mark = csms.mark();
	assert.deepEqual(await csms.call('CP1', 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '1' }), { status: 'Accepted' });
	const cur = csms.cursor(mark.traffic);
	const beats = [];
	for (let i = 0; i < 3; i++) beats.push(await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(4000) }));
	for (let i = 1; i < beats.length; i++) {
		const gap = beats[i].ts - beats[i - 1].ts;
		assert.ok(gap >= 1000 - EARLY && gap <= 1000 + LATE, `heartbeat ${i} after ${gap} ms`);
	}
	const conf = await csms.call('CP1', 'GetConfiguration', { key: ['HeartbeatInterval'] });
	assert.equal(conf.configurationKey[0].value, '1');
});
