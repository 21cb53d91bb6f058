'use strict';
/* sitegate-maintenance, firmware updates: UpdateFirmware from the strict test
 * CSMS through the real ocpp-bridge, downloads from a Node HTTP server and the
 * pyftpdlib FTP server, the install hook, FirmwareStatusNotification. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const m = require('./maintenance-lib');

const TEST_TIMEOUT = h.ms(90000);
const IMAGE = Buffer.from(`SITEGATE-FW 2.0\n${'x'.repeat(200000)}\n`);

const now = () => new Date().toISOString();

/* The fw_install values the probe saw, in order. */
const installing = (probe) => probe.messages.filter((x) => x.topic.endsWith('/CP1/maintenance/install'))
	.map((x) => x.payload.installing);

/* A hook that records its arguments and the image, reports progress, exits with code. */
function recordingHook(dir, code = 0) {
	return m.script(path.join(dir, 'install-hook'), [
		`echo "$1 $2 $SITEGATE_CP" > '${dir}/hook-args'`,
		`cp "$1" '${dir}/installed.bin'`,
		'echo progress 50',
		'echo flashing bank B',
		`exit ${code}`,
	].join('\n'));
}

test('firmware update over HTTP: Downloading, Downloaded, Installing, Installed; the hook gets the image',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t, { files: { '/fw/sitegate-2.0.bin': IMAGE } });
		const g = await m.gateway(t, {
			before: (env) => recordingHook(env.dir),
			maintenance: {},
		});
		const { env, csms, probe } = g;
		assert.ok(fs.existsSync(path.join(env.dir, 'install-hook')));

		/* What this libcurl supports, published by maintenance, served by the bridge. */
		const conf = await csms.call('CP1', 'GetConfiguration',
			{ key: ['SupportedFileTransferProtocols', 'GetFirmwareUpgradePercentages'] });
		const keys = Object.fromEntries(conf.configurationKey.map((k) => [k.key, k]));
		assert.equal(keys.SupportedFileTransferProtocols.value, 'FTP,FTPS,HTTP,HTTPS');
		assert.equal(keys.SupportedFileTransferProtocols.readonly, true);
		assert.equal(keys.GetFirmwareUpgradePercentages.value, '0');
		assert.equal(keys.GetFirmwareUpgradePercentages.readonly, true);
		const idle = await probe.waitFor('CP1/maintenance/firmware', (p) => p && p.status === 'Idle');
		assert.equal(idle.retained, true);
		await probe.subscribe('CP1/maintenance/install');
		assert.deepEqual(await csms.call('CP1', 'UpdateFirmware', {
			location: srv.url('/fw/sitegate-2.0.bin'),
			retrieveDate: now(),
		}), {});
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', {
			where: (p) => p.status === 'Installed',
			timeout: h.ms(30000),
		});
		assert.deepEqual(m.transitions(csms, 'CP1', 'FirmwareStatusNotification'),
			['Downloading', 'Downloaded', 'Installing', 'Installed']);
		/* The hook ran with the downloaded image and the charge point id. */
		const args = fs.readFileSync(path.join(env.dir, 'hook-args'), 'utf8').trim().split(' ');
		assert.equal(path.basename(args[0]), 'sitegate-2.0.bin');
		assert.equal(args[1], 'CP1');
		assert.equal(args[2], 'CP1');
		assert.ok(fs.readFileSync(path.join(env.dir, 'installed.bin')).equals(IMAGE));
		assert.equal(srv.requests.filter((r) => r.method === 'GET').length, 1);
		/* The charge point was to be Unavailable around the installation, and is not any more. */
		await m.until(() => (installing(probe).length >= 3 ? true : undefined), 'fw_install true, then false');
		assert.deepEqual(installing(probe), [false, true, false]);
		/* The progress went through the state, and the hook's progress too. */
		assert.ok(probe.messages.some((x) => x.topic.endsWith('CP1/maintenance/firmware') &&
			x.payload.phase === 'installing' && x.payload.percent === 50));
		const done = await probe.waitFor('CP1/maintenance/firmware', (p) => p.phase === 'idle' && p.last === 'Installed');
		assert.equal(done.payload.status, 'Idle');
		/* The image is gone once installed. */
		assert.ok(!fs.existsSync(path.join(env.dir, 'state', 'maintenance', 'download', 'CP1', 'sitegate-2.0.bin')));
		await g.maint.waitForLog(/install hook: flashing bank B/);
		m.assertStrict(csms);
	});

