'use strict';
/* A scriptable test Central System for OCPP 1.6J.
 *
 * Built on ocpp-rpc's RPCServer in strict mode: every CALL and every answer,
 * in both directions, is validated against the official OCPP 1.6 JSON schemas
 * (including the security extension). A charge point that sends an invalid
 * payload gets a CALLERROR; a test that scripts an invalid answer gets an
 * exception instead of a silent pass.
 *
 *   const csms = await startCsms({auth: {passwords: {CP1: 'secret'}}});
 *   await csms.waitForConnection('CP1');
 *   const boot = await csms.waitForCall('CP1', 'BootNotification');
 *   const res = await csms.call('CP1', 'Reset', {type: 'Soft'});
 *   await csms.close();
 *
 * Every frame both ways lands in csms.traffic as
 *   {index, ts, cp, dir: 'in'|'out', type: 'CALL'|'CALLRESULT'|'CALLERROR'|null,
 *    id, action, payload, error, raw}
 * ('in' = charge point to CSMS; type null for a frame that is not a valid
 * OCPP-J message). Waits look at frames received before they started too,
 * unless given {after: index}; csms.mark() and csms.cursor() give positions
 * for waiting on "the next" frame.
 *
 * Besides the frames: csms.refusals (upgrades refused: bad credentials, no
 * ocpp1.6), csms.tlsErrors (TLS handshakes that failed), csms.pings (WebSocket
 * pings from charge points), each with a wait; csms.freeze(cp) stops reading a
 * connection (a dead link: no pongs, no frames), csms.stopPongs(cp) keeps it
 * alive but unanswered to pings.
 */
const http = require('node:http');
const https = require('node:https');
const { EventEmitter } = require('node:events');
const { RPCServer, createRPCError, NOREPLY } = require('ocpp-rpc');

const PROTOCOL = 'ocpp1.6';
const DEFAULT_TIMEOUT = 10000;
const TYPE_NAMES = { 2: 'CALL', 3: 'CALLRESULT', 4: 'CALLERROR' };

/* Default answers to the charge point's calls: all schema-valid. */
function defaultHandlers(state) {
	const now = () => new Date().toISOString();
	const accepted = { idTagInfo: { status: 'Accepted' } };
	return {
		BootNotification: () => ({ status: 'Accepted', currentTime: now(), interval: 300 }),
		Heartbeat: () => ({ currentTime: now() }),
		StatusNotification: () => ({}),
		Authorize: () => accepted,
		StartTransaction: () => ({ transactionId: ++state.lastTransactionId, ...accepted }),
		StopTransaction: () => accepted,
		MeterValues: () => ({}),
		DataTransfer: () => ({ status: 'UnknownVendorId' }),
		FirmwareStatusNotification: () => ({}),
		DiagnosticsStatusNotification: () => ({}),
		/* security extension (profiles 2 and 3) */
		SecurityEventNotification: () => ({}),
		SignCertificate: () => ({ status: 'Accepted' }),
		SignedFirmwareStatusNotification: () => ({}),
		LogStatusNotification: () => ({}),
	};
}

function pad(n, w = 2) {
	return String(n).padStart(w, '0');
}

