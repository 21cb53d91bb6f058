'use strict';
/* ocpp-bridge: GetConfiguration and ChangeConfiguration. The bridge answers
 * both: its own keys from its key store, other services' keys from their
 * retained cfg_key messages (ChangeConfiguration goes to the owner as
 * cfg_set). The probe plays an owning service where one is needed. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(30000);
const AUTH_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4'; /* 20 bytes: must never show */

/* Keys the bridge serves for every charge point (ocpp_keys.c, owner ocpp-bridge, not opt-in). */
const BRIDGE_KEYS = {
	GetConfigurationMaxKeys: { readonly: true, value: '20' },
	HeartbeatInterval: { readonly: false },
	ResetRetries: { readonly: false, value: '0' },
	SupportedFeatureProfiles: { readonly: true },
	SupportedFeatureProfilesMaxLength: { readonly: true, value: '6' },
	TransactionMessageAttempts: { readonly: false, value: '3' },
	TransactionMessageRetryInterval: { readonly: false, value: '10' },
	WebSocketPingInterval: { readonly: false, value: '60' },
	AdditionalRootCertificateCheck: { readonly: true, value: 'false' },
	CertificateSignedMaxChainSize: { readonly: true },
	CertificateStoreMaxLength: { readonly: true },
	CpoName: { readonly: false, value: '' },
	SecurityProfile: { readonly: false, value: '0' },
};
const VENDOR_KEYS = ['VendorChargeBoxId', 'VendorChargePointName', 'UrlHasServerToken', 'VendorWebsocketSettings',
	'OEM_NetState', 'GetFirmwareUpgradePercentages'];

async function bridgeEnv(t, cp = {}) {
	const env = await h.withGateway(t, { csms: true, chargePoints: [{ id: 'CP1', authorization_key: AUTH_KEY, ...cp }] });
	const bridge = await env.startService('ocpp-bridge');
	await env.probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
	return { env, bridge, csms: env.csms, probe: env.probe };
}

const getConf = (csms, key, cp = 'CP1') => csms.call(cp, 'GetConfiguration', key ? { key } : {});
const change = async (csms, key, value, cp = 'CP1') => (await csms.call(cp, 'ChangeConfiguration', { key, value })).status;
const byKey = (conf) => Object.fromEntries((conf.configurationKey || []).map((k) => [k.key, k]));

/* Plays service svc: online, and the owner of key with value. Returns {stop, sets}. */
async function fakeOwner(probe, svc, key, value, decide) {
	await probe.publish(`service/${svc}/status`, { state: 'online' }, { retain: true });
	await probe.publish(`CP1/config/${key}`, { value, readonly: false, svc }, { retain: true });
	const sets = [];
	const stop = await probe.serve(`CP1/config/${key}/set`, async (p) => {
		sets.push(p.value);
		const status = decide(p.value);
		if (status === 'Accepted') await probe.publish(`CP1/config/${key}`, { value: p.value, readonly: false, svc }, { retain: true });
		return { status };
	});
	return { stop, sets };
}

