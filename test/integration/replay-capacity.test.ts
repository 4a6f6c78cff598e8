/**
 * `sipstats replay` prints the capacity columns (CC, CC_max, CPS, CPS_max) of the recorded Kamailio
 * run (test/fixtures/kamailio-5.6): CPS over the capture's own duration when it is shorter than the
 * window (a 1-minute window spans 50-60 s; the capture lasts 3.9 s), checked against tshark's count
 * of the INVITEs on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const FILE = 'test/fixtures/kamailio-5.6/sip.pcap';

test('replay --by customer: CC_max, CPS over the capture, CPS_max per customer and for all traffic', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', '--no-progress', '--platform', '127.0.0.1/32', '--config', '/dev/null', FILE], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = /KPIs over 1 minute \(rates over the capture's ([0-9.]+) s\)\n(.*)\n((?:.*\n)*?)\n/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const span = Number(m[1]);
  const head = m[2].split(/\s{2,}/);
  const rows = m[3].trim().split('\n').map((l) => l.split(/\s{2,}/));
  const col = (name: string) => head.indexOf(name);
  for (const c of ['CC', 'CC_max', 'CPS (/s)', 'CPS_max (/s)']) assert.ok(col(c) > 0, `column ${c}: ${m[2]}`);
  const all = rows.find((x) => x[0] === '(all)')!;
  // the calls: INVITEs in from the customers (127.0.0.11 and .12), once each (tshark reads the wire)
  const t = spawnSync('tshark', ['-r', FILE, '-Y', 'sip.Method == "INVITE" && ip.dst == 127.0.0.1', '-T', 'fields', '-e', 'sip.Call-ID'], { encoding: 'utf8' });
  assert.equal(t.status, 0, `tshark (Debian package tshark): ${t.stderr}`);
  const calls = new Set(t.stdout.trim().split('\n')).size;
  assert.equal(calls, 12);
  // over the capture's duration: from its first packet to its last (tshark's frame times)
  const times = spawnSync('tshark', ['-r', FILE, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
  const seconds = times[times.length - 1] - times[0];
  assert.equal(span, Number(seconds.toFixed(1)));
  assert.equal(Number(all[col('CPS (/s)')]), Number((calls / seconds).toFixed(2)));
  assert.equal(Number(all[col('CC')]), 0, 'every call over at the end of the capture');
  assert.ok(Number(all[col('CC_max')]) >= 1);
  assert.ok(Number(all[col('CPS_max (/s)')]) >= 1);
});
