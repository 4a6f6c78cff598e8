/**
 * Calls and attempts end to end with a real Kamailio (Debian `kamailio`): two customers (SIPp UACs
 * on 127.0.0.11 and .12) dial numbers of three countries through Kamailio on 127.0.0.1, which
 * routes each call to a list of carriers (SIPp UASs on 127.0.0.21..23) and fails over on 503/408.
 * Once as a plain proxy (all legs share the customer's Call-ID), once with topoh mask_callid and an
 * X-CID header (the carrier legs carry other Call-IDs, as behind a B2BUA).
 *
 * Both sipstats paths must give the values the plan implies (test/support/kamailio.ts), per
 * customer, per carrier, per destination, per carrier × destination and overall, with FOR and the
 * self-statistics, and every call counted once: a server fed live by Kamailio's siptrace (HEP), and
 * `sipstats replay` of the tcpdump capture of the same run.
 *
 * Needs kamailio, sip-tester (sipp), tcpdump and root (capture on lo). Run it alone:
 *   node scripts/run-tests.mjs kamailio-carriers
 * SIPSTATS_KEEP_CAPTURE=1 keeps the run directory (captures, configs, logs) and prints its path.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import { replayCapture } from '../../src/app/replay.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { completeTracker, readIngest } from '../../src/config/ingest-config.ts';
import type { Stats } from '../../src/index.ts';
import {
  carrierByIp,
  callsOnWire,
  CUSTOMERS,
  expectCall,
  expectedCounters,
  expectedKpis,
  PLAN,
  readHepPcap,
  readSipPcap,
  requireTools,
  runCarriers,
  sipstatsYaml,
} from '../support/kamailio.ts';
import type { ExpectedKpis, Mode, RunResult, WireSip } from '../support/kamailio.ts';

/**
 * PDD and AST: allowed distance of an average from the plan's nominal time, ms (SIPp pauses end
 * some 5-15 ms late, once per carrier tried; Kamailio adds about 1 ms per hop; the machine may be busy).
 */
const TIME_TOL_MS = 80;

/**
 * The main series of the plan, worked out by hand (the per-series table the support module computes
 * must agree; the test then holds sipstats to that full table).
 *   calls      A1 a200 | A2 a503 b200 | A3 b408 c200 | A4 c486 | A5 b503 c503 | A6 c503 a200  (acme)
 *              G1 a503 b503 c200 | G2 b200 | G3 c408 a200 | G4 a404 | G5 b503 c486 | G6 a408 b486  (globex)
 *   answered   A1 A2 A3 A6 G1 G2 G3 (7/12); 486/408 to the customer: A4 G5 G6; 404: G4; 5xx: A5
 *   failover   A2 A3 A5 A6 G1 G3 G5 G6 (8/12)
 */
const BY_HAND: Record<string, number> = {
  ASR: 58, NER: 83, CCR: 91, FOR: 66, ACD: 2,
  ASRacme: 66, NERacme: 83, CCRacme: 83, FORacme: 66, ACDacme: 1,
  ASRglobex: 50, NERglobex: 83, CCRglobex: 100, FORglobex: 66, ACDglobex: 3,
  'ASR~dest=44': 60, 'NER~dest=44': 80, 'CCR~dest=44': 100, 'FOR~dest=44': 60,
  'ASR~dest=49': 50, 'NER~dest=49': 75, 'CCR~dest=49': 75, 'FOR~dest=49': 75,
  'ASR~dest=33': 66, 'NER~dest=33': 100, 'CCR~dest=33': 100, 'FOR~dest=33': 66,
  'ASR~carrier=carrier_a': 42, 'NER~carrier=carrier_a': 57, 'CCR~carrier=carrier_a': 71,
  'ASR~carrier=carrier_b': 28, 'NER~carrier=carrier_b': 57, 'CCR~carrier=carrier_b': 57,
  'ASR~carrier=carrier_c': 28, 'NER~carrier=carrier_c': 71, 'CCR~carrier=carrier_c': 71,
  'ASR~carrier=carrier_a~dest=44': 20, 'CCR~carrier=carrier_a~dest=44': 60,
  'ASR~carrier=carrier_a~dest=33': 100, 'ASR~carrier=carrier_c~dest=33': 0,
  PDD: 175, AST: 485, 'PDD~carrier=carrier_b': 100, 'AST~carrier=carrier_c': 400,
};