test('GetConfiguration without keys: every standard key once; vendor keys only when named; AuthorizationKey never with a value', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe, bridge } = await bridgeEnv(t);
	/* a running service's keys are listed too, its vendor keys only when named */
	await probe.publish('service/meter/status', { state: 'online' }, { retain: true });
	await probe.publish('CP1/config/MeterValueSampleInterval', { value: '60', readonly: false, svc: 'meter' }, { retain: true });
	await probe.publish('CP1/config/ACME_MeterFirmware', { value: '4.2', readonly: true, vendor: true, svc: 'meter' }, { retain: true });
	await bridge.waitForLog(/received PUBLISH .*CP1\/config\/ACME_MeterFirmware/);

	const mark = csms.mark();
	const all = await getConf(csms);
	const raw = csms.traffic.slice(mark.traffic).filter((e) => e.dir === 'in').map((e) => e.raw).join('\n');
	assert.ok(!raw.toLowerCase().includes(AUTH_KEY), 'the AuthorizationKey never goes out');
	assert.equal(all.unknownKey, undefined);
	const keys = all.configurationKey.map((k) => k.key);
	assert.equal(new Set(keys).size, keys.length, `each key once: ${keys}`);
	const got = byKey(all);
	for (const [name, want] of Object.entries(BRIDGE_KEYS)) {
		assert.ok(got[name], `${name} is listed`);
		assert.equal(got[name].readonly, want.readonly, `${name} readonly`);
		assert.equal(typeof got[name].value, 'string', `${name} has a value`);
		if (want.value !== undefined) assert.equal(got[name].value, want.value, `${name} value`);
	}
	assert.deepEqual(got.MeterValueSampleInterval, { key: 'MeterValueSampleInterval', readonly: false, value: '60' });
	for (const name of [...VENDOR_KEYS, 'ACME_MeterFirmware']) assert.equal(got[name], undefined, `vendor key ${name} not listed`);
	if (got.AuthorizationKey) assert.equal(got.AuthorizationKey.value, undefined);
	/* keys of services that do not run are not there */
	for (const name of ['LocalAuthListEnabled', 'ConnectorPhaseRotation', 'ChargeProfileMaxStackLevel']) {
		assert.equal(got[name], undefined, `${name} not listed`);
	}

	/* named: vendor keys are there, the secret without its value */
	const named = byKey(await getConf(csms, ['ACME_MeterFirmware', 'VendorChargePointName', 'AuthorizationKey', 'UrlHasServerToken']));
	assert.deepEqual(named.ACME_MeterFirmware, { key: 'ACME_MeterFirmware', readonly: true, value: '4.2' });
	assert.deepEqual(named.VendorChargePointName, { key: 'VendorChargePointName', readonly: false, value: 'CP1' });
	assert.deepEqual(named.UrlHasServerToken, { key: 'UrlHasServerToken', readonly: false, value: 'false' });
	assert.deepEqual(named.AuthorizationKey, { key: 'AuthorizationKey', readonly: false });
});

test('GetConfiguration with keys: unknownKey for the rest, names case-insensitive, more than GetConfigurationMaxKeys refused', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms } = await bridgeEnv(t);
	const conf = await getConf(csms, ['HeartbeatInterval', 'NoSuchKey', 'MeterValueSampleInterval', 'LocalAuthListEnabled', 'authorizationkey']);
	assert.deepEqual(conf.configurationKey.map((k) => k.key), ['HeartbeatInterval', 'AuthorizationKey']);
	assert.deepEqual(conf.configurationKey[1], { key: 'AuthorizationKey', readonly: false });
	/* MeterValueSampleInterval and LocalAuthListEnabled: their services do not run */
	assert.deepEqual(conf.unknownKey, ['NoSuchKey', 'MeterValueSampleInterval', 'LocalAuthListEnabled']);

	const ci = await getConf(csms, ['heartbeatinterval', 'WEBSOCKETPINGINTERVAL', 'getConfigurationMaxKeys']);
	assert.deepEqual(ci.configurationKey.map((k) => [k.key, k.value]),
		[['HeartbeatInterval', '300'], ['WebSocketPingInterval', '60'], ['GetConfigurationMaxKeys', '20']]);
	assert.equal(ci.unknownKey, undefined);

	const only = await getConf(csms, ['NoSuchKey']);
	assert.equal(only.configurationKey, undefined);
	assert.deepEqual(only.unknownKey, ['NoSuchKey']);

	/* exactly GetConfigurationMaxKeys (20) is fine, 21 is refused with a CALLERROR */
	const names = Object.keys(BRIDGE_KEYS);
	while (names.length < 20) names.push(`Unknown${names.length}`);
	const twenty = await getConf(csms, names);
	assert.equal(twenty.configurationKey.length + twenty.unknownKey.length, 20);
	await assert.rejects(getConf(csms, [...names, 'HeartbeatInterval']), (err) => {
		assert.equal(err.code, 'OccurenceConstraintViolation');
		assert.match(err.description, /at most 20 keys/);
		return true;
	});
	/* still answering */
	assert.equal((await getConf(csms, ['HeartbeatInterval'])).configurationKey[0].value, '300');
});

