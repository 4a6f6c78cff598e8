import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildUdpFrame, writePcap } from '../support/pcap-write.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';
import { DEFAULTS } from '../../src/config/defaults.ts';

const T0 = 1_795_508_400_000;

function capture(): Buffer {
  const recs: { timeMs: number; data: Buffer }[] = [];
  const udp = (payload: Buffer, t: number, sport = 5060, dport = 5070) => recs.push({ timeMs: t, data: buildUdpFrame({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: sport, dstPort: dport, payload }, 'ethernet') });
  // call 1 (acme): answered, ringing at 200 ms, answer at 1 s, BYE at 5 s — plain SIP in UDP
  const a = { callId: 'r1', fromTag: 'f1', customer: 'acme' };
  const b1 = newBranch();
  udp(invite(a, { branch: b1 }), T0);
  udp(reply(180, 'Ringing', a, { branch: b1, toTag: 't' }), T0 + 200, 5070, 5060);
  udp(reply(200, 'OK', a, { branch: b1, toTag: 't' }), T0 + 1000, 5070, 5060);
  udp(request('BYE', a, { seq: 2, toTag: 't' }), T0 + 5000);
  // call 2 (acme): 486 after 300 ms — as HEP in UDP (its own timestamps)
  const b = { callId: 'r2', fromTag: 'f2', customer: 'acme' };
  const b2 = newBranch();
  const hep = (sip: Buffer, t: number) => encodeHep({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5060, dstPort: 5060, timeMs: t, payload: sip });
  udp(hep(invite(b, { branch: b2 }), T0 + 100), T0 + 150, 40000, 9060);
  udp(hep(reply(486, 'Busy Here', b, { branch: b2, toTag: 'u' }), T0 + 400), T0 + 450, 40000, 9060);
  udp(Buffer.from('garbage'), T0 + 500);
  return writePcap(recs, { linkType: 1 });
}

test('sipstats replay FILE --json gives the KPIs of the capture on its own clock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-replay-'));
  try {
    const file = join(dir, 'calls.pcap');
    writeFileSync(file, capture());
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', '--json', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const all = JSON.parse(r.stdout);
    assert.equal(all['stats:ASR'], 50);
    assert.equal(all['stats:NER'], 100);
    assert.equal(all['stats:ASRacme'], 50);
    assert.equal(all['stats:PDD'], 250); // (200 + 300) / 2
    assert.equal(all['stats:AST'], 1000);
    assert.equal(all['stats:ACD'], 5);
    assert.equal(all['stats_10m:ASR_10macme'], 50);
    assert.equal(all['inv_acc_per_min:INVITE_per_min'], 2);
    assert.equal(all['sipstats:sip_decode_errors'], 1);
    const table = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', file], { encoding: 'utf8' });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /KPIs over 1 minute/);
    assert.match(table.stdout, /acme\s+50\s+100\s+100\s+250\s+1000\s+5/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay of a missing or non-capture file fails with a clear message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-replay-'));
  try {
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, 'this is not a capture');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PCAP_BAD_MAGIC/);
    const m = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', join(dir, 'nope.pcap')], { encoding: 'utf8' });
    assert.equal(m.status, 2);
    assert.match(m.stderr, /cannot read .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a replay (serve) process lets V8 grow its heap only DEFAULTS.replay.heapGrowingPercent (serveHeapGrowingPercent) past what is in use; node\'s own --heap-growing-percent wins', () => {
  const code = `import { boundHeapGrowth } from './src/app/heap.ts'; console.log(JSON.stringify(boundHeapGrowth(${DEFAULTS.replay.heapGrowingPercent})));`;
  const run = (...flags: string[]) => spawnSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
  const applied = run();
  assert.equal(applied.status, 0, applied.stderr);
  assert.equal(applied.stdout.trim(), String(DEFAULTS.replay.heapGrowingPercent));
  const kept = run('--heap-growing-percent=80');
  assert.equal(kept.status, 0, kept.stderr);
  assert.equal(kept.stdout.trim(), 'null');
});

test('a replay process keeps V8\'s young generation at its first size (DEFAULTS.replay.smallYoungGeneration); node\'s own semi-space flags win (command line or NODE_OPTIONS)', () => {
  assert.equal(DEFAULTS.replay.smallYoungGeneration, true);
  // allocates 200 MB of short-lived objects with a long-lived set beside them, and prints the largest new space seen
  const code = `import { getHeapSpaceStatistics } from 'node:v8'; import { keepYoungGenerationSmall } from './src/app/heap.ts';
const applied = keepYoungGenerationSmall();
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const first = newSpace();
const keep = []; let max = 0; let sink = 0;
for (let i = 0; i < 2_000_000; i++) { const o = { a: i, b: [i, i + 1] }; if (i % 20 === 0) keep.push(o); sink += o.b.length; if (i % 10_000 === 0) max = Math.max(max, newSpace()); }
console.log(JSON.stringify({ applied, firstMB: first / 1048576, maxNewMB: max / 1048576, kept: keep.length, sink }));`;
  const run = (...flags: string[]) => {
    const nodeOptions = flags.filter((f) => f.startsWith('NODE_OPTIONS=')).map((f) => f.slice('NODE_OPTIONS='.length));
    const r = spawnSync(process.execPath, [...flags.filter((f) => !f.startsWith('NODE_OPTIONS=')), '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: nodeOptions.join(' ') } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim()) as { applied: boolean; firstMB: number; maxNewMB: number };
  };
  // (the TypeScript loader's start may already have grown it: what counts is that it grows no more)
  const small = run();
  assert.equal(small.applied, true);
  assert.equal(small.maxNewMB, small.firstMB, `new space grew from ${small.firstMB} to ${small.maxNewMB} MB`);
  const theirs = run('--semi-space-growth-factor=2');
  assert.equal(theirs.applied, false);
  assert.ok(theirs.maxNewMB > theirs.firstMB, `V8's own growth: new space ${theirs.firstMB} -> ${theirs.maxNewMB} MB`);
  // (the same flag given in NODE_OPTIONS, where process.execArgv does not show it)
  assert.equal(run('NODE_OPTIONS=--max-semi-space-size=64').applied, false);
});
