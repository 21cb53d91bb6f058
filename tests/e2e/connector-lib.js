'use strict';
/* Helpers of the sitegate-connector end-to-end tests (connector-*.test.js): a
 * gateway with the real ocpp-bridge, the strict test CSMS and
 * sitegate-connector on the simulator driver. The probe plays the auth service
 * (answers auth_request) and the meter (answers meter_read, publishes
 * meter_sample), so that every test decides which idTags pass and which energy
 * the meter shows. */
const assert = require('node:assert/strict');
const h = require('./lib/harness');

/**
 * The probe as the auth service: decide(payload, message) returns the
 * auth_result fields (undefined: no answer). A second call replaces the first.
 */
async function fakeAuth(env, decide = () => ({ status: 'Accepted' })) {
	if (env.stopAuth) env.stopAuth();
	env.authRequests = env.authRequests || [];
	env.stopAuth = await env.probe.serve('+/+/authorize', (p, m) => {
		env.authRequests.push({ topic: m.topic, ...p });
		return decide(p, m);
	});
	return env.stopAuth;
}

/**
 * The probe as the meter: an energy register per connector ("CP1/1" -> Wh)
 * that meter_read reports; sample() also publishes a meter_sample.
 * answer: false leaves meter_read unanswered.
 */
async function fakeMeter(env) {
	const meter = { energy: new Map(), reads: [], answer: true };
	meter.key = (cp, conn) => `${cp}/${conn}`;
	meter.set = (cp, conn, wh) => meter.energy.set(meter.key(cp, conn), wh);
	meter.get = (cp, conn) => meter.energy.get(meter.key(cp, conn)) ?? 0;
	meter.sample = async (cp, conn, wh) => {
		meter.set(cp, conn, wh);
		await env.probe.publish(`${cp}/${conn}/meter`, { ts: Date.now(), energy_wh: wh, power_w: 11000 }, { qos: 0 });
	};
	await env.probe.serve('+/+/meter/read', (p, m) => {
		const [, cp, conn] = m.topic.slice(env.prefix.length).split('/');
		meter.reads.push({ cp, conn: Number(conn), ...p });
		if (!meter.answer) return undefined;
		const r = { energy_wh: meter.get(cp, Number(conn)), ts: Date.now() };
		if (p.stop) {
			r.transaction_data = [{
				timestamp: new Date().toISOString(),
				sampledValue: [{ value: String(r.energy_wh), context: 'Transaction.End', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
			}];
		}
		return r;
	});
	env.meter = meter;
	return meter;
}

/**
 * ChangeConfiguration from the Central System; asserts Accepted. The bridge
 * answers NotSupported until it has seen the key's retained cfg_key, which the
 * connector publishes as it starts: the probe waits for that first.
 */
async function setKey(env, cp, key, value) {
	await env.probe.waitFor(`${cp}/config/${key}`, (p) => p.svc === 'connector');
	let r;
	for (let attempt = 0; attempt < 50; attempt++) {
		r = await env.csms.call(cp, 'ChangeConfiguration', { key, value: String(value) });
		if (r.status !== 'NotSupported') break;
		/* the bridge got the cfg_key a moment after the probe */
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	assert.equal(r.status, 'Accepted', `ChangeConfiguration ${key}=${value}`);
	await env.probe.waitFor(`${cp}/config/${key}`, (p) => p.value === String(value));
}

/** Starts sitegate-connector and waits until the bridge routes its calls to it. */
async function startConnector(env) {
	const mark = env.bridge.lines.length;
	const conn = await env.startService('connector');
	await env.bridge.waitForLog(/OCPP ChangeAvailability is answered by connector/, { after: mark });
	env.connector = conn;
	return conn;
}

/**
 * A gateway for connector tests: broker (its ACL as generated from
 * common/msg/*.def), CSMS,
 * ocpp-bridge, sitegate-connector, the probe as auth and meter, and the keys
 * (default MinimumStatusDuration 0) set through ChangeConfiguration.
 */
async function connGateway(t, { chargePoints = [{ id: 'CP1', connectors: [{ id: 1 }, { id: 2, cable: 'fixed' }] }],
	config, keys = {}, auth = true, meter = true } = {}) {
	const env = await h.withGateway(t, { csms: true, chargePoints, config });
	env.cps = chargePoints.map((c) => (typeof c === 'string' ? c : c.id));
	/* events are not retained: the probe listens from the start */
	for (const topic of ['+/+/tx', '+/+/state', '+/+/hw']) await env.probe.subscribe(topic);
	if (auth) await fakeAuth(env);
	if (meter) await fakeMeter(env);
	env.bridge = await env.startService('ocpp-bridge');
	for (const cp of env.cps) await env.csms.waitForCall(cp, 'BootNotification', { timeout: h.ms(20000) });
	await startConnector(env);
	for (const cp of env.cps) {
		for (const [k, v] of Object.entries({ MinimumStatusDuration: 0, ...keys })) await setKey(env, cp, k, v);
	}
	return env;
}

/** sitegatectl sim CP CONN ACTION [VALUE]; asserts it printed ok. */
async function sim(env, cp, conn, action, value) {
	const args = ['sim', cp, String(conn), action];
	if (value !== undefined) args.push(String(value));
	const r = await env.ctl(args);
	assert.equal(r.code, 0, `sitegatectl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
	assert.equal(r.stdout.trim(), 'ok');
	return r;
}

/** Waits for the StatusNotification of cp/conn with status (and errorCode). */
function waitStatus(env, cp, conn, status, { after, timeout = h.TIMEOUT, errorCode } = {}) {
	return env.csms.waitForCall(cp, 'StatusNotification', {
		where: (p) => p.connectorId === conn && p.status === status && (!errorCode || p.errorCode === errorCode),
		after,
		timeout,
	});
}

/** The statuses the CSMS got for cp/conn (from index after), in order. */
function statuses(env, cp, conn, after = 0) {
	return env.csms.calls(cp, 'StatusNotification')
		.filter((e) => e.index >= after && e.payload.connectorId === conn)
		.map((e) => e.payload.status);
}

/** Plugs in (state C: the car wants energy) and taps idTag; resolves with the StartTransaction. */
async function startCharging(env, cp, conn, idTag, { wh = 1000 } = {}) {
	const mark = env.csms.mark();
	env.meter.set(cp, conn, wh);
	await sim(env, cp, conn, 'plug');
	await sim(env, cp, conn, 'ev', 'C');
	await sim(env, cp, conn, 'rfid', idTag);
	const start = await env.csms.waitForCall(cp, 'StartTransaction', { where: (p) => p.connectorId === conn, after: mark });
	await waitStatus(env, cp, conn, 'Charging', { after: mark });
	return start;
}

/** The transactionId the CSMS gave the StartTransaction entry e. */
async function transactionIdOf(env, cp, startEntry) {
	const res = await env.csms.waitForFrame((f) => f.cp === cp && f.dir === 'out' && f.type === 'CALLRESULT' && f.id === startEntry.id);
	return res.payload.transactionId;
}

/** No schema violation either way, no CALLERROR from the charge point. */
function assertClean(env) {
	assert.deepEqual(env.csms.validationFailures, [], 'schema violations');
	const errors = env.csms.traffic.filter((f) => f.dir === 'in' && f.type === 'CALLERROR');
	assert.deepEqual(errors.map((f) => f.raw), [], 'CALLERRORs from the charge point');
}

module.exports = {
	fakeAuth,
	fakeMeter,
	setKey,
	startConnector,
	connGateway,
	sim,
	waitStatus,
	statuses,
	startCharging,
	transactionIdOf,
	assertClean,
};