test('ChangeConfiguration: Accepted, Rejected, RebootRequired, NotSupported; seen at once by GetConfiguration', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms } = await bridgeEnv(t);
	const cases = [
		/* the bridge's own keys, valid values */
		['HeartbeatInterval', '1', 'Accepted'],
		['WebSocketPingInterval', '0', 'Accepted'],
		['TransactionMessageAttempts', '5', 'Accepted'],
		['TransactionMessageRetryInterval', '7', 'Accepted'],
		['CpoName', 'ACME Charging', 'Accepted'],
		['heartbeatinterval', '2', 'Accepted'], /* key names are case-insensitive */
		/* read-only keys */
		['GetConfigurationMaxKeys', '30', 'Rejected'],
		['SupportedFeatureProfiles', 'Core', 'Rejected'],
		['SupportedFeatureProfilesMaxLength', '6', 'Rejected'],
		/* out of range, wrong type */
		['HeartbeatInterval', '0', 'Rejected'],
		['HeartbeatInterval', '-5', 'Rejected'],
		['WebSocketPingInterval', '-1', 'Rejected'],
		['HeartbeatInterval', 'abc', 'Rejected'],
		['HeartbeatInterval', '1.5', 'Rejected'],
		['HeartbeatInterval', '', 'Rejected'],
		['HeartbeatInterval', '99999999999999999999', 'Rejected'],
		['TransactionMessageRetryInterval', '0', 'Rejected'],
		['SecurityProfile', '4', 'Rejected'],
		['SecurityProfile', 'x', 'Rejected'],
		['UrlHasServerToken', 'maybe', 'Rejected'],
		['AuthorizationKey', 'not-hex-at-all-not-hex-at-all-00', 'Rejected'],
		['AuthorizationKey', '0011', 'Rejected'], /* too short */
		['VendorChargePointName', 'has space', 'Rejected'],
		/* takes effect after a restart */
		['VendorChargePointName', 'CP1-renamed', 'RebootRequired'],
		/* keys nobody serves here */
		['NoSuchKey', '1', 'NotSupported'],
		['MeterValueSampleInterval', '1', 'NotSupported'], /* the meter service does not run */
		['LocalAuthListEnabled', 'true', 'NotSupported'], /* nor does auth */
		['ConnectorPhaseRotation', '0.RST', 'NotSupported'], /* nor does connector */
	];
	const got = [];
	for (const [key, value] of cases) got.push([key, value, await change(csms, key, value)]);
	assert.deepEqual(got, cases);

	/* a GetConfiguration right after each change sees the new value */
	for (let i = 10; i < 30; i++) {
		assert.equal(await change(csms, 'TransactionMessageRetryInterval', String(i)), 'Accepted');
		const c = await getConf(csms, ['TransactionMessageRetryInterval']);
		assert.equal(c.configurationKey[0].value, String(i), `value ${i} at once`);
	}
	const now = byKey(await getConf(csms, ['HeartbeatInterval', 'WebSocketPingInterval', 'TransactionMessageAttempts',
		'CpoName', 'GetConfigurationMaxKeys']));
	assert.equal(now.HeartbeatInterval.value, '2');
	assert.equal(now.WebSocketPingInterval.value, '0');
	assert.equal(now.TransactionMessageAttempts.value, '5');
	assert.equal(now.CpoName.value, 'ACME Charging');
	assert.equal(now.GetConfigurationMaxKeys.value, '20');
});

