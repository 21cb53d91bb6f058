'use strict';
/* examples/meter-logger: a third-party service built only on the public bus API. */
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

test('meter-logger logs each meter sample and survives a malformed one', { timeout: h.ms(60000) }, async (t) => {
	const env = await h.withGateway(t, { services: ['meter-logger'] });
	const logger = env.services.get('meter-logger');
	const topic = 'CP1/1/meter';

	let mark = logger.lines.length;
	await env.probe.publish(topic, { ts: Date.now(), energy_wh: 4200, power_w: 7360.5 }, { qos: 0 });
	const first = await logger.waitForLog(/CP1\/1.*energy=4200(\.0+)? Wh/, { after: mark });
	assert.match(first.line, /^<\d>meter-logger: /, 'one log line with priority and ident');

	/* energy_wh of the wrong type */
	mark = logger.lines.length;
	await env.probe.publish(topic, { ts: Date.now(), energy_wh: 'lots', power_w: 1 }, { qos: 0 });
	await logger.waitForLog(/malformed/i, { after: mark });

	mark = logger.lines.length;
	await env.probe.publish('CP1/2/meter', { ts: Date.now(), energy_wh: 4300 }, { qos: 0 });
	const next = await logger.waitForLog(/energy=4300(\.0+)? Wh/, { after: mark });
	assert.match(next.line, /CP1\/2/);
	assert.equal(logger.running(), true);
	assert.equal(logger.lines.slice(mark).filter((l) => /energy=/.test(l)).length, 1, 'nothing logged for the malformed sample');
});
