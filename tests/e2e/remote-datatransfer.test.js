'use strict';
/* DataTransfer both ways through the real ocpp-bridge. The Central System's
 * DataTransfer goes to the service registered for its vendorId (ocpp_vendor):
 * here the example service sitegate-meter-logger (vendorId
 * "org.sitegate.example", messageIds "echo" and "lastSample"), fed by the real
 * meter; an unknown messageId of that vendor and an unknown vendor are answered
 * by the bridge. And a service sends DataTransfer to the Central System
 * (ocpp_send) and gets its answer. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const r = require('./remote-lib');

const TEST_TIMEOUT = h.ms(60000);
const VENDOR = 'org.sitegate.example';

const transfer = async (env, payload) => (await r.call(env, 'CP1', 'DataTransfer', payload)).result;

test('the Central System\'s DataTransfer reaches the service registered for its vendorId',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await r.gateway(t, { services: ['connector', 'meter', 'auth', 'meter-logger'] });
		const { csms, probe } = env;
		const logger = env.services.get('meter-logger');
		await probe.subscribe('+/ocpp/vendor/+');
		/* the ocpp_datatransfer requests the bridge sent, as {topic, payload} */
		const routed = (from) => probe.messages.slice(from)
			.filter((m) => h.topicMatches(probe.topic('+/ocpp/vendor/+'), m.topic))
			.map((m) => ({ topic: m.topic.slice(env.prefix.length + 1), payload: m.payload.payload }));

		assert.deepEqual(await transfer(env, { vendorId: VENDOR, messageId: 'echo', data: 'hello, gateway' }),
			{ status: 'Accepted', data: 'hello, gateway' });
		assert.deepEqual(await transfer(env, { vendorId: VENDOR, messageId: 'echo' }), { status: 'Accepted' });
		await logger.waitForLog(/CP1: DataTransfer echo: Accepted/);
		/* vendorId is a CiString: compared without regard to case, and the request goes to
		 * the topic the service registered */
		assert.deepEqual(await transfer(env, { vendorId: VENDOR.toUpperCase(), messageId: 'echo', data: 'x' }),
			{ status: 'Accepted', data: 'x' });
		await r.syncBridge(env);
		assert.deepEqual(routed(0), [
			{ topic: `CP1/ocpp/vendor/${VENDOR}`, payload: { vendorId: VENDOR, messageId: 'echo', data: 'hello, gateway' } },
			{ topic: `CP1/ocpp/vendor/${VENDOR}`, payload: { vendorId: VENDOR, messageId: 'echo' } },
			{ topic: `CP1/ocpp/vendor/${VENDOR}`, payload: { vendorId: VENDOR.toUpperCase(), messageId: 'echo', data: 'x' } },
		]);

		/* lastSample: the meter's latest sample of the charge point, as JSON text */
		const sample = await probe.waitFor('CP1/+/meter', () => true, { timeout: h.ms(15000) });
		await logger.waitForLog(/CP1\/\d at .*energy=/);
		const last = await transfer(env, { vendorId: VENDOR, messageId: 'lastSample' });
		assert.equal(last.status, 'Accepted');
		const got = JSON.parse(last.data);
		assert.equal(typeof got.energy_wh, 'number');
		assert.ok([1, 2].includes(got.connector), last.data);
		assert.ok(got.ts >= sample.payload.ts, `the latest sample: ${last.data}`);

		/* answered by the bridge: a messageId the vendor did not register, an unknown vendor */
		await r.syncBridge(env);
		const mark = probe.mark();
		assert.deepEqual(await transfer(env, { vendorId: VENDOR, messageId: 'reboot', data: 'now' }),
			{ status: 'UnknownMessageId' });
		assert.deepEqual(await transfer(env, { vendorId: VENDOR }), { status: 'UnknownMessageId' });
		assert.deepEqual(await transfer(env, { vendorId: 'com.example.other', messageId: 'echo', data: 'x' }),
			{ status: 'UnknownVendorId' });
		await r.syncBridge(env);
		assert.deepEqual(routed(mark), [], 'none of those went to a service');

		/* the vendor's service stopped: its calls fail, the others are unaffected */
		await logger.stop();
		await probe.waitFor('service/meter-logger/status', (p) => p.state === 'offline');
		await r.syncBridge(env);
		await assert.rejects(transfer(env, { vendorId: VENDOR, messageId: 'echo', data: 'x' }),
			(err) => err.code === 'InternalError');
		assert.deepEqual(await transfer(env, { vendorId: 'com.example.other' }), { status: 'UnknownVendorId' });
		assert.deepEqual(csms.validationFailures, []);
	});

test('a service sends DataTransfer to the Central System through the bridge and gets the answer',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await r.gateway(t, { services: ['connector', 'meter', 'auth'] });
		const { csms, probe } = env;
		csms.handle('DataTransfer', (p) => (p.vendorId === 'org.sitegate.test' && p.messageId === 'ping'
			? { status: 'Accepted', data: `pong: ${p.data}` }
			: { status: 'UnknownMessageId' }));

		let res = await probe.request('CP1/ocpp/send/DataTransfer',
			{ payload: { vendorId: 'org.sitegate.test', messageId: 'ping', data: '42' } });
		assert.equal(res.error, '');
		assert.deepEqual(res.payload, { status: 'Accepted', data: 'pong: 42' });
		assert.deepEqual(await csms.waitForCall('CP1', 'DataTransfer'),
			{ vendorId: 'org.sitegate.test', messageId: 'ping', data: '42' });

		res = await probe.request('CP1/ocpp/send/DataTransfer', { payload: { vendorId: 'org.sitegate.test', messageId: 'other' } });
		assert.deepEqual(res.payload, { status: 'UnknownMessageId' });

		/* a payload that breaks the schema never leaves the gateway */
		const before = csms.calls('CP1', 'DataTransfer').length;
		res = await probe.request('CP1/ocpp/send/DataTransfer', { payload: { messageId: 'ping' } });
		assert.equal(res.error, 'FormationViolation');
		/* a charge point the gateway does not have */
		res = await probe.request('CP9/ocpp/send/DataTransfer', { payload: { vendorId: 'org.sitegate.test' } });
		assert.equal(res.error, 'Unknown');
		await r.sendThrough(env, 'CP1');
		assert.equal(csms.calls('CP1', 'DataTransfer').length, before);
		r.assertClean(env);
	});
