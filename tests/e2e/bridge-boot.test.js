'use strict';
/* ocpp-bridge: BootNotification (fields, Accepted, Pending, Rejected, on every
 * reconnect) and StatusNotification of every connector, against the strict
 * test CSMS. The probe plays the connector service with retained conn_state. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(30000);

const boot = (status, interval) => () => ({ status, interval, currentTime: new Date().toISOString() });

/* Waits until the bridge says CP is connected and registered with the given status. */
function registration(env, cp, status, opts) {
	return env.probe.waitFor(`${cp}/state`, (p) => p.connection === 'connected' && p.registration === status, opts);
}

/* The charge point's CALLs from index `from` on (before `to`), as [action, payload]. */
function callsBetween(csms, cp, from, to = csms.traffic.length) {
	return csms.traffic.slice(from, to).filter((e) => e.cp === cp && e.dir === 'in' && e.type === 'CALL');
}

test('BootNotification carries the configured fields; Accepted sets HeartbeatInterval', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, {
		csms: true,
		chargePoints: [
			{
				id: 'CP1',
				vendor: 'ACME Power',
				model: 'Wallbox-9',
				serial_number: 'SN-0042',
				charge_box_serial_number: 'CB-0042',
				firmware_version: '1.2.3-rc1',
				iccid: '89490200001234567890',
				imsi: '262011234567890',
				meter_type: 'EM-3P',
				meter_serial_number: 'MTR-777',
			},
			{ id: 'CP2', connectors: 1 },
		],
	});
	env.csms.handle('BootNotification', boot('Accepted', 123));
	await env.startService('ocpp-bridge');

	assert.deepEqual(await env.csms.waitForCall('CP1', 'BootNotification'), {
		chargePointVendor: 'ACME Power',
		chargePointModel: 'Wallbox-9',
		chargePointSerialNumber: 'SN-0042',
		chargeBoxSerialNumber: 'CB-0042',
		firmwareVersion: '1.2.3-rc1',
		iccid: '89490200001234567890',
		imsi: '262011234567890',
		meterType: 'EM-3P',
		meterSerialNumber: 'MTR-777',
	});
	/* the defaults, and nothing for the optional fields that are not set */
	assert.deepEqual(await env.csms.waitForCall('CP2', 'BootNotification'), {
		chargePointVendor: 'Sitegate',
		chargePointModel: 'SG-SIM',
		firmwareVersion: '0.1.0',
	});
	await registration(env, 'CP1', 'Accepted');
	await registration(env, 'CP2', 'Accepted');

	/* the interval of BootNotification.conf is the HeartbeatInterval, asked right away */
	const conf = await env.csms.call('CP1', 'GetConfiguration', { key: ['HeartbeatInterval'] });
	assert.deepEqual(conf.configurationKey, [{ key: 'HeartbeatInterval', readonly: false, value: '123' }]);
	assert.equal(conf.unknownKey, undefined);
	assert.equal((await env.csms.call('CP2', 'GetConfiguration', { key: ['HeartbeatInterval'] })).configurationKey[0].value, '123');
	assert.equal(env.csms.validationFailures.length, 0, JSON.stringify(env.csms.validationFailures));
});

