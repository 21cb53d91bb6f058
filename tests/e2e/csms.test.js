'use strict';
/* Self-test of the strict test CSMS (tests/csms): what the other e2e tests rely on. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { RPCClient, createRPCError, NOREPLY } = require('ocpp-rpc');
const { startCsms } = require('../csms/csms');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(30000);

const BOOT = { chargePointVendor: 'Sitegate', chargePointModel: 'Test' };
const startTx = (connectorId = 1) => ({
	connectorId,
	idTag: 'TAG1',
	meterStart: 0,
	timestamp: new Date().toISOString(),
});

async function csmsFor(t, opts) {
	const csms = await startCsms(opts);
	t.after(() => csms.close());
	return csms;
}

function clientFor(t, csms, { identity = 'CP1', strict = true, protocols = ['ocpp1.6'], ...opts } = {}) {
	const c = new RPCClient({
		endpoint: csms.url,
		identity,
		protocols,
		strictMode: strict && protocols.length ? true : false,
		reconnect: false,
		callTimeoutMs: h.TIMEOUT,
		...opts,
	});
	t.after(() => c.close({ force: true }));
	return c;
}

async function connected(t, csms, opts) {
	const c = clientFor(t, csms, opts);
	await c.connect();
	return c;
}

function tmpDir(t) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sitegate-csms-'));
	t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
	return dir;
}

test('BootNotification and StartTransaction get default answers, and the traffic log has every frame', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	assert.match(csms.url, /^ws:\/\/127\.0\.0\.1:\d+\/ocpp$/);
	const cp = await connected(t, csms);
	const info = await csms.waitForConnection('CP1');
	assert.equal(info.protocol, 'ocpp1.6');
	assert.equal(info.password, null);

	const before = Date.now();
	const boot = await cp.call('BootNotification', BOOT);
	assert.equal(boot.status, 'Accepted');
	assert.equal(boot.interval, 300);
	const csmsTime = Date.parse(boot.currentTime);
	assert.ok(Math.abs(csmsTime - before) < 5000, `currentTime ${boot.currentTime} is now`);

	/* the wait sees a call received before it started */
	assert.deepEqual(await csms.waitForCall('CP1', 'BootNotification'), BOOT);

	const tx1 = await cp.call('StartTransaction', startTx(1));
	const tx2 = await cp.call('StartTransaction', startTx(2));
	assert.deepEqual(tx1, { transactionId: 1, idTagInfo: { status: 'Accepted' } });
	assert.equal(tx2.transactionId, 2);
	assert.deepEqual(await cp.call('StopTransaction', { transactionId: 1, meterStop: 10, timestamp: new Date().toISOString() }),
		{ idTagInfo: { status: 'Accepted' } });

	const frames = csms.traffic.filter((e) => e.cp === 'CP1');
	assert.deepEqual(frames.map((e) => [e.dir, e.type, e.action]), [
		['in', 'CALL', 'BootNotification'],
		['out', 'CALLRESULT', 'BootNotification'],
		['in', 'CALL', 'StartTransaction'],
		['out', 'CALLRESULT', 'StartTransaction'],
		['in', 'CALL', 'StartTransaction'],
		['out', 'CALLRESULT', 'StartTransaction'],
		['in', 'CALL', 'StopTransaction'],
		['out', 'CALLRESULT', 'StopTransaction'],
	]);
	assert.equal(frames[0].id, frames[1].id);
	assert.deepEqual(frames[0].payload, BOOT);
	assert.deepEqual(frames[1].payload, boot);
	assert.deepEqual(frames[3].payload, tx1);
	for (const e of frames) {
		assert.equal(typeof e.ts, 'number');
		assert.equal(e.error, null);
		assert.deepEqual(JSON.parse(e.raw)[1], e.id);
	}
	assert.deepEqual(csms.calls('CP1', 'StartTransaction').map((e) => e.payload.connectorId), [1, 2]);
	assert.equal(csms.validationFailures.length, 0);
});