/** Lines for every expected series that is missing or off (tolerance for PDD/AST); empty: all match. */
function compare(stats: Stats, e: ExpectedKpis): string[] {
  const out: string[] = [];
  for (const [name, want] of Object.entries(e.values)) {
    const got = stats.getStat(name);
    const tol = e.tolerance[name] ?? 0;
    if (typeof got !== 'number') out.push(`${name}: missing (expected ${want})`);
    else if (Math.abs(got - want) > tol) out.push(`${name}: ${got}, expected ${want}${tol > 0 ? ` ±${tol}` : ''}`);
  }
  for (const [name, want] of Object.entries(expectedCounters())) {
    const got = stats.getStat(name);
    if (got !== want) out.push(`${name}: ${got}, expected ${want}`);
  }
  // every call and every attempt counted once: the samples behind each ratio series
  for (const [name, n] of Object.entries(e.samples)) {
    const s = stats.engine.lookup(name);
    const cell = { v: null as number | null, n: null as number | null };
    if (s !== undefined && s.kind === 1) s.profile.readWithCount(s, stats.engine.clock(), cell);
    if (cell.n !== n) out.push(`${name}: ${cell.n} samples, expected ${n}`);
  }
  return out;
}

/** Every series sipstats holds whose name no expected value explains (a carrier or destination too many). */
function unexpectedSeries(stats: Stats, e: ExpectedKpis): string[] {
  const out: string[] = [];
  stats.forEachStat((v) => {
    if (v.kind !== 'series' || !/^(ASR|NER|CCR|FOR)(~|acme$|globex$|$)/.test(v.name)) return;
    if (!(v.name in e.values)) out.push(v.name);
  });
  return out;
}

/** What the capture shows must be the plan: customers, dialled numbers, carriers in route order, replies. */
function checkWire(mode: Mode, wire: readonly WireSip[]): void {
  const calls = callsOnWire(wire);
  assert.deepEqual([...calls.keys()].sort(), PLAN.map((p) => p.label).sort(), 'one call on the wire per planned call');
  const customerCallIds = new Set([...calls.values()].map((c) => c.callId));
  for (const p of PLAN) {
    const e = expectCall(p);
    const c = calls.get(p.label)!;
    assert.equal(c.customerIp, CUSTOMERS[p.customer], `${p.label}: customer address`);
    assert.equal(c.dialled, p.dialled, `${p.label}: dialled number`);
    assert.ok(c.code !== null && e.finalCodes.includes(c.code), `${p.label}: Kamailio replied ${c.code} to the customer, expected ${e.finalCodes.join(' or ')}`);
    assert.deepEqual(
      c.attempts.map((a) => `${carrierByIp(a.carrierIp)}=${a.code}`),
      e.attempts.map((a) => `${a.carrier}=${a.code}`),
      `${p.label}: attempts (carrier=reply) in route order`,
    );
    assert.equal(c.byes, e.astMs === null ? 0 : 1, `${p.label}: BYE`);
    for (const a of c.attempts) {
      if (mode === 'proxy') {
        assert.equal(a.callId, c.callId, `${p.label}: a proxy keeps the Call-ID`);
        assert.equal(a.xcid, null, `${p.label}: no X-CID on a proxy`);
      } else {
        assert.notEqual(a.callId, c.callId, `${p.label}: topoh masks the carrier leg's Call-ID`);
        assert.ok(!customerCallIds.has(a.callId), `${p.label}: a carrier leg's Call-ID is no customer's`);
        assert.equal(a.xcid, c.callId, `${p.label}: X-CID names the customer's Call-ID`);
      }
    }
  }
}

/** siptrace mirrors every message Kamailio receives and sends, as it is on the wire. */
function checkHepMirrorsWire(wire: readonly WireSip[], hep: readonly WireSip[]): void {
  const key = (m: WireSip) => `${m.srcIp}:${m.srcPort} > ${m.dstIp}:${m.dstPort} ${m.msg.isRequest ? m.msg.method : m.msg.status} ${m.msg.cseq?.seq} ${m.msg.cseq?.method} ${m.msg.callId} ${m.msg.viaBranch}`;
  const count = (xs: readonly WireSip[]) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
    return m;
  };
  const w = count(wire);
  const h = count(hep);
  const onlyWire = [...w].filter(([k, n]) => (h.get(k) ?? 0) < n).map(([k]) => k);
  const onlyHep = [...h].filter(([k, n]) => (w.get(k) ?? 0) < n).map(([k]) => k);
  assert.deepEqual({ onlyWire, onlyHep }, { onlyWire: [], onlyHep: [] }, 'HEP from siptrace holds exactly the SIP messages on the wire');
}

