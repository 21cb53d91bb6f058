'use strict';
/* The end-to-end harness: real servers as test fixtures.
 *
 * Each test gets a fresh temp dir, a private Mosquitto on a free loopback port
 * configured from the project's etc/mosquitto files, its own topic prefix, a
 * gateway config, the services it asks for, a probe client and optionally the
 * strict test CSMS. Everything waits on events with a timeout (TIMEOUT), never
 * on fixed sleeps, and everything is torn down through the test's after hook,
 * also when the test fails: process groups get SIGTERM, then SIGKILL.
 *
 *   const { test } = require('node:test');
 *   const h = require('./lib/harness');
 *   test('...', async (t) => {
 *     const env = await h.withGateway(t, { services: ['connector'] });
 *     const pong = await env.probe.request('service/connector/ping', { seq: 1 });
 *   });
 *
 * Environment:
 *   SITEGATE_BUILD          CMake build dir (default ./build, relative to the cwd)
 *   SITEGATE_E2E_VERBOSE=1  echo every child's output and the CSMS traffic to stderr
 *   SITEGATE_E2E_KEEP=1     keep the temp dirs (their paths are printed)
 *   SITEGATE_E2E_TIMEOUT_SCALE  multiply every timeout (slow machines, sanitizers)
 */
const assert = require('node:assert');
const { spawn, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const mqtt = require('mqtt');
const msgpack = require('@msgpack/msgpack');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BUILD = path.resolve(process.cwd(), process.env.SITEGATE_BUILD || path.join(ROOT, 'build'));
const VERBOSE = Boolean(process.env.SITEGATE_E2E_VERBOSE);
const KEEP = Boolean(process.env.SITEGATE_E2E_KEEP);
const SCALE = Number(process.env.SITEGATE_E2E_TIMEOUT_SCALE) > 0 ? Number(process.env.SITEGATE_E2E_TIMEOUT_SCALE) : 1;

/** Default timeout of one wait, ms. */
const TIMEOUT = Math.round(10000 * SCALE);
/** Scales a test-specific timeout the same way. */
const ms = (n) => Math.round(n * SCALE);

const PATHS = {
	root: ROOT,
	build: BUILD,
	mosquittoConf: path.join(ROOT, 'etc', 'mosquitto', 'sitegate.conf'),
	mosquittoAcl: path.join(ROOT, 'etc', 'mosquitto', 'sitegate.acl'),
	busCredentials: path.join(ROOT, 'scripts', 'bus-credentials'),
	brokerConfig: path.join(ROOT, 'scripts', 'broker-config'),
	confExample: path.join(ROOT, 'etc', 'sitegate.conf.example'),
	sitegatectl: path.join(BUILD, 'tools', 'sitegatectl', 'sitegatectl'),
};

const PROBE_USER = 'sitegate-probe';

/** Path of a service binary: services/<name>/sitegate-<name>, examples for meter-logger. */
function serviceBinary(name) {
	const dir = name === 'meter-logger' ? path.join('examples', name) : path.join('services', name);
	return path.join(BUILD, dir, `sitegate-${name}`);
}

function log(...args) {
	if (VERBOSE) process.stderr.write(`${args.join(' ')}\n`);
}

function timeoutError(what, timeout, tail) {
	const err = new Error(`timed out after ${timeout} ms waiting for ${what}${tail ? `\n${tail}` : ''}`);
	err.code = 'ETIMEDOUT';
	return err;
}

/* Races promise against a timer; the timer never keeps node alive. */
function withTimeout(promise, timeout, what, tail) {
	let timer;
	return Promise.race([
		promise,
		new Promise((_, reject) => {
			timer = setTimeout(() => reject(timeoutError(what, timeout, typeof tail === 'function' ? tail() : tail)), timeout);
		}),
	]).finally(() => clearTimeout(timer));
}

function tailOf(lines, n = 30, title = 'output') {
	if (!lines.length) return `(${title}: nothing)`;
	return `--- last ${Math.min(n, lines.length)} lines of ${title}:\n${lines.slice(-n).join('\n')}`;
}

/* ------------------------------------------------------------------------ */
/* Processes                                                                 */

const live = new Set();
process.on('exit', () => {
	for (const p of live) {
		try {
			process.kill(-p.pid, 'SIGKILL');
		} catch {
			/* gone already */
		}
	}
});

/**
 * Spawns cmd in its own process group and collects its output line by line.
 * Returns {name, pid, lines (both streams), stdoutLines, stderrLines, exit,
 * exited (promise), waitForLine(), waitForLineCount(), waitExit(), kill(), stop(),
 * running(), tail()}.
 */
function spawnProcess(name, cmd, args, { cwd = ROOT, env } = {}) {
	const child = spawn(cmd, args, {
		cwd,
		env: env || process.env,
		detached: true, /* own process group: kill(-pid) reaches its children too */
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const proc = {
		name,
		cmd,
		args,
		pid: child.pid,
		child,
		lines: [], /* both streams, in arrival order */
		entries: [], /* the same as {stream, line} */
		stdoutLines: [],
		stderrLines: [],
		exit: null, /* {code, signal} once exited */
	};
	const waiters = new Set();
	const onLine = (stream, line) => {
		proc.lines.push(line);
		proc.entries.push({ stream, line });
		(stream === 'stdout' ? proc.stdoutLines : proc.stderrLines).push(line);
		log(`[${name}${stream === 'stdout' ? '' : ':err'}] ${line}`);
		for (const w of waiters) w();
	};
	let open = 2;
	const streamsDone = new Promise((resolve) => {
		for (const [stream, s] of [['stdout', child.stdout], ['stderr', child.stderr]]) {
			const rl = readline.createInterface({ input: s, crlfDelay: Infinity });
			rl.on('line', (l) => onLine(stream, l));
			rl.on('close', () => {
				if (--open === 0) resolve();
			});
		}
	});
	proc.exited = new Promise((resolve, reject) => {
		child.once('error', (err) => {
			live.delete(proc);
			proc.exit = { code: null, signal: null, error: err };
			for (const w of waiters) w();
			if (err.code === 'ENOENT') {
				reject(new Error(`${name}: ${cmd} not found (build with: cmake -S . -B build && cmake --build build)`));
			} else {
				reject(err);
			}
		});
		child.once('exit', async (code, signal) => {
			/* the pipes may still hold lines: read them, but don't hang on a grandchild */
			await Promise.race([streamsDone, new Promise((r) => setTimeout(r, 500))]);
			live.delete(proc);
			proc.exit = { code, signal };
			log(`[${name}] exited code=${code} signal=${signal}`);
			for (const w of waiters) w();
			resolve(proc.exit);
		});
	});
	proc.exited.catch(() => {});
	if (child.pid) live.add(proc);

	proc.tail = (n = 30) => tailOf(proc.lines, n, name);
	proc.running = () => proc.exit === null;

	function pick(stream) {
		if (stream === 'stdout') return proc.stdoutLines;
		if (stream === 'stderr') return proc.stderrLines;
		return proc.lines;
	}

	/* Resolves when check() returns a value other than undefined; fails at exit. */
	function waitUntil(check, what, timeout) {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				waiters.delete(poll);
				reject(timeoutError(`${name}: ${what}`, timeout, proc.tail()));
			}, timeout);
			function poll() {
				const v = check();
				if (v !== undefined) {
					clearTimeout(timer);
					waiters.delete(poll);
					resolve(v);
				} else if (proc.exit) {
					clearTimeout(timer);
					waiters.delete(poll);
					const how = proc.exit.error ? proc.exit.error.message
						: `exited (code ${proc.exit.code}, signal ${proc.exit.signal})`;
					reject(new Error(`${name} ${how} while waiting for ${what}\n${proc.tail()}`));
				}
			}
			waiters.add(poll);
			poll();
		});
	}

	/**
	 * Resolves with {line, index} of the first line (from index `after`, default 0)
	 * matching re. stream: 'stdout', 'stderr' or undefined for both.
	 */
	proc.waitForLine = (re, { stream, after = 0, timeout = TIMEOUT } = {}) => {
		const list = () => pick(stream);
		return waitUntil(() => {
			const l = list();
			for (let i = after; i < l.length; i++) if (re.test(l[i])) return { line: l[i], index: i };
			return undefined;
		}, `a line matching ${re}${stream ? ` on ${stream}` : ''}`, timeout);
	};
	/** Resolves with the lines once the stream has at least n of them. */
	proc.waitForLineCount = (n, { stream = 'stdout', timeout = TIMEOUT } = {}) =>
		waitUntil(() => (pick(stream).length >= n ? pick(stream).slice() : undefined), `${n} lines on ${stream}`, timeout);
	/** Resolves with {code, signal}; rejects after timeout (the process keeps running). */
	proc.waitExit = ({ timeout = TIMEOUT } = {}) =>
		withTimeout(proc.exited, timeout, `${name} to exit`, () => proc.tail());
	/** Sends signal to the whole process group. */
	proc.kill = (signal = 'SIGTERM') => {
		if (proc.exit) return false;
		try {
			process.kill(-child.pid, signal);
			return true;
		} catch {
			try {
				return child.kill(signal);
			} catch {
				return false;
			}
		}
	};
	/** SIGTERM, then SIGKILL after grace ms; resolves with the exit. */
	proc.stop = async ({ grace = ms(3000) } = {}) => {
		if (proc.exit) return proc.exit;
		proc.kill('SIGTERM');
		try {
			return await withTimeout(proc.exited, grace, `${name} to stop`);
		} catch {
			proc.kill('SIGKILL');
			return proc.exited.catch(() => proc.exit);
		}
	};
	return proc;
}