test('every default answer is schema-valid', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const cp = await connected(t, csms); /* strict: answers are validated on the client too */
	const now = new Date().toISOString();
	assert.ok((await cp.call('Heartbeat', {})).currentTime);
	assert.deepEqual(await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }), {});
	assert.deepEqual(await cp.call('Authorize', { idTag: 'TAG1' }), { idTagInfo: { status: 'Accepted' } });
	assert.deepEqual(await cp.call('MeterValues', {
		connectorId: 1,
		meterValue: [{ timestamp: now, sampledValue: [{ value: '12.5', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }],
	}), {});
	assert.deepEqual(await cp.call('DataTransfer', { vendorId: 'x' }), { status: 'UnknownVendorId' });
	assert.deepEqual(await cp.call('FirmwareStatusNotification', { status: 'Idle' }), {});
	assert.deepEqual(await cp.call('DiagnosticsStatusNotification', { status: 'Idle' }), {});
	assert.deepEqual(await cp.call('SecurityEventNotification', { type: 'StartupOfTheDevice', timestamp: now }), {});
	assert.equal(csms.validationFailures.length, 0);
});

test('waits: before/after, where, cursor for "the next" call, timeout', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const cp = await connected(t, csms);
	const status = (connectorId, s) => cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: s });

	await status(1, 'Available');
	const mark = csms.mark();
	/* with {after} a call from before does not count */
	const next = csms.waitForCall('CP1', 'StatusNotification', { after: mark });
	await status(2, 'Preparing');
	assert.equal((await next).connectorId, 2);

	assert.equal((await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.status === 'Preparing' })).connectorId, 2);

	const cur = csms.cursor();
	const first = cur.waitForCall('CP1', 'StatusNotification');
	await status(1, 'Charging');
	await status(1, 'SuspendedEV');
	assert.equal((await first).status, 'Charging');
	assert.equal((await cur.waitForCall('CP1', 'StatusNotification')).status, 'SuspendedEV');
	await assert.rejects(cur.waitForCall('CP1', 'StatusNotification', { timeout: 100 }), { code: 'ETIMEDOUT' });

	await assert.rejects(csms.waitForCall('CP1', 'Authorize', { timeout: 100 }), (err) => {
		assert.equal(err.code, 'ETIMEDOUT');
		assert.match(err.message, /CP1 Authorize/);
		assert.match(err.message, /StatusNotification/, 'the error shows the last frames');
		return true;
	});
	await assert.rejects(csms.waitForConnection('CP2', { timeout: 100 }), { code: 'ETIMEDOUT' });
});

test('an invalid call from a non-strict client gets a CALLERROR; so does an unknown action', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const cp = await connected(t, csms, { strict: false });

	await assert.rejects(cp.call('BootNotification', { chargePointVendor: 'Sitegate' }), (err) => {
		assert.equal(err.rpcErrorCode, 'OccurrenceConstraintViolation');
		return true;
	});
	const err = csms.traffic.find((e) => e.dir === 'out' && e.type === 'CALLERROR');
	assert.ok(err, 'a CALLERROR was sent');
	assert.equal(err.action, 'BootNotification');
	assert.equal(err.error.code, 'OccurrenceConstraintViolation');
	assert.equal(csms.validationFailures.length, 1);
	assert.equal(csms.validationFailures[0].action, 'BootNotification');

	await assert.rejects(cp.call('BootNotification', { chargePointVendor: 'x'.repeat(21), chargePointModel: 'M' }),
		{ rpcErrorCode: 'FormationViolation' });
	await assert.rejects(cp.call('NoSuchAction', {}), { rpcErrorCode: 'NotImplemented' });
	/* a CSMS-to-CP action sent the wrong way */
	await assert.rejects(cp.call('Reset', { type: 'Soft' }), { rpcErrorCode: 'NotImplemented' });
	/* the connection survives all of it */
	assert.equal((await cp.call('BootNotification', BOOT)).status, 'Accepted');
});

