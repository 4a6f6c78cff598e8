import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from '../../src/app/server.ts';
import { miParams } from '../../src/mi/client.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { requiredProfiles } from '../../src/kpi/catalogue.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';

/** "Nothing is dropped silently" (README) and the smaller falsehoods, each in its documented form. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SIPSTATS_TOKEN: '' }, timeout: 20_000 });

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'sipstats-silent-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const INVITE = (callId: string, customer: string) =>
  `INVITE sip:+442071234567@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK${callId}\r\nFrom: <sip:a@192.0.2.1>;tag=f${callId}\r\nTo: <sip:+442071234567@10.0.0.1>\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nX-Customer: ${customer}\r\nContent-Length: 0\r\n\r\n`;
const REPLY = (callId: string, code: number, reason: string, totag = true) =>
  `SIP/2.0 ${code} ${reason}\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK${callId}\r\nFrom: <sip:a@192.0.2.1>;tag=f${callId}\r\nTo: <sip:+442071234567@10.0.0.1>${totag ? ';tag=t1' : ''}\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;

async function sendHep(port: number, msgs: { sip: string; t: number }[], authKey?: string): Promise<void> {
  const sock = createSocket('udp4');
  for (const m of msgs) {
    const frame = encodeHep({ srcIp: '192.0.2.1', dstIp: '10.0.0.1', srcPort: 5060, dstPort: 5060, timeMs: m.t, payload: m.sip, ...(authKey ? { authKey } : {}) });
    await new Promise<void>((r, j) => sock.send(frame, port, '127.0.0.1', (e) => (e ? j(e) : r())));
  }
  sock.close();
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('an opensips.cfg with only `perc`: the server declares every other KPI profile at start and says which', async (t) => {
  const dir = tmp(t);
  const cfg = join(dir, 'opensips.cfg');
  writeFileSync(cfg, 'loadmodule "statistics.so"\nmodparam("statistics", "stat_series_profile", "perc: algorithm=percentage group=stats")\n');
  const log: string[] = [];
  const s = await start({ configPath: cfg, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (l, m) => log.push(`${l}: ${m}`) });
  t.after(() => s.close());
  const need = [...requiredProfiles({ percentiles: true, inviteSeries: true }).keys()].filter((p) => p !== 'perc');
  const line = log.find((l) => l.includes('profile(s) the call KPIs need'));
  assert.ok(line !== undefined, log.join('\n'));
  for (const p of need) assert.ok(line.includes(`${p} (`), `${p} named in: ${line}`);
  assert.ok(line.includes('avg (PDD, AST, ACD)') && line.includes('tavg (CC_avg)'), line);
  // and the KPIs they feed exist: one answered call → PDD, AST, PDD_p95, INVITE_per_min
  const t0 = Date.now();
  await sendHep(Number(s.hepAddress!.split(':')[1]), [
    { sip: INVITE('c1', 'acme'), t: t0 },
    { sip: REPLY('c1', 180, 'Ringing'), t: t0 + 100 },
    { sip: REPLY('c1', 200, 'OK'), t: t0 + 300 },
  ]);
  await until('the call', () => s.stats.getStat('AST') !== null && s.stats.getStat('AST') !== 0);
  assert.equal(s.stats.getStat('PDD'), 100);
  assert.equal(s.stats.getStat('AST'), 300);
  assert.equal(s.stats.getStat('INVITE_per_min'), 1);
  assert.ok(Math.abs((s.stats.getStat('PDD_p95') as number) - 100) <= 1);
  assert.equal(s.stats.getStat('sipstats:kpi_update_errors') ?? 0, 0);
});

test('the complete native example of docs/config.md (no p95, no inv_* profiles) gets them declared too; a complete config gets no message', async (t) => {
  const partial = parseConfigText('profiles:\n  - { name: perc, algorithm: percentage, group: stats }\n  - { name: avg, algorithm: average, group: stats }\n', 'x.yaml');
  assert.ok(partial.ok);
  const log: string[] = [];
  const s = await start({ config: partial.value, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (l, m) => log.push(m) });
  t.after(() => s.close());
  assert.match(log.join('\n'), /p95 \(PDD_p95, AST_p95\).*inv_acc_per_min \(INVITE_per_min\)/s);
  const quiet: string[] = [];
  const d = await start({ listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (l, m) => quiet.push(m) });
  t.after(() => d.close());
  assert.equal(quiet.join('\n'), '');
  // without any KPI input (no HEP, no events) nothing is declared
  const none = await start({ config: partial.value, listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, log: (_l, m) => void quiet.push(m) });
  t.after(() => none.close());
  assert.equal(quiet.join('\n'), '');
});

test('a KPI update that fails later is counted and logged with its reason, rate-limited', async (t) => {
  // a counter named PDD takes the series' name: every PDD update fails (E_NAME_TAKEN)
  const cfg = parseConfigText('variables: [PDD]\n', 'x.yaml');
  assert.ok(cfg.ok);
  const log: string[] = [];
  const s = await start({ config: cfg.value, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (l, m) => log.push(`${l}: ${m}`) });
  t.after(() => s.close());
  const t0 = Date.now();
  const msgs = [];
  for (let i = 0; i < 5; i++) msgs.push({ sip: INVITE(`k${i}`, 'acme'), t: t0 }, { sip: REPLY(`k${i}`, 486, 'Busy'), t: t0 + 50 });
  await sendHep(Number(s.hepAddress!.split(':')[1]), msgs);
  await until('5 calls', () => s.stats.getStat('sipstats:calls_started') === 5 && (s.stats.getStat('sipstats:kpi_update_errors') ?? 0) >= 5);
  const lines = log.filter((l) => l.includes('KPI update'));
  assert.equal(lines.length, 1, 'one line per 10 s');
  assert.match(lines[0], /^warn: KPI update of 'PDD' \(profile 'avg'\) failed: \[E_NAME_TAKEN\]/);
});

test('`sipstats mi` shapes the words of every command that takes statistics names alike (README: cluster)', () => {
  assert.deepEqual(miParams('cluster_get_statistics', ['ASR', 'stats_10m:']), [['ASR', 'stats_10m:']]);
  assert.deepEqual(miParams('cluster:get', ['all']), [['all']]);
  assert.deepEqual(miParams('get_history', ['ASRacme']), [['ASRacme']]);
  assert.deepEqual(miParams('get_history', ['ASRacme', 'ASR', 'points=3']), { statistics: ['ASRacme', 'ASR'], points: '3' });
  assert.deepEqual(miParams('get_history', ['statistics=ASRacme', 'points=3']), { statistics: ['ASRacme'], points: '3' });
  // a series name holding "=" stays a name
  assert.deepEqual(miParams('get_statistics', ['ASR~carrier=a', 'stats:']), [['ASR~carrier=a', 'stats:']]);
  assert.deepEqual(miParams('update_stat', ['calls', '-1']), ['calls', '-1']);
});

test('bad flags print a message and exit 2: --invite-timeout 0.5, --customer-key cidr, a bad --node-id with --redis', (t) => {
  for (const [args, re] of [
    [['serve', '--invite-timeout', '0.5', '--no-persist'], /--invite-timeout must be 1\.\.3600 seconds, got '0\.5'/],
    [['serve', '--customer-key', 'cidr', '--no-persist'], /--customer-key cidr needs a map .* kpi\.customer: \{ kind: cidr/],
    [['replay', 'x.pcap', '--invite-timeout', '0.5'], /--invite-timeout must be 1\.\.3600/],
  ] as const) {
    const r = cli([...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const dir = tmp(t);
  const r = cli(['serve', '--listen', '127.0.0.1:0', '--no-hep', '--no-persist', '--redis', 'redis://127.0.0.1:9', '--node-id', 'bad id!', '--data-dir', dir]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--node-id: \[E_CFG_BAD_REDIS\] must be 1\.\.128 of A-Z a-z 0-9 _ \. @ -/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('native config: redis.url and redis.nodeId are read and checked; unknown redis keys are refused', () => {
  const ok = parseConfigText('redis: { url: "redis://127.0.0.1:6379", nodeId: edge1 }\n', 'x.yaml');
  assert.ok(ok.ok);
  assert.deepEqual(ok.value.redis, { target: { mode: 'single', url: 'redis://127.0.0.1:6379' }, nodeId: 'edge1' });
  const bad = parseConfigText('redis: { bogus: 1, url: "http://x", nodeId: "a b" }\n', 'x.yaml');
  assert.ok(!bad.ok);
  assert.deepEqual(bad.issues.map((i) => i.path).sort(), ['redis.bogus', 'redis.nodeId', 'redis.url']);
});

test('the demo traffic carries the HEP auth key the listener requires (sipstats demo --hep-auth-key K)', async (t) => {
  const s = await start({ listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', hepAuthKey: 's3cret', demo: true, dataDir: null, print: () => {}, log: () => {} });
  t.after(() => s.close());
  await until('HEP packets', () => (s.stats.getStat('sipstats:hep_packets') ?? 0) > 5, 10_000);
  assert.equal(s.stats.getStat('sipstats:hep_auth_failures') ?? 0, 0);
  assert.ok((s.stats.getStat('sipstats:calls_started') ?? 0) > 0);
});
