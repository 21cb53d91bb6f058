'use strict';
/* Fixtures of tests/e2e/maintenance-*.test.js: a Node HTTP server and the
 * pyftpdlib FTP server (maintenance-ftpd.py) on free loopback ports, and a
 * gateway with the real ocpp-bridge, the strict test CSMS and
 * sitegate-maintenance. */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const h = require('./lib/harness');
const { startCsms } = require('../csms/csms');

const FTPD = path.join(__dirname, 'maintenance-ftpd.py');

/** Polls check() every 50 ms until it returns a value other than undefined. */
async function until(check, what, timeout = h.TIMEOUT) {
	const end = Date.now() + timeout;
	for (;;) {
		const v = await check();
		if (v !== undefined) return v;
		if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/**
 * A Node HTTP server on 127.0.0.1: GET of a path in files answers its content,
 * PUT and POST store the body under the path (201), anything else is a 404.
 * hold: paths whose GET is never answered (a stalled download).
 */
async function httpServer(t, { files = {}, hold = [] } = {}) {
	const requests = [];
	const uploads = new Map();
	const held = new Set();
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks);
			requests.push({ ts: Date.now(), method: req.method, url: req.url, headers: req.headers, body });
			if (req.method === 'GET' && hold.includes(req.url)) {
				res.writeHead(200, { 'content-length': 1 << 20 });
				res.write('x');
				held.add(res);
				return;
			}
			if (req.method === 'GET' && Object.hasOwn(files, req.url)) {
				res.writeHead(200, { 'content-length': files[req.url].length });
				res.end(files[req.url]);
			} else if (req.method === 'PUT' || req.method === 'POST') {
				uploads.set(req.url, body);
				res.writeHead(201);
				res.end();
			} else {
				res.writeHead(404);
				res.end('not found');
			}
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	t.after(() => new Promise((resolve) => {
		for (const r of held) r.destroy();
		server.closeAllConnections();
		server.close(resolve);
	}));
	const { port } = server.address();
	return {
		port,
		url: (p) => `http://127.0.0.1:${port}${p}`,
		requests,
		uploads,
		/** Resolves with the first request (from index after) that pred accepts. */
		waitForRequest: (pred, { after = 0, timeout = h.TIMEOUT } = {}) =>
			until(() => requests.slice(after).find(pred), 'an HTTP request', timeout),
	};
}

/** The pyftpdlib server on 127.0.0.1 serving root for sitegate/secret. */
async function ftpServer(t, root) {
	fs.mkdirSync(root, { recursive: true });
	const proc = h.spawnProcess('ftpd', '/usr/bin/python3', [FTPD, root]);
	t.after(() => proc.stop());
	const { line } = await proc.waitForLine(/^listening \d+$/, { stream: 'stdout' });
	const port = Number(line.split(' ')[1]);
	return { port, root, proc, url: (p) => `ftp://sitegate:secret@127.0.0.1:${port}${p}` };
}

/** Writes an executable shell script. */
function script(file, body) {
	fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
	return file;
}

/**
 * Broker, strict CSMS, config (maintenance settings merged into short test
 * defaults), probe, ocpp-bridge and maintenance; resolves once CP1 is
 * registered and the bridge routes both actions to maintenance.
 * before(env): runs after the broker and config are ready, before the services.
 */
async function gateway(t, { maintenance = {}, chargePoints, before } = {}) {
	const env = h.makeEnv(t);
	env.csms = await startCsms({ log: process.env.SITEGATE_E2E_VERBOSE ? (l) => process.stderr.write(`[csms] ${l}\n`) : undefined });
	env.onTeardown(() => env.csms.close());
	await env.startBroker();
	const logDir = path.join(env.dir, 'logs');
	fs.mkdirSync(logDir, { recursive: true });
	env.writeGatewayConfig({
		chargePoints,
		extra: {
			maintenance: {
				install_hook: path.join(env.dir, 'install-hook'),
				log_dir: logDir,
				retries: 0,
				retry_interval_s: 1,
				transfer_timeout_s: 20,
				...maintenance,
			},
		},
	});
	env.probe = await env.startProbe();
	if (before) await before(env);
	const bridge = await env.startService('ocpp-bridge');
	const maint = await env.startService('maintenance');
	await env.csms.waitForCall('CP1', 'BootNotification', { timeout: h.TIMEOUT });
	await bridge.waitForLog(/UpdateFirmware is answered by maintenance/);
	await bridge.waitForLog(/GetDiagnostics is answered by maintenance/);
	await env.probe.waitFor('CP1/state', (p) => p && p.registration === 'Accepted');
	return { env, csms: env.csms, probe: env.probe, bridge, maint, logDir };
}

/** The statuses of cp's calls of action that reached the CSMS, in order. */
function statuses(csms, cp, action) {
	return csms.traffic.filter((e) => e.dir === 'in' && e.type === 'CALL' && e.cp === cp && e.action === action)
		.map((e) => e.payload.status);
}

/** The same without repeats: the transitions. */
function transitions(csms, cp, action) {
	return statuses(csms, cp, action).filter((s, i, all) => i === 0 || all[i - 1] !== s);
}

/** Fails when the CSMS saw a schema violation either way. */
function assertStrict(csms) {
	assert.deepEqual(csms.validationFailures ?? [], []);
}

module.exports = { until, httpServer, ftpServer, script, gateway, statuses, transitions, assertStrict };
