'use strict';
/* Helpers of tests/e2e/remote-*.test.js: the Central System's calls about a
 * charge point as a whole (Reset, TriggerMessage, DataTransfer) through the
 * real ocpp-bridge, against the strict test CSMS, with the real services
 * (connector on the simulator driver, meter, auth; maintenance and the example
 * meter-logger where a test names them) on the broker ACL generated from
 * common/msg/*.def. */
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const c = require('./connector-lib');

/* What the bridge logs once a service has registered itself (its retained ocpp_owner or
 * ocpp_vendor): from then on the bridge routes to it. */
const ROUTED = {
	connector: /OCPP ChangeAvailability is answered by connector/,
	auth: /OCPP CancelReservation is answered by auth/,
	maintenance: /OCPP GetDiagnostics is answered by maintenance/,
	'meter-logger': /DataTransfer for vendor "org\.sitegate\.example" is answered by meter-logger/,
};

const cpIds = (chargePoints) => chargePoints.map((cp) => (typeof cp === 'string' ? cp : cp.id));

/** Polls check() every 20 ms until it returns a value other than undefined (or fails after timeout). */
async function until(check, what, timeout = h.TIMEOUT) {
	const end = Date.now() + timeout;
	for (;;) {
		const v = check();
		if (v !== undefined) return v;
		if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/**
 * A round trip through the bridge's bus connection: whatever reached the broker for
 * the bridge before it (a service's status, a retained registration) has been handled.
 */
async function syncBridge(env) {
	await env.probe.request('service/ocpp-bridge/ping', { seq: Date.now() });
}

/**
 * Starts service name and waits until the bridge knows it: it has seen the service's
 * retained status online and, for services that own actions, their registration.
 */
async function startService(env, name) {
	const mark = env.bridge.lines.length;
	const proc = await env.startService(name);
	if (ROUTED[name]) await env.bridge.waitForLog(ROUTED[name], { after: mark });
	await syncBridge(env);
	return proc;
}

/**
 * Broker, strict CSMS, ocpp-bridge, then the services in order (default connector,
 * meter and auth), each registered with the bridge; every charge point registered and
 * each connector's first StatusNotification received, so that nothing more is on its
 * way while nothing changes. MinimumStatusDuration is 0 where the connector runs.
 */
async function gateway(t, { chargePoints = [{ id: 'CP1', connectors: 2 }], services = ['connector', 'meter', 'auth'],
	config = {} } = {}) {
	const env = await h.withGateway(t, {
		csms: true,
		chargePoints,
		/* maintenance: no firmware is installed and no log collected here */
		config: { maintenance: { install_hook: '/nonexistent/install-hook', log_dir: '' }, ...config },
	});
	env.cps = cpIds(chargePoints);
	for (const topic of ['+/+/tx', '+/+/state', '+/state']) await env.probe.subscribe(topic);
	env.bridge = await env.startService('ocpp-bridge');
	for (const cp of env.cps) await env.csms.waitForCall(cp, 'BootNotification', { timeout: h.ms(20000) });
	for (const name of services) await startService(env, name);
	for (const cp of env.cps) {
		await env.probe.waitFor(`${cp}/state`, (p) => p.connection === 'connected' && p.registration === 'Accepted');
	}
	if (services.includes('connector')) {
		for (const cp of env.cps) {
			await c.setKey(env, cp, 'MinimumStatusDuration', 0);
			const conf = chargePoints.find((x) => (typeof x === 'string' ? x : x.id) === cp);
			const n = typeof conf === 'string' ? 2 : conf.connectors;
			for (let conn = 0; conn <= n; conn++) await c.waitStatus(env, cp, conn, 'Available');
		}
		for (const cp of env.cps) await sendThrough(env, cp);
	}
	return env;
}

/**
 * A charge point message from a service (ocpp_send) that the Central System answers at
 * once: the bridge sends our CALLs one at a time, in order, so once it is answered every
 * CALL queued before it has been answered too. Resolves with the ocpp_result.
 */
function sendThrough(env, cp) {
	return env.probe.request(`${cp}/ocpp/send/Heartbeat`, { payload: {} }, { timeout: h.ms(20000) });
}

/**
 * A call of the Central System: resolves with {result, call, answer}, the answer's
 * payload and the traffic entries of the CALL and of the charge point's CALLRESULT.
 */
async function call(env, cp, action, payload) {
	const { csms } = env;
	const start = csms.traffic.length;
	const result = await csms.call(cp, action, payload);
	const sent = csms.traffic.find((e) => e.index >= start && e.cp === cp && e.dir === 'out' &&
		e.type === 'CALL' && e.action === action);
	const answer = csms.traffic.find((e) => e.index > sent.index && e.cp === cp && e.dir === 'in' &&
		e.type === 'CALLRESULT' && e.id === sent.id);
	assert.ok(answer, `the CALLRESULT of ${action} is in the traffic`);
	return { result, call: sent, answer };
}

/** The CALLs of action from cp at or after traffic index `from`, as entries. */
function callsSince(env, cp, action, from) {
	return env.csms.calls(cp, action).filter((e) => e.index >= from);
}

/** Plugs in, taps idTag, EV state C: resolves with the StartTransaction entry and its transactionId. */
async function startTransaction(env, cp, conn, idTag) {
	const mark = env.csms.mark();
	await c.sim(env, cp, conn, 'plug');
	await c.sim(env, cp, conn, 'rfid', idTag);
	await c.sim(env, cp, conn, 'ev', 'C');
	const entry = await env.csms.waitForCallEntry(cp, 'StartTransaction',
		{ where: (p) => p.connectorId === conn && p.idTag === idTag, after: mark, timeout: h.ms(20000) });
	const transactionId = await c.transactionIdOf(env, cp, entry);
	await c.waitStatus(env, cp, conn, 'Charging', { after: mark });
	return { entry, transactionId };
}

module.exports = {
	gateway,
	startService,
	syncBridge,
	sendThrough,
	call,
	callsSince,
	startTransaction,
	until,
	/** No schema violation either way, no CALLERROR from the charge points. */
	assertClean: c.assertClean,
};