/** Runs a program to completion: {code, signal, stdout, stderr}. Kills it after timeout. */
function run(cmd, args, { timeout = TIMEOUT, cwd = ROOT, env, input } = {}) {
	return new Promise((resolve, reject) => {
		const child = execFile(cmd, args, { cwd, env: env || process.env, timeout, killSignal: 'SIGKILL', maxBuffer: 64 << 20 },
			(err, stdout, stderr) => {
				if (err && err.code === 'ENOENT') {
					reject(new Error(`${cmd} not found (build with: cmake -S . -B build && cmake --build build)`));
				} else if (err && err.killed) {
					reject(timeoutError(`${path.basename(cmd)} ${args.join(' ')}`, timeout, `stdout:\n${stdout}\nstderr:\n${stderr}`));
				} else {
					const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
					resolve({ code, signal: err ? err.signal ?? null : null, stdout, stderr });
				}
			});
		if (input !== undefined) child.stdin.end(input);
	});
}

/* ------------------------------------------------------------------------ */
/* Network                                                                   */

/** A free TCP port on 127.0.0.1 (listen on port 0, close, return it). */
function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.once('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

function tryConnect(port, host = '127.0.0.1') {
	return new Promise((resolve) => {
		const s = net.connect({ port, host });
		const done = (ok) => {
			s.destroy();
			resolve(ok);
		};
		s.setTimeout(500, () => done(false));
		s.once('connect', () => done(true));
		s.once('error', () => done(false));
	});
}

/** Retries TCP connects with a short backoff until one succeeds; fails fast when proc exits. */
async function waitForPort(port, { timeout = TIMEOUT, proc } = {}) {
	const deadline = Date.now() + timeout;
	let delay = 10;
	for (;;) {
		if (proc && proc.exit) {
			throw new Error(`${proc.name} exited (code ${proc.exit.code}, signal ${proc.exit.signal}) before port ${port} was open\n${proc.tail()}`);
		}
		if (await tryConnect(port)) return;
		if (Date.now() >= deadline) {
			throw timeoutError(`port ${port} to accept connections`, timeout, proc ? proc.tail() : '');
		}
		await new Promise((r) => setTimeout(r, delay));
		delay = Math.min(delay * 2, 200);
	}
}

/* ------------------------------------------------------------------------ */
/* Environment: temp dir, prefix, teardown                                   */

/**
 * A fresh test environment: {dir, prefix, confPath, broker, csms, probe, ...}.
 * Registers its teardown with t.after() when t is given; otherwise call env.teardown().
 */
function makeEnv(t) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sitegate-e2e-'));
	const env = {
		dir,
		prefix: `t${crypto.randomBytes(5).toString('hex')}`,
		confPath: null,
		broker: null,
		csms: null,
		probe: null,
		services: new Map(),
		processes: [],
		cleanups: [],
	};
	env.topic = (rel) => (rel.startsWith(`${env.prefix}/`) ? rel : `${env.prefix}/${rel}`);
	env.onTeardown = (fn) => env.cleanups.push(fn);
	env.teardown = async () => {
		const errors = [];
		while (env.cleanups.length) {
			const fn = env.cleanups.pop();
			try {
				await fn();
			} catch (err) {
				errors.push(err);
			}
		}
		if (KEEP) {
			process.stderr.write(`SITEGATE_E2E_KEEP: kept ${dir}\n`);
		} else {
			fs.rmSync(dir, { recursive: true, force: true });
		}
		for (const err of errors) process.stderr.write(`teardown: ${err.stack || err}\n`);
	};
	env.startBroker = (opts) => startBroker(env, opts);
	env.writeGatewayConfig = (opts) => writeGatewayConfig(env, opts);
	env.startService = (name, opts) => startService(env, name, opts);
	env.startProbe = (opts) => probe(env, opts);
	env.ctl = (args, opts) => ctl(env, args, opts);
	env.ctlSpawn = (args, opts) => ctlSpawn(env, args, opts);
	/** Every process's output so far, for assertion messages. */
	env.logs = (n = 40) => env.processes.map((p) => p.tail(n)).join('\n');
	if (t) t.after(() => env.teardown());
	return env;
}