test('call() from the CSMS: answer, CALLERROR with its code, no answer, invalid outgoing payload', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const cp = await connected(t, csms);
	cp.handle('Reset', ({ params }) => ({ status: params.type === 'Hard' ? 'Accepted' : 'Rejected' }));
	cp.handle('UnlockConnector', () => {
		throw createRPCError('NotSupported', 'no lock here');
	});
	cp.handle('ClearCache', () => NOREPLY);

	assert.deepEqual(await csms.call('CP1', 'Reset', { type: 'Hard' }), { status: 'Accepted' });
	assert.deepEqual(await csms.call('CP1', 'Reset', { type: 'Soft' }), { status: 'Rejected' });
	const out = csms.traffic.filter((e) => e.dir === 'out' && e.type === 'CALL');
	assert.deepEqual(out.map((e) => e.payload.type), ['Hard', 'Soft']);
	const res = csms.traffic.find((e) => e.dir === 'in' && e.type === 'CALLRESULT');
	assert.equal(res.action, 'Reset');
	assert.equal(res.id, out[0].id);

	await assert.rejects(csms.call('CP1', 'UnlockConnector', { connectorId: 1 }), (err) => {
		assert.equal(err.code, 'NotSupported');
		assert.equal(err.description, 'no lock here');
		return true;
	});
	await assert.rejects(csms.call('CP1', 'ClearCache', {}, { timeout: 200 }), { code: 'ETIMEDOUT' });

	/* strict mode guards what the test sends, too */
	const n = csms.traffic.length;
	await assert.rejects(csms.call('CP1', 'Reset', { type: 'Bogus' }));
	assert.equal(csms.traffic.length, n, 'nothing was sent');
	await assert.rejects(csms.call('CP2', 'Reset', { type: 'Hard' }), /not connected/);
});

test('handle() overrides an answer, answers with an error, or does not answer', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const cp = await connected(t, csms);

	csms.handle('Authorize', (payload, cpId) => ({
		idTagInfo: { status: payload.idTag === 'BAD' && cpId === 'CP1' ? 'Blocked' : 'Accepted' },
	}));
	assert.equal((await cp.call('Authorize', { idTag: 'BAD' })).idTagInfo.status, 'Blocked');
	assert.equal((await cp.call('Authorize', { idTag: 'GOOD' })).idTagInfo.status, 'Accepted');

	csms.handle('Heartbeat', () => csms.NOREPLY);
	await assert.rejects(cp.call('Heartbeat', {}, { callTimeoutMs: 200 }), { name: 'Error', message: 'Call timeout' });
	csms.handle('Heartbeat', null); /* back to the default */
	assert.ok((await cp.call('Heartbeat', {})).currentTime);

	/* an answer given later */
	csms.handle('DataTransfer', (payload) =>
		new Promise((resolve) => setTimeout(() => resolve({ status: 'Accepted', data: payload.data }), 50)));
	assert.deepEqual(await cp.call('DataTransfer', { vendorId: 'x', data: 'hello' }), { status: 'Accepted', data: 'hello' });

	csms.handle('StartTransaction', () => {
		throw csms.createRPCError('SecurityError', 'not today');
	});
	await assert.rejects(cp.call('StartTransaction', startTx()), { rpcErrorCode: 'SecurityError', message: 'not today' });

	/* a scripted answer that breaks the schema is caught, not sent */
	csms.handle('MeterValues', () => ({ bogus: true }));
	await assert.rejects(cp.call('MeterValues', { connectorId: 1, meterValue: [] }), { rpcErrorCode: 'InternalError' });
	assert.equal(csms.validationFailures.at(-1).action, 'MeterValues');

	/* an action without a default answer */
	csms.handle('SignCertificate', () => ({ status: 'Rejected' }));
	assert.deepEqual(await cp.call('SignCertificate', { csr: 'x' }), { status: 'Rejected' });
});

test('sendRaw() sends malformed frames and waitForRawFrame() sees the answer', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const cp = await connected(t, csms);
	cp.handle('Reset', () => ({ status: 'Accepted' }));

	const mark = csms.mark();
	csms.sendRaw('CP1', '[2,"raw-1","Reset"');
	const bad = await csms.waitForRawFrame('CP1', (raw) => raw.startsWith('[4,'), { after: mark });
	assert.equal(bad.type, 'CALLERROR');
	assert.equal(bad.error.code, 'RpcFrameworkError');
	const sent = csms.traffic[mark.traffic];
	assert.equal(sent.dir, 'out');
	assert.equal(sent.type, null, 'a frame that is not OCPP-J has no type');
	assert.equal(sent.raw, '[2,"raw-1","Reset"');

	csms.sendRaw('CP1', '[2,"raw-2","Reset",{"type":"Hard"}]');
	const ok = await csms.waitForRawFrame('CP1', (raw) => JSON.parse(raw)[1] === 'raw-2');
	assert.equal(ok.type, 'CALLRESULT');
	assert.equal(ok.action, 'Reset');
	assert.deepEqual(ok.payload, { status: 'Accepted' });
});

