#!/usr/bin/env node
'use strict';
/* The test CSMS as a program, for demos and manual runs:
 *
 *   node tests/csms/server.js [--port 9000] [--host 127.0.0.1] [--quiet]
 *                             [--password CP1=secret ...] [--configure KEY=VALUE ...]
 *                             [--tls-key key.pem --tls-cert cert.pem [--tls-ca ca.pem] [--require-client-cert]]
 *
 * Prints every OCPP frame as it passes, one line each ("12:00:01.123 CP1 → CSMS  [2,...]"),
 * and connects/disconnects; --quiet prints only the listening line and errors.
 * Answers with the default (schema-valid) responses of csms.js; with --configure it also
 * sends each charge point a ChangeConfiguration per KEY=VALUE once its BootNotification is
 * accepted, as an operator's back office would. Stops on SIGINT/SIGTERM. */
const fs = require('node:fs');
const { parseArgs } = require('node:util');
const { startCsms } = require('./csms');

const USAGE = `usage: node tests/csms/server.js [--port N] [--host ADDR] [--quiet]
       [--password CP=SECRET]... [--configure KEY=VALUE]... [--tls-key FILE --tls-cert FILE [--tls-ca FILE] [--require-client-cert]]`;

function fail(msg) {
	process.stderr.write(`${msg}\n${USAGE}\n`);
	process.exit(64);
}

async function main() {
	let opts;
	try {
		opts = parseArgs({
			options: {
				port: { type: 'string', default: '9000' },
				host: { type: 'string', default: '127.0.0.1' },
				quiet: { type: 'boolean', short: 'q', default: false },
				password: { type: 'string', multiple: true, default: [] },
				configure: { type: 'string', multiple: true, default: [] },
				'tls-key': { type: 'string' },
				'tls-cert': { type: 'string' },
				'tls-ca': { type: 'string' },
				'require-client-cert': { type: 'boolean', default: false },
				help: { type: 'boolean', short: 'h', default: false },
			},
			strict: true,
		}).values;
	} catch (err) {
		fail(err.message);
	}
	if (opts.help) {
		process.stdout.write(`${USAGE}\n`);
		return;
	}
	const port = Number(opts.port);
	if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port "${opts.port}"`);

	let auth;
	if (opts.password.length) {
		const passwords = {};
		for (const p of opts.password) {
			const eq = p.indexOf('=');
			if (eq <= 0) fail(`invalid --password "${p}" (expected CP=SECRET)`);
			passwords[p.slice(0, eq)] = p.slice(eq + 1);
		}
		auth = { passwords };
	}

	let tls;
	if (opts['tls-key'] || opts['tls-cert']) {
		if (!opts['tls-key'] || !opts['tls-cert']) fail('--tls-key and --tls-cert go together');
		tls = {
			key: fs.readFileSync(opts['tls-key']),
			cert: fs.readFileSync(opts['tls-cert']),
			ca: opts['tls-ca'] ? fs.readFileSync(opts['tls-ca']) : undefined,
			requestCert: opts['require-client-cert'],
			rejectUnauthorized: opts['require-client-cert'],
		};
	}

	const settings = opts.configure.map((kv) => {
		const eq = kv.indexOf('=');
		if (eq <= 0) fail(`invalid --configure "${kv}" (expected KEY=VALUE)`);
		return { key: kv.slice(0, eq), value: kv.slice(eq + 1) };
	});

	const print = (line) => process.stdout.write(`${line}\n`);
	/* handlers first: a signal may come as soon as the listening line is out */
	let csms = null;
	let stopping = false;
	const stop = async (sig) => {
		if (stopping) return;
		stopping = true;
		if (!opts.quiet) print(`${sig}: closing`);
		if (csms) await csms.close();
		process.exit(0);
	};
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));

	csms = await startCsms({ port, host: opts.host, auth, tls, log: opts.quiet ? undefined : print });
	if (stopping) {
		await csms.close();
		return;
	}
	if (settings.length) {
		csms.handle('BootNotification', (params, cp) => {
			/* after our answer is on its way: the charge point is registered then */
			setTimeout(async () => {
				for (const kv of settings) {
					try {
						await csms.call(cp, 'ChangeConfiguration', kv);
					} catch (err) {
						process.stderr.write(`csms: ChangeConfiguration ${kv.key} on ${cp}: ${err.message}\n`);
					}
				}
			}, 50);
			return { status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 };
		});
	}
	print(`CSMS listening on ${csms.url}`);
}

main().catch((err) => {
	process.stderr.write(`csms: ${err.message}\n`);
	process.exit(1);
});