/* ------------------------------------------------------------------------ */
/* Broker                                                                    */

/** The probe user of tests/e2e: may read and write everything under the prefix. */
function probeAclLines(prefix) {
	return ['', '# (test) the probe client of tests/e2e', `user ${PROBE_USER}`, `topic readwrite ${prefix}/#`, ''].join('\n');
}

/**
 * Starts a private Mosquitto: {port, prefix, dir, passwordDir, probePassword,
 * confPath, proc, stop(), restart(), kill()}. opts.port fixes the port.
 */
async function startBroker(env, opts = {}) {
	const credScript = PATHS.busCredentials;
	const credDir = path.join(env.dir, 'credentials');
	const dir = credDir; /* scripts/broker-config writes the conf and the ACL beside the passwords */
	fs.mkdirSync(credDir, { recursive: true });

	const cred = await run(credScript, [credDir], { timeout: ms(30000) });
	if (cred.code !== 0) {
		throw new Error(`${path.relative(ROOT, credScript)} ${credDir} exited ${cred.code}\n${cred.stdout}${cred.stderr}`);
	}
	const passwordDir = path.join(credDir, 'passwords');
	const passwordFile = path.join(credDir, 'mosquitto.passwd');
	if (!fs.existsSync(passwordFile)) throw new Error(`bus-credentials wrote no ${passwordFile}`);

	const probePassword = crypto.randomBytes(12).toString('hex');
	const pw = await run('mosquitto_passwd', ['-b', passwordFile, PROBE_USER, probePassword]);
	if (pw.code !== 0) throw new Error(`mosquitto_passwd failed: ${pw.stderr}`);
	fs.chmodSync(passwordFile, 0o600);

	/* The project's broker config and ACL, as the demo uses them (scripts/broker-config). */
	const port = opts.port || (await freePort());
	const bc = await run(PATHS.brokerConfig, [credDir, String(port), env.prefix], { timeout: ms(30000) });
	if (bc.code !== 0) throw new Error(`scripts/broker-config exited ${bc.code}\n${bc.stdout}${bc.stderr}`);
	const aclFile = path.join(credDir, 'mosquitto.acl');
	fs.appendFileSync(aclFile, probeAclLines(env.prefix));
	const confPath = path.join(credDir, 'mosquitto.conf');

	const broker = {
		port,
		host: '127.0.0.1',
		prefix: env.prefix,
		dir,
		passwordDir,
		passwordFile,
		aclFile,
		confPath,
		probeUser: PROBE_USER,
		probePassword,
		proc: null,
		generation: 0,
		/** Every broker run's output, for diagnostics. */
		logs: [],
	};

	async function launch() {
		/* after a restart the old socket may linger briefly: retry a bind failure */
		for (let attempt = 0; ; attempt++) {
			broker.generation++;
			const proc = spawnProcess(`mosquitto#${broker.generation}`, 'mosquitto', ['-c', confPath]);
			broker.proc = proc;
			env.processes.push(proc);
			try {
				await waitForPort(port, { proc, timeout: TIMEOUT });
				return;
			} catch (err) {
				const bindFailure = proc.exit && proc.lines.some((l) => /Address already in use/i.test(l));
				if (!bindFailure || attempt >= 20) throw err;
				await new Promise((r) => setTimeout(r, 100));
			}
		}
	}

	/** SIGTERM (mosquitto saves its persistence db) and wait for the exit. */
	broker.stop = async () => {
		if (!broker.proc || broker.proc.exit) return broker.proc && broker.proc.exit;
		broker.proc.kill('SIGTERM');
		return broker.proc.waitExit({ timeout: TIMEOUT });
	};
	/** Stops and starts again on the same port; resolves when it accepts connections. */
	broker.restart = async () => {
		await broker.stop();
		await launch();
	};
	/** Kills without letting it save anything. */
	broker.kill = async (signal = 'SIGKILL') => {
		if (!broker.proc || broker.proc.exit) return;
		broker.proc.kill(signal);
		await broker.proc.waitExit({ timeout: TIMEOUT });
	};
	broker.tail = (n) => (broker.proc ? broker.proc.tail(n) : '(broker not started)');

	await launch();
	env.broker = broker;
	env.onTeardown(async () => {
		if (broker.proc && !broker.proc.exit) await broker.proc.stop();
	});
	return broker;
}