test('disconnect(), waitForDisconnect() and a reconnect', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const cp = await connected(t, csms);
	await csms.waitForConnection('CP1');
	assert.equal(csms.connected('CP1'), true);
	const mark = csms.mark();
	const closed = new Promise((resolve) => cp.once('close', resolve));
	const gone = csms.waitForDisconnect('CP1');
	await csms.disconnect('CP1', { code: 1001, reason: 'bye' });
	assert.equal((await gone).code, 1001);
	assert.equal((await closed).code, 1001);
	assert.equal(csms.connected('CP1'), false);

	const again = csms.waitForConnection('CP1', { after: mark });
	const cp2 = await connected(t, csms);
	await again;
	const gone2 = csms.waitForDisconnect('CP1');
	await cp2.close({ code: 1000 });
	assert.equal((await gone2).code, 1000);
	assert.deepEqual(csms.events.map((e) => e.type), ['connect', 'disconnect', 'connect', 'disconnect']);
});

test('HTTP Basic auth: right password, wrong password, none, unknown charge point, callback', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t, { auth: { passwords: { CP1: 's3cret-pass' } } });
	await connected(t, csms, { password: 's3cret-pass' });
	assert.equal((await csms.waitForConnection('CP1')).password, 's3cret-pass');

	await assert.rejects(clientFor(t, csms, { identity: 'CP1', password: 'wrong' }).connect(), { code: 401 });
	await assert.rejects(clientFor(t, csms, { identity: 'CP1' }).connect(), { code: 401 });
	await assert.rejects(clientFor(t, csms, { identity: 'CP2', password: 's3cret-pass' }).connect(), { code: 401 });
	assert.equal(csms.events.filter((e) => e.type === 'connect').length, 1);

	const csms2 = await csmsFor(t, { auth: async ({ identity, password }) => identity === 'CP9' && password === 'ok' });
	await connected(t, csms2, { identity: 'CP9', password: 'ok' });
	await assert.rejects(clientFor(t, csms2, { identity: 'CP8', password: 'ok' }).connect(), { code: 401 });
});

test('a client that does not offer ocpp1.6 is refused', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	await assert.rejects(clientFor(t, csms, { protocols: [] }).connect(), { code: 400 });
	await assert.rejects(clientFor(t, csms, { protocols: ['ocpp2.0.1'], strict: false }).connect(), { code: 400 });
});

