'use strict';
/* sitegatectl against a running gateway. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

function parseJson(text, what) {
	try {
		return JSON.parse(text);
	} catch (err) {
		assert.fail(`${what} is not JSON (${err.message}):\n${text}`);
	}
}

test('status --json lists the running services as online', { timeout: h.ms(60000) }, async (t) => {
	const env = await h.withGateway(t, { services: ['connector', 'meter'] });
	const r = await env.ctl(['status', '--json']);
	assert.equal(r.code, 0, r.stderr);
	const status = parseJson(r.stdout, 'status --json');
	assert.equal(typeof status.services, 'object');
	assert.equal(typeof status.charge_points, 'object');
	for (const name of ['connector', 'meter']) {
		assert.ok(status.services[name], `${name} is listed: ${r.stdout}`);
		assert.equal(status.services[name].state, 'online', name);
	}
	for (const [name, s] of Object.entries(status.services)) {
		if (s.state === 'online') assert.ok(['connector', 'meter', 'ctl'].includes(name), `${name} is online but was never started`);
	}
});

test('monitor --json --count 1 prints a meter sample the probe publishes', { timeout: h.ms(60000) }, async (t) => {
	const env = await h.withGateway(t);
	const mon = env.ctlSpawn(['monitor', '--json', '--count', '1', 'CP1/#']);
	await mon.waitForLine(/monitoring .*CP1\/#/, { stream: 'stderr' });

	const sample = { ts: Date.now(), energy_wh: 1234.5, power_w: 11000 };
	await env.probe.publish('CP1/1/meter', sample, { qos: 0 });
	const exit = await mon.waitExit();
	assert.deepEqual(exit, { code: 0, signal: null }, mon.tail());

	const lines = mon.stdoutLines.filter((l) => l.trim());
	assert.equal(lines.length, 1, mon.tail());
	const m = parseJson(lines[0], 'the monitor line');
	assert.ok(m.topic === `${env.prefix}/CP1/1/meter` || m.topic === 'CP1/1/meter', `topic ${m.topic}`);
	assert.equal(m.retained, false);
	assert.equal(m.payload.v, 1);
	assert.equal(m.payload.ts, sample.ts);
	assert.equal(m.payload.energy_wh, 1234.5);
	assert.equal(m.payload.power_w, 11000);
});

test('an unknown command exits 64 with the usage on stderr', { timeout: h.ms(30000) }, async (t) => {
	const env = await h.withGateway(t, { probe: false });
	const r = await env.ctl(['no-such-command']);
	assert.equal(r.code, 64, `exit ${r.code}\n${r.stderr}`);
	assert.match(r.stderr, /usage/i);
	assert.equal(r.stdout, '');
});