/* ------------------------------------------------------------------------ */
/* Gateway configuration (libconfig)                                         */

function confScalar(v) {
	if (typeof v === 'string') return JSON.stringify(v); /* libconfig strings use C escapes: a subset of JSON's */
	if (typeof v === 'boolean') return v ? 'true' : 'false';
	if (typeof v === 'number') {
		if (!Number.isFinite(v)) throw new Error(`config: ${v} cannot be written`);
		return String(v);
	}
	if (v instanceof ConfFloat) return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
	throw new Error(`config: cannot write ${typeof v}`);
}

/** Marks a number to be written as a libconfig float even when it is whole (32 → 32.0). */
class ConfFloat {
	constructor(value) {
		this.value = value;
	}
}
const float = (v) => new ConfFloat(v);

function confValue(v, indent) {
	const pad = '  '.repeat(indent);
	if (Array.isArray(v)) {
		if (v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof ConfFloat))) {
			return `(\n${v.map((x) => `${pad}  ${confValue(x, indent + 1)}`).join(',\n')}\n${pad})`;
		}
		return `[ ${v.map(confScalar).join(', ')} ]`;
	}
	if (v && typeof v === 'object' && !(v instanceof ConfFloat)) {
		const body = Object.entries(v)
			.filter(([, x]) => x !== undefined)
			.map(([k, x]) => `${pad}  ${k} = ${confValue(x, indent + 1)};`)
			.join('\n');
		return `{\n${body}\n${pad}}`;
	}
	return confScalar(v);
}

