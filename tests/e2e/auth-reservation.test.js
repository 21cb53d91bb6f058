'use strict';
/* Reservations in sitegate-auth: ReserveNow (every answer), replacement by
 * reservationId, CancelReservation, expiry, a reserved connector refusing a
 * stranger and taking the holder (or its parentIdTag), the transaction that
 * consumes it, connector 0 with two connectors, and a restart in between. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const a = require('./auth-common');

const TEST_TIMEOUT = h.ms(120000);

async function reserve(env, connectorId, reservationId, idTag, { parentIdTag, in: inMs = 600000 } = {}) {
	const req = { connectorId, expiryDate: a.isoIn(inMs), idTag, reservationId };
	if (parentIdTag) req.parentIdTag = parentIdTag;
	return (await env.csms.call('CP1', 'ReserveNow', req)).status;
}

const cancel = async (env, reservationId) =>
	(await env.csms.call('CP1', 'CancelReservation', { reservationId })).status;

const shows = (id) => (p) => p.reservation_id === id && (id === 0 ? p.id_tag === '' : p.id_tag !== '');

test('ReserveNow, replacement, CancelReservation and expiry', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t);
	await a.reservation(env, 'CP1', 1, shows(0)); /* published empty at start */

	let mark = env.probe.mark();
	assert.equal(await reserve(env, 1, 1, 'HOLDER'), 'Accepted');
	const r = await a.reservation(env, 'CP1', 1, shows(1), { after: mark });
	assert.equal(r.payload.id_tag, 'HOLDER');
	assert.ok(r.payload.expiry > Date.now());
	assert.equal(await reserve(env, 1, 2, 'OTHER'), 'Occupied', 'reserved by another reservation');

	/* the same reservationId replaces the reservation, here on another connector */
	mark = env.probe.mark();
	assert.equal(await reserve(env, 2, 1, 'HOLDER'), 'Accepted');
	await a.reservation(env, 'CP1', 1, shows(0), { after: mark });
	await a.reservation(env, 'CP1', 2, shows(1), { after: mark });

	mark = env.probe.mark();
	assert.equal(await cancel(env, 1), 'Accepted');
	await a.reservation(env, 'CP1', 2, shows(0), { after: mark });
	assert.equal(await cancel(env, 1), 'Rejected', 'unknown reservationId');

	/* what the connectors' states say */
	for (const [status, want] of [['Charging', 'Occupied'], ['Preparing', 'Occupied'], ['Faulted', 'Faulted'],
		['Unavailable', 'Unavailable']]) {
		await a.connState(env, 'CP1', 2, status);
		await a.sync(env);
		assert.equal(await reserve(env, 2, 3, 'X'), want, status);
	}
	await a.connState(env, 'CP1', 0, 'Unavailable');
	await a.sync(env);
	assert.equal(await reserve(env, 1, 3, 'X'), 'Unavailable', 'the whole charge point');
	await a.connState(env, 'CP1', 0, 'Available');
	await a.sync(env);
	assert.equal(await reserve(env, 3, 3, 'X'), 'Rejected', 'no connector 3');
	assert.equal(await reserve(env, 1, 3, 'X', { in: -1000 }), 'Rejected', 'expiryDate past');

	/* expiryDate ends it */
	mark = env.probe.mark();
	assert.equal(await reserve(env, 1, 4, 'SOON', { in: 1500 }), 'Accepted');
	await a.reservation(env, 'CP1', 1, shows(4), { after: mark });
	await a.reservation(env, 'CP1', 1, shows(0), { after: mark, timeout: h.ms(15000) });
	await env.auth.waitForLog(/reservation 4 for "SOON" expired/);
	assert.equal(env.csms.validationFailures.length, 0);
});

test('a reserved connector refuses a stranger and takes the holder; the transaction consumes it',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await a.authGateway(t);
		env.csms.handle('Authorize', (p) => ({
			idTagInfo: p.idTag === 'MATE' ? { status: 'Accepted', parentIdTag: 'GROUP' } : { status: 'Accepted' },
		}));
		let mark = env.probe.mark();
		assert.equal(await reserve(env, 1, 5, 'HOLDER', { parentIdTag: 'GROUP' }), 'Accepted');
		await a.reservation(env, 'CP1', 1, shows(5), { after: mark });

		const asked = env.csms.calls('CP1', 'Authorize').length;
		let r = await a.authorize(env, 'CP1', 1, 'STRANGER');
		assert.deepEqual({ status: r.status, source: r.source }, { status: 'Invalid', source: 'reservation' });
		r = await a.authorize(env, 'CP1', 1, 'STRANGER', 'remote');
		assert.equal(r.status, 'Invalid', 'remote starts too');
		/* the parentIdTag of the reservation: asked from the Central System */
		r = await a.authorize(env, 'CP1', 1, 'MATE');
		assert.deepEqual({ status: r.status, id: r.reservation_id }, { status: 'Accepted', id: 5 });
		assert.equal(env.csms.calls('CP1', 'Authorize').length, asked + 2, 'STRANGER (to learn its parent) and MATE');
		/* other connectors are not affected */
		r = await a.authorize(env, 'CP1', 2, 'STRANGER');
		assert.deepEqual({ status: r.status, id: r.reservation_id ?? 0 }, { status: 'Accepted', id: 0 });

		/* a restart keeps it */
		await a.restartAuth(env);
		assert.equal((await a.authorize(env, 'CP1', 1, 'STRANGER')).status, 'Invalid');
		r = await a.authorize(env, 'CP1', 1, 'holder');
		assert.deepEqual({ status: r.status, id: r.reservation_id }, { status: 'Accepted', id: 5 });
		mark = env.probe.mark();
		await a.txEvent(env, 'CP1', 1, 'started', 61, 'HOLDER', 0);
		await a.reservation(env, 'CP1', 1, shows(0), { after: mark });
		await env.auth.waitForLog(/reservation 5 for "HOLDER" used by transaction 61/);
		assert.equal(await cancel(env, 5), 'Rejected', 'consumed');
	});

test('connector 0 with two connectors: one stays free for the holder', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t);
	let mark = env.probe.mark();
	assert.equal(await reserve(env, 0, 9, 'HOLDER'), 'Accepted');
	const r0 = await a.reservation(env, 'CP1', 0, shows(9), { after: mark });
	assert.equal(r0.payload.id_tag, 'HOLDER');

	let r = await a.authorize(env, 'CP1', 1, 'FIRST');
	assert.equal(r.status, 'Accepted', 'connector 2 is still free');
	await a.connState(env, 'CP1', 1, 'Charging');
	await a.sync(env);
	r = await a.authorize(env, 'CP1', 2, 'SECOND');
	assert.deepEqual({ status: r.status, source: r.source }, { status: 'Invalid', source: 'reservation' });
	assert.equal(await reserve(env, 0, 10, 'ANOTHER'), 'Occupied', 'no connector left for a second one');
	assert.equal(await reserve(env, 2, 11, 'ANOTHER'), 'Occupied', 'connector 2 is kept for HOLDER');

	r = await a.authorize(env, 'CP1', 2, 'HOLDER');
	assert.deepEqual({ status: r.status, id: r.reservation_id }, { status: 'Accepted', id: 9 });
	mark = env.probe.mark();
	await a.txEvent(env, 'CP1', 2, 'started', 71, 'HOLDER', 0);
	await a.reservation(env, 'CP1', 0, shows(0), { after: mark });
	assert.equal(env.csms.validationFailures.length, 0);
});
