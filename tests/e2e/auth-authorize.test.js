'use strict';
/* sitegate-auth online: Authorize.req through the bridge, the authorization
 * cache (learned, used with LocalPreAuthorize, kept across a restart, cleared
 * by ClearCache), remote starts, and stopping with another idTag of the same
 * parentIdTag. The probe plays the connector service. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const a = require('./auth-common');

const TEST_TIMEOUT = h.ms(120000);

/* The Central System's idTags. */
const TAGS = {
	ALICE: { status: 'Accepted', parentIdTag: 'FAMILY' },
	BOB: { status: 'Accepted', parentIdTag: 'FAMILY' },
	EVE: { status: 'Accepted', parentIdTag: 'STRANGERS' },
	SOLO: { status: 'Accepted' },
	BLOCKED1: { status: 'Blocked' },
	OLDCARD: { status: 'Expired' },
};

function answerAuthorize(csms) {
	csms.handle('Authorize', (p) => ({ idTagInfo: TAGS[p.idTag.toUpperCase()] || { status: 'Invalid' } }));
}

test('online: Authorize.req decides, and the authorization cache learns and answers across a restart',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await a.authGateway(t, { keys: { AuthorizationCacheEnabled: true } });
		answerAuthorize(env.csms);

		let r = await a.authorize(env, 'CP1', 1, 'ALICE');
		assert.deepEqual({ status: r.status, source: r.source, parent: r.parent_id_tag, offline: r.offline },
			{ status: 'Accepted', source: 'csms', parent: 'FAMILY', offline: false });
		assert.deepEqual(await env.csms.waitForCall('CP1', 'Authorize'), { idTag: 'ALICE' });
		r = await a.authorize(env, 'CP1', 2, 'blocked1');
		assert.equal(r.status, 'Blocked');
		assert.equal(r.source, 'csms');
		assert.equal((await a.authorize(env, 'CP1', 1, 'OLDCARD')).status, 'Expired');
		assert.equal((await a.authorize(env, 'CP1', 1, 'NOBODY')).status, 'Invalid');

		/* LocalPreAuthorize: a cached Accepted idTag starts at once, even after a restart */
		await a.setKeys(env, 'CP1', { LocalPreAuthorize: true });
		await a.restartAuth(env);
		const asked = env.csms.calls('CP1', 'Authorize').length;
		r = await a.authorize(env, 'CP1', 1, 'alice');
		assert.deepEqual({ status: r.status, source: r.source, parent: r.parent_id_tag, offline: r.offline },
			{ status: 'Accepted', source: 'cache', parent: 'FAMILY', offline: true });
		/* a cached refusal is asked again: the Central System has the last word online */
		r = await a.authorize(env, 'CP1', 1, 'BLOCKED1');
		assert.equal(r.status, 'Blocked');
		assert.equal(r.source, 'csms');
		assert.equal(env.csms.calls('CP1', 'Authorize').length, asked + 1, 'ALICE came from the cache');

		/* ClearCache empties it: ALICE goes to the Central System again */
		assert.deepEqual(await env.csms.call('CP1', 'ClearCache', {}), { status: 'Accepted' });
		r = await a.authorize(env, 'CP1', 1, 'ALICE');
		assert.equal(r.source, 'csms');
		/* with the cache disabled ClearCache is Rejected, and nothing is cached */
		await a.setKeys(env, 'CP1', { AuthorizationCacheEnabled: false });
		assert.deepEqual(await env.csms.call('CP1', 'ClearCache', {}), { status: 'Rejected' });
		r = await a.authorize(env, 'CP1', 1, 'SOLO');
		assert.equal(r.source, 'csms');
		await a.setKeys(env, 'CP1', { AuthorizationCacheEnabled: true });
		r = await a.authorize(env, 'CP1', 1, 'SOLO');
		assert.equal(r.source, 'csms', 'SOLO was not cached while the cache was off');
		r = await a.authorize(env, 'CP1', 1, 'ALICE');
		assert.equal(r.source, 'cache', 'ALICE was cached before the cache went off');
		assert.equal(env.csms.validationFailures.length, 0);
	});

