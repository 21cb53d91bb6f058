'use strict';
/* ocpp-bridge: where it connects. <url>/<id> by default; the URL as given
 * with UrlHasServerToken; host, port, path and credentials from
 * VendorWebsocketSettings. Each change reconnects. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { startCsms } = require('../csms/csms');

const TEST_TIMEOUT = h.ms(30000);
const verboseLog = (name) => (process.env.SITEGATE_E2E_VERBOSE ? (l) => process.stderr.write(`[${name}] ${l}\n`) : undefined);

const change = async (csms, key, value) => (await csms.call('CP1', 'ChangeConfiguration', { key, value })).status;
const value = async (csms, key) => (await csms.call('CP1', 'GetConfiguration', { key: [key] })).configurationKey[0].value;

test('UrlHasServerToken: true connects to the URL as given, false appends /<id> again', { timeout: TEST_TIMEOUT }, async (t) => {
	const csms = await startCsms({ log: verboseLog('csms') });
	t.after(() => csms.close());
	/* the URL already ends in the token the server wants: here, the id */
	const url = `ws://127.0.0.1:${csms.port}/ocpp/CP1`;
	const env = await h.withGateway(t, { config: { csms: { url } } });
	await env.startService('ocpp-bridge');
	assert.equal((await csms.waitForConnection('CP1')).path, '/ocpp/CP1/CP1');
	await csms.waitForCall('CP1', 'BootNotification');
	/* cp_state names the URL dialled */
	await env.probe.waitFor('CP1/state', (p) => p.connection === 'connected' && p.url === `${url}/CP1`);
	assert.equal(await value(csms, 'UrlHasServerToken'), 'false');

	let mark = csms.mark();
	assert.equal(await change(csms, 'UrlHasServerToken', 'true'), 'Accepted');
	const info = await csms.waitForConnection('CP1', { after: mark });
	assert.equal(info.path, '/ocpp/CP1');
	await csms.waitForCall('CP1', 'BootNotification', { after: mark });
	assert.equal(await value(csms, 'UrlHasServerToken'), 'true');
	await env.probe.waitFor('CP1/state', (p) => p.connection === 'connected' && p.registration === 'Accepted' &&
		p.reconnects === 1 && p.url === `${url}`);

	mark = csms.mark();
	assert.equal(await change(csms, 'UrlHasServerToken', 'FALSE'), 'Accepted');
	assert.equal((await csms.waitForConnection('CP1', { after: mark })).path, '/ocpp/CP1/CP1');
	assert.equal(await value(csms, 'UrlHasServerToken'), 'false');
});

test('VendorWebsocketSettings: WS,host,port,path,ocpp1.6,user,pass moves the connection; "" restores the configured URL', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, { csms: true });
	const first = env.csms;
	const users = [];
	const second = await startCsms({
		log: verboseLog('csms#2'),
		auth: ({ handshake }) => {
			const header = handshake.headers.authorization;
			users.push(header ? Buffer.from(header.replace(/^Basic /, ''), 'base64').toString() : null);
			return true;
		},
	});
	t.after(() => second.close());
	await env.startService('ocpp-bridge');
	await first.waitForCall('CP1', 'BootNotification');
	assert.equal(await value(first, 'VendorWebsocketSettings'), `WS,127.0.0.1,${first.port},/ocpp,ocpp1.6,,,`);

	/* invalid settings are refused and change nothing */
	for (const bad of ['WS,127.0.0.1', `XX,127.0.0.1,${second.port},/other/,ocpp1.6,,,`, `WS,127.0.0.1,0,/other/,ocpp1.6,,,`,
		`WS,127.0.0.1,${second.port},other,ocpp1.6,,,`, `WS,127.0.0.1,${second.port},/other/,ocpp2.0,,,`]) {
		assert.equal(await change(first, 'VendorWebsocketSettings', bad), 'Rejected', bad);
	}
	assert.equal(first.events.length, 1);

	assert.equal(await change(first, 'VendorWebsocketSettings', `WS,127.0.0.1,${second.port},/other/,ocpp1.6,,,`), 'Accepted');
	const info = await second.waitForConnection('CP1');
	assert.equal(info.path, '/other/CP1');
	assert.deepEqual(users, [null]);
	await second.waitForCall('CP1', 'BootNotification');
	await first.waitForDisconnect('CP1');
	assert.equal(await value(second, 'VendorWebsocketSettings'), `WS,127.0.0.1,${second.port},/other/,ocpp1.6,,,`);

	/* with credentials: Basic auth with them; the password never shows */
	let mark = second.mark();
	assert.equal(await change(second, 'VendorWebsocketSettings', `WS,127.0.0.1,${second.port},/site/,ocpp1.6,site-user,s3cret`), 'Accepted');
	assert.equal((await second.waitForConnection('CP1', { after: mark })).path, '/site/CP1');
	assert.equal(users.at(-1), 'site-user:s3cret');
	const shown = await value(second, 'VendorWebsocketSettings');
	assert.ok(!shown.includes('s3cret'), shown);
	assert.match(shown, new RegExp(`^WS,127\\.0\\.0\\.1,${second.port},/site/,ocpp1\\.6,site-user,`));

	/* "" is the configured csms.url again */
	mark = first.mark();
	assert.equal(await change(second, 'VendorWebsocketSettings', ''), 'Accepted');
	assert.equal((await first.waitForConnection('CP1', { after: mark })).path, '/ocpp/CP1');
	await first.waitForCall('CP1', 'BootNotification', { after: mark });
	assert.equal(await value(first, 'VendorWebsocketSettings'), `WS,127.0.0.1,${first.port},/ocpp,ocpp1.6,,,`);
});