describe('Kamailio with carrier failover: calls, attempts, customers, carriers, destinations', () => {
  for (const mode of ['proxy', 'topoh'] as const) {
    const what = mode === 'proxy' ? 'proxy (one Call-ID per call)' : 'topoh mask_callid + X-CID (a Call-ID per leg)';
    test(`${what}: live HEP and replay of the capture both give the plan's KPIs`, { timeout: 120_000 }, async () => {
      requireTools(); // a clear error naming the Debian package when something is missing
      const expected = expectedKpis(PLAN, TIME_TOL_MS);
      for (const [name, v] of Object.entries(BY_HAND)) assert.equal(expected.values[name], v, `the plan's ${name}`);

      const yaml = sipstatsYaml(mode === 'topoh');
      const parsed = parseNativeText(yaml);
      assert.ok(parsed.ok, `configuration: ${JSON.stringify(!parsed.ok && parsed.issues)}`);
      const config = parsed.value;
      const ingest = readIngest(config.hep, config.kpi);
      assert.deepEqual(ingest.problems, []);

      const dir = mkdtempSync(join(tmpdir(), `sipstats-kamailio-${mode}-`));
      const warnings: string[] = [];
      const srv = await start({ config, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (level, m) => warnings.push(`${level}: ${m}`), env: {} });
      let run: RunResult | undefined;
      try {
        const hepPort = Number(srv.hepAddress!.split(':').pop());
        run = await runCarriers({ mode, dir, hepPort, trace: process.env.SIPSTATS_KEEP_CAPTURE !== undefined });

        // the run did what the plan says, and siptrace mirrored all of it
        const wire = readSipPcap(run.sipPcap);
        checkWire(mode, wire);
        const hep = readHepPcap(run.hepPcap);
        checkHepMirrorsWire(wire, hep);

        // 1. live: the server fed by siptrace
        for (let i = 0; i < 500 && (srv.stats.getStat('sipstats:hep_packets') ?? 0) < hep.length; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(srv.stats.getStat('sipstats:hep_packets'), hep.length, 'every HEP frame reached the server');
        assert.deepEqual(compare(srv.stats, expected), [], 'live HEP');
        assert.deepEqual(unexpectedSeries(srv.stats, expected), [], 'live HEP: no other customer, carrier or destination');
        assert.deepEqual(warnings, []);

        // 2. replay of the capture, with the same configuration
        const replayed = await replayCapture(run.sipPcap, { config: config.engine, ...completeTracker(ingest.value.tracker) });
        assert.equal(replayed.error, undefined);
        assert.equal(replayed.sipMessages, wire.length);
        assert.deepEqual(compare(replayed.stats, expected), [], 'replay');
        assert.deepEqual(unexpectedSeries(replayed.stats, expected), [], 'replay: no other customer, carrier or destination');

        // 3. both paths saw the same calls: equal ratios and ACD; PDD and AST close (siptrace stamps a
        //    message when Kamailio handles it, tcpdump when the kernel passes it: a busy worker differs)
        for (const name of Object.keys(expected.values)) {
          const a = srv.stats.getStat(name);
          const b = replayed.stats.getStat(name);
          if (/^(PDD|AST)/.test(name)) assert.ok(typeof a === 'number' && typeof b === 'number' && Math.abs(a - b) <= TIME_TOL_MS / 2, `${name}: live ${a}, replay ${b}`);
          else assert.equal(a, b, `${name}: live and replay`);
        }
      } finally {
        await srv.close();
        if (process.env.SIPSTATS_KEEP_CAPTURE === undefined) rmSync(dir, { recursive: true, force: true });
        else process.stderr.write(`kamailio e2e (${mode}): run kept in ${dir}\n`);
      }
      for (const pid of run?.pids ?? []) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} still running`);
    });
  }
});