/** Serializes a plain object as a libconfig file (groups, lists of groups, arrays). */
function toLibconfig(obj) {
	return `${Object.entries(obj)
		.filter(([, v]) => v !== undefined)
		.map(([k, v]) => `${k} = ${confValue(v, 0)};`)
		.join('\n')}\n`;
}

function mergeDeep(base, extra) {
	for (const [k, v] of Object.entries(extra || {})) {
		if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof ConfFloat) &&
			base[k] && typeof base[k] === 'object' && !Array.isArray(base[k])) {
			mergeDeep(base[k], v);
		} else {
			base[k] = v;
		}
	}
	return base;
}

/**
 * Writes <dir>/sitegate.conf for the services and returns its path.
 * chargePoints: ['CP1', ...] or [{id, connectors: 2 | [{id: 1, ...}], ...other cp settings}];
 * default one CP1 with connectors 1 and 2. extra: settings deep-merged at top level
 * (use harness.float(32) for a whole float). csmsUrl: csms.url (default env.csms.url, and
 * without a CSMS ws://127.0.0.1:1/ocpp, which refuses connections).
 */
function writeGatewayConfig(env, { csmsUrl, chargePoints = ['CP1'], extra } = {}) {
	assert.ok(env.broker, 'writeGatewayConfig: start the broker first');
	const stateDir = path.join(env.dir, 'state');
	fs.mkdirSync(stateDir, { recursive: true });
	const cps = chargePoints.map((cp) => {
		const c = typeof cp === 'string' ? { id: cp } : { ...cp };
		let conns = c.connectors ?? 2;
		if (typeof conns === 'number') conns = Array.from({ length: conns }, (_, i) => ({ id: i + 1 }));
		c.connectors = conns.map((x) => (typeof x === 'number' ? { id: x } : x));
		return c;
	});
	/* Without a CSMS: a port nothing listens on, never the default ws://127.0.0.1:9000/ocpp,
	 * where a demo CSMS may run on this machine. */
	const url = csmsUrl ?? (env.csms ? env.csms.url : 'ws://127.0.0.1:1/ocpp');
	const conf = {
		state_dir: stateDir,
		log_level: 'debug',
		broker: {
			host: '127.0.0.1',
			port: env.broker.port,
			prefix: env.prefix,
			password_dir: env.broker.passwordDir,
		},
		csms: { url },
		charge_points: cps,
	};
	mergeDeep(conf, extra);
	const file = path.join(env.dir, 'sitegate.conf');
	fs.writeFileSync(file, `# written by tests/e2e/lib/harness.js\n${toLibconfig(conf)}`);
	env.confPath = file;
	env.config = conf;
	return file;
}

/* ------------------------------------------------------------------------ */
/* Probe: an MQTT v5 client playing a neighbouring service                   */

/** MQTT topic filter matching (+ and #). */
function topicMatches(filter, topic) {
	const f = filter.split('/');
	const t = topic.split('/');
	for (let i = 0; i < f.length; i++) {
		if (f[i] === '#') return true;
		if (i >= t.length) return false;
		if (f[i] !== '+' && f[i] !== t[i]) return false;
	}
	return f.length === t.length;
}

function decodePayload(buf) {
	try {
		return { payload: msgpack.decode(buf), decodeError: null };
	} catch (err) {
		return { payload: undefined, decodeError: err.message };
	}
}

/**
 * Connects an MQTT v5 client as sitegate-probe. Topics given to its methods are
 * relative to the test's prefix unless they already start with it. Every
 * received message is kept in probe.messages as {index, ts, topic, payload,
 * raw, retained, properties, decodeError}; waits look at messages received
 * before they started too, unless given {after: probe.mark()}.
 */