test('the cache learns from StartTransaction.conf and StopTransaction.conf', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t, { keys: { AuthorizationCacheEnabled: true, LocalPreAuthorize: true } });
	answerAuthorize(env.csms);
	env.csms.handle('StartTransaction', () => ({ transactionId: 77, idTagInfo: { status: 'Accepted', parentIdTag: 'FLEET' } }));
	env.csms.handle('StopTransaction', () => ({ idTagInfo: { status: 'Blocked' } }));

	await env.probe.subscribe('CP1/ocpp/txresult');
	/* a transaction started (remotely: no Authorize.req) by an idTag the cache does not know */
	await a.txEvent(env, 'CP1', 1, 'started', 501, 'VAN7', 1000);
	let ack = await env.probe.request('CP1/ocpp/tx/StartTransaction', {
		payload: { connectorId: 1, idTag: 'VAN7', meterStart: 1000, timestamp: new Date().toISOString() },
		tx_ref: 501,
	});
	assert.ok(ack.seq > 0);
	await env.probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 501);
	await a.sync(env);
	let r = await a.authorize(env, 'CP1', 2, 'VAN7');
	assert.deepEqual({ status: r.status, source: r.source, parent: r.parent_id_tag },
		{ status: 'Accepted', source: 'cache', parent: 'FLEET' });

	await a.txEvent(env, 'CP1', 1, 'stopped', 501, 'VAN7', 3000);
	ack = await env.probe.request('CP1/ocpp/tx/StopTransaction', {
		payload: { transactionId: 0, idTag: 'VAN7', meterStop: 3000, timestamp: new Date().toISOString(), reason: 'Local' },
		tx_ref: 501,
	});
	assert.ok(ack.seq > 0);
	await env.probe.waitFor('CP1/ocpp/txresult', (p) => p.tx_ref === 501 && p.action === 'StopTransaction');
	await a.sync(env);
	/* now cached as Blocked: online that is asked again, and the answer is the Central System's */
	const asked = env.csms.calls('CP1', 'Authorize').length;
	r = await a.authorize(env, 'CP1', 2, 'VAN7');
	assert.equal(env.csms.calls('CP1', 'Authorize').length, asked + 1);
	assert.equal(r.status, 'Invalid');
	assert.equal(env.csms.validationFailures.length, 0);
});

test('remote starts follow AuthorizeRemoteTxRequests', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t);
	answerAuthorize(env.csms);
	const asked = env.csms.calls('CP1', 'Authorize').length;
	let r = await a.authorize(env, 'CP1', 1, 'NOBODY', 'remote');
	assert.equal(r.status, 'Accepted');
	assert.equal(r.source, 'remote');
	assert.equal(env.csms.calls('CP1', 'Authorize').length, asked, 'not asked');
	await a.setKeys(env, 'CP1', { AuthorizeRemoteTxRequests: true });
	r = await a.authorize(env, 'CP1', 1, 'NOBODY', 'remote');
	assert.equal(r.status, 'Invalid');
	r = await a.authorize(env, 'CP1', 1, 'SOLO', 'remote');
	assert.equal(r.status, 'Accepted');
	assert.equal(r.source, 'csms');
	/* nonsense is refused without asking */
	r = await a.authorize(env, 'CP1', 9, 'SOLO');
	assert.equal(r.status, 'Invalid');
	r = await a.authorize(env, 'CP1', 1, 'SOLO', 'sideways');
	assert.equal(r.status, 'Invalid');
});

test('stopping: the same idTag, another of the same parentIdTag, nobody else', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t);
	answerAuthorize(env.csms);

	/* ALICE starts on connector 1: her parentIdTag is known from the decision */
	assert.equal((await a.authorize(env, 'CP1', 1, 'ALICE')).status, 'Accepted');
	await a.txEvent(env, 'CP1', 1, 'started', 11, 'ALICE', 0);
	await a.sync(env);

	let r = await a.authorize(env, 'CP1', 1, 'alice', 'stop', 'ALICE');
	assert.equal(r.status, 'Accepted');
	assert.equal(r.source, 'tx_tag');
	let asked = env.csms.calls('CP1', 'Authorize').length;
	r = await a.authorize(env, 'CP1', 1, 'BOB', 'stop', 'ALICE');
	assert.equal(r.status, 'Accepted');
	assert.equal(r.parent_id_tag, 'FAMILY');
	assert.equal(env.csms.calls('CP1', 'Authorize').length, asked + 1, 'only BOB was asked');
	assert.equal((await a.authorize(env, 'CP1', 1, 'EVE', 'stop', 'ALICE')).status, 'Invalid');
	assert.equal((await a.authorize(env, 'CP1', 1, 'SOLO', 'stop', 'ALICE')).status, 'Invalid');
	assert.equal((await a.authorize(env, 'CP1', 1, 'BLOCKED1', 'stop', 'ALICE')).status, 'Blocked');
	/* without tx_id_tag the running transaction's idTag is used */
	assert.equal((await a.authorize(env, 'CP1', 1, 'BOB', 'stop')).status, 'Accepted');

	/* a transaction whose idTag auth never decided: both are asked */
	await a.txEvent(env, 'CP1', 2, 'started', 12, 'BOB', 0);
	await a.sync(env);
	asked = env.csms.calls('CP1', 'Authorize').length;
	r = await a.authorize(env, 'CP1', 2, 'ALICE', 'stop', 'BOB');
	assert.equal(r.status, 'Accepted');
	assert.deepEqual(env.csms.calls('CP1', 'Authorize').slice(asked).map((e) => e.payload.idTag), ['ALICE', 'BOB']);
	assert.equal(env.csms.validationFailures.length, 0);
});
