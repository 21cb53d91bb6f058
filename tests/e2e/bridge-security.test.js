'use strict';
/* ocpp-bridge: the security profiles of the OCPP 1.6 Security Whitepaper.
 * 1: HTTP Basic auth (user = charge point id, password = AuthorizationKey
 * decoded from hex), 2: TLS with a server certificate plus Basic auth, 3: TLS
 * with a client certificate. The PKI is made by the test (openssl CLI). */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/harness');
const { startCsms } = require('../csms/csms');

const TEST_TIMEOUT = h.ms(40000);
/* 20 bytes, most of them not printable, one a ':' (0x3a): only hex decoding gives them */
const KEY1 = '00ff3a80c3a9e2829cf09f9880deadbeef0a0d22';
const KEY2 = 'c0ffee00112233445566778899aabbccddeeff10';
const bytes = (hex) => Buffer.from(hex, 'hex');
const verboseLog = (name) => (process.env.SITEGATE_E2E_VERBOSE ? (l) => process.stderr.write(`[${name}] ${l}\n`) : undefined);

let pkiDir;
let pki; /* good: the trusted CA; other: another CA; wrongName: the trusted CA, server cert for other.example */
before(async () => {
	pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sitegate-pki-'));
	pki = {
		good: await h.makePki(path.join(pkiDir, 'good'), { clients: ['CP1', 'CP2'] }),
		other: await h.makePki(path.join(pkiDir, 'other'), { caName: 'Another CA' }),
	};
	/* the same CA signs a server certificate for another name */
	const wrong = await h.makePki(path.join(pkiDir, 'wrong-name'), { serverNames: ['DNS:other.example'] });
	const cnf = path.join(pkiDir, 'wrong-name', 'server.ext');
	const out = path.join(pkiDir, 'wrong-name', 'server-by-good-ca.crt');
	const r = await h.run('openssl', ['x509', '-req', '-in', path.join(pkiDir, 'wrong-name', 'server.csr'),
		'-CA', pki.good.ca.cert, '-CAkey', pki.good.ca.key, '-CAcreateserial', '-out', out, '-days', '2', '-extfile', cnf]);
	assert.equal(r.code, 0, r.stderr);
	pki.wrongName = { keyPem: wrong.server.keyPem, certPem: fs.readFileSync(out) };
});
after(() => fs.rmSync(pkiDir, { recursive: true, force: true }));

/* An auth check: user = identity (ocpp-rpc only reads the password then) and the password
 * one of the keys in `valid` (a Set of hex strings); records each try. */
function keyCheck(valid, tries = []) {
	return ({ identity, passwordBytes, handshake }) => {
		const header = handshake.headers.authorization || '';
		const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64');
		tries.push({ identity, header, user: decoded.subarray(0, decoded.indexOf(0x3a)).toString() });
		return passwordBytes !== null && valid.has(passwordBytes.toString('hex'));
	};
}

async function tlsCsms(t, server, { requestCert = false, auth } = {}) {
	const csms = await startCsms({
		tls: { key: server.keyPem, cert: server.certPem, ca: pki.good.ca.certPem, requestCert, rejectUnauthorized: requestCert },
		auth,
		log: verboseLog('csms'),
	});
	t.after(() => csms.close());
	return csms;
}

/* A gateway whose CP1 talks to csms (started by the test) with the given settings. */
async function gatewayFor(t, csms, cp) {
	const env = await h.withGateway(t, { chargePoints: [{ id: 'CP1', ...cp }], config: { csms: { url: csms.url } } });
	env.csms = csms;
	return env;
}

test('profile 1: Basic auth with the AuthorizationKey as bytes; a new AuthorizationKey reconnects with it; never lowered', { timeout: TEST_TIMEOUT }, async (t) => {
	const valid = new Set([KEY1]);
	const tries = [];
	const env = await h.withGateway(t, {
		csms: { auth: keyCheck(valid, tries) },
		chargePoints: [{ id: 'CP1', security_profile: 1, authorization_key: KEY1 }],
	});
	const { csms } = env;
	await env.startService('ocpp-bridge');
	const info = await csms.waitForConnection('CP1');
	assert.equal(info.tls, false);
	assert.deepEqual(info.passwordBytes, bytes(KEY1));
	assert.equal(tries[0].user, 'CP1');
	await csms.waitForCall('CP1', 'BootNotification');
	assert.equal(csms.refusals.length, 0);

	/* the key is write-only, the profile may not go down */
	assert.deepEqual((await csms.call('CP1', 'GetConfiguration', { key: ['AuthorizationKey'] })).configurationKey,
		[{ key: 'AuthorizationKey', readonly: false }]);
	assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '0' })).status, 'Rejected');
	assert.equal((await csms.call('CP1', 'GetConfiguration', { key: ['SecurityProfile'] })).configurationKey[0].value, '1');

	/* a new key: the answer goes out, then the bridge reconnects with the new key */
	valid.add(KEY2);
	const mark = csms.mark();
	const res = await csms.call('CP1', 'ChangeConfiguration', { key: 'AuthorizationKey', value: KEY2.toUpperCase() });
	assert.equal(res.status, 'Accepted');
	valid.delete(KEY1);
	const again = await csms.waitForConnection('CP1', { after: mark });
	assert.deepEqual(again.passwordBytes, bytes(KEY2));
	assert.equal(csms.refusals.length, 0, 'the first try with the new key was let in');
	await csms.waitForCall('CP1', 'BootNotification', { after: mark });
	assert.equal(csms.events.filter((e) => e.type === 'connect').length, 2);
});

