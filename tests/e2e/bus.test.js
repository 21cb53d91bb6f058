'use strict';
/* The bus between the C services: request/response across a broker restart,
 * retained online/offline status with an orderly stop, malformed payloads. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const SERVICES = ['connector', 'meter', 'auth', 'smartcharge', 'ocpp-bridge'];

test('ping between two C processes survives a broker restart without losing a message', { timeout: h.ms(120000) }, async (t) => {
	const env = await h.withGateway(t, { services: ['connector'] });
	const COUNT = 60;
	const ping = env.ctlSpawn(['--json', 'ping', 'connector', '--count', String(COUNT)]);

	await ping.waitForLineCount(15, { stream: 'stdout' });
	await env.broker.restart();
	const exit = await ping.waitExit({ timeout: h.ms(60000) });
	assert.deepEqual(exit, { code: 0, signal: null }, `sitegatectl ping failed\n${ping.tail()}\n${env.broker.tail()}`);

	const answers = ping.stdoutLines.filter((l) => l.trim()).map((l) => {
		try {
			return JSON.parse(l);
		} catch {
			assert.fail(`not a JSON line: ${l}`);
		}
	});
	assert.deepEqual(answers.map((a) => a.seq), Array.from({ length: COUNT }, (_, i) => i + 1),
		'seq 1..60, each exactly once, in order');
	for (const a of answers) {
		assert.equal(a.svc, 'connector');
		assert.equal(typeof a.rtt_ms, 'number');
		assert.ok(a.rtt_ms >= 0);
	}
	assert.ok(env.broker.generation >= 2, 'the broker was restarted');

	/* and the service answers a new client after the restart */
	assert.equal((await env.probe.request('service/connector/ping', { seq: 99 })).svc, 'connector');
});

test('every service publishes a retained online status and on SIGTERM exits 0 within 2 s, status offline', { timeout: h.ms(90000) }, async (t) => {
	const env = await h.withGateway(t, { csms: true });
	const procs = new Map();
	for (const name of SERVICES) {
		const proc = await env.startService(name);
		procs.set(name, proc);
		const status = await env.probe.waitFor(`service/${name}/status`, (p) => p.state === 'online');
		assert.equal(status.payload.v, 1);
		if (status.payload.pid !== undefined) assert.equal(status.payload.pid, proc.pid);
	}

	/* a client that comes later learns from the retained messages who is online */
	const late = await env.startProbe();
	for (const name of SERVICES) {
		const m = await late.waitFor(`service/${name}/status`);
		assert.equal(m.retained, true, `${name} status is retained`);
		assert.equal(m.payload.state, 'online', `${name} is online`);
	}
	await late.close();

	for (const [name, proc] of procs) {
		const mark = env.probe.mark();
		const t0 = Date.now();
		proc.kill('SIGTERM');
		const exit = await proc.waitExit({ timeout: h.ms(2000) });
		const took = Date.now() - t0;
		assert.deepEqual(exit, { code: 0, signal: null }, `${name} exit after SIGTERM\n${proc.tail()}`);
		assert.ok(took <= h.ms(2000), `${name} took ${took} ms to stop`);
		await env.probe.waitFor(`service/${name}/status`, (p) => p.state === 'offline', { after: mark });
	}

	const after = await env.startProbe();
	for (const name of SERVICES) {
		const m = await after.waitFor(`service/${name}/status`);
		assert.equal(m.retained, true);
		assert.equal(m.payload.state, 'offline', `${name} is offline after its stop`);
	}
});

test('a malformed payload is logged and dropped; the service keeps answering', { timeout: h.ms(60000) }, async (t) => {
	const env = await h.withGateway(t, { services: ['connector'] });
	const connector = env.services.get('connector');
	assert.equal((await env.probe.request('service/connector/ping', { seq: 1, sent: 5 })).seq, 1);

	const logMark = connector.lines.length;
	const replies = env.probe.mark();
	/* 0xc1 is the one byte msgpack never uses */
	await env.probe.publishRaw('service/connector/ping', Buffer.from([0xc1]), {
		responseTopic: env.probe.replyTopic,
		correlationData: Buffer.from('malformed-1'),
	});
	const first = await connector.waitForLog(/malformed/i, { after: logMark });

	/* a well-formed msgpack map {v: 1} that lacks the required seq */
	await env.probe.publishRaw('service/connector/ping', Buffer.from([0x81, 0xa1, 0x76, 0x01]), {
		responseTopic: env.probe.replyTopic,
		correlationData: Buffer.from('malformed-2'),
	});
	await connector.waitForLog(/malformed/i, { after: first.index + 1 });

	const pong = await env.probe.request('service/connector/ping', { seq: 2, sent: 7 });
	assert.deepEqual({ seq: pong.seq, sent: pong.sent, svc: pong.svc }, { seq: 2, sent: 7, svc: 'connector' });
	/* nothing was answered to the malformed requests */
	const stray = env.probe.messages.slice(replies).filter((m) => m.topic === env.probe.replyTopic &&
		/^malformed/.test(String(m.properties.correlationData || '')));
	assert.deepEqual(stray, []);
	assert.equal(connector.running(), true);
});
