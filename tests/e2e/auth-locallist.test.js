'use strict';
/* sitegate-auth's local authorization list: SendLocalList Full and
 * Differential, GetLocalListVersion, the version rules, SendLocalListMaxLength
 * and LocalAuthListMaxLength, priority over the cache, one list per charge
 * point, and the list across a restart. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const a = require('./auth-common');

const TEST_TIMEOUT = h.ms(180000);

const entry = (idTag, status, parentIdTag) =>
	(status ? { idTag, idTagInfo: parentIdTag ? { status, parentIdTag } : { status } } : { idTag });

async function send(env, cp, listVersion, updateType, list) {
	const req = { listVersion, updateType };
	if (list) req.localAuthorizationList = list;
	return (await env.csms.call(cp, 'SendLocalList', req)).status;
}

const version = async (env, cp) => (await env.csms.call(cp, 'GetLocalListVersion', {})).listVersion;

test('SendLocalList full then differential, version rules, one list per charge point, kept across a restart',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await a.authGateway(t, {
			chargePoints: ['CP1', 'CP2'],
			keys: { LocalAuthListEnabled: true, LocalPreAuthorize: true },
		});
		assert.equal(await version(env, 'CP1'), 0, 'empty list: version 0');

		assert.equal(await send(env, 'CP1', 1, 'Full', [
			entry('ANNA', 'Accepted', 'CLUB'), entry('BEN', 'Accepted'), entry('CARL', 'Blocked'),
		]), 'Accepted');
		assert.equal(await version(env, 'CP1'), 1);
		const asked = env.csms.calls('CP1', 'Authorize').length;
		let r = await a.authorize(env, 'CP1', 1, 'anna');
		assert.deepEqual({ status: r.status, source: r.source, parent: r.parent_id_tag },
			{ status: 'Accepted', source: 'list', parent: 'CLUB' });
		assert.equal(env.csms.calls('CP1', 'Authorize').length, asked, 'decided from the list');

		/* differential: BEN removed, CARL now Accepted, DORA added */
		assert.equal(await send(env, 'CP1', 2, 'Differential', [
			entry('BEN'), entry('CARL', 'Accepted'), entry('DORA', 'Accepted'),
		]), 'Accepted');
		assert.equal(await version(env, 'CP1'), 2);
		assert.equal((await a.authorize(env, 'CP1', 1, 'CARL')).source, 'list');
		assert.equal((await a.authorize(env, 'CP1', 1, 'DORA')).source, 'list');
		assert.equal((await a.authorize(env, 'CP1', 1, 'BEN')).source, 'csms');

		/* a differential update must move the version forward */
		assert.equal(await send(env, 'CP1', 2, 'Differential', [entry('ERIK', 'Accepted')]), 'VersionMismatch');
		assert.equal(await send(env, 'CP1', 1, 'Differential', [entry('ERIK', 'Accepted')]), 'VersionMismatch');
		assert.equal((await a.authorize(env, 'CP1', 1, 'ERIK')).source, 'csms', 'nothing applied');
		assert.equal(await version(env, 'CP1'), 2);

		/* CP2 has a list of its own */
		assert.equal(await version(env, 'CP2'), 0);
		assert.equal(await send(env, 'CP2', 7, 'Full', [entry('ZOE', 'Accepted')]), 'Accepted');
		assert.equal(await version(env, 'CP2'), 7);
		assert.equal(await version(env, 'CP1'), 2);
		assert.equal((await a.authorize(env, 'CP2', 1, 'ZOE')).source, 'list');
		assert.equal((await a.authorize(env, 'CP1', 1, 'ZOE')).source, 'csms');

		/* restarted: the same lists */
		await a.restartAuth(env);
		assert.equal(await version(env, 'CP1'), 2);
		assert.equal(await version(env, 'CP2'), 7);
		r = await a.authorize(env, 'CP1', 2, 'ANNA');
		assert.deepEqual({ status: r.status, source: r.source }, { status: 'Accepted', source: 'list' });

		/* a full update without entries empties the list: version 0 */
		assert.equal(await send(env, 'CP2', 8, 'Full'), 'Accepted');
		assert.equal(await version(env, 'CP2'), 0);
		assert.equal(env.csms.validationFailures.length, 0);
	});

