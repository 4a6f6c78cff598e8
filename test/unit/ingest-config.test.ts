import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.ts';
import { readIngest } from '../../src/config/ingest-config.ts';

test('hep and kpi sections: every problem reported with its path', () => {
  const r = parseConfigText('kpi:\n  customer: nope\n  inviteTimeout: 0\n  colour: x\n  outcomes: [{ codes: "99", asr: 2, ner: 1, ccr: 1 }]\nhep:\n  listen: bad\n', 'b.yaml');
  assert.ok(!r.ok);
  assert.deepEqual(r.issues.map((i) => i.path).sort(), ['hep.listen', 'kpi.colour', 'kpi.customer', 'kpi.inviteTimeout', 'kpi.outcomes', 'kpi.outcomes'].sort());
});

test('hep and kpi sections become tracker options; defaults when absent', () => {
  const d = readIngest(null, null);
  assert.deepEqual(d.problems, []);
  assert.deepEqual(d.value.hep, { host: '127.0.0.1', port: 9060 });
  assert.equal(d.value.events, null);
  const v = readIngest({ enabled: false }, { customer: { kind: 'cidr', map: { '10.0.0.0/8': 'acme' } }, inviteTimeout: 30, eventsListen: '127.0.0.1:9070', ringing: [180] });
  assert.deepEqual(v.problems, []);
  assert.equal(v.value.hep, null);
  assert.equal(v.value.tracker.inviteTimeoutMs, 30_000);
  assert.deepEqual(v.value.tracker.customer, { kind: 'cidr', map: { '10.0.0.0/8': 'acme' } });
  assert.deepEqual(v.value.events, { host: '127.0.0.1', port: 9070 });
  const bad = readIngest(null, { customer: { kind: 'cidr', map: { '10.0.0.0/99': 'x' } } });
  assert.match(bad.problems[0][1], /bad CIDR/);
});
