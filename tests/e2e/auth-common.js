'use strict';
/* Helpers of the sitegate-auth end-to-end tests (auth-*.test.js): a gateway
 * with the real ocpp-bridge, the strict test CSMS and sitegate-auth, where the
 * probe plays the connector service (auth_request, retained conn_state,
 * tx_event, answering conn_control). */
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const msgpack = require('@msgpack/msgpack');
const h = require('./lib/harness');
const { startCsms } = require('../csms/csms');

/**
 * A gateway for auth tests: broker, CSMS, ocpp-bridge, sitegate-auth, all
 * connected and registered, on the broker ACL generated from common/msg/*.def.
 * opts: chargePoints, config (extra settings), keys ({Key: value} set through
 * ChangeConfiguration), connectors ({cp: [statuses of connector 0..n]},
 * published retained before auth starts; default all Available).
 */
async function authGateway(t, { chargePoints = ['CP1'], config, keys = {}, connectors } = {}) {
	const env = await h.withGateway(t, { csms: true, chargePoints, config });
	const ids = chargePoints.map((c) => (typeof c === 'string' ? c : c.id));
	for (const cp of ids) {
		const c = chargePoints.find((x) => (typeof x === 'string' ? x : x.id) === cp);
		const n = typeof c === 'string' ? 2 : (typeof c.connectors === 'number' ? c.connectors : (c.connectors || [1, 2]).length);
		const states = (connectors && connectors[cp]) || Array(n + 1).fill('Available');
		for (let i = 0; i < states.length; i++) await connState(env, cp, i, states[i]);
	}
	env.bridge = await env.startService('ocpp-bridge');
	for (const cp of ids) await env.csms.waitForCall(cp, 'BootNotification', { timeout: h.ms(20000) });
	env.auth = await startAuth(env);
	for (const cp of ids) await setKeys(env, cp, keys);
	env.cps = ids;
	return env;
}

/** Starts sitegate-auth and waits until the bridge routes its actions to it. */
async function startAuth(env) {
	const mark = env.bridge.lines.length;
	const auth = await env.startService('auth');
	await env.bridge.waitForLog(/OCPP CancelReservation is answered by auth/, { after: mark });
	env.auth = auth;
	return auth;
}

/** Stops sitegate-auth (SIGTERM) and starts it again. */
async function restartAuth(env) {
	await env.auth.stop();
	return startAuth(env);
}

/**
 * Sets OCPP keys of a charge point through the Central System
 * (ChangeConfiguration), or through the bus (cfg_set, as the bridge would)
 * with {bus: true}, e.g. while the Central System is away.
 */
async function setKeys(env, cp, keys, { bus = false } = {}) {
	for (const [key, v] of Object.entries(keys)) {
		const value = String(v);
		if (bus) {
			const r = await env.probe.request(`${cp}/config/${key}/set`, { value });
			assert.equal(r.status, 'Accepted', `cfg_set ${key}=${value}`);
			continue;
		}
		/* The bridge learns auth's keys from their retained cfg_key: until then NotSupported. */
		const deadline = Date.now() + h.TIMEOUT;
		for (;;) {
			const r = await env.csms.call(cp, 'ChangeConfiguration', { key, value });
			if (r.status === 'Accepted') break;
			assert.equal(r.status, 'NotSupported', `ChangeConfiguration ${key}=${value}`);
			assert.ok(Date.now() < deadline, `${key} never became known to the bridge`);
			await env.probe.waitFor(`${cp}/config/${key}`, () => true, { timeout: h.TIMEOUT });
			await new Promise((r2) => setTimeout(r2, 50));
		}
	}
}

/** Publishes a connector's retained conn_state, as the connector service does. */
async function connState(env, cp, conn, status) {
	await env.probe.publish(`${cp}/${conn}/state`, { status, error_code: 'NoError', since: Date.now() }, { retain: true });
}

