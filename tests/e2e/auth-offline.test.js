'use strict';
/* sitegate-auth offline (the Central System stopped): every combination of
 * LocalAuthorizeOffline, LocalPreAuthorize and AllowOfflineTxForUnknownId for
 * an idTag cached as Accepted, one cached as Blocked, one on the local list and
 * one known nowhere; then back online. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const a = require('./auth-common');

const TEST_TIMEOUT = h.ms(180000);

function answerAuthorize(csms) {
	csms.handle('Authorize', (p) => ({
		idTagInfo: { GOOD: { status: 'Accepted' }, BAD: { status: 'Blocked' } }[p.idTag] || { status: 'Invalid' },
	}));
}

test('offline: each combination of the three offline keys', { timeout: TEST_TIMEOUT }, async (t) => {
	const env = await a.authGateway(t, { keys: { AuthorizationCacheEnabled: true, LocalAuthListEnabled: true } });
	answerAuthorize(env.csms);
	/* learned online: GOOD cached Accepted, BAD cached Blocked; LISTED on the local list */
	assert.equal((await a.authorize(env, 'CP1', 1, 'GOOD')).status, 'Accepted');
	assert.equal((await a.authorize(env, 'CP1', 1, 'BAD')).status, 'Blocked');
	assert.deepEqual(await env.csms.call('CP1', 'SendLocalList', {
		listVersion: 1,
		updateType: 'Full',
		localAuthorizationList: [
			{ idTag: 'LISTED', idTagInfo: { status: 'Accepted' } },
			{ idTag: 'BANNED', idTagInfo: { status: 'Invalid' } },
		],
	}), { status: 'Accepted' });

	await a.csmsDown(env);
	const rows = [];
	for (let m = 0; m < 8; m++) {
		const lao = Boolean(m & 1), lpa = Boolean(m & 2), unknownOk = Boolean(m & 4);
		await a.setKeys(env, 'CP1', {
			LocalAuthorizeOffline: lao,
			LocalPreAuthorize: lpa,
			AllowOfflineTxForUnknownId: unknownOk,
		}, { bus: true });
		const got = {};
		for (const tag of ['GOOD', 'BAD', 'LISTED', 'BANNED', 'STRANGER']) {
			const r = await a.authorize(env, 'CP1', 1, tag);
			assert.equal(r.offline, true, `${tag} decided without the Central System`);
			got[tag] = `${r.status}/${r.source}`;
		}
		/* OCPP 1.6, 3.5: known and valid with LocalAuthorizeOffline; known as not valid
		 * never; unknown (or known but not usable offline) only with
		 * AllowOfflineTxForUnknownId. LocalPreAuthorize plays no part offline. */
		const want = {
			GOOD: lao ? 'Accepted/cache' : unknownOk ? 'Accepted/unknown' : 'Invalid/unknown',
			BAD: 'Blocked/cache',
			LISTED: lao ? 'Accepted/list' : unknownOk ? 'Accepted/unknown' : 'Invalid/unknown',
			BANNED: 'Invalid/list',
			STRANGER: unknownOk ? 'Accepted/unknown' : 'Invalid/unknown',
		};
		rows.push({ lao, lpa, unknownOk, got });
		assert.deepEqual(got, want, `LocalAuthorizeOffline=${lao} LocalPreAuthorize=${lpa} ` +
			`AllowOfflineTxForUnknownId=${unknownOk}`);
	}
	assert.equal(rows.length, 8);
	/* nothing was asked while offline */
	assert.equal(env.csms.calls('CP1', 'Authorize').length, 2);

	/* back online: the Central System decides again */
	await a.setKeys(env, 'CP1', { LocalPreAuthorize: false, AllowOfflineTxForUnknownId: true }, { bus: true });
	await a.csmsUp(env, 'CP1', { setup: answerAuthorize });
	const r = await a.authorize(env, 'CP1', 1, 'STRANGER');
	assert.deepEqual({ status: r.status, source: r.source, offline: r.offline },
		{ status: 'Invalid', source: 'csms', offline: false });
	assert.deepEqual(await env.csms.waitForCall('CP1', 'Authorize'), { idTag: 'STRANGER' });
});

test('offline with a stale view of the connection: the failed Authorize.req hands over to the offline rules',
	{ timeout: TEST_TIMEOUT }, async (t) => {
		const env = await a.authGateway(t, { keys: { AuthorizationCacheEnabled: true, LocalAuthorizeOffline: true } });
		answerAuthorize(env.csms);
		assert.equal((await a.authorize(env, 'CP1', 1, 'GOOD')).status, 'Accepted');
		const down = env.probe.mark();
		let mark = env.auth.lines.length;
		await a.csmsDown(env);
		/* auth follows the bridge's cp_state: offline now, it decides without asking */
		await env.auth.waitForLog(/CP1: the Central System is not reachable/, { after: mark });
		mark = env.auth.lines.length;
		let r = await a.authorize(env, 'CP1', 1, 'GOOD');
		assert.deepEqual({ status: r.status, source: r.source, offline: r.offline },
			{ status: 'Accepted', source: 'cache', offline: true });
		assert.ok(!env.auth.lines.slice(mark).some((l) => /Authorize for "GOOD" not answered/.test(l)),
			'not asked while cp_state says offline');

		/* A view that lags behind: a cp_state still saying "connected" reaches auth after the
		 * connection is gone. Act right after one of the bridge's failed redials, so that its
		 * next cp_state is at least the redial backoff away. */
		const dial = await env.probe.waitFor('CP1/state', (p) => p.connection === 'connecting',
			{ after: down, timeout: h.ms(20000) });
		await env.probe.waitFor('CP1/state', (p) => p.connection === 'disconnected', { after: dial.index + 1 });
		mark = env.auth.lines.length;
		await env.probe.publish('CP1/state', { connection: 'connected', registration: 'Accepted', since: Date.now() });
		r = await a.authorize(env, 'CP1', 1, 'GOOD');
		/* auth believed the Central System online and asked; the bridge said Offline at once,
		 * and the offline rules decided */
		await env.auth.waitForLog(/CP1: the Central System is reachable/, { after: mark });
		await env.auth.waitForLog(/Authorize for "GOOD" not answered \(Offline\); the offline rules decide/,
			{ after: mark });
		assert.deepEqual({ status: r.status, source: r.source, offline: r.offline },
			{ status: 'Accepted', source: 'cache', offline: true });
		r = await a.authorize(env, 'CP1', 1, 'STRANGER');
		assert.deepEqual({ status: r.status, source: r.source, offline: r.offline },
			{ status: 'Invalid', source: 'unknown', offline: true });
		assert.equal(env.csms.calls('CP1', 'Authorize').length, 1, 'only GOOD, while online');
	});