test('ChangeConfiguration is persisted: after a restart the values are read back, the new name is used to connect', { timeout: TEST_TIMEOUT }, async (t) => {
	const { env, csms, bridge } = await bridgeEnv(t);
	for (const [key, value, want] of [
		['WebSocketPingInterval', '0', 'Accepted'],
		['TransactionMessageAttempts', '4', 'Accepted'],
		['TransactionMessageRetryInterval', '9', 'Accepted'],
		['CpoName', 'Persisted CPO', 'Accepted'],
		['VendorChargePointName', 'CP1-renamed', 'RebootRequired'],
	]) assert.equal(await change(csms, key, value), want, key);
	/* RebootRequired: not in effect before the restart */
	assert.equal(csms.connected('CP1'), true);

	const mark = csms.mark();
	assert.deepEqual(await bridge.stop(), { code: 0, signal: null });
	await env.startService('ocpp-bridge');
	const info = await csms.waitForConnection('CP1-renamed', { after: mark });
	assert.equal(info.path, '/ocpp/CP1-renamed');
	await csms.waitForCall('CP1-renamed', 'BootNotification', { after: mark });
	const conf = byKey(await getConf(csms, ['WebSocketPingInterval', 'TransactionMessageAttempts',
		'TransactionMessageRetryInterval', 'CpoName', 'VendorChargePointName'], 'CP1-renamed'));
	assert.deepEqual(Object.fromEntries(Object.entries(conf).map(([k, v]) => [k, v.value])), {
		WebSocketPingInterval: '0',
		TransactionMessageAttempts: '4',
		TransactionMessageRetryInterval: '9',
		CpoName: 'Persisted CPO',
		VendorChargePointName: 'CP1-renamed',
	});
	assert.equal(csms.events.filter((e) => e.type === 'connect' && e.cp === 'CP1').length, 1);
});

test('SecurityProfile through ChangeConfiguration: never lowered, never raised to what the connection cannot do', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms } = await bridgeEnv(t, { authorization_key: '' });
	/* profile 1 needs an AuthorizationKey, 2 a wss:// Central System, 3 a client certificate */
	assert.equal(await change(csms, 'SecurityProfile', '2'), 'Rejected');
	assert.equal(await change(csms, 'SecurityProfile', '3'), 'Rejected');
	assert.equal(await change(csms, 'SecurityProfile', '1'), 'Rejected');
	assert.equal((await getConf(csms, ['SecurityProfile'])).configurationKey[0].value, '0');
	assert.equal(await change(csms, 'SecurityProfile', '0'), 'Accepted');
	assert.equal(csms.events.filter((e) => e.type === 'connect').length, 1, 'no reconnect for nothing');
});

test('keys of another service: ChangeConfiguration goes to the running owner, its answer is relayed', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe, bridge } = await bridgeEnv(t);
	const owner = await fakeOwner(probe, 'meter', 'MeterValueSampleInterval', '60',
		(v) => (/^\d+$/.test(v) ? 'Accepted' : 'Rejected'));
	await bridge.waitForLog(/received PUBLISH .*CP1\/config\/MeterValueSampleInterval'/);

	assert.equal(await change(csms, 'MeterValueSampleInterval', '1'), 'Accepted');
	assert.equal((await getConf(csms, ['metervaluesampleinterval'])).configurationKey[0].value, '1');
	assert.equal(await change(csms, 'MeterValueSampleInterval', 'abc'), 'Rejected');
	assert.equal(await change(csms, 'metervaluesampleinterval', '15'), 'Accepted');
	assert.deepEqual(owner.sets, ['1', 'abc', '15']);
	/* the owner's answer is relayed as it is */
	owner.stop();
	const again = await fakeOwner(probe, 'meter', 'MeterValueSampleInterval', '15', () => 'RebootRequired');
	assert.equal(await change(csms, 'MeterValueSampleInterval', '30'), 'RebootRequired');
	assert.deepEqual(again.sets, ['30']);
});

test('a key whose owner stopped (its retained cfg_key stays) is NotSupported at once', { timeout: TEST_TIMEOUT }, async (t) => {
	const { csms, probe, bridge } = await bridgeEnv(t);
	const owner = await fakeOwner(probe, 'meter', 'MeterValueSampleInterval', '60', () => 'Accepted');
	await bridge.waitForLog(/received PUBLISH .*CP1\/config\/MeterValueSampleInterval'/);
	owner.stop();
	const at = bridge.lines.length;
	await probe.publish('service/meter/status', { state: 'offline' }, { retain: true });
	await bridge.waitForLog(/received PUBLISH .*service\/meter\/status/, { after: at, timeout: h.ms(3000) });
	const res = await csms.call('CP1', 'ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '45' },
		{ timeout: h.ms(3000) });
	assert.equal(res.status, 'NotSupported');
	assert.deepEqual(owner.sets, []);
});
