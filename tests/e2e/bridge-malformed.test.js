'use strict';
/* ocpp-bridge: malformed input from the Central System, sent raw. Every CALL
 * the bridge can identify is answered with the CALLERROR services/ocpp-bridge/rpc.h
 * documents; everything else is dropped without an answer. A drop is shown by
 * a valid CALL sent right after it: its answer is the only frame that comes
 * back. The connection survives all of it. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const TEST_TIMEOUT = h.ms(60000);
const MAX_FRAME = 65536; /* RPC_DEFAULT_MAX_FRAME */

const FV = 'FormationViolation';
const TCV = 'TypeConstraintViolation';
const OCV = 'OccurenceConstraintViolation'; /* the OCPP-J 1.6 spelling, single r */
const PCV = 'PropertyConstraintViolation';
const NI = 'NotImplemented';
const NS = 'NotSupported';
const GE = 'GenericError';
const IE = 'InternalError';

const profile = (limit) => ({
	chargingProfileId: 1,
	stackLevel: 0,
	chargingProfilePurpose: 'TxProfile',
	chargingProfileKind: 'Absolute',
	chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] },
});
const call = (id, action, payload) => JSON.stringify([2, id, action, payload]);
const now = () => new Date().toISOString();

/* [name, frame(id) -> string | {data: Buffer, binary}, expected CALLERROR code | 'CALLRESULT'] */
const ANSWERED = [
	/* not JSON, or not the PDU structure: FormationViolation */
	['truncated after the payload', (id) => `[2,"${id}","Reset",{"type":"Soft"}`, FV],
	['truncated after the action', (id) => `[2,"${id}","Reset"`, FV],
	['truncated inside a string', (id) => `[2,"${id}","Reset",{"type":"So`, FV],
	['garbage after the JSON', (id) => `[2,"${id}","Reset",{"type":"Soft"}] x`, FV],
	['two JSON texts in one frame', (id) => `[2,"${id}","Reset",{"type":"Soft"}][2,"other","Reset",{"type":"Soft"}]`, FV],
	['duplicate key', (id) => `[2,"${id}","Reset",{"type":"Soft","type":"Hard"}]`, FV],
	['trailing comma in an object', (id) => `[2,"${id}","Reset",{"type":"Soft",}]`, FV],
	['trailing comma in the array', (id) => `[2,"${id}","Reset",{"type":"Soft"},]`, FV],
	['unquoted key', (id) => `[2,"${id}","Reset",{type:"Soft"}]`, FV],
	['single quotes', (id) => `[2,"${id}","Reset",{'type':'Soft'}]`, FV],
	['NaN', (id) => `[2,"${id}","Reset",NaN]`, FV],
	['number out of range', (id) => `[2,"${id}","ChangeAvailability",{"connectorId":1e400,"type":"Operative"}]`, FV],
	['invalid UTF-8 in a text frame', (id) => ({ data: Buffer.concat([Buffer.from(`[2,"${id}","Reset",{"type":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}]')]), binary: false }), FV],
	['lone surrogate escape', (id) => `[2,"${id}","Reset",{"type":"\\ud800"}]`, FV],
	['raw control character in a string', (id) => `[2,"${id}","Reset",{"type":"So\u0001ft"}]`, FV],
	['nested deeper than 16', (id) => `[2,"${id}","DataTransfer",{"vendorId":"x","data":${'['.repeat(20)}${']'.repeat(20)}}]`, FV],
	['whitespace around the head, truncated', (id) => ` \n[ 2 ,\t"${id}" , "Reset" , {`, FV],
	['CALL with 5 elements', (id) => `[2,"${id}","Reset",{"type":"Soft"},{}]`, FV],
	['CALL with 3 elements', (id) => `[2,"${id}","Reset"]`, FV],
	['CALL with 2 elements', (id) => `[2,"${id}"]`, FV],
	['action is a number', (id) => `[2,"${id}",42,{"type":"Soft"}]`, FV],
	['action is null', (id) => `[2,"${id}",null,{"type":"Soft"}]`, FV],
	['action is an object', (id) => `[2,"${id}",{"a":1},{}]`, FV],
	['uniqueId of 37 characters', (id) => call(id.padEnd(37, 'x'), 'Reset', { type: 'Soft' }), FV],
	/* schema: enum, maxLength, format */
	['enum value unknown', (id) => call(id, 'Reset', { type: 'Medium' }), FV],
	['nested enum value unknown', (id) => call(id, 'ChangeAvailability', { connectorId: 1, type: 'Sometimes' }), FV],
	['string over maxLength (key, 51)', (id) => call(id, 'ChangeConfiguration', { key: 'K'.repeat(51), value: '1' }), FV],
	['idTag over maxLength (21)', (id) => call(id, 'RemoteStartTransaction', { idTag: 'T'.repeat(21) }), FV],
	['date-time format', (id) => call(id, 'ReserveNow', { connectorId: 1, expiryDate: 'tomorrow', idTag: 'T', reservationId: 1 }), FV],
	/* schema: types */
	['payload is an array', (id) => call(id, 'Reset', []), TCV],
	['payload is null', (id) => `[2,"${id}","Reset",null]`, TCV],
	['payload is a string', (id) => call(id, 'Reset', 'Soft'), TCV],
	['payload is a number', (id) => call(id, 'Reset', 1), TCV],
	['enum field is a number', (id) => call(id, 'Reset', { type: 5 }), TCV],
	['integer given as a string', (id) => call(id, 'ChangeAvailability', { connectorId: '1', type: 'Operative' }), TCV],
	['integer given as 1.5', (id) => call(id, 'ChangeAvailability', { connectorId: 1.5, type: 'Operative' }), TCV],
	['integer given as a boolean', (id) => call(id, 'UnlockConnector', { connectorId: true }), TCV],
	['array given as a string', (id) => call(id, 'GetConfiguration', { key: 'HeartbeatInterval' }), TCV],
	['array of numbers for strings', (id) => call(id, 'GetConfiguration', { key: [1] }), TCV],
	/* schema: occurrence */
	['required field missing', (id) => call(id, 'Reset', {}), OCV],
	['second required field missing', (id) => call(id, 'ChangeConfiguration', { key: 'HeartbeatInterval' }), OCV],
	['required idTag missing', (id) => call(id, 'RemoteStartTransaction', { connectorId: 1 }), OCV],
	['limit not a multiple of 0.1', (id) => call(id, 'RemoteStartTransaction', { idTag: 'T', chargingProfile: profile(16.05) }), OCV],
	/* schema: additional properties */
	['additional property', (id) => call(id, 'Reset', { type: 'Soft', extra: 1 }), PCV],
	['misspelt property', (id) => call(id, 'GetConfiguration', { keys: ['HeartbeatInterval'] }), PCV],
	['additional property null', (id) => call(id, 'ChangeAvailability', { connectorId: 1, type: 'Operative', x: null }), PCV],
	/* actions */
	['unknown action', (id) => call(id, 'FooBar', {}), NI],
	['action in the wrong case', (id) => call(id, 'reset', { type: 'Soft' }), NI],
	['empty action', (id) => call(id, '', {}), NI],
	['an OCPP 2.0.1 action', (id) => call(id, 'RequestStartTransaction', { idToken: {}, remoteStartId: 1 }), NI],
	['BootNotification (charge points send it)', (id) => call(id, 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }), NS],
	['Heartbeat (charge points send it)', (id) => call(id, 'Heartbeat', {}), NS],
	['StatusNotification (charge points send it)', (id) => call(id, 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }), NS],
	['StartTransaction (charge points send it)', (id) => call(id, 'StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: now() }), NS],
	['UnlockConnector: no service owns it', (id) => call(id, 'UnlockConnector', { connectorId: 1 }), NS],
	['RemoteStartTransaction: no service owns it', (id) => call(id, 'RemoteStartTransaction', { idTag: 'TAG1' }), NS],
	['messageTypeId 2.0 is 2', (id) => `[2.0,"${id}","ClearCache",{}]`, NS],
	/* limits */
	['frame over 64 KiB', (id) => call(id, 'DataTransfer', { vendorId: 'x', data: 'a'.repeat(MAX_FRAME) }), GE],
	['over 64 KiB and not JSON', (id) => `[2,"${id}",${'x'.repeat(MAX_FRAME + 10)}`, GE],
	/* an owner that is not running */
	['owner not running', (id) => call(id, 'CancelReservation', { reservationId: 1 }), IE],
	/* and well-formed ones still work, also in WebSocket fragments */
	['valid GetConfiguration with blanks around', (id) => ` ${call(id, 'GetConfiguration', { key: ['HeartbeatInterval'] })}\n`, 'CALLRESULT'],
	['valid GetConfiguration in 7 fragments', (id) => ({ data: call(id, 'GetConfiguration', { key: ['HeartbeatInterval'] }), fragments: 7 }), 'CALLRESULT'],
	['unknown action in 3 fragments', (id) => ({ data: call(id, 'NoSuchAction', {}), fragments: 3 }), NI],
];

/* [name, frame] that get no answer at all */
const DROPPED = [
	['CALLRESULT for an unknown uniqueId', '[3,"nobody-1",{}]'],
	['CALLERROR for an unknown uniqueId', '[4,"nobody-2","GenericError","",{}]'],
	['malformed CALLERROR for an unknown uniqueId', '[4,"nobody-3"]'],
	['malformed CALLRESULT for an unknown uniqueId', '[3,"nobody-4"]'],
	['messageTypeId 5', '[5,"d-5","Reset",{"type":"Soft"}]'],
	['messageTypeId 1', '[1,"d-6","Reset",{"type":"Soft"}]'],
	['messageTypeId 0 alone', '[0]'],
	['messageTypeId as a string', '["2","d-8","Reset",{"type":"Soft"}]'],
	['messageTypeId 2.5', '[2.5,"d-9","Reset",{"type":"Soft"}]'],
	['messageTypeId null', '[null,"d-10","Reset",{}]'],
	['uniqueId a number', '[2,5,"Reset",{"type":"Soft"}]'],
	['uniqueId null', '[2,null,"Reset",{"type":"Soft"}]'],
	['no uniqueId', '[2]'],
	['empty array', '[]'],
	['object', '{}'],
	['object with a CALL-like key', '{"2":"d-16"}'],
	['string', '"hello"'],
	['number', '42'],
	['null', 'null'],
	['true', 'true'],
	['not JSON', 'hello world'],
	['truncated before the uniqueId', '[2,'],
	['unterminated uniqueId', '[2,"unterminated'],
	['truncated, uniqueId with an escape', '[2,"esc\\"aped","Reset",{'],
	['truncated, non-ASCII uniqueId', '[2,"ünï-25","Reset",{'],
	['binary frame holding a valid CALL', { data: Buffer.from(call('bin-26', 'GetConfiguration', {})), binary: true }],
	['binary frame in 4 fragments', { data: Buffer.from(call('bin-27', 'GetConfiguration', {})), binary: true, fragments: 4 }],
	['empty text frame', ''],
	['blanks only', '   \n\t'],
	['deep nesting, no CALL', `${'['.repeat(40)}${']'.repeat(40)}`],
	['over 64 KiB, no CALL', `{"a":"${'z'.repeat(MAX_FRAME)}"}`],
];

function send(csms, frame) {
	if (typeof frame === 'string') csms.sendRaw('CP1', frame);
	else csms.sendRaw('CP1', frame.data, { binary: frame.binary, fragments: frame.fragments });
}

/* The CP's answers (CALLRESULT/CALLERROR) from index `from` on. */
const answersSince = (csms, from) => csms.traffic.slice(from).filter((e) => e.cp === 'CP1' && e.dir === 'in' && e.type !== 'CALL');

async function malformedEnv(t) {
	const env = await h.withGateway(t, { csms: true });
	/* an owner that is not running: the retained claim of a service that is gone */
	await env.probe.publish('service/ghost/status', { state: 'offline' }, { retain: true });
	await env.probe.publish('ocpp/owner/CancelReservation', { svc: 'ghost' }, { retain: true });
	const bridge = await env.startService('ocpp-bridge');
	await bridge.waitForLog(/OCPP CancelReservation is answered by ghost/);
	await env.probe.waitFor('CP1/state', (p) => p.registration === 'Accepted');
	return { env, bridge, csms: env.csms };
}

async function assertHealthy(env, csms, bridge) {
	assert.equal(bridge.running(), true, 'the bridge runs');
	assert.equal(csms.events.length, 1, `one connection, never dropped: ${JSON.stringify(csms.events.map((e) => e.type))}`);
	const conf = await csms.call('CP1', 'GetConfiguration', { key: ['HeartbeatInterval'] });
	assert.equal(conf.configurationKey[0].value, '300');
	const res = await env.probe.request('CP1/ocpp/send/Heartbeat', { payload: {} });
	assert.equal(res.error ?? '', '');
	assert.ok(res.payload.currentTime);
	assert.equal(csms.validationFailures.filter((v) => v.dir === 'in').length, 0, 'every frame from the bridge was valid');
}

test(`${ANSWERED.length} malformed CALLs are answered with the documented CALLERROR`, { timeout: TEST_TIMEOUT }, async (t) => {
	const { env, bridge, csms } = await malformedEnv(t);
	assert.ok(ANSWERED.length + DROPPED.length >= 50);
	const failures = [];
	const codes = new Set();
	for (const [i, [name, frame, want]] of ANSWERED.entries()) {
		const id = `m${i}`;
		const f = frame(id);
		const sentId = name === 'uniqueId of 37 characters' ? id.padEnd(37, 'x') : id;
		const from = csms.traffic.length;
		send(csms, f);
		const answer = await csms.waitForFrame((e) => e.cp === 'CP1' && e.dir === 'in' && e.id === sentId,
			{ after: from, what: `the answer to "${name}"` });
		const got = answer.type === 'CALLERROR' ? answer.error.code : answer.type;
		if (got !== want) failures.push(`${name}: ${got} (${answer.raw.slice(0, 160)}), expected ${want}`);
		if (answer.type === 'CALLERROR') {
			codes.add(got);
			const e = JSON.parse(answer.raw);
			if (e.length !== 5 || typeof e[3] !== 'string' || JSON.stringify(e[4]) !== '{}') {
				failures.push(`${name}: not a well-formed CALLERROR: ${answer.raw.slice(0, 160)}`);
			}
		}
		const extra = answersSince(csms, from).filter((e) => e.index !== answer.index);
		if (extra.length) failures.push(`${name}: more answers: ${extra.map((e) => e.raw.slice(0, 80))}`);
	}
	assert.deepEqual(failures, []);
	assert.deepEqual([...codes].sort(), [FV, GE, IE, NI, NS, OCV, PCV, TCV].sort(), 'every class the bridge produces itself');
	await assertHealthy(env, csms, bridge);
});

test(`${DROPPED.length} frames that are no answerable CALL get no answer at all`, { timeout: TEST_TIMEOUT }, async (t) => {
	const { env, bridge, csms } = await malformedEnv(t);
	const failures = [];
	for (const [i, [name, frame]] of DROPPED.entries()) {
		const from = csms.traffic.length;
		send(csms, frame);
		/* the bridge reads frames in order: once the next CALL is answered, the dropped one was handled */
		const sentinel = `sentinel-${i}`;
		csms.sendRaw('CP1', call(sentinel, 'GetConfiguration', { key: ['HeartbeatInterval'] }));
		const answer = await csms.waitForFrame((e) => e.cp === 'CP1' && e.dir === 'in' && e.id === sentinel,
			{ after: from, what: `the answer to the CALL after "${name}"` });
		if (answer.type !== 'CALLRESULT') failures.push(`${name}: the next CALL got ${answer.raw}`);
		const extra = answersSince(csms, from).filter((e) => e.index !== answer.index);
		if (extra.length) failures.push(`${name}: answered: ${extra.map((e) => e.raw.slice(0, 120))}`);
	}
	assert.deepEqual(failures, []);
	await bridge.waitForLog(/binary WebSocket frame ignored/);
	await assertHealthy(env, csms, bridge);
});

/* A service that owns actions, played by the probe: what its answers become. */
test('CALLs routed to a running owner: its answer, its error codes, no answer, a bad answer, duplicate and too many unanswered CALLs', { timeout: TEST_TIMEOUT }, async (t) => {
	const { env, bridge, csms } = await malformedEnv(t);
	const { probe } = env;
	const owned = {
		RemoteStartTransaction: () => ({ payload: { status: 'Accepted' } }),
		UnlockConnector: () => ({ error: 'ProtocolError', description: 'as the owner says' }),
		ClearCache: () => ({ error: 'SecurityError' }),
		ReserveNow: () => ({ error: 'NoSuchCode' }), /* unknown codes read as GenericError */
		ChangeAvailability: () => ({ payload: { status: 'Maybe' } }), /* breaks the .conf schema */
		GetLocalListVersion: () => undefined, /* held: answered by the test */
		GetCompositeSchedule: () => undefined, /* never answered */
	};
	const held = [];
	await probe.publish('service/owner/status', { state: 'online' }, { retain: true });
	for (const action of Object.keys(owned)) await probe.publish(`ocpp/owner/${action}`, { svc: 'owner' }, { retain: true });
	await probe.serve('CP1/ocpp/call/+', (p, m) => {
		const action = m.topic.split('/').pop();
		if (action === 'GetLocalListVersion') held.push(m);
		return owned[action]();
	});
	for (const action of Object.keys(owned)) await bridge.waitForLog(new RegExp(`OCPP ${action} is answered by owner`));

	/* the owner that never answers: InternalError after the bridge's owner timeout (20 s). Sent raw:
	 * the CSMS's own call() has one CALL outstanding at a time, as OCPP-J wants */
	csms.sendRaw('CP1', call('never-1', 'GetCompositeSchedule', { connectorId: 1, duration: 60 }));
	const never = csms.waitForFrame((e) => e.dir === 'in' && e.id === 'never-1', { timeout: h.ms(30000) });
	await probe.waitFor('CP1/ocpp/call/+', (p) => p.unique_id === 'never-1');

	assert.deepEqual(await csms.call('CP1', 'RemoteStartTransaction', { idTag: 'TAG1' }), { status: 'Accepted' });
	const code = (p) => p.then(() => 'CALLRESULT', (err) => err.code);
	assert.equal(await code(csms.call('CP1', 'UnlockConnector', { connectorId: 1 })), 'ProtocolError');
	assert.equal(await code(csms.call('CP1', 'ClearCache', {})), 'SecurityError');
	assert.equal(await code(csms.call('CP1', 'ReserveNow', { connectorId: 1, expiryDate: now(), idTag: 'T', reservationId: 1 })), GE);
	assert.equal(await code(csms.call('CP1', 'ChangeAvailability', { connectorId: 1, type: 'Operative' })), IE);

	/* a CALL the owner holds: its uniqueId again is a GenericError; so is the 17th unanswered CALL */
	let from = csms.traffic.length;
	csms.sendRaw('CP1', call('held-0', 'GetLocalListVersion', {}));
	await probe.waitFor('CP1/ocpp/call/+', (p) => p.unique_id === 'held-0');
	csms.sendRaw('CP1', call('held-0', 'GetLocalListVersion', {}));
	const dup = await csms.waitForFrame((e) => e.dir === 'in' && e.id === 'held-0', { after: from });
	assert.equal(dup.error && dup.error.code, GE);
	/* 16 unanswered at most: never-1 and held-0 are two */
	from = csms.traffic.length;
	for (let i = 1; i <= 15; i++) csms.sendRaw('CP1', call(`held-${i}`, 'GetLocalListVersion', {}));
	const over = await csms.waitForFrame((e) => e.dir === 'in' && e.id === 'held-15', { after: from });
	assert.equal(over.error && over.error.code, GE);
	assert.match(over.error.description, /too many unanswered/);
	await probe.waitFor('CP1/ocpp/call/+', (p) => p.unique_id === 'held-14');
	assert.deepEqual(held.map((m) => m.payload.unique_id), Array.from({ length: 15 }, (_, i) => `held-${i}`),
		'held-0 .. held-14 reached the owner, held-15 did not');
	for (const m of held) await probe.reply(m, { payload: { listVersion: 3 } });
	await csms.waitForFrame((e) => e.dir === 'in' && e.id === 'held-14' && e.type === 'CALLRESULT');

	const late = await never;
	assert.equal(late.error && late.error.code, IE);
	assert.ok(late.ts - csms.traffic.find((e) => e.dir === 'out' && e.id === 'never-1').ts >= 20000 - 100, 'after 20 s');
	await assertHealthy(env, csms, bridge);
});