test('firmware update over FTP', { timeout: TEST_TIMEOUT }, async (t) => {
	let ftp;
	const g = await m.gateway(t, {
		before: async (env) => {
			recordingHook(env.dir);
			ftp = await m.ftpServer(t, path.join(env.dir, 'ftp'));
			fs.mkdirSync(path.join(ftp.root, 'fw'));
			fs.writeFileSync(path.join(ftp.root, 'fw', 'image.bin'), IMAGE);
		},
	});
	const { env, csms } = g;
	await csms.call('CP1', 'UpdateFirmware', { location: ftp.url('/fw/image.bin'), retrieveDate: now() });
	await csms.waitForCall('CP1', 'FirmwareStatusNotification', {
		where: (p) => p.status === 'Installed',
		timeout: h.ms(30000),
	});
	assert.deepEqual(m.transitions(csms, 'CP1', 'FirmwareStatusNotification'),
		['Downloading', 'Downloaded', 'Installing', 'Installed']);
	assert.ok(fs.readFileSync(path.join(env.dir, 'installed.bin')).equals(IMAGE));
	/* The FTP password never shows in the logs or the state. */
	assert.ok(!g.maint.lines.some((l) => l.includes('secret')), 'no password in the log');
	m.assertStrict(csms);
});

test('a bad URL: DownloadFailed after the retries, retryInterval apart', { timeout: TEST_TIMEOUT }, async (t) => {
	const srv = await m.httpServer(t);
	const g = await m.gateway(t, { before: (env) => recordingHook(env.dir) });
	const { env, csms } = g;
	await csms.call('CP1', 'UpdateFirmware', {
		location: srv.url('/fw/missing.bin'),
		retrieveDate: now(),
		retries: 2,
		retryInterval: 1,
	});
	await csms.waitForCall('CP1', 'FirmwareStatusNotification', {
		where: (p) => p.status === 'DownloadFailed',
		timeout: h.ms(30000),
	});
	assert.deepEqual(m.transitions(csms, 'CP1', 'FirmwareStatusNotification'), ['Downloading', 'DownloadFailed']);
	const gets = srv.requests.filter((r) => r.method === 'GET' && r.url === '/fw/missing.bin');
	assert.equal(gets.length, 3, '1 + retries attempts');
	for (let i = 1; i < gets.length; i++) assert.ok(gets[i].ts - gets[i - 1].ts >= 900, 'retryInterval apart');
	assert.ok(!fs.existsSync(path.join(env.dir, 'hook-args')), 'nothing was installed');
	await g.maint.waitForLog(/giving up, reporting DownloadFailed/);
	const st = await g.probe.waitFor('CP1/maintenance/firmware', (p) => p.last === 'DownloadFailed');
	assert.match(st.payload.error, /404/);
	m.assertStrict(csms);
});

