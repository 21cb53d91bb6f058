'use strict';
/* ocpp-bridge: the WebSocket link. Pings with a pong deadline find a dead
 * link; a dropped connection is redialled with exponential backoff; a server
 * that does not agree to the ocpp1.6 subprotocol is refused. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { WebSocketServer } = require('ws');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(45000);

async function linkEnv(t, csmsOpts = true) {
	const env = await h.withGateway(t, { csms: csmsOpts });
	const bridge = await env.startService('ocpp-bridge');
	await env.probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
	return { env, bridge, csms: env.csms, probe: env.probe };
}

const change = async (csms, key, value) => (await csms.call('CP1', 'ChangeConfiguration', { key, value })).status;

test('WebSocketPingInterval: pings every interval; a link that stops answering them is closed and redialled', { timeout: TEST_TIMEOUT }, async (t) => {
	const { bridge, csms } = await linkEnv(t);
	let mark = csms.mark();
	assert.equal(await change(csms, 'WebSocketPingInterval', '1'), 'Accepted');
	const pings = [];
	for (let i = 0; i < 4; i++) pings.push(await csms.waitForPing('CP1', { after: i ? pings[i - 1].index + 1 : mark.pings, timeout: h.ms(3000) }));
	for (let i = 1; i < pings.length; i++) {
		const gap = pings[i].ts - pings[i - 1].ts;
		assert.ok(gap >= 950 && gap <= 1000 + h.ms(700), `ping ${i} after ${gap} ms`);
	}
	assert.equal(csms.events.length, 1, 'answered pings keep the link');

	/* the CSMS answers OCPP but no pings: the pong deadline (the interval, at most 10 s) closes the link */
	mark = csms.mark();
	csms.stopPongs('CP1');
	const t0 = Date.now();
	await csms.waitForDisconnect('CP1', { after: mark, timeout: h.ms(5000) });
	await bridge.waitForLog(/closing the connection: no pong from the Central System/);
	const info = await csms.waitForConnection('CP1', { after: mark, timeout: h.ms(5000) });
	const took = info.connectedAt - t0;
	assert.ok(took >= 900 && took < h.ms(4000), `redialled ${took} ms after the pongs stopped`);
	await csms.waitForCall('CP1', 'BootNotification', { after: mark });

	/* a dead link: nothing comes back at all, not even a close */
	mark = csms.mark();
	await csms.waitForPing('CP1', { after: mark });
	csms.freeze('CP1');
	const t1 = Date.now();
	const again = await csms.waitForConnection('CP1', { after: mark, timeout: h.ms(6000) });
	const took2 = again.connectedAt - t1;
	assert.ok(took2 >= 900 && took2 < h.ms(4000), `redialled ${took2} ms after the link died`);
	await csms.waitForCall('CP1', 'BootNotification', { after: mark });
	await csms.waitForPing('CP1', { after: csms.mark(), timeout: h.ms(3000) });

	/* 0: no pings; heartbeats (every 1 s here) are the clock */
	assert.equal(await change(csms, 'HeartbeatInterval', '1'), 'Accepted');
	assert.equal(await change(csms, 'WebSocketPingInterval', '0'), 'Accepted');
	mark = csms.mark();
	const cur = csms.cursor();
	for (let i = 0; i < 3; i++) await cur.waitForCallEntry('CP1', 'Heartbeat', { timeout: h.ms(3000) });
	assert.deepEqual(csms.pings.slice(mark.pings), [], 'no pings with WebSocketPingInterval 0');
	assert.equal(csms.events.filter((e) => e.type === 'connect').length, 3);
});

test('a dropped connection is redialled with exponential backoff, reset once connected', { timeout: TEST_TIMEOUT }, async (t) => {
	let allow = true;
	const { bridge, csms } = await linkEnv(t, { auth: () => allow });

	allow = false; /* the CSMS refuses the next upgrades */
	let mark = csms.mark();
	const dropped = Date.now();
	await csms.disconnect('CP1', { code: 1001, reason: 'going down' });
	const attempts = [{ ts: dropped }];
	for (let i = 0; i < 2; i++) {
		attempts.push(await csms.waitForRefusal('CP1', { after: i ? attempts[i].index + 1 : mark.refusals, timeout: h.ms(10000) }));
	}
	allow = true;
	const back = await csms.waitForConnection('CP1', { after: mark, timeout: h.ms(15000) });
	attempts.push({ ts: back.connectedAt });
	const gaps = attempts.slice(1).map((a, i) => a.ts - attempts[i].ts);
	/* backoff 1, 2, 4 s, each plus up to half of it at random */
	const base = [1000, 2000, 4000];
	for (let i = 0; i < gaps.length; i++) {
		assert.ok(gaps[i] >= base[i] - 50 && gaps[i] <= base[i] * 1.5 + h.ms(600),
			`attempt ${i + 1} after ${gaps[i]} ms (backoff ${base[i]} ms): ${gaps}`);
	}
	await csms.waitForCall('CP1', 'BootNotification', { after: mark });
	await bridge.waitForLog(/cannot connect/);

	/* connected: the next drop starts at 1 s again */
	mark = csms.mark();
	const t0 = Date.now();
	await csms.disconnect('CP1', { code: 1001 });
	const next = await csms.waitForConnection('CP1', { after: mark, timeout: h.ms(5000) });
	const gap = next.connectedAt - t0;
	assert.ok(gap >= 950 && gap <= 1500 + h.ms(600), `redialled after ${gap} ms`);
});

/* A WebSocket server that completes the upgrade but picks the subprotocol itself. */
async function plainServer(t, handleProtocols) {
	const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols });
	await new Promise((resolve) => wss.once('listening', resolve));
	const seen = { connections: [], frames: [] };
	wss.on('connection', (ws, req) => {
		const c = { ts: Date.now(), protocol: ws.protocol, offered: req.headers['sec-websocket-protocol'], closed: null };
		seen.connections.push(c);
		ws.on('message', (data) => seen.frames.push(String(data)));
		ws.on('close', () => { c.closed = Date.now(); });
	});
	t.after(() => new Promise((resolve) => {
		for (const c of wss.clients) c.terminate();
		wss.close(() => resolve());
	}));
	return { url: `ws://127.0.0.1:${wss.address().port}/ocpp`, seen };
}

for (const [what, handleProtocols] of [
	['no subprotocol', () => false],
	['subprotocol ocpp2.0.1', () => 'ocpp2.0.1'],
]) {
	test(`a server that answers the upgrade with ${what} is refused`, { timeout: TEST_TIMEOUT }, async (t) => {
		const server = await plainServer(t, handleProtocols);
		const env = await h.withGateway(t, { config: { csms: { url: server.url } } });
		await env.probe.subscribe('CP1/state');
		const bridge = await env.startService('ocpp-bridge');
		await bridge.waitForLog(/did not agree to subprotocol ocpp1\.6|cannot connect/);
		/* and it keeps trying, with backoff */
		const deadline = Date.now() + h.ms(8000);
		while (server.seen.connections.length < 2 && Date.now() < deadline) {
			await bridge.waitForLog(/cannot connect/, { after: bridge.lines.length, timeout: h.ms(8000) });
		}
		assert.ok(server.seen.connections.length >= 2, `${server.seen.connections.length} upgrades`);
		for (const c of server.seen.connections) assert.equal(c.offered, 'ocpp1.6');
		assert.deepEqual(server.seen.frames, [], 'not one OCPP frame');
		const states = env.probe.messages.filter((m) => m.topic === env.probe.topic('CP1/state')).map((m) => m.payload.connection);
		assert.ok(!states.includes('connected'), `never connected: ${states}`);
	});
}
