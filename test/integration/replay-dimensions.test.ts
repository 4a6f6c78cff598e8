import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUdpFrame, writePcap } from '../support/pcap-write.ts';
import type { PcapRecordInput } from '../support/pcap-write.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

/**
 * The documented forms (README, docs/kpis.md): `sipstats replay FILE --platform CIDRS --by carrier`
 * and the same through a native config file with `kpi.platform`, on a capture of a proxy that
 * fails over from one carrier to the next.
 */
function failoverCapture(): Buffer {
  const recs: PcapRecordInput[] = [];
  const at = (src: string, dst: string, payload: Buffer, t: number) =>
    recs.push({ timeMs: t, data: buildUdpFrame({ srcIp: src, dstIp: dst, srcPort: 5060, dstPort: 5060, payload }, 'ethernet') });
  const t0 = 1_795_508_400_000;
  for (let i = 0; i < 4; i++) {
    const t = t0 + i * 1000;
    const c = { callId: `fo-${i}@cap`, fromTag: `f${i}`, customer: i % 2 ? 'acme' : 'globex' };
    const bc = newBranch();
    const ba = newBranch();
    const bb = newBranch();
    at('192.0.2.10', '10.0.0.1', invite(c, { branch: bc, ruri: '+4420712345@10.0.0.1' }), t);
    at('10.0.0.1', '198.51.100.7', invite(c, { branch: ba, ruri: '4420712345@198.51.100.7' }), t + 2);
    at('198.51.100.7', '10.0.0.1', reply(503, 'Unavailable', c, { branch: ba, toTag: 'a' }), t + 40);
    at('10.0.0.1', '198.51.100.8', invite(c, { branch: bb, ruri: '4420712345@198.51.100.8' }), t + 50);
    at('198.51.100.8', '10.0.0.1', reply(200, 'OK', c, { branch: bb, toTag: 'b' }), t + 400);
    at('10.0.0.1', '192.0.2.10', reply(200, 'OK', c, { branch: bc, toTag: 'b' }), t + 401);
    at('192.0.2.10', '10.0.0.1', request('BYE', c, { seq: 2, toTag: 'b' }), t + 2401);
  }
  return writePcap(recs, { linkType: 1 });
}

const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });

test('replay --platform --by carrier / destination / carrier,destination: one call per failover, one attempt per carrier', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-replay-dim-'));
  try {
    const file = join(dir, 'failover.pcap');
    writeFileSync(file, failoverCapture());
    const all = cli(['replay', '--no-progress', file, '--platform', '10.0.0.0/24']);
    assert.equal(all.status, 0, all.stderr);
    assert.match(all.stdout, /^\(all\) +100 +100 +100 /m, 'four answered calls, none counted twice');
    assert.match(all.stdout, /calls: 4 started/);
    const byCarrier = cli(['replay', '--no-progress', file, '--platform', '10.0.0.0/24', '--by', 'carrier']);
    assert.equal(byCarrier.status, 0, byCarrier.stderr);
    // carriers are named by their address without a map: A failed every attempt, B answered every one
    assert.match(byCarrier.stdout, /^198\.51\.100\.7 +0 +0 +0 /m);
    assert.match(byCarrier.stdout, /^198\.51\.100\.8 +100 +100 +100 /m);
    const byDest = cli(['replay', '--no-progress', file, '--platform', '10.0.0.0/24', '--by', 'destination']);
    assert.match(byDest.stdout, /^44 +100 +100 +100 /m);
    const cross = cli(['replay', '--no-progress', file, '--platform', '10.0.0.0/24', '--by', 'carrier,destination']);
    assert.match(cross.stdout, /^198\.51\.100\.8 × 44 +100 /m);
    // the same from a config file, with carrier names
    const cfg = join(dir, 'sipstats.yaml');
    writeFileSync(cfg, 'kpi:\n  platform: ["10.0.0.1/32"]\n  carrier: { kind: cidr, map: { "198.51.100.7/32": carrier_a, "198.51.100.8/32": carrier_b } }\n  destination: { strip: ["+", "00"] }\n');
    const named = cli(['replay', '--no-progress', file, '--config', cfg, '--by', 'carrier']);
    assert.equal(named.status, 0, named.stderr);
    assert.match(named.stdout, /^carrier_a +0 /m);
    assert.match(named.stdout, /^carrier_b +100 /m);
    // bad uses are refused with a message
    const bad = cli(['replay', file, '--by', 'planet']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--by must be one of customer, carrier, destination, carrier,destination/);
    const badPlatform = cli(['replay', file, '--platform', '10.0.0.300/24']);
    assert.equal(badPlatform.status, 2);
    assert.match(badPlatform.stderr, /--platform: .*bad CIDR '10.0.0.300\/24'/);
    const badCfg = join(dir, 'bad.yaml');
    writeFileSync(badCfg, 'kpi:\n  carrier: ruri-host\n');
    const refused = cli(['replay', file, '--config', badCfg]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /kpi\.carrier: \[E_CFG_SYNTAX\] needs kpi\.platform/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay with a configuration that lacks KPI profiles declares them and says so; replay --help is usage, not an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-replay-dim-'));
  try {
    const file = join(dir, 'failover.pcap');
    writeFileSync(file, failoverCapture());
    const cfg = join(dir, 'only-perc.cfg');
    writeFileSync(cfg, 'modparam("statistics", "stat_series_profile", "perc: algorithm=percentage group=stats")\n');
    const r = cli(['replay', '--no-progress', file, '--config', cfg, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /sipstats replay info: the configuration lacks \d+ profile\(s\) the call KPIs need; declared with the defaults of docs\/config\.md: .*avg \(PDD, AST, ACD\).*tavg \(CC_avg\)/);
    const stats = JSON.parse(r.stdout) as Record<string, number>;
    assert.equal(stats['stats:ACD'], 2, 'ACD kept, not dropped');
    assert.equal(stats['sipstats:kpi_update_errors'] ?? 0, 0);
    const help = cli(['replay', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: sipstats replay FILE \[options\]/);
    assert.match(help.stdout, /--by VIEW/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