test('SendLocalListMaxLength and LocalAuthListMaxLength', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t, { keys: { LocalAuthListEnabled: true } });
	const keys = await env.csms.call('CP1', 'GetConfiguration', {
		key: ['SendLocalListMaxLength', 'LocalAuthListMaxLength', 'SupportedFeatureProfiles'],
	});
	const value = (k) => keys.configurationKey.find((x) => x.key === k).value;
	const perCall = Number(value('SendLocalListMaxLength'));
	const max = Number(value('LocalAuthListMaxLength'));
	assert.equal(perCall, 25);
	assert.equal(max, 2000);
	assert.match(value('SupportedFeatureProfiles'), /LocalAuthListManagement/);
	assert.match(value('SupportedFeatureProfiles'), /Reservation/);
	/* read-only for the Central System */
	assert.equal((await env.csms.call('CP1', 'ChangeConfiguration', { key: 'LocalAuthListMaxLength', value: '5' })).status,
		'Rejected');

	const tags = (from, n) => Array.from({ length: n }, (_, i) => entry(`T${String(from + i).padStart(5, '0')}`, 'Accepted'));
	assert.equal(await send(env, 'CP1', 1, 'Full', tags(0, perCall + 1)), 'Failed');
	assert.equal(await version(env, 'CP1'), 0);
	/* fill the list to LocalAuthListMaxLength, perCall entries at a time */
	let v = 1;
	assert.equal(await send(env, 'CP1', v, 'Full', tags(0, perCall)), 'Accepted');
	for (let n = perCall; n < max; n += perCall) {
		v++;
		assert.equal(await send(env, 'CP1', v, 'Differential', tags(n, Math.min(perCall, max - n))), 'Accepted');
	}
	assert.equal(await version(env, 'CP1'), v);
	/* one more is too many: refused as a whole */
	assert.equal(await send(env, 'CP1', v + 1, 'Differential', [entry('ONEMORE', 'Accepted'), entry('T00000')]),
		'Accepted', 'a delete makes room');
	assert.equal(await send(env, 'CP1', v + 2, 'Differential', [entry('TWOMORE', 'Accepted')]), 'Failed');
	assert.equal(await version(env, 'CP1'), v + 1);
	/* a duplicate idTag (CiString) fails the update */
	assert.equal(await send(env, 'CP1', v + 2, 'Differential', [entry('x1', 'Accepted'), entry('X1')]), 'Failed');
	assert.equal(env.csms.validationFailures.length, 0);
});

test('list entries take priority over the cache and are not cached', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t, {
		keys: { LocalAuthListEnabled: true, AuthorizationCacheEnabled: true, LocalPreAuthorize: true },
	});
	env.csms.handle('Authorize', () => ({ idTagInfo: { status: 'Accepted', parentIdTag: 'FROMCSMS' } }));
	let r = await a.authorize(env, 'CP1', 1, 'MIA');
	assert.equal(r.source, 'csms');
	assert.equal((await a.authorize(env, 'CP1', 1, 'MIA')).source, 'cache');
	/* on the list now: the list answers, and the cache entry is gone */
	assert.equal(await send(env, 'CP1', 1, 'Full', [entry('MIA', 'Accepted', 'FROMLIST')]), 'Accepted');
	r = await a.authorize(env, 'CP1', 1, 'MIA');
	assert.deepEqual({ source: r.source, parent: r.parent_id_tag }, { source: 'list', parent: 'FROMLIST' });
	await a.setKeys(env, 'CP1', { LocalAuthListEnabled: false });
	r = await a.authorize(env, 'CP1', 1, 'MIA');
	assert.equal(r.source, 'csms', 'not in the cache any more');
	r = await a.authorize(env, 'CP1', 1, 'MIA');
	assert.equal(r.source, 'csms', 'a listed idTag is not cached');
});
