'use strict';
/* sitegate-connector: kill -9 mid-transaction, of the connector service alone
 * and of the whole gateway (broker, bridge, connector). After the restart the
 * interrupted transaction is stopped with reason PowerLoss and the last meter
 * value the journal holds as meterStop; the simulated car is still plugged in,
 * so the connector shows Finishing. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const c = require('./connector-lib');

/* A transaction on CP1/1 with its energy at `wh` in the journal. */
async function chargingWithStoredEnergy(env, wh) {
	const startEntry = await c.startCharging(env, 'CP1', 1, 'TAG-PL', { wh: 1000 })
		.then(() => env.csms.calls('CP1', 'StartTransaction').at(-1));
	const txId = await c.transactionIdOf(env, 'CP1', startEntry);
	await env.probe.waitFor('CP1/1/state', (p) => p.transaction_id === txId);
	const mark = env.connector.lines.length;
	await env.meter.sample('CP1', 1, wh - 100);
	await env.meter.sample('CP1', 1, wh);
	await env.connector.waitForLog(new RegExp(`CP1/1: transaction \\d+ at ${wh} Wh stored`), { after: mark });
	return txId;
}

test('kill -9 of the connector service mid-transaction: StopTransaction PowerLoss after the restart', { timeout: h.ms(90000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms } = env;
	const txId = await chargingWithStoredEnergy(env, 1234);
	const mark = csms.mark();
	env.connector.kill('SIGKILL');
	await env.connector.waitExit();
	/* the register moved on meanwhile: meterStop is still what was stored */
	env.meter.set('CP1', 1, 9999);
	await c.startConnector(env);
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'PowerLoss');
	assert.equal(stop.meterStop, 1234);
	assert.equal(stop.transactionId, txId);
	assert.ok(Date.parse(stop.timestamp) <= Date.now());
	await c.waitStatus(env, 'CP1', 1, 'Finishing', { after: mark });
	const stopped = await env.probe.waitFor('CP1/1/tx', (p) => p.event === 'stopped' && p.reason === 'PowerLoss');
	assert.equal(stopped.payload.meter_wh, 1234);
	/* exactly once, also after another restart */
	await env.connector.stop();
	await c.startConnector(env);
	await c.sim(env, 'CP1', 1, 'remove');
	await c.waitStatus(env, 'CP1', 1, 'Available', { after: mark });
	assert.equal(csms.calls('CP1', 'StopTransaction').length, 1);
	/* a new transaction gets a new tx_ref */
	await c.sim(env, 'CP1', 1, 'plug');
	await c.sim(env, 'CP1', 1, 'rfid', 'TAG-2');
	await env.probe.waitFor('CP1/1/tx', (p) => p.event === 'started' && p.id_tag === 'TAG-2');
	/* (the probe may hold a message twice: overlapping subscriptions) */
	const refs = [...new Set(env.probe.messages.filter((m) => m.topic.endsWith('CP1/1/tx') && m.payload.event === 'started')
		.map((m) => m.payload.tx_ref))];
	assert.equal(refs.length, 2);
	assert.ok(refs[1] > refs[0]);
	c.assertClean(env);
});

test('SIGTERM keeps the transaction open in the journal; the restart stops it with PowerLoss', { timeout: h.ms(90000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms } = env;
	const txId = await chargingWithStoredEnergy(env, 2000);
	/* newer than the journal: SIGTERM writes it */
	const seen = env.connector.lines.length;
	await env.meter.sample('CP1', 1, 2050);
	await env.connector.waitForLog(/CP1\/1: meter sample 2050\.0 Wh/, { after: seen });
	const mark = csms.mark();
	const t0 = Date.now();
	const exit = await env.connector.stop();
	assert.equal(exit.code, 0);
	assert.ok(Date.now() - t0 < 2000, 'stopped within 2 s');
	assert.equal(csms.calls('CP1', 'StopTransaction').length, 0);
	await c.startConnector(env);
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark });
	assert.equal(stop.reason, 'PowerLoss');
	assert.equal(stop.transactionId, txId);
	assert.equal(stop.meterStop, 2050);
	c.assertClean(env);
});

test('kill -9 of the whole gateway mid-transaction: StopTransaction PowerLoss after the restart', { timeout: h.ms(120000) }, async (t) => {
	const env = await c.connGateway(t);
	const { csms } = env;
	const txId = await chargingWithStoredEnergy(env, 5678);
	const mark = csms.mark();
	env.connector.kill('SIGKILL');
	env.bridge.kill('SIGKILL');
	await env.broker.kill('SIGKILL');
	await env.connector.waitExit();
	await env.bridge.waitExit();
	env.meter.set('CP1', 1, 7000);
	await env.broker.restart();
	env.bridge = await env.startService('ocpp-bridge');
	await csms.waitForCall('CP1', 'BootNotification', { after: mark, timeout: h.ms(20000) });
	await c.startConnector(env);
	const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark, timeout: h.ms(20000) });
	assert.equal(stop.reason, 'PowerLoss');
	assert.equal(stop.meterStop, 5678);
	assert.equal(stop.transactionId, txId);
	await c.waitStatus(env, 'CP1', 1, 'Finishing', { after: mark });
	/* the car is still there: the cable comes out once unlocked */
	await env.probe.waitFor('CP1/1/hw', (p) => p.plugged === true && !p.locked);
	assert.equal(csms.calls('CP1', 'StopTransaction').length, 1);
	c.assertClean(env);
});