test('Pending: BootNotification again after the interval, nothing else sent meanwhile, CSMS calls answered', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, { csms: true });
	const { csms, probe } = env;
	await probe.subscribe('CP1/ocpp/txresult'); /* events: subscribe before they can come */
	await probe.publish('CP1/0/state', { status: 'Available' }, { retain: true });
	await probe.publish('CP1/1/state', { status: 'Available', error_code: 'NoError' }, { retain: true });
	csms.handle('BootNotification', boot('Pending', 3));
	await env.startService('ocpp-bridge');

	const first = await csms.waitForCallEntry('CP1', 'BootNotification');
	await registration(env, 'CP1', 'Pending');

	/* a service's message is refused while not registered ... */
	const sent = await probe.request('CP1/ocpp/send/Authorize', { payload: { idTag: 'TAG1' } });
	assert.equal(sent.error, 'NotRegistered');
	/* ... a transaction message is stored for later ... */
	const ack = await probe.request('CP1/ocpp/tx/StartTransaction', {
		payload: { connectorId: 1, idTag: 'TAG1', meterStart: 100, timestamp: new Date().toISOString() },
		tx_ref: 1,
	});
	assert.ok(ack.seq > 0, `stored: ${JSON.stringify(ack)}`);
	/* ... and the Central System's calls are answered */
	const conf = await csms.call('CP1', 'GetConfiguration', { key: ['HeartbeatInterval'] });
	assert.equal(conf.configurationKey[0].key, 'HeartbeatInterval');
	/* a connector changes twice meanwhile: only its latest status will be sent */
	await probe.publish('CP1/1/state', { status: 'Preparing', error_code: 'NoError' }, { retain: true });
	await probe.publish('CP1/1/state', { status: 'Finishing', error_code: 'NoError' }, { retain: true });

	csms.handle('BootNotification', boot('Accepted', 300));
	const second = await csms.waitForCallEntry('CP1', 'BootNotification', { after: first.index + 1 });
	const gap = second.ts - first.ts;
	assert.ok(gap >= 2900 && gap < 3000 + h.ms(2000), `BootNotification again after ${gap} ms, interval 3 s`);
	assert.deepEqual(callsBetween(csms, 'CP1', first.index, second.index).map((e) => e.action), ['BootNotification'],
		'nothing but BootNotification while Pending');

	/* once Accepted: the statuses and the stored transaction message */
	const start = await csms.waitForCallEntry('CP1', 'StartTransaction', { after: second.index });
	assert.equal(start.payload.meterStart, 100);
	await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 0, after: second.index });
	const s1 = await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 1, after: second.index });
	assert.equal(s1.status, 'Finishing');
	const result = await probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 1);
	assert.equal(csms.calls('CP1', 'StatusNotification').filter((e) => e.payload.connectorId === 1).length, 1);
	assert.equal(result.payload.action, 'StartTransaction');
	assert.equal(result.payload.transaction_id, csms.lastTransactionId);
	assert.ok((await probe.request('CP1/ocpp/send/Authorize', { payload: { idTag: 'TAG1' } })).payload.idTagInfo);
});

test('Rejected: nothing else sent until BootNotification is retried after the interval', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, { csms: true });
	const { csms, probe } = env;
	await probe.publish('CP1/1/state', { status: 'Available' }, { retain: true });
	csms.handle('BootNotification', boot('Rejected', 2));
	await env.startService('ocpp-bridge');

	const first = await csms.waitForCallEntry('CP1', 'BootNotification');
	await registration(env, 'CP1', 'Rejected');
	assert.equal((await probe.request('CP1/ocpp/send/DataTransfer', { payload: { vendorId: 'sitegate' } })).error, 'NotRegistered');
	assert.ok((await probe.request('CP1/ocpp/tx/StartTransaction', {
		payload: { connectorId: 1, idTag: 'TAG1', meterStart: 5, timestamp: new Date().toISOString() },
		tx_ref: 7,
	})).seq > 0);

	const second = await csms.waitForCallEntry('CP1', 'BootNotification', { after: first.index + 1 });
	const gap = second.ts - first.ts;
	assert.ok(gap >= 1900 && gap < 2000 + h.ms(2000), `BootNotification again after ${gap} ms, interval 2 s`);
	csms.handle('BootNotification', boot('Accepted', 300));
	const third = await csms.waitForCallEntry('CP1', 'BootNotification', { after: second.index + 1 });
	assert.ok(third.ts - second.ts >= 1900, 'Rejected again: the interval again');
	assert.deepEqual(callsBetween(csms, 'CP1', first.index, third.index).map((e) => e.action),
		['BootNotification', 'BootNotification'], 'nothing but BootNotification while Rejected');

	await csms.waitForCall('CP1', 'StartTransaction', { after: third.index });
	await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 1, after: third.index });
	await registration(env, 'CP1', 'Accepted');
});