async function probe(env, { user = PROBE_USER, password, clientId } = {}) {
	assert.ok(env.broker, 'probe: start the broker first');
	const prefix = env.prefix;
	const replyTopic = `${prefix}/reply/${user}`;
	const id = clientId || `${user}-${crypto.randomBytes(4).toString('hex')}`;
	const client = mqtt.connect(`mqtt://127.0.0.1:${env.broker.port}`, {
		protocolVersion: 5,
		clientId: id,
		username: user,
		password: password ?? (user === PROBE_USER ? env.broker.probePassword : undefined),
		clean: true,
		reconnectPeriod: 200,
		connectTimeout: ms(5000),
		resubscribe: true,
	});
	try {
		await withTimeout(new Promise((resolve, reject) => {
			client.once('connect', resolve);
			client.once('error', reject);
		}), TIMEOUT, `the probe "${user}" to connect to the broker on port ${env.broker.port}`,
		() => (env.broker.tail ? env.broker.tail() : ''));
	} catch (err) {
		client.end(true);
		throw err;
	}
	const messages = [];
	const waiters = new Set();
	const subscribed = new Set();
	let closed = false;
	client.on('error', (err) => log(`[probe] ${err.message}`));
	client.on('message', (topic, raw, packet) => {
		const { payload, decodeError } = decodePayload(raw);
		const m = {
			index: messages.length,
			ts: Date.now(),
			topic,
			payload,
			decodeError,
			raw,
			retained: Boolean(packet.retain),
			properties: packet.properties || {},
		};
		messages.push(m);
		log(`[probe] ${topic}${m.retained ? ' (retained)' : ''} ${decodeError ? `<undecodable ${raw.length} bytes>` : JSON.stringify(payload)}`);
		for (const w of waiters) w(m);
	});
	const abs = (topic) => (topic.startsWith(`${prefix}/`) ? topic : `${prefix}/${topic}`);

	async function subscribe(pattern, { qos = 1 } = {}) {
		const filter = abs(pattern);
		const granted = await client.subscribeAsync(filter, { qos });
		for (const g of granted) {
			if (g.qos >= 0x80) throw new Error(`probe: subscription to "${filter}" refused (reason 0x${g.qos.toString(16)})`);
		}
		subscribed.add(filter);
	}

	function describe(filter) {
		const seen = messages.slice(-10).map((m) => `  ${m.topic}${m.retained ? ' (retained)' : ''} ` +
			`${m.decodeError ? '<undecodable>' : JSON.stringify(m.payload)}`);
		return seen.length ? `last messages:\n${seen.join('\n')}` : 'no messages received';
	}

	/**
	 * Resolves with the first message {topic, payload, retained, ...} on a topic
	 * matching pattern for which pred(payload, message) holds. Subscribes first
	 * when the pattern is new.
	 */
	async function waitFor(pattern, pred = () => true, { timeout = TIMEOUT, after = 0 } = {}) {
		const filter = abs(pattern);
		const match = (m) => topicMatches(filter, m.topic) && pred(m.payload, m);
		for (let i = after; i < messages.length; i++) if (match(messages[i])) return messages[i];
		let onMsg;
		const found = new Promise((resolve) => {
			onMsg = (m) => {
				if (m.index >= after && match(m)) resolve(m);
			};
			waiters.add(onMsg);
		});
		try {
			if (!subscribed.has(filter)) await subscribe(filter);
			return await withTimeout(found, timeout, `a message on ${filter}`, () => describe(filter));
		} finally {
			waiters.delete(onMsg);
		}
	}

	/** Publishes obj msgpack-encoded (v: 1 added when missing). */
	async function publish(topic, obj, { retain = false, qos = 1, properties } = {}) {
		const body = 'v' in obj ? obj : { v: 1, ...obj };
		await client.publishAsync(abs(topic), Buffer.from(msgpack.encode(body)), { retain, qos, properties });
	}

	/** Publishes bytes as they are. responseTopic / correlationData set the MQTT v5 properties. */
	async function publishRaw(topic, buffer, { retain = false, qos = 1, responseTopic, correlationData, properties } = {}) {
		const props = { ...(properties || {}) };
		if (responseTopic) props.responseTopic = abs(responseTopic);
		if (correlationData) props.correlationData = Buffer.from(correlationData);
		await client.publishAsync(abs(topic), Buffer.from(buffer), {
			retain,
			qos,
			properties: Object.keys(props).length ? props : undefined,
		});
	}

	/**
	 * A request: publishes obj with response topic <prefix>/reply/<user> and random
	 * correlation data; resolves with the decoded reply payload (the whole message
	 * with {full: true}).
	 */
	async function request(topic, obj, { timeout = TIMEOUT, full = false, qos = 1 } = {}) {
		if (!subscribed.has(replyTopic)) await subscribe(replyTopic);
		const corr = crypto.randomBytes(8);
		const start = messages.length;
		const reply = waitFor(replyTopic, (p, m) => Buffer.isBuffer(m.properties.correlationData) &&
			m.properties.correlationData.equals(corr), { timeout, after: start });
		const body = 'v' in obj ? obj : { v: 1, ...obj };
		await client.publishAsync(abs(topic), Buffer.from(msgpack.encode(body)), {
			qos,
			properties: { responseTopic: replyTopic, correlationData: corr },
		});
		const m = await reply;
		return full ? m : m.payload;
	}

	/**
	 * Answers the request message m (as waitFor() returns it): publishes obj (v: 1 added
	 * when missing) to its response topic with its correlation data.
	 */
	async function reply(m, obj) {
		const rt = m.properties.responseTopic;
		if (!rt) throw new Error(`probe: ${m.topic} carries no response topic`);
		const body = 'v' in obj ? obj : { v: 1, ...obj };
		await client.publishAsync(rt, Buffer.from(msgpack.encode(body)), {
			qos: 1,
			properties: m.properties.correlationData ? { correlationData: m.properties.correlationData } : undefined,
		});
	}

	/**
	 * Plays the owner of requests on pattern: for every request from now on,
	 * fn(payload, message) returns the reply object (or a promise of it), or undefined
	 * to leave it unanswered. Resolves once subscribed; the returned function stops it.
	 */
	async function serve(pattern, fn) {
		const filter = abs(pattern);
		let active = true;
		const onMsg = (m) => {
			if (!active || !topicMatches(filter, m.topic) || !m.properties.responseTopic) return;
			Promise.resolve()
				.then(() => fn(m.payload, m))
				.then((r) => (r === undefined || !active ? undefined : reply(m, r)))
				.catch((err) => log(`[probe] serving ${m.topic}: ${err.message}`));
		};
		waiters.add(onMsg);
		if (!subscribed.has(filter)) await subscribe(filter);
		return () => {
			active = false;
			waiters.delete(onMsg);
		};
	}

	async function close() {
		if (closed) return;
		closed = true;
		await new Promise((resolve) => client.end(true, {}, () => resolve()));
	}

	const p = {
		client,
		clientId: id,
		user,
		prefix,
		replyTopic,
		messages,
		topic: abs,
		subscribe,
		waitFor,
		publish,
		publishRaw,
		request,
		reply,
		serve,
		/** Position for {after}: only messages from now on. */
		mark: () => messages.length,
		connected: () => client.connected,
		close,
	};
	env.onTeardown(close);
	return p;
}