function clock(ts) {
	const d = new Date(ts);
	return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/* Parses one OCPP-J frame as far as it goes; never throws. */
function parseFrame(raw) {
	let msg;
	try {
		msg = JSON.parse(raw);
	} catch {
		return { type: null, id: null, action: null, payload: undefined, error: null };
	}
	if (!Array.isArray(msg) || !(msg[0] in TYPE_NAMES)) {
		return { type: null, id: null, action: null, payload: msg, error: null };
	}
	const type = TYPE_NAMES[msg[0]];
	const id = typeof msg[1] === 'string' ? msg[1] : null;
	if (type === 'CALL') {
		return { type, id, action: typeof msg[2] === 'string' ? msg[2] : null, payload: msg[3], error: null };
	}
	if (type === 'CALLRESULT') {
		return { type, id, action: null, payload: msg[2], error: null };
	}
	return {
		type,
		id,
		action: null,
		payload: undefined,
		error: { code: msg[2], description: msg[3], details: msg[4] },
	};
}

function timeoutError(what, ms, extra) {
	const err = new Error(`timed out after ${ms} ms waiting for ${what}${extra ? `\n${extra}` : ''}`);
	err.code = 'ETIMEDOUT';
	return err;
}

/* The subject CN of the peer certificate on a TLS socket, or null. */
function peerCertificate(socket) {
	if (!socket || typeof socket.getPeerCertificate !== 'function') return null;
	const cert = socket.getPeerCertificate();
	if (!cert || !cert.subject) return null;
	return {
		cn: cert.subject.CN ?? null,
		subject: cert.subject,
		issuer: cert.issuer,
		fingerprint256: cert.fingerprint256,
		authorized: socket.authorized,
	};
}

function passwordChecker(auth) {
	if (!auth) return null;
	if (typeof auth === 'function') return auth;
	if (auth.passwords) {
		const table = auth.passwords;
		return ({ identity, password }) =>
			Object.prototype.hasOwnProperty.call(table, identity) &&
			password !== null &&
			password === String(table[identity]);
	}
	throw new TypeError('auth must be a function or {passwords: {CP: password}}');
}

/**
 * Starts the CSMS. Options:
 *  - port (0: a free one), host ('127.0.0.1')
 *  - auth: ({identity, password, passwordBytes, clientCert, handshake}) => bool | Promise<bool>,
 *    or {passwords: {CP1: 'secret'}}; a false answer rejects the upgrade with 401.
 *    password is the Basic-auth password as a string (null when none was sent);
 *    passwordBytes the same as a Buffer (binary keys).
 *  - tls: {key, cert, ca, requestCert, rejectUnauthorized}: serve wss over a node
 *    https server (security profiles 2 and 3); url becomes wss://localhost:PORT/ocpp.
 *  - log: function receiving one human-readable line per frame and per connect/disconnect.
 *  - callTimeout: default timeout of CSMS-initiated calls, ms (10000).
 */
async function startCsms({ port = 0, host = '127.0.0.1', auth, tls, log, callTimeout = DEFAULT_TIMEOUT } = {}) {
	const emitter = new EventEmitter();
	emitter.setMaxListeners(0);
	const state = { lastTransactionId: 0 };
	const defaults = defaultHandlers(state);
	const overrides = new Map();
	const traffic = [];
	const validationFailures = []; /* strict-mode rejections: {ts, cp, dir, action, isCall, error} */
	const events = []; /* {index, ts, cp, type: 'connect'|'disconnect', info, code, reason} */
	const refusals = []; /* {index, ts, cp, status, reason, password, clientCert, path}: upgrades refused */
	const tlsErrors = []; /* {index, ts, code, message}: TLS handshakes that failed */
	const pings = []; /* {index, ts, cp}: WebSocket pings received from charge points */
	const clients = new Map(); /* cp -> RPCServerClient (the current connection) */
	const connectionInfo = new Map(); /* cp -> info of the current or last connection */
	const callActions = new Map(); /* `${cp}\0${dir of the CALL}\0${id}` -> action */
	const checkAuth = passwordChecker(auth);
	const say = typeof log === 'function' ? log : null;
	let closed = false;

	const server = new RPCServer({
		protocols: [PROTOCOL],
		strictMode: true,
		callTimeoutMs: callTimeout,
		pingIntervalMs: 0, /* no ws pings from the CSMS: they would only add noise */
		maxBadMessages: Infinity,
		respondWithDetailedErrors: false,
	});

	server.auth(async (accept, reject, handshake) => {
		const { identity, protocols, request } = handshake;
		const password = handshake.password === undefined ? null : handshake.password.toString('utf8');
		const passwordBytes = handshake.password === undefined ? null : Buffer.from(handshake.password);
		const clientCert = peerCertificate(request.socket);
		if (!protocols.has(PROTOCOL)) {
			if (say) say(`${clock(Date.now())} ${identity} rejected: no ${PROTOCOL} subprotocol offered`);
			recordRefusal(identity, 400, 'no ocpp1.6 subprotocol', { password, passwordBytes, clientCert, path: request.url });
			reject(400, `Subprotocol ${PROTOCOL} required`);
			return;
		}
		if (checkAuth) {
			let ok = false;
			try {
				ok = await checkAuth({ identity, password, passwordBytes, clientCert, handshake });
			} catch {
				ok = false;
			}
			if (!ok) {
				if (say) say(`${clock(Date.now())} ${identity} rejected: bad credentials`);
				recordRefusal(identity, 401, 'bad credentials', { password, passwordBytes, clientCert, path: request.url });
				reject(401, 'Unauthorized');
				return;
			}
		}
		accept({ password, passwordBytes, clientCert, remoteAddress: handshake.remoteAddress, path: request.url }, PROTOCOL);
	});

	function record(cp, dir, raw) {
		const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
		const f = parseFrame(text);
		const callDir = dir === 'in' ? 'out' : 'in';
		if (f.type === 'CALL' && f.id !== null) {
			callActions.set(`${cp}\0${dir}\0${f.id}`, f.action);
		} else if ((f.type === 'CALLRESULT' || f.type === 'CALLERROR') && f.id !== null) {
			const key = `${cp}\0${callDir}\0${f.id}`;
			if (callActions.has(key)) {
				f.action = callActions.get(key);
				callActions.delete(key);
			}
		}
		const entry = { index: traffic.length, ts: Date.now(), cp, dir, ...f, raw: text };
		traffic.push(entry);
		if (say) {
			const arrow = dir === 'in' ? `${cp} → CSMS ` : `CSMS → ${cp}`;
			say(`${clock(entry.ts)} ${arrow} ${text}`);
		}
		emitter.emit('frame', entry);
	}

	function recordRefusal(cp, status, reason, extra) {
		const r = { index: refusals.length, ts: Date.now(), cp, status, reason, ...extra };
		refusals.push(r);
		emitter.emit('refusal', r);
	}

	function recordEvent(cp, type, extra) {
		const ev = { index: events.length, ts: Date.now(), cp, type, ...extra };
		events.push(ev);
		if (say) {
			if (type === 'connect') {
				const how = [extra.info.tls ? 'wss' : 'ws'];
				if (extra.info.clientCert) how.push(`client cert CN=${extra.info.clientCert.cn}`);
				if (extra.info.password !== null) how.push('basic auth');
				say(`${clock(ev.ts)} ${cp} connected (${how.join(', ')}) from ${extra.info.remoteAddress}`);
			} else {
				say(`${clock(ev.ts)} ${cp} disconnected (code ${extra.code}${extra.reason ? `, ${extra.reason}` : ''})`);
			}
		}
		emitter.emit('event', ev);
	}

	function dispatcher(cp, client, action) {
		return async (ctx) => {
			const fn = overrides.has(action) ? overrides.get(action) : defaults[action];
			if (!fn) throw createRPCError('NotImplemented', `Unable to handle '${action}' calls`);
			return fn(ctx.params, cp, { ...ctx, client, NOREPLY });
		};
	}

	function attachHandler(cp, client, action) {
		client.handle(action, dispatcher(cp, client, action));
	}

	server.on('client', (client) => {
		const cp = client.identity;
		const old = clients.get(cp);
		clients.set(cp, client);
		const info = {
			cp,
			protocol: client.protocol,
			password: client.session.password,
			passwordBytes: client.session.passwordBytes ?? null, /* the Basic-auth password as sent (a Buffer) */
			clientCert: client.session.clientCert,
			clientCN: client.session.clientCert ? client.session.clientCert.cn : null,
			remoteAddress: client.session.remoteAddress,
			path: client.session.path ?? null, /* the request path, e.g. /ocpp/CP1 */
			tls: Boolean(tls),
			connectedAt: Date.now(),
		};
		connectionInfo.set(cp, info);
		client.on('message', ({ message, outbound }) => record(cp, outbound ? 'out' : 'in', message));
		if (client._ws) {
			client._ws.on('ping', () => {
				const p = { index: pings.length, ts: Date.now(), cp };
				pings.push(p);
				emitter.emit('ping', p);
			});
		}
		client.on('strictValidationFailure', (f) => {
			const v = {
				ts: Date.now(),
				cp,
				dir: f.outbound ? 'out' : 'in',
				action: f.method,
				isCall: f.isCall,
				error: f.error ? f.error.message : '',
			};
			validationFailures.push(v);
			if (say) {
				say(`${clock(v.ts)} ${cp} schema violation in ${v.dir === 'in' ? 'incoming' : 'outgoing'} ` +
					`${v.action}${v.isCall ? '' : ' answer'}: ${v.error}`);
			}
		});
		for (const action of new Set([...Object.keys(defaults), ...overrides.keys()])) {
			attachHandler(cp, client, action);
		}
		client.once('close', ({ code, reason }) => {
			if (clients.get(cp) === client) clients.delete(cp);
			recordEvent(cp, 'disconnect', { code, reason: reason ? String(reason) : '', replaced: client.replaced === true });
		});
		recordEvent(cp, 'connect', { info });
		/* A charge point that connects again replaces its old connection. */
		if (old) {
			old.replaced = true;
			old.close({ code: 1000, reason: 'Replaced by a new connection', force: true }).catch(() => {});
		}
	});
	server.on('error', () => {});

	let httpServer;
	let url;
	if (tls) {
		httpServer = https.createServer({
			key: tls.key,
			cert: tls.cert,
			ca: tls.ca,
			requestCert: Boolean(tls.requestCert),
			rejectUnauthorized: tls.rejectUnauthorized ?? Boolean(tls.requestCert),
		});
	} else {
		httpServer = http.createServer();
	}
	httpServer.on('request', (req, res) => {
		res.statusCode = 404;
		res.end();
	});
	httpServer.on('upgrade', server.handleUpgrade);
	httpServer.on('tlsClientError', (err) => {
		const e = { index: tlsErrors.length, ts: Date.now(), code: err && err.code, message: err ? err.message : '' };
		tlsErrors.push(e);
		if (say) say(`${clock(e.ts)} TLS handshake failed: ${e.message}`);
		emitter.emit('tlsError', e);
	});
	const sockets = new Set();
	httpServer.on('connection', (s) => {
		sockets.add(s);
		s.once('close', () => sockets.delete(s));
	});
	httpServer.on('secureConnection', (s) => {
		sockets.add(s);
		s.once('close', () => sockets.delete(s));
	});
	await new Promise((resolve, reject) => {
		httpServer.once('error', reject);
		httpServer.listen({ port, host }, () => {
			httpServer.off('error', reject);
			resolve();
		});
	});
	const boundPort = httpServer.address().port;
	url = tls ? `wss://localhost:${boundPort}/ocpp` : `ws://${host.includes(':') ? `[${host}]` : host}:${boundPort}/ocpp`;

	/* --- waiting ----------------------------------------------------------- */

	function startOf(after, which) {
		if (after === undefined || after === null) return 0;
		if (typeof after === 'number') return after;
		return after[which] ?? 0;
	}

	/* Resolves with the first item of list (from start) that matches, now or later. */
	function waitIn(list, eventName, start, match, timeout, what) {
		for (let i = start; i < list.length; i++) {
			if (match(list[i])) return Promise.resolve(list[i]);
		}
		return new Promise((resolve, reject) => {
			const onItem = (item) => {
				if (item.index < start || !match(item)) return;
				cleanup();
				resolve(item);
			};
			const onClose = () => {
				cleanup();
				reject(new Error(`CSMS closed while waiting for ${what}`));
			};
			const timer = setTimeout(() => {
				cleanup();
				const tail = traffic.slice(-8).map((e) => `  ${e.cp} ${e.dir} ${e.raw}`).join('\n');
				reject(timeoutError(what, timeout, tail ? `last frames:\n${tail}` : 'no frames seen'));
			}, timeout);
			function cleanup() {
				clearTimeout(timer);
				emitter.off(eventName, onItem);
				emitter.off('closed', onClose);
			}
			emitter.on(eventName, onItem);
			emitter.once('closed', onClose);
		});
	}

	/** Resolves with the first frame entry matching pred(entry). */
	function waitForFrame(pred, { after, timeout = DEFAULT_TIMEOUT, what = 'a matching frame' } = {}) {
		return waitIn(traffic, 'frame', startOf(after, 'traffic'), pred, timeout, what);
	}

	function callMatcher(cpId, action, where) {
		return (e) =>
			e.dir === 'in' &&
			e.type === 'CALL' &&
			(cpId == null || e.cp === cpId) &&
			(action == null || e.action === action) &&
			(!where || where(e.payload, e));
	}

	/** Resolves with the traffic entry of the charge point's matching CALL. */
	function waitForCallEntry(cpId, action, { where, after, timeout = DEFAULT_TIMEOUT } = {}) {
		return waitForFrame(callMatcher(cpId, action, where), {
			after,
			timeout,
			what: `${cpId ?? 'any CP'} ${action ?? 'CALL'}${where ? ' (with condition)' : ''}`,
		});
	}

	/** Resolves with the payload of the charge point's matching CALL. */
	async function waitForCall(cpId, action, opts = {}) {
		return (await waitForCallEntry(cpId, action, opts)).payload;
	}

	/** Resolves with the entry of the first raw frame from the CP that pred(raw, entry) accepts. */
	function waitForRawFrame(cpId, pred = () => true, { after, timeout = DEFAULT_TIMEOUT } = {}) {
		return waitForFrame((e) => e.dir === 'in' && e.cp === cpId && pred(e.raw, e), {
			after,
			timeout,
			what: `a raw frame from ${cpId}`,
		});
	}

	/**
	 * Resolves with the connection info once cpId is connected: at once when it is
	 * connected now, else at its next connect; with {after} the first connect since then.
	 */
	async function waitForConnection(cpId, { after, timeout = DEFAULT_TIMEOUT } = {}) {
		let start = startOf(after, 'events');
		if (after === undefined) {
			if (clients.has(cpId)) return connectionInfo.get(cpId);
			start = events.length; /* not connected now: the next connect */
		}
		const ev = await waitIn(events, 'event', start,
			(e) => e.cp === cpId && e.type === 'connect', timeout, `${cpId} to connect`);
		return ev.info;
	}

	/** Resolves with {code, reason} when cpId's connection ends (at once when it is not connected). */
	async function waitForDisconnect(cpId, { after, timeout = DEFAULT_TIMEOUT } = {}) {
		let start = startOf(after, 'events');
		if (after === undefined) {
			if (!clients.has(cpId)) {
				const last = [...events].reverse().find((e) => e.cp === cpId && e.type === 'disconnect');
				return last ? { code: last.code, reason: last.reason } : { code: null, reason: 'never connected' };
			}
			start = events.length;
		}
		const ev = await waitIn(events, 'event', start,
			(e) => e.cp === cpId && e.type === 'disconnect' && !e.replaced, timeout, `${cpId} to disconnect`);
		return { code: ev.code, reason: ev.reason };
	}

	/* --- acting ------------------------------------------------------------ */

	function clientOf(cpId) {
		const c = clients.get(cpId);
		if (!c) throw new Error(`charge point ${cpId} is not connected`);
		return c;
	}

	/**
	 * CS -> CP call. Resolves with the CP's answer; throws the RPC error (err.code is
	 * the error code on the wire, err.rpcErrorCode ocpp-rpc's class code) on a CALLERROR,
	 * a TimeoutError (err.code 'ETIMEDOUT') when the CP does not answer.
	 */
	async function call(cpId, action, payload = {}, { timeout = callTimeout } = {}) {
		const client = clientOf(cpId);
		const start = traffic.length;
		try {
			return await client.call(action, payload, { callTimeoutMs: timeout });
		} catch (err) {
			const sent = traffic.find((e, i) => i >= start && e.cp === cpId && e.dir === 'out' &&
				e.type === 'CALL' && e.action === action);
			const answer = sent && traffic.find((e, i) => i > sent.index && e.cp === cpId &&
				e.dir === 'in' && e.type === 'CALLERROR' && e.id === sent.id);
			if (answer) {
				err.code = answer.error.code;
				err.description = answer.error.description;
				err.details = answer.error.details;
			} else if (err.name === 'TimeoutError' || err.constructor.name === 'TimeoutError') {
				err.code = 'ETIMEDOUT';
			} else if (err.code === undefined) {
				err.code = err.rpcErrorCode;
			}
			throw err;
		}
	}

	/**
	 * Overrides the answer to a charge point's call. fn(payload, cpId, ctx) returns
	 * the response (or a promise of it), throws an RPC error (createRPCError) for a
	 * CALLERROR, or returns NOREPLY (also ctx.NOREPLY) to not answer at all. A promise
	 * answers when it settles (a late answer). ctx: {messageId, method, signal, client,
	 * NOREPLY}. fn null restores the default answer.
	 */
	function handle(action, fn) {
		if (fn === null || fn === undefined) {
			overrides.delete(action);
			return;
		}
		if (typeof fn !== 'function') throw new TypeError('handle(action, fn): fn must be a function or null');
		const isNew = !overrides.has(action) && !(action in defaults);
		overrides.set(action, fn);
		if (isNew) for (const [cp, client] of clients) attachHandler(cp, client, action);
	}

	/**
	 * Sends an arbitrary (possibly malformed) frame to the charge point: a string as a
	 * text frame; a Buffer as a binary frame, or as a text frame with {binary: false}
	 * (bytes that need not be UTF-8). {fragments: n} splits the message into n WebSocket
	 * fragments (a first frame and continuation frames).
	 */
	function sendRaw(cpId, data, { binary, fragments = 1 } = {}) {
		const client = clientOf(cpId);
		if (typeof data === 'string' && binary === undefined && fragments <= 1) {
			client.sendRaw(data);
			return;
		}
		const buf = Buffer.isBuffer(data) ? data : Buffer.from(String(data));
		const isBinary = binary ?? Buffer.isBuffer(data);
		const n = Math.max(1, Math.min(fragments, buf.length || 1));
		const size = Math.ceil(buf.length / n);
		for (let i = 0; i < n; i++) {
			client._ws.send(buf.subarray(i * size, (i + 1) * size), { binary: isBinary, fin: i === n - 1 });
		}
		record(cpId, 'out', buf);
	}

	/** The raw socket of the charge point's current connection. */
	function socketOf(cpId) {
		const client = clientOf(cpId);
		const s = client._ws && client._ws._socket;
		if (!s) throw new Error(`no socket for ${cpId}`);
		return s;
	}

	/**
	 * Stops reading the charge point's connection, as a dead link would: no pongs, no
	 * frames, no close handshake. Returns a function that resumes reading.
	 */
	function freeze(cpId) {
		const s = socketOf(cpId);
		s.pause();
		if (say) say(`${clock(Date.now())} ${cpId} frozen (socket paused)`);
		return () => s.resume();
	}

	/** Keeps the connection but stops answering its WebSocket pings (on = true resumes). */
	function stopPongs(cpId, on = false) {
		clientOf(cpId)._ws._autoPong = on;
	}

	/** Closes the charge point's connection (force: drop the TCP connection without a close frame). */
	async function disconnect(cpId, { code = 1000, reason = '', force = false } = {}) {
		const client = clients.get(cpId);
		if (!client) return;
		await client.close({ code, reason, force });
	}

	/** Positions for {after}: frames, connection events, refusals, TLS errors and pings seen so far. */
	function mark() {
		return {
			traffic: traffic.length,
			events: events.length,
			refusals: refusals.length,
			tlsErrors: tlsErrors.length,
			pings: pings.length,
		};
	}

	/** Resolves with the next refused upgrade of cpId (any when null): {cp, status, reason, password, ...}. */
	function waitForRefusal(cpId, { after, timeout = DEFAULT_TIMEOUT } = {}) {
		return waitIn(refusals, 'refusal', startOf(after, 'refusals'), (r) => cpId == null || r.cp === cpId,
			timeout, `a refused upgrade of ${cpId ?? 'any CP'}`);
	}

	/** Resolves with the next failed TLS handshake: {code, message}. */
	function waitForTlsError({ after, timeout = DEFAULT_TIMEOUT } = {}) {
		return waitIn(tlsErrors, 'tlsError', startOf(after, 'tlsErrors'), () => true, timeout, 'a failed TLS handshake');
	}

	/** Resolves with the next WebSocket ping from cpId. */
	function waitForPing(cpId, { after, timeout = DEFAULT_TIMEOUT } = {}) {
		return waitIn(pings, 'ping', startOf(after, 'pings'), (p) => p.cp === cpId, timeout, `a ping from ${cpId}`);
	}

	/**
	 * A cursor over the traffic: each wait resolves with the first match after the
	 * previous match, so successive waits see successive frames.
	 */
	function cursor(position = traffic.length) {
		const cur = {
			position,
			async waitForCallEntry(cpId, action, opts = {}) {
				const e = await waitForCallEntry(cpId, action, { ...opts, after: cur.position });
				cur.position = e.index + 1;
				return e;
			},
			async waitForCall(cpId, action, opts = {}) {
				return (await cur.waitForCallEntry(cpId, action, opts)).payload;
			},
			async waitForFrame(pred, opts = {}) {
				const e = await waitForFrame(pred, { ...opts, after: cur.position });
				cur.position = e.index + 1;
				return e;
			},
			async waitForRawFrame(cpId, pred, opts = {}) {
				const e = await waitForRawFrame(cpId, pred, { ...opts, after: cur.position });
				cur.position = e.index + 1;
				return e;
			},
		};
		return cur;
	}

	/** The calls a charge point made (optionally of one action), as traffic entries. */
	function calls(cpId, action) {
		return traffic.filter(callMatcher(cpId, action));
	}

	async function close() {
		if (closed) return;
		closed = true;
		emitter.emit('closed');
		const closing = [...server._clients || []].map((c) => c.close({ code: 1001, force: true }).catch(() => {}));
		await Promise.race([
			Promise.all([server.close({ code: 1001, force: true }).catch(() => {}), ...closing]),
			new Promise((r) => setTimeout(r, 2000).unref()),
		]);
		for (const s of sockets) s.destroy();
		await new Promise((resolve) => httpServer.close(() => resolve()));
	}

	return {
		port: boundPort,
		url,
		traffic,
		events,
		refusals,
		tlsErrors,
		pings,
		validationFailures,
		NOREPLY,
		createRPCError,
		waitForConnection,
		waitForDisconnect,
		waitForCall,
		waitForCallEntry,
		waitForFrame,
		waitForRawFrame,
		waitForRefusal,
		waitForTlsError,
		waitForPing,
		call,
		calls,
		handle,
		sendRaw,
		freeze,
		stopPongs,
		disconnect,
		mark,
		cursor,
		/** Info of the charge point's current connection (or the last one), or null. */
		connection: (cpId) => connectionInfo.get(cpId) ?? null,
		/** Whether the charge point is connected now. */
		connected: (cpId) => clients.has(cpId),
		/** Subject CN of the client certificate of the charge point's connection, or null. */
		clientCN: (cpId) => connectionInfo.get(cpId)?.clientCN ?? null,
		/** Number of transaction ids handed out so far. */
		get lastTransactionId() {
			return state.lastTransactionId;
		},
		close,
	};
}

module.exports = { startCsms, createRPCError, NOREPLY, parseFrame };
