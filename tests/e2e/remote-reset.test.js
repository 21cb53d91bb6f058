'use strict';
/* Reset of one charge point of a gateway with two (CP1, CP2), through the real
 * ocpp-bridge and connector, meter and auth services: Accepted; the transaction
 * running on CP1 is stopped with reason SoftReset or HardReset (cp_reset to the
 * connector service); CP1's connection is closed, it boots again and its
 * StopTransaction reaches the Central System; CP2 never notices. A second Reset
 * while one is under way is Rejected. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const r = require('./remote-lib');

const TEST_TIMEOUT = h.ms(60000);
const CHARGE_POINTS = [{ id: 'CP1', connectors: 2 }, { id: 'CP2', connectors: 1 }];

/** CP2 kept its connection and its registration since mark. */
function assertUntouched(env, mark) {
	const { csms } = env;
	assert.equal(csms.connected('CP2'), true, 'CP2 is still connected');
	assert.deepEqual(csms.events.filter((e) => e.index >= mark.events && e.cp === 'CP2').map((e) => e.type), [],
		'no disconnect or connect of CP2');
	assert.deepEqual(r.callsSince(env, 'CP2', 'BootNotification', mark.traffic), [], 'no BootNotification of CP2');
}

/**
 * CP1 was disconnected, connected again, sent a BootNotification and is registered again
 * since mark (csms.mark()) and busMark (probe.mark()): the BootNotification's entry.
 */
async function rebooted(env, mark, busMark) {
	const { csms, probe } = env;
	await csms.waitForConnection('CP1', { after: mark, timeout: h.ms(20000) });
	/* The bridge redials at once: the CSMS may see the new connection before the old one's
	 * close, and then counts that close as "replaced" (which waitForDisconnect skips). */
	await r.until(() => csms.events.find((e) => e.index >= mark.events && e.cp === 'CP1' && e.type === 'disconnect'),
		'the connection of CP1 to close');
	const boot = await csms.waitForCallEntry('CP1', 'BootNotification', { after: mark, timeout: h.ms(20000) });
	const down = await probe.waitFor('CP1/state', (p) => p.connection !== 'connected', { after: busMark });
	await probe.waitFor('CP1/state', (p) => p.connection === 'connected' && p.registration === 'Accepted',
		{ after: down.index + 1, timeout: h.ms(20000) });
	return boot;
}

test('Reset Soft of CP1: its transaction stops with SoftReset, it boots again, CP2 never notices',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await r.gateway(t, { chargePoints: CHARGE_POINTS });
		const { csms, probe } = env;
		const tx = await r.startTransaction(env, 'CP1', 1, 'TAG');
		const mark = csms.mark();
		const busMark = probe.mark();

		const reset = await r.call(env, 'CP1', 'Reset', { type: 'Soft' });
		assert.deepEqual(reset.result, { status: 'Accepted' });
		/* the connector service stops the transaction before the connection goes */
		const stopped = await probe.waitFor('CP1/1/tx', (p) => p.event === 'stopped', { after: busMark });
		assert.equal(stopped.payload.reason, 'SoftReset');
		assert.equal(stopped.payload.transaction_id, tx.transactionId);

		const boot = await rebooted(env, mark, busMark);
		assert.ok(boot.index > reset.answer.index);
		const stopEntry = await csms.waitForCallEntry('CP1', 'StopTransaction', { after: mark, timeout: h.ms(20000) });
		const stop = stopEntry.payload;
		assert.equal(stop.transactionId, tx.transactionId);
		assert.equal(stop.reason, 'SoftReset');
		assert.ok(stop.meterStop >= tx.entry.payload.meterStart);
		/* a soft reset lets the Central System answer first: sent once, before the reboot */
		assert.ok(stopEntry.index < boot.index, 'StopTransaction before the new BootNotification');
		/* registered again: the connectors' statuses follow the new BootNotification */
		await csms.waitForCall('CP1', 'StatusNotification', { where: (p) => p.connectorId === 0, after: boot.index });
		assert.equal(r.callsSince(env, 'CP1', 'StopTransaction', mark.traffic).length, 1);

		await r.sendThrough(env, 'CP2');
		assertUntouched(env, mark);
		r.assertClean(env);
	});

test('Reset Hard of CP1: HardReset, and a second Reset while the first is under way is Rejected',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await r.gateway(t, { chargePoints: CHARGE_POINTS });
		const { csms, probe } = env;
		const tx = await r.startTransaction(env, 'CP1', 2, 'TAG');
		const mark = csms.mark();
		const busMark = probe.mark();

		/* Both CALLs leave at once (csms.call would wait for the first answer): the second
		 * reaches the bridge while the connector service is still stopping the transaction. */
		csms.sendRaw('CP1', JSON.stringify([2, 'reset-1', 'Reset', { type: 'Hard' }]));
		csms.sendRaw('CP1', JSON.stringify([2, 'reset-2', 'Reset', { type: 'Soft' }]));
		const answer = (id) => csms.waitForFrame((e) => e.cp === 'CP1' && e.dir === 'in' && e.id === id,
			{ after: mark, what: `the answer to ${id}` });
		const first = await answer('reset-1');
		const second = await answer('reset-2');
		assert.equal(first.type, 'CALLRESULT');
		assert.deepEqual(first.payload, { status: 'Accepted' });
		assert.equal(second.type, 'CALLRESULT');
		assert.deepEqual(second.payload, { status: 'Rejected' });

		const boot = await rebooted(env, mark, busMark);
		assert.ok(boot.index > second.index);
		const stop = await csms.waitForCall('CP1', 'StopTransaction', { after: mark, timeout: h.ms(20000) });
		assert.equal(stop.transactionId, tx.transactionId);
		assert.equal(stop.reason, 'HardReset');
		assert.equal(csms.events.filter((e) => e.index >= mark.events && e.cp === 'CP1' && e.type === 'disconnect').length,
			1, 'one reset, not two');

		/* once the first is over, a Reset is accepted again */
		const mark2 = csms.mark();
		const busMark2 = probe.mark();
		assert.deepEqual((await r.call(env, 'CP1', 'Reset', { type: 'Soft' })).result, { status: 'Accepted' });
		await rebooted(env, mark2, busMark2);

		assertUntouched(env, mark);
		r.assertClean(env);
	});