/** An auth_request as the connector sends it: resolves with the auth_result. */
function authorize(env, cp, conn, idTag, purpose = 'start', txIdTag) {
	const req = { id_tag: idTag, purpose };
	if (txIdTag !== undefined) req.tx_id_tag = txIdTag;
	return env.probe.request(`${cp}/${conn}/authorize`, req, { timeout: h.ms(25000) });
}

/** A tx_event as the connector publishes it. */
async function txEvent(env, cp, conn, event, txRef, idTag, meterWh) {
	const m = { event, tx_ref: txRef, id_tag: idTag, ts: Date.now() };
	if (meterWh !== undefined) m.meter_wh = meterWh;
	await env.probe.publish(`${cp}/${conn}/tx`, m);
}

/**
 * Plays the connector for conn_control: every request is answered (ok, or
 * refused with {ok: false}) and collected in the returned list; list.next()
 * resolves with the next request not returned yet.
 */
async function serveControl(env, { ok = true } = {}) {
	const got = [];
	const events = new EventEmitter();
	const filter = env.probe.topic('+/+/control');
	await env.probe.subscribe(filter);
	env.probe.client.on('message', (topic, raw, packet) => {
		const props = packet.properties || {};
		if (!h.topicMatches(filter, topic) || !props.responseTopic) return;
		got.push({ topic: topic.slice(env.prefix.length + 1), payload: msgpack.decode(raw) });
		const answer = ok ? { v: 1, ok: true } : { v: 1, ok: false, error: 'refused by the test' };
		env.probe.client.publish(props.responseTopic, Buffer.from(msgpack.encode(answer)), {
			qos: 1,
			properties: props.correlationData ? { correlationData: props.correlationData } : undefined,
		});
		events.emit('request');
	});
	let seen = 0;
	got.next = (timeout = h.TIMEOUT) => {
		const index = seen++;
		return h.withTimeout(new Promise((resolve) => {
			const check = () => {
				if (index >= got.length) return;
				events.off('request', check);
				resolve(got[index]);
			};
			events.on('request', check);
			check();
		}), timeout, 'a conn_control request', () => `requests so far: ${JSON.stringify(got)}`);
	};
	return got;
}

/** A round trip through sitegate-auth: everything published before has been handled. */
async function sync(env) {
	await env.probe.request('service/auth/ping', { seq: Date.now() });
}

/** The retained reservation of a connector, once it matches pred. */
function reservation(env, cp, conn, pred, opts) {
	return env.probe.waitFor(`${cp}/${conn}/reservation`, pred, opts);
}

/** Stops the Central System and waits until the bridge (cp_state) has noticed. */
async function csmsDown(env, cp = 'CP1') {
	const mark = env.probe.mark();
	env.csmsPort = env.csms.port;
	await env.csms.close();
	await env.probe.waitFor(`${cp}/state`, (p) => p.connection !== 'connected', { after: mark, timeout: h.ms(20000) });
}

/**
 * Starts the Central System again on the same port; setup(csms) runs before any
 * charge point can connect (install answers there). Resolves once the charge
 * point is registered.
 */
async function csmsUp(env, cp = 'CP1', { setup, ...opts } = {}) {
	const mark = env.probe.mark();
	const csms = await startCsms({ port: env.csmsPort, ...opts });
	env.onTeardown(() => csms.close());
	if (setup) setup(csms);
	env.csms = csms;
	await csms.waitForCall(cp, 'BootNotification', { timeout: h.ms(90000) });
	await env.probe.waitFor(`${cp}/state`, (p) => p.connection === 'connected' && p.registration === 'Accepted',
		{ after: mark, timeout: h.ms(20000) });
	return csms;
}

const isoIn = (ms) => new Date(Date.now() + ms).toISOString();

module.exports = {
	authGateway,
	startAuth,
	restartAuth,
	setKeys,
	connState,
	authorize,
	txEvent,
	serveControl,
	sync,
	reservation,
	csmsDown,
	csmsUp,
	isoIn,
};