test('StatusNotification of every connector after Accepted, on a change, and again after a reconnect with BootNotification', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await h.withGateway(t, { csms: true });
	const { csms, probe } = env;
	const since = Date.parse('2025-03-01T10:20:30.456Z');
	await probe.publish('CP1/0/state', { status: 'Available', error_code: 'NoError' }, { retain: true });
	await probe.publish('CP1/1/state', { status: 'Available', error_code: 'NoError', since }, { retain: true });
	await probe.publish('CP1/2/state', {
		status: 'Faulted',
		error_code: 'GroundFailure',
		info: 'RCD tripped',
		vendor_error_code: '0x12',
		since: since + 1000,
	}, { retain: true });
	await env.startService('ocpp-bridge');

	const bootEntry = await csms.waitForCallEntry('CP1', 'BootNotification');
	const status = (conn, where, opts = {}) => csms.waitForCall('CP1', 'StatusNotification',
		{ where: (p) => p.connectorId === conn && (!where || where(p)), after: bootEntry.index, ...opts });
	assert.deepEqual(await status(0), { connectorId: 0, errorCode: 'NoError', status: 'Available' });
	assert.deepEqual(await status(1), {
		connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: '2025-03-01T10:20:30.456Z',
	});
	assert.deepEqual(await status(2), {
		connectorId: 2,
		errorCode: 'GroundFailure',
		status: 'Faulted',
		info: 'RCD tripped',
		vendorId: 'Sitegate',
		vendorErrorCode: '0x12',
		timestamp: '2025-03-01T10:20:31.456Z',
	});

	/* a change: a new StatusNotification of that connector only */
	let mark = csms.mark();
	await probe.publish('CP1/1/state', { status: 'Preparing', error_code: 'NoError' }, { retain: true });
	const prep = await csms.waitForCallEntry('CP1', 'StatusNotification', { after: mark });
	assert.deepEqual(prep.payload, { connectorId: 1, errorCode: 'NoError', status: 'Preparing' });
	/* the same state again is no change */
	await probe.publish('CP1/1/state', { status: 'Preparing', error_code: 'NoError' }, { retain: true });
	await probe.publish('CP1/2/state', { status: 'Available', error_code: 'NoError' }, { retain: true });
	const next = await csms.waitForCallEntry('CP1', 'StatusNotification', { after: prep.index + 1 });
	assert.equal(next.payload.connectorId, 2, 'the repeated Preparing of connector 1 sent nothing');

	/* a reconnect: BootNotification again, then the latest status of every connector */
	await csms.waitForFrame((e) => e.dir === 'out' && e.type === 'CALLRESULT' && e.id === next.id);
	mark = csms.mark();
	await csms.disconnect('CP1', { code: 1001, reason: 'test' });
	await probe.publish('CP1/1/state', { status: 'Charging', error_code: 'NoError' }, { retain: true });
	await csms.waitForConnection('CP1', { after: mark });
	const boot2 = await csms.waitForCallEntry('CP1', 'BootNotification', { after: mark });
	const again = {};
	for (const conn of [0, 1, 2]) again[conn] = await status(conn, null, { after: boot2.index });
	assert.equal(again[0].status, 'Available');
	assert.equal(again[1].status, 'Charging');
	assert.equal(again[2].status, 'Available');
	assert.equal(callsBetween(csms, 'CP1', mark.traffic, boot2.index).length, 0, 'BootNotification first');
	assert.equal(csms.calls('CP1', 'BootNotification').length, 2);
	await registration(env, 'CP1', 'Accepted', { after: 0 });
	assert.equal(csms.validationFailures.length, 0, JSON.stringify(csms.validationFailures));
});