test('profile 1: a wrong AuthorizationKey is refused, and the bridge keeps trying', { timeout: TEST_TIMEOUT }, async (t) => {
	const tries = [];
	const env = await h.withGateway(t, {
		csms: { auth: keyCheck(new Set([KEY2]), tries) },
		chargePoints: [{ id: 'CP1', security_profile: 1, authorization_key: KEY1 }],
	});
	const bridge = await env.startService('ocpp-bridge');
	const first = await env.csms.waitForRefusal('CP1');
	assert.equal(first.status, 401);
	assert.deepEqual(first.passwordBytes, bytes(KEY1));
	const second = await env.csms.waitForRefusal('CP1', { after: first.index + 1, timeout: h.ms(5000) });
	assert.ok(second.ts - first.ts >= 950, 'after a backoff');
	await bridge.waitForLog(/CP1: cannot connect/);
	assert.equal(env.csms.events.length, 0, 'never connected');
	assert.ok(tries.every((x) => x.user === 'CP1'));
});

test('profile 2: wss with the test CA and Basic auth; lowering refused; profile 3 refused without a client certificate', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await tlsCsms(t, pki.good.server, { auth: keyCheck(new Set([KEY1])) });
	assert.match(csms.url, /^wss:\/\/localhost:/);
	const env = await gatewayFor(t, csms, { security_profile: 2, authorization_key: KEY1, ca_file: pki.good.ca.cert });
	await env.startService('ocpp-bridge');
	const info = await csms.waitForConnection('CP1');
	assert.equal(info.tls, true);
	assert.deepEqual(info.passwordBytes, bytes(KEY1));
	assert.equal(info.clientCN, null);
	await csms.waitForCall('CP1', 'BootNotification');
	assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '1' })).status, 'Rejected');
	assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '3' })).status, 'Rejected');
	assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '2' })).status, 'Accepted');
	/* nor may the address drop TLS under profile 2 */
	const port = new URL(csms.url).port;
	assert.equal((await csms.call('CP1', 'ChangeConfiguration',
		{ key: 'VendorWebsocketSettings', value: `WS,localhost,${port},/ocpp,ocpp1.6,,,` })).status, 'Rejected');
	assert.equal((await csms.call('CP1', 'GetConfiguration', { key: ['VendorWebsocketSettings'] })).configurationKey[0].value,
		`WS,localhost,${port},/ocpp,socpp1.6,,,`);
	assert.equal(csms.events.filter((e) => e.type === 'connect').length, 1);
});

test('profile 3: a client certificate whose CN the CSMS checks; a certificate for another id is refused', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await tlsCsms(t, pki.good.server, {
		requestCert: true,
		auth: ({ identity, clientCert }) => Boolean(clientCert) && clientCert.authorized && clientCert.cn === identity,
	});
	const cp1 = pki.good.clients.CP1;
	const env = await gatewayFor(t, csms, { security_profile: 3, ca_file: pki.good.ca.cert, client_cert: cp1.cert, client_key: cp1.key });
	const bridge = await env.startService('ocpp-bridge');
	const info = await csms.waitForConnection('CP1');
	assert.equal(info.clientCN, 'CP1');
	assert.equal(info.passwordBytes, null, 'no Basic auth with profile 3');
	await csms.waitForCall('CP1', 'BootNotification');
	assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '2' })).status, 'Rejected');
	await bridge.stop();

	/* CP1 presenting the certificate of CP2 */
	const cp2 = pki.good.clients.CP2;
	const env2 = await gatewayFor(t, csms, { security_profile: 3, ca_file: pki.good.ca.cert, client_cert: cp2.cert, client_key: cp2.key });
	const mark = csms.mark();
	const bridge2 = await env2.startService('ocpp-bridge');
	const refused = await csms.waitForRefusal('CP1', { after: mark });
	assert.equal(refused.clientCert.cn, 'CP2');
	await bridge2.waitForLog(/CP1: cannot connect/);
	assert.equal(csms.events.filter((e) => e.type === 'connect').length, 1, 'only the first gateway got in');
});