test('the hook rejects the image: InstallationFailed', { timeout: TEST_TIMEOUT }, async (t) => {
	const srv = await m.httpServer(t, { files: { '/fw/bad.bin': IMAGE } });
	const g = await m.gateway(t, { before: (env) => recordingHook(env.dir, 1) });
	const { csms, probe } = g;
	await probe.subscribe('CP1/maintenance/install');
	await probe.waitFor('CP1/maintenance/install', (p) => p.installing === false);
	await csms.call('CP1', 'UpdateFirmware', { location: srv.url('/fw/bad.bin'), retrieveDate: now() });
	await csms.waitForCall('CP1', 'FirmwareStatusNotification', {
		where: (p) => p.status === 'InstallationFailed',
		timeout: h.ms(30000),
	});
	assert.deepEqual(m.transitions(csms, 'CP1', 'FirmwareStatusNotification'),
		['Downloading', 'Downloaded', 'Installing', 'InstallationFailed']);
	const st = await probe.waitFor('CP1/maintenance/firmware', (p) => p.last === 'InstallationFailed');
	assert.match(st.payload.error, /exited with status 1/);
	await m.until(() => (installing(probe).length >= 3 ? true : undefined), 'fw_install true, then false');
	assert.deepEqual(installing(probe), [false, true, false]);
	m.assertStrict(csms);
});

test('the installation waits until the running transaction has ended (the probe plays the connector)',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t, { files: { '/fw/a.bin': IMAGE } });
		const g = await m.gateway(t, {
			before: async (env) => {
				recordingHook(env.dir);
				await env.probe.publish('CP1/1/state', { status: 'Charging', transaction_id: 7, id_tag: 'TAG1' }, { retain: true });
				await env.probe.publish('CP1/2/state', { status: 'Available' }, { retain: true });
			},
		});
		const { csms, probe } = g;
		await csms.call('CP1', 'UpdateFirmware', { location: srv.url('/fw/a.bin'), retrieveDate: now() });
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Downloaded', timeout: h.ms(20000) });
		/* Unavailable is asked for at once; the installation waits. */
		await probe.waitFor('CP1/maintenance/install', (p) => p.installing === true);
		await probe.waitFor('CP1/maintenance/firmware', (p) => p.phase === 'downloaded');
		await assert.rejects(csms.waitForCall('CP1', 'FirmwareStatusNotification',
			{ where: (p) => p.status === 'Installing', timeout: h.ms(2500) }), { code: 'ETIMEDOUT' });
		/* The transaction ends. */
		await probe.publish('CP1/1/tx', { event: 'stopped', tx_ref: 1, transaction_id: 7, id_tag: 'TAG1', ts: Date.now() });
		await probe.publish('CP1/1/state', { status: 'Finishing', transaction_id: 0 }, { retain: true });
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Installed', timeout: h.ms(20000) });
		const seq = m.transitions(csms, 'CP1', 'FirmwareStatusNotification');
		assert.deepEqual(seq, ['Downloading', 'Downloaded', 'Installing', 'Installed']);
		m.assertStrict(csms);
	});

test('a hook that restarts the gateway: Installed is reported from its result file after the restart',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t, { files: { '/fw/a.bin': IMAGE } });
		const g = await m.gateway(t, {
			before: (env) => m.script(path.join(env.dir, 'install-hook'), [
				/* as a hook that reboots: the result first, then down it all goes */
				'echo Installed > "$SITEGATE_RESULT_FILE"',
				'kill -TERM $PPID',
				'sleep 1',
			].join('\n')),
		});
		const { env, csms } = g;
		await csms.call('CP1', 'UpdateFirmware', { location: srv.url('/fw/a.bin'), retrieveDate: now() });
		assert.deepEqual(await g.maint.waitExit({ timeout: h.ms(20000) }), { code: 0, signal: null });
		assert.ok(!csms.calls('CP1', 'FirmwareStatusNotification').some((e) => e.payload.status === 'Installed'));
		const mark = csms.mark();
		const again = await env.startService('maintenance');
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Installed', after: mark, timeout: h.ms(20000) });
		assert.ok(again.lines.some((l) => /resuming the firmware job \(installing\)/.test(l)));
		assert.deepEqual(m.transitions(csms, 'CP1', 'FirmwareStatusNotification'),
			['Downloading', 'Downloaded', 'Installing', 'Installed']);
		assert.equal(m.statuses(csms, 'CP1', 'FirmwareStatusNotification').filter((s) => s === 'Installed').length, 1);
		const last = await g.probe.waitFor('CP1/maintenance/firmware', (p) => p.last === 'Installed');
		assert.equal(last.payload.status, 'Idle');
		m.assertStrict(csms);
	});