test('TLS: security profile 2 (server certificate + Basic auth) and 3 (client certificate)', { timeout: TEST_TIMEOUT }, async (t) => {
	const dir = tmpDir(t);
	const pki = await h.makePki(path.join(dir, 'pki'), { clients: ['CP1'] });
	const other = await h.makePki(path.join(dir, 'other'), { clients: ['CP1'], caName: 'Another CA' });

	/* profile 2 */
	const p2 = await csmsFor(t, {
		tls: { key: pki.server.keyPem, cert: pki.server.certPem },
		auth: { passwords: { CP1: 'profile2-password' } },
	});
	assert.match(p2.url, /^wss:\/\/localhost:\d+\/ocpp$/);
	const c2 = await connected(t, p2, { password: 'profile2-password', wsOpts: { ca: pki.ca.certPem } });
	assert.equal((await c2.call('BootNotification', BOOT)).status, 'Accepted');
	const info2 = await p2.waitForConnection('CP1');
	assert.equal(info2.tls, true);
	assert.equal(info2.clientCN, null);
	await assert.rejects(clientFor(t, p2, { password: 'nope', wsOpts: { ca: pki.ca.certPem } }).connect(), { code: 401 });
	/* a client that does not trust the CA refuses the server */
	await assert.rejects(clientFor(t, p2, { password: 'profile2-password', wsOpts: { ca: other.ca.certPem } }).connect());

	/* profile 3 */
	const p3 = await csmsFor(t, {
		tls: { key: pki.server.keyPem, cert: pki.server.certPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true },
	});
	const tlsOpts = (c) => ({ ca: pki.ca.certPem, key: c.keyPem, cert: c.certPem });
	const c3 = await connected(t, p3, { wsOpts: tlsOpts(pki.clients.CP1) });
	assert.equal((await c3.call('BootNotification', BOOT)).status, 'Accepted');
	assert.equal(p3.clientCN('CP1'), 'CP1');
	assert.equal((await p3.waitForConnection('CP1')).clientCert.cn, 'CP1');
	/* no client certificate, or one from another CA: the handshake fails */
	await assert.rejects(clientFor(t, p3, { identity: 'CP1', wsOpts: { ca: pki.ca.certPem } }).connect());
	await assert.rejects(clientFor(t, p3, { identity: 'CP1', wsOpts: { ca: pki.ca.certPem, key: other.clients.CP1.keyPem, cert: other.clients.CP1.certPem } }).connect());
	assert.equal(p3.events.filter((e) => e.type === 'connect').length, 1);
});

test('tests/csms/server.js prints every frame and stops on SIGTERM', { timeout: TEST_TIMEOUT }, async (t) => {
	const proc = h.spawnProcess('csms-cli', process.execPath, [path.join(h.PATHS.root, 'tests/csms/server.js'), '--port', '0']);
	t.after(() => proc.stop());
	const { line } = await proc.waitForLine(/^CSMS listening on ws:\/\/127\.0\.0\.1:\d+\/ocpp$/, { stream: 'stdout' });
	const url = line.replace('CSMS listening on ', '');
	const cp = new RPCClient({ endpoint: url, identity: 'CP1', protocols: ['ocpp1.6'], strictMode: true, reconnect: false });
	t.after(() => cp.close({ force: true }));
	await cp.connect();
	await cp.call('BootNotification', BOOT);
	await proc.waitForLine(/^\d\d:\d\d:\d\d\.\d{3} CP1 connected/, { stream: 'stdout' });
	await proc.waitForLine(/^\d\d:\d\d:\d\d\.\d{3} CP1 → CSMS +\[2,"[^"]+","BootNotification",\{/, { stream: 'stdout' });
	await proc.waitForLine(/^\d\d:\d\d:\d\d\.\d{3} CSMS → CP1 \[3,"[^"]+",\{"status":"Accepted"/, { stream: 'stdout' });
	await cp.close();
	await proc.waitForLine(/CP1 disconnected/, { stream: 'stdout' });
	proc.kill('SIGTERM');
	assert.deepEqual(await proc.waitExit(), { code: 0, signal: null });

	const quiet = h.spawnProcess('csms-cli-quiet', process.execPath, [path.join(h.PATHS.root, 'tests/csms/server.js'), '--port', '0', '--quiet']);
	t.after(() => quiet.stop());
	await quiet.waitForLine(/^CSMS listening on /);
	quiet.kill('SIGINT');
	assert.deepEqual(await quiet.waitExit(), { code: 0, signal: null });
	assert.equal(quiet.lines.length, 1);
});

test('a second connection of the same charge point replaces the first', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await csmsFor(t);
	const first = await connected(t, csms);
	const firstClosed = new Promise((resolve) => first.once('close', resolve));
	const mark = csms.mark();
	const second = await connected(t, csms);
	await csms.waitForConnection('CP1', { after: mark });
	await firstClosed;
	assert.equal(csms.connected('CP1'), true);
	assert.equal((await second.call('Heartbeat', {})).currentTime !== undefined, true);
	/* the replaced connection's end is not "the" disconnect */
	const gone = csms.waitForDisconnect('CP1');
	await second.close();
	assert.equal((await gone).code, 1000);
	const ends = csms.events.filter((e) => e.type === 'disconnect');
	assert.deepEqual(ends.map((e) => e.replaced), [true, false]);
});