/* ------------------------------------------------------------------------ */
/* Services and sitegatectl                                                  */

/**
 * Starts sitegate-<name> -c <conf> -v (plus args). Resolves once the probe sees
 * its retained service status "online" (for this pid, when the status carries
 * one) — or at once with {ready: false}. Returns the process handle with
 * waitForLog(re, {timeout, after}).
 */
async function startService(env, name, { args = [], ready = true, timeout = TIMEOUT, binary } = {}) {
	assert.ok(env.confPath, 'startService: write the gateway config first');
	const bin = binary || serviceBinary(name);
	if (!env.probe && ready) env.probe = await probe(env);
	const since = env.probe ? env.probe.mark() : 0;
	const proc = spawnProcess(name, bin, ['-c', env.confPath, '-v', ...args]);
	env.processes.push(proc);
	env.services.set(name, proc);
	env.onTeardown(() => proc.stop());
	proc.waitForLog = (re, opts) => proc.waitForLine(re, opts);
	/** Resolves with the status message of this process with the given state. */
	proc.waitForStatus = (state, { after = 0, timeout: to = TIMEOUT } = {}) =>
		env.probe.waitFor(`service/${name}/status`,
			(p) => p && p.state === state && (p.pid === undefined || p.pid === proc.pid), { after, timeout: to });
	if (ready) {
		const online = proc.waitForStatus('online', { after: since, timeout });
		const died = proc.exited.then((e) => {
			throw new Error(`${name} exited (code ${e.code}, signal ${e.signal}) before it was online\n${proc.tail()}`);
		});
		try {
			await Promise.race([online, died]);
		} catch (err) {
			err.message += `\n${proc.tail()}`;
			throw err;
		}
		died.catch(() => {});
	}
	return proc;
}

function ctlArgs(env, args) {
	assert.ok(env.confPath, 'ctl: write the gateway config first');
	return ['-c', env.confPath, ...args];
}