test('SIGTERM during the installation: exit 0 at once; the restarted service waits for the running hook',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t, { files: { '/fw/a.bin': IMAGE } });
		const g = await m.gateway(t, {
			before: (env) => m.script(path.join(env.dir, 'install-hook'), [
				`touch '${env.dir}/hook-started'`,
				'sleep 3',
				/* it outlived the service: only its result file can tell */
				'echo Installed > "$SITEGATE_RESULT_FILE"',
			].join('\n')),
		});
		const { env, csms } = g;
		await csms.call('CP1', 'UpdateFirmware', { location: srv.url('/fw/a.bin'), retrieveDate: now() });
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Installing', timeout: h.ms(20000) });
		await m.until(() => (fs.existsSync(path.join(env.dir, 'hook-started')) ? true : undefined), 'the hook');
		const t0 = Date.now();
		const exit = await g.maint.stop({ grace: h.ms(5000) });
		assert.deepEqual(exit, { code: 0, signal: null });
		assert.ok(Date.now() - t0 < h.ms(2000), `stopped within 2 s (${Date.now() - t0} ms)`);
		const mark = csms.mark();
		const again = await env.startService('maintenance');
		await again.waitForLog(/the install hook \(pid \d+\) still runs; waiting for it/);
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Installed', after: mark, timeout: h.ms(20000) });
		assert.equal(m.statuses(csms, 'CP1', 'FirmwareStatusNotification').filter((s) => s === 'Installed').length, 1);
		m.assertStrict(csms);
	});

test('SIGTERM during a download: exit 0 at once; the download starts again after the restart',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t, { hold: ['/fw/slow.bin'] });
		const g = await m.gateway(t, { before: (env) => recordingHook(env.dir) });
		const { env, csms } = g;
		await csms.call('CP1', 'UpdateFirmware', { location: srv.url('/fw/slow.bin'), retrieveDate: now() });
		await srv.waitForRequest((r) => r.url === '/fw/slow.bin');
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Downloading' });
		const t0 = Date.now();
		assert.deepEqual(await g.maint.stop({ grace: h.ms(5000) }), { code: 0, signal: null });
		assert.ok(Date.now() - t0 < h.ms(2000), `stopped within 2 s (${Date.now() - t0} ms)`);
		assert.ok(!fs.readdirSync(path.join(env.dir, 'state', 'maintenance', 'download', 'CP1')).some((f) => f.endsWith('.part')),
			'no partial download left');
		const after = srv.requests.length;
		await env.startService('maintenance');
		await srv.waitForRequest((r) => r.url === '/fw/slow.bin', { after });
		m.assertStrict(csms);
	});

test('TriggerMessage of FirmwareStatusNotification: Idle when idle, else the current status',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const srv = await m.httpServer(t, { hold: ['/fw/slow.bin'] });
		const g = await m.gateway(t, { before: (env) => recordingHook(env.dir) });
		const { csms, probe } = g;
		/* The bridge answers TriggerMessage and publishes ocpp_trigger; the probe plays it. */
		await probe.publish('CP1/trigger/FirmwareStatusNotification', { connector_id: -1 });
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Idle' });
		await probe.publish('CP1/trigger/DiagnosticsStatusNotification', { connector_id: -1 });
		await csms.waitForCall('CP1', 'DiagnosticsStatusNotification', { where: (p) => p.status === 'Idle' });
		await csms.call('CP1', 'UpdateFirmware', { location: srv.url('/fw/slow.bin'), retrieveDate: now() });
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Downloading' });
		const mark = csms.mark();
		await probe.publish('CP1/trigger/FirmwareStatusNotification', { connector_id: -1 });
		await csms.waitForCall('CP1', 'FirmwareStatusNotification', { where: (p) => p.status === 'Downloading', after: mark });
		m.assertStrict(csms);
	});
