'use strict';
/* A site narrows OCPP configuration keys in sitegate.conf (ocpp_keys): the
 * Central System can then only set values inside the site's range, whichever
 * service owns the key, and the site's default applies until it does. */
const test = require('node:test');
const assert = require('node:assert');
const h = require('./lib/harness');

const CP = 'CP1';

async function change(csms, key, value) {
	return (await csms.call(CP, 'ChangeConfiguration', { key, value })).status;
}

test('site-narrowed keys: ranges hold for the bridge\'s and the meter\'s keys, the site default applies', async (t) => {
	const env = await h.withGateway(t, {
		csms: true,
		services: ['ocpp-bridge', 'meter'],
		config: {
			ocpp_keys: [
				{ key: 'WebSocketPingInterval', min: 10, max: 600 },
				{ key: 'MeterValueSampleInterval', min: 10, default: '30' },
			],
		},
	});
	await env.csms.waitForCall(CP, 'BootNotification', { timeout: h.ms(20000) });
	/* the meter's keys reach the bridge as retained cfg_key messages */
	const sampled = await env.probe.waitFor(`${CP}/config/MeterValueSampleInterval`, () => true, { timeout: h.ms(10000) });
	assert.equal(sampled.payload.value, '30', 'the site default');

	assert.equal(await change(env.csms, 'WebSocketPingInterval', '5'), 'Rejected');
	assert.equal(await change(env.csms, 'WebSocketPingInterval', '0'), 'Rejected', '0 (off) is outside the site range');
	assert.equal(await change(env.csms, 'WebSocketPingInterval', '60'), 'Accepted');
	assert.equal(await change(env.csms, 'MeterValueSampleInterval', '1'), 'Rejected');
	assert.equal(await change(env.csms, 'MeterValueSampleInterval', '15'), 'Accepted');

	const conf = await env.csms.call(CP, 'GetConfiguration', { key: ['WebSocketPingInterval', 'MeterValueSampleInterval'] });
	const values = Object.fromEntries(conf.configurationKey.map((k) => [k.key, k.value]));
	assert.deepEqual(values, { WebSocketPingInterval: '60', MeterValueSampleInterval: '15' });
	assert.deepEqual(env.csms.validationFailures, []);
});

test('a bad ocpp_keys entry stops a service before it starts, naming file, line and setting', async (t) => {
	const env = await h.withGateway(t, {
		config: { ocpp_keys: [{ key: 'HeartbeatIntervall', max: 60 }] },
	});
	const svc = await h.startService(env, 'ocpp-bridge', { ready: false });
	const exit = await svc.waitExit({ timeout: h.ms(10000) });
	assert.equal(exit.code, 78);
	assert.ok(svc.lines.some((l) => /sitegate\.conf:\d+: ocpp_keys\.\[0\]\.key: "HeartbeatIntervall" is no OCPP configuration key/.test(l)),
		svc.lines.join('\n'));
});