test('profile 2 raised to 3 through ChangeConfiguration: reconnects with the client certificate instead of Basic auth', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await startCsms({
		/* asks for a client certificate but lets a connection without one in (profile 2) */
		tls: { key: pki.good.server.keyPem, cert: pki.good.server.certPem, ca: pki.good.ca.certPem, requestCert: true, rejectUnauthorized: false },
		auth: ({ identity, passwordBytes, clientCert }) => (clientCert && clientCert.authorized ? clientCert.cn === identity
			: passwordBytes !== null && passwordBytes.equals(bytes(KEY1))),
		log: verboseLog('csms'),
	});
	t.after(() => csms.close());
	const cp1 = pki.good.clients.CP1;
	const env = await gatewayFor(t, csms, {
		security_profile: 2, authorization_key: KEY1, ca_file: pki.good.ca.cert, client_cert: cp1.cert, client_key: cp1.key,
	});
	await env.startService('ocpp-bridge');
	const p2 = await csms.waitForConnection('CP1');
	assert.deepEqual(p2.passwordBytes, bytes(KEY1));
	assert.equal(p2.clientCN, null, 'no client certificate with profile 2');
	await csms.waitForCall('CP1', 'BootNotification');

	const mark = csms.mark();
	assert.equal((await csms.call('CP1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '3' })).status, 'Accepted');
	const p3 = await csms.waitForConnection('CP1', { after: mark });
	assert.equal(p3.clientCN, 'CP1');
	assert.equal(p3.clientCert.authorized, true);
	assert.equal(p3.passwordBytes, null, 'no Basic auth with profile 3');
	await csms.waitForCall('CP1', 'BootNotification', { after: mark });
	assert.equal((await csms.call('CP1', 'GetConfiguration', { key: ['SecurityProfile'] })).configurationKey[0].value, '3');
	assert.equal(csms.refusals.length, 0);
});

for (const [what, server] of [
	['signed by another CA', () => pki.other.server],
	['for another host name', () => pki.wrongName],
]) {
	test(`a server certificate ${what} is refused: no connection`, { timeout: TEST_TIMEOUT }, async (t) => {
		const csms = await tlsCsms(t, server(), { auth: keyCheck(new Set([KEY1])) });
		const env = await gatewayFor(t, csms, { security_profile: 2, authorization_key: KEY1, ca_file: pki.good.ca.cert });
		const bridge = await env.startService('ocpp-bridge');
		const first = await csms.waitForTlsError();
		await bridge.waitForLog(/CP1: cannot connect/);
		/* and it keeps trying, with backoff */
		const second = await csms.waitForTlsError({ after: first.index + 1, timeout: h.ms(5000) });
		assert.ok(second.ts - first.ts >= 950);
		assert.equal(csms.events.length, 0, 'no WebSocket connection');
		assert.equal(csms.refusals.length, 0, 'no upgrade request: the credentials never went out');
	});
}

test('the configuration raises the profile over one stored through ChangeConfiguration: used at the next start', { timeout: TEST_TIMEOUT }, async (t) => {
	const valid = new Set([KEY1]);
	const env = await h.withGateway(t, {
		csms: { auth: ({ passwordBytes }) => passwordBytes === null || valid.has(passwordBytes.toString('hex')) },
		chargePoints: [{ id: 'CP1', security_profile: 0, authorization_key: KEY1 }],
	});
	const plain = env.csms;
	const bridge = await env.startService('ocpp-bridge');
	await plain.waitForCall('CP1', 'BootNotification');
	/* 0 -> 1 through OCPP: stored, reconnects with Basic auth */
	let mark = plain.mark();
	assert.equal((await plain.call('CP1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '1' })).status, 'Accepted');
	const p1 = await plain.waitForConnection('CP1', { after: mark });
	assert.deepEqual(p1.passwordBytes, bytes(KEY1));
	await bridge.stop();

	/* the site moves to wss and profile 2 in the configuration file */
	const tls = await tlsCsms(t, pki.good.server, { auth: keyCheck(valid) });
	h.writeGatewayConfig(env, {
		csmsUrl: tls.url,
		chargePoints: [{ id: 'CP1', security_profile: 2, authorization_key: KEY1, ca_file: pki.good.ca.cert }],
	});
	mark = tls.mark();
	const again = await env.startService('ocpp-bridge');
	const info = await tls.waitForConnection('CP1', { after: mark });
	assert.equal(info.tls, true);
	assert.deepEqual(info.passwordBytes, bytes(KEY1));
	assert.equal((await tls.call('CP1', 'GetConfiguration', { key: ['SecurityProfile'] })).configurationKey[0].value, '2');
	assert.equal(again.running(), true);
});
