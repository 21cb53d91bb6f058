'use strict';
/* smartcharge: site load sharing. Three charge points with five connectors share a 32 A
 * grid connection as cars arrive, draw less than offered and leave. The probe plays the
 * connector and meter services (conn_hw, tx_event, meter_sample) and checks, message by
 * message, that the limits of the connectors with a transaction never add up to more than
 * the site's capacity. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(60000);
const CARS = [['CP1', 1], ['CP2', 1], ['CP3', 1], ['CP1', 2], ['CP2', 2]];

test('3 charge points, 5 connectors share 32 A as cars start, draw less and stop', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, {
		chargePoints: [{ id: 'CP1', connectors: 2 }, { id: 'CP2', connectors: 2 }, { id: 'CP3', connectors: 1 }],
		config: { site: { grid_limit_a: h.float(40), reserve_a: h.float(8) } },
	});
	const { probe } = env;
	await probe.subscribe('+/+/limit');
	await probe.subscribe('site/share');

	/* Every limit as it arrives; the site's invariant after each one. */
	const latest = new Map();
	const latestMessage = new Map();
	const active = new Set();
	const violations = [];
	probe.client.on('message', (topic) => {
		const m = probe.messages[probe.messages.length - 1];
		const rel = topic.slice(env.prefix.length + 1);
		const match = /^([^/]+)\/(\d+)\/limit$/.exec(rel);
		if (!match || !m.payload) return;
		latest.set(`${match[1]}/${match[2]}`, m.payload.limit_a);
		latestMessage.set(`${match[1]}/${match[2]}`, m);
		let sum = 0;
		for (const k of active) sum += latest.get(k) ?? 0;
		if (sum > 32 + 1e-6) violations.push(`${rel}: active connectors offered ${sum} A`);
	});

	await env.startService('smartcharge');
	const key = (cp, c) => `${cp}/${c}`;
	const limitOf = (cp, c, pred, opts) => probe.waitFor(`${cp}/${c}/limit`, pred, opts);
	const all = (keys, want, opts) => Promise.all(keys.map((k) => {
		const [cp, c] = k.split('/');
		const pred = (p) => Math.abs(p.limit_a - want) < 1e-9;
		/* smartcharge publishes a limit only when it changes: one that has the value already
		 * (the first car keeps the 32 A it could start with) needs no new message */
		const last = latestMessage.get(k);
		return limitOf(cp, c, pred, { after: last && pred(last.payload) ? last.index : mark, ...opts });
	}));

	/* idle connectors could start with the whole capacity: 32 A (40 - 8) */
	let mark = 0;
	await all(CARS.map(([cp, c]) => key(cp, c)), 32);
	const share = await probe.waitFor('site/share', (p) => p.active === 0);
	assert.equal(share.payload.capacity_a, 32);

	const expected = [32, 16, 10.6, 8, 6.4];
	for (let i = 0; i < CARS.length; i++) {
		const [cp, c] = CARS[i];
		mark = probe.mark();
		await probe.publish(`${cp}/${c}/hw`, { plugged: true, ev_state: 'C', contactor: true, offered_a: 0, phases: 3 }, { retain: true });
		active.add(key(cp, c));
		await probe.publish(`${cp}/${c}/tx`, { event: 'started', tx_ref: 100 + i, id_tag: `TAG${i}`, ts: Date.now() });
		const got = await all([...active], expected[i]);
		if (i > 0) assert.equal(got[0].payload.source, 'site share');
		await probe.waitFor('site/share', (p) => p.active === i + 1, { after: mark });
		for (const k of active) assert.ok(Math.abs(latest.get(k) - expected[i]) < 1e-9, `${k}: ${latest.get(k)} A`);
	}
	const full = await probe.waitFor('site/share', (p) => p.active === 5 && p.offered_a === 32);
	assert.equal(full.payload.paused, 0);

	/* CP3/1's car draws 3 A: within seconds it is offered 6 A, the others (32 - 6) / 4 */
	mark = probe.mark();
	const drawingLess = Date.now();
	const sample = (a) => ({ ts: Date.now(), energy_wh: 1000, power_w: a * 230 * 3, current_l1: a, current_l2: a, current_l3: a });
	const sampler = setInterval(() => probe.publish('CP3/1/meter', sample(3), { qos: 0 }).catch(() => {}), 500);
	t.after(() => clearInterval(sampler));
	const low = await limitOf('CP3', 1, (p) => p.limit_a === 6, { after: mark, timeout: h.ms(10000) });
	assert.ok(low.ts - drawingLess < h.ms(8000), `within seconds (${low.ts - drawingLess} ms)`);
	await all(['CP1/1', 'CP2/1', 'CP1/2', 'CP2/2'], 6.5);
	clearInterval(sampler);

	/* two cars leave: the three left share again, the low one still at 6 A */
	mark = probe.mark();
	for (const [i, [cp, c]] of [[0, CARS[0]], [1, CARS[1]]]) {
		active.delete(key(cp, c));
		await probe.publish(`${cp}/${c}/tx`, { event: 'stopped', tx_ref: 100 + i, id_tag: `TAG${i}`, ts: Date.now(), reason: 'EVDisconnected' });
		await probe.publish(`${cp}/${c}/hw`, { plugged: false, ev_state: 'A', contactor: false, offered_a: 0, phases: 3 }, { retain: true });
	}
	await all(['CP1/2', 'CP2/2'], 13);
	await probe.waitFor('site/share', (p) => p.active === 3 && p.offered_a === 32, { after: mark });

	/* the meter goes quiet: after a while its car may have all again: 32 / 3 */
	await all(['CP1/2', 'CP2/2', 'CP3/1'], 10.6, { timeout: h.ms(25000) });

	assert.deepEqual(violations, []);
});

test('a site too small for everyone at 6 A pauses the last to come at 0 A until a place is free', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, {
		chargePoints: [{ id: 'CP1', connectors: 2 }, { id: 'CP2', connectors: 1 }],
		config: { site: { grid_limit_a: h.float(16) } },
	});
	const { probe } = env;
	await env.startService('smartcharge');
	const cars = [['CP1', 1], ['CP1', 2], ['CP2', 1]];
	for (let i = 0; i < cars.length; i++) {
		const [cp, c] = cars[i];
		await probe.publish(`${cp}/${c}/hw`, { plugged: true, ev_state: 'C', contactor: true, offered_a: 0, phases: 3 }, { retain: true });
		await probe.publish(`${cp}/${c}/tx`, { event: 'started', tx_ref: i + 1, id_tag: 'TAG', ts: Date.now() });
	}
	/* 16 A: two places of 6 A; the third waits for its turn at 0 A */
	await probe.waitFor('CP1/1/limit', (p) => p.limit_a === 8);
	await probe.waitFor('CP1/2/limit', (p) => p.limit_a === 8);
	const paused = await probe.waitFor('CP2/1/limit', (p) => p.limit_a === 0 && /paused/.test(p.source));
	assert.match(paused.payload.source, /waiting for its turn/);
	await probe.waitFor('site/share', (p) => p.active === 3 && p.paused === 1 && p.offered_a === 16);
	/* one leaves: the waiting one charges at once */
	const mark = probe.mark();
	await probe.publish('CP1/1/tx', { event: 'stopped', tx_ref: 1, id_tag: 'TAG', ts: Date.now(), reason: 'Local' });
	await probe.waitFor('CP2/1/limit', (p) => p.limit_a === 8, { after: mark });
});
