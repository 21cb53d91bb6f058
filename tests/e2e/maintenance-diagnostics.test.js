'use strict';
/* sitegate-maintenance, diagnostics: GetDiagnostics from the strict test CSMS
 * through the real ocpp-bridge, the archive uploaded to a Node HTTP server
 * (PUT, or POST for a "#post" location) and to the pyftpdlib FTP server,
 * DiagnosticsStatusNotification. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const m = require('./maintenance-lib');

const TEST_TIMEOUT = h.ms(90000);
const AUTH_KEY = '00112233445566778899aabbccddeeff';
const NAME = /^CP1-diagnostics-\d{8}T\d{6}Z\.tar\.gz$/;

/* Log files below logDir with the given mtimes (Unix seconds). */
function writeLogs(logDir, files) {
	for (const [rel, mtime, text] of files) {
		const file = path.join(logDir, rel);
		fs.mkdirSync(path.dirname(file), { recursive: true });
		fs.writeFileSync(file, text);
		fs.utimesSync(file, mtime, mtime);
	}
}

/* The names in a tar.gz, and the text of one member. */
async function tarList(file) {
	const r = await h.run('tar', ['-tzf', file]);
	assert.equal(r.code, 0, r.stderr);
	return r.stdout.trim().split('\n').sort();
}

async function tarText(file, member) {
	const r = await h.run('tar', ['-xzOf', file, member]);
	assert.equal(r.code, 0, r.stderr);
	return r.stdout;
}

const nowS = () => Math.floor(Date.now() / 1000);

test('diagnostics over HTTP PUT: the archive arrives under the name of the conf, bounded by startTime',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t);
		const g = await m.gateway(t, {
			chargePoints: [{ id: 'CP1', authorization_key: AUTH_KEY }],
			before: (env) => writeLogs(path.join(env.dir, 'logs'), [
				['meter/@old.s', nowS() - 7200, 'meter: an old line\n'],
				['meter/current', nowS() - 10, 'meter: a recent line\n'],
				['bridge/current', nowS() - 5, 'bridge: a recent line\n'],
			]),
		});
		const { env, csms } = g;
		const conf = await csms.call('CP1', 'GetDiagnostics', {
			location: srv.url('/diag/in/'),
			startTime: new Date(Date.now() - 3600 * 1000).toISOString(),
		});
		assert.match(conf.fileName, NAME);
		await csms.waitForCall('CP1', 'DiagnosticsStatusNotification', { where: (p) => p.status === 'Uploaded', timeout: h.ms(30000) });
		assert.deepEqual(m.transitions(csms, 'CP1', 'DiagnosticsStatusNotification'), ['Uploading', 'Uploaded']);
		const put = srv.requests.find((r) => r.method === 'PUT');
		assert.equal(put.url, `/diag/in/${conf.fileName}`);
		const file = path.join(env.dir, conf.fileName);
		fs.writeFileSync(file, put.body);
		const top = conf.fileName.replace(/\.tar\.gz$/, '');
		assert.deepEqual(await tarList(file), [
			`${top}/`, `${top}/bus-state.json`, `${top}/config.txt`, `${top}/logs/`,
			`${top}/logs/bridge/`, `${top}/logs/bridge/current`,
			`${top}/logs/meter/`, `${top}/logs/meter/current`,
			`${top}/maintenance.json`, `${top}/manifest.txt`,
		]);
		assert.equal(await tarText(file, `${top}/logs/meter/current`), 'meter: a recent line\n');
		/* The effective configuration, the secret redacted. */
		const config = await tarText(file, `${top}/config.txt`);
		assert.match(config, /authorization_key = "\(set\)";/);
		assert.ok(!config.includes(AUTH_KEY));
		assert.match(config, /maintenance = \{/);
		assert.match(await tarText(file, `${top}/manifest.txt`), /left out\s+meter\/@old\.s/);
		/* What the bus said: at least the services' liveness. */
		const bus = JSON.parse(await tarText(file, `${top}/bus-state.json`));
		assert.equal(bus[`${env.prefix}/service/ocpp-bridge/status`].state, 'online');
		/* Nothing left behind. */
		assert.ok(!fs.existsSync(path.join(env.dir, 'state', 'maintenance', 'diagnostics', 'CP1')));
		const st = await g.probe.waitFor('CP1/maintenance/diagnostics', (p) => p.last === 'Uploaded');
		assert.equal(st.payload.file_name, conf.fileName);
		assert.equal(st.payload.status, 'Idle');
		m.assertStrict(csms);
	});