/** Runs sitegatectl -c <conf> ...args to completion: {code, signal, stdout, stderr}. */
function ctl(env, args, { timeout = TIMEOUT } = {}) {
	return run(PATHS.sitegatectl, ctlArgs(env, args), { timeout });
}

/** Starts a long-running sitegatectl (monitor, ping --count): a process handle with waitForLine(). */
function ctlSpawn(env, args) {
	const command = args.find((a) => !a.startsWith('-')) || '';
	const proc = spawnProcess(`sitegatectl ${command}`.trim(), PATHS.sitegatectl, ctlArgs(env, args));
	env.processes.push(proc);
	env.onTeardown(() => proc.stop());
	return proc;
}

/* ------------------------------------------------------------------------ */
/* Throwaway PKI (openssl CLI) for security profiles 2 and 3                 */

/**
 * Makes a CA, a server certificate for localhost (SAN DNS:localhost,
 * IP:127.0.0.1; serverNames replaces that list, e.g. ['DNS:other.example'])
 * and one client certificate per name in clients (subject CN = the name, as
 * OCPP security profile 3 wants the charge point id) in dir.
 * Returns file paths and contents: {dir, ca: {key, cert, keyPem, certPem},
 * server: {...}, clients: {CP1: {...}}}.
 */
async function makePki(dir, { clients = [], caName = 'Sitegate Test CA', days = 2,
	serverNames = ['DNS:localhost', 'IP:127.0.0.1'] } = {}) {
	fs.mkdirSync(dir, { recursive: true });
	const f = (n) => path.join(dir, n);
	const ossl = async (...args) => {
		const r = await run('openssl', args, { timeout: ms(30000) });
		if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
	};
	const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
	await ossl('req', '-x509', ...ecKey, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', String(days),
		'-subj', `/CN=${caName}`,
		'-addext', 'basicConstraints=critical,CA:TRUE',
		'-addext', 'keyUsage=critical,keyCertSign,cRLSign');
	async function issue(name, cn, ext) {
		fs.writeFileSync(f(`${name}.ext`), ext);
		await ossl('req', '-new', ...ecKey, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
		await ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
			'-CAcreateserial', '-out', f(`${name}.crt`), '-days', String(days), '-extfile', f(`${name}.ext`));
		return {
			key: f(`${name}.key`),
			cert: f(`${name}.crt`),
			keyPem: fs.readFileSync(f(`${name}.key`)),
			certPem: fs.readFileSync(f(`${name}.crt`)),
		};
	}
	const serverCn = (serverNames.find((n) => n.startsWith('DNS:')) || 'DNS:localhost').slice(4);
	const server = await issue('server', serverCn,
		'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
		`subjectAltName=${serverNames.join(',')}\n`);
	const out = {
		dir,
		ca: { key: f('ca.key'), cert: f('ca.crt'), keyPem: fs.readFileSync(f('ca.key')), certPem: fs.readFileSync(f('ca.crt')) },
		server,
		clients: {},
	};
	for (const name of clients) {
		out.clients[name] = await issue(`client-${name}`, name,
			'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
	}
	return out;
}

/* ------------------------------------------------------------------------ */
/* All of it                                                                 */

/**
 * Sets up temp dir + broker + gateway config + probe (+ the test CSMS, + services)
 * and registers the teardown with t.after(). Options:
 *   csms: true or startCsms() options   chargePoints, config (extra settings)
 *   services: names to start (in order, each waited online)   probe: false to skip
 * Returns the env: {dir, prefix, broker, confPath, csms, probe, topic(), startService(),
 * ctl(), ctlSpawn(), logs(), ...}.
 */
async function withGateway(t, { csms = false, chargePoints, config, services = [], probe: wantProbe = true } = {}) {
	const env = makeEnv(t);
	if (csms) {
		const { startCsms } = require('../../csms/csms');
		const opts = csms === true ? {} : { ...csms };
		if (VERBOSE && !opts.log) opts.log = (l) => process.stderr.write(`[csms] ${l}\n`);
		env.csms = await startCsms(opts);
		env.onTeardown(() => env.csms.close());
	}
	await startBroker(env);
	writeGatewayConfig(env, { chargePoints, extra: config });
	if (wantProbe) env.probe = await probe(env);
	for (const name of services) await startService(env, name);
	return env;
}

module.exports = {
	TIMEOUT,
	ms,
	PATHS,
	PROBE_USER,
	freePort,
	waitForPort,
	makeEnv,
	makePki,
	startBroker,
	writeGatewayConfig,
	toLibconfig,
	float,
	startService,
	serviceBinary,
	probe,
	ctl,
	ctlSpawn,
	withGateway,
	spawnProcess,
	run,
	topicMatches,
	withTimeout,
};