test('diagnostics over FTP: the file arrives on the FTP server', { timeout: TEST_TIMEOUT }, async (t) => {
	let ftp;
	const g = await m.gateway(t, {
		before: async (env) => {
			ftp = await m.ftpServer(t, path.join(env.dir, 'ftp'));
			fs.mkdirSync(path.join(ftp.root, 'incoming'));
			writeLogs(path.join(env.dir, 'logs'), [['gateway.log', nowS(), 'hello\n']]);
		},
	});
	const { csms } = g;
	const conf = await csms.call('CP1', 'GetDiagnostics', { location: ftp.url('/incoming') });
	assert.match(conf.fileName, NAME);
	await csms.waitForCall('CP1', 'DiagnosticsStatusNotification', { where: (p) => p.status === 'Uploaded', timeout: h.ms(30000) });
	assert.deepEqual(m.transitions(csms, 'CP1', 'DiagnosticsStatusNotification'), ['Uploading', 'Uploaded']);
	const file = path.join(ftp.root, 'incoming', conf.fileName);
	await ftp.proc.waitForLine(new RegExp(`^received .*${conf.fileName.replaceAll('.', '\\.')}$`), { stream: 'stdout' });
	const top = conf.fileName.replace(/\.tar\.gz$/, '');
	assert.ok((await tarList(file)).includes(`${top}/logs/gateway.log`));
	assert.ok(!g.maint.lines.some((l) => l.includes('secret')), 'no password in the log');
	m.assertStrict(csms);
});

test('diagnostics with POST to a "#post" location: multipart/form-data, field "file"',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t);
		const g = await m.gateway(t);
		const { csms } = g;
		const conf = await csms.call('CP1', 'GetDiagnostics', { location: `${srv.url('/upload?token=abc')}#post` });
		await csms.waitForCall('CP1', 'DiagnosticsStatusNotification', { where: (p) => p.status === 'Uploaded', timeout: h.ms(30000) });
		const post = srv.requests.find((r) => r.method === 'POST');
		assert.equal(post.url, '/upload?token=abc');
		assert.match(post.headers['content-type'], /^multipart\/form-data; boundary=/);
		const body = post.body.toString('latin1');
		assert.ok(body.includes(`Content-Disposition: form-data; name="file"; filename="${conf.fileName}"`));
		assert.ok(body.includes('\x1f\x8b'), 'a gzip stream in the part');
		/* The token of the query never shows in the log or the state. */
		assert.ok(!g.maint.lines.some((l) => l.includes('token=abc')));
		m.assertStrict(csms);
	});

test('the server is down: UploadFailed after the retries', { timeout: TEST_TIMEOUT }, async (t) => {
	const port = await h.freePort(); /* nothing listens there */
	const g = await m.gateway(t);
	const { csms } = g;
	const conf = await csms.call('CP1', 'GetDiagnostics', {
		location: `http://127.0.0.1:${port}/diag/`,
		retries: 2,
		retryInterval: 1,
	});
	assert.match(conf.fileName, NAME);
	await csms.waitForCall('CP1', 'DiagnosticsStatusNotification', { where: (p) => p.status === 'UploadFailed', timeout: h.ms(30000) });
	assert.deepEqual(m.transitions(csms, 'CP1', 'DiagnosticsStatusNotification'), ['Uploading', 'UploadFailed']);
	assert.equal(g.maint.lines.filter((l) => /uploading diagnostics to/.test(l)).length, 3, '1 + retries attempts');
	const st = await g.probe.waitFor('CP1/maintenance/diagnostics', (p) => p.last === 'UploadFailed');
	assert.match(st.payload.error, /refused|connect/i);
	m.assertStrict(csms);
});

test('an unsupported location: GetDiagnostics.conf without a file name, nothing uploaded',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const g = await m.gateway(t);
		const { csms } = g;
		assert.deepEqual(await csms.call('CP1', 'GetDiagnostics', { location: 'sftp://127.0.0.1/diag/' }), {});
		await assert.rejects(csms.waitForCall('CP1', 'DiagnosticsStatusNotification', { timeout: h.ms(1500) }),
			{ code: 'ETIMEDOUT' });
		m.assertStrict(csms);
	});
