/**
 * Capacity KPIs end to end with a real Kamailio (Debian `kamailio`) at known rates: CC, CC_early,
 * CC_max, CPS, CPS_max and the dialog module's statistics, per customer, per carrier, per
 * destination, per carrier × destination and overall.
 *
 * Traffic (FLOWS), through Kamailio on 127.0.0.1 as in test/e2e/kamailio-carriers.test.ts (same
 * fixtures, test/support/kamailio.ts runCarriers with a `load`), for 14 s:
 *   acme    4 calls/s, held 5 s, to +44: carrier_a answers              -> CC ≈ 4 × 5 = 20
 *   globex  2 calls/s, held 3 s, to +44: carrier_a 503, carrier_b 200   -> CC ≈ 2 × 3 = 6
 * so overall and for destination 44 CC ≈ 26; carrier_a has acme's 20 attempts up (globex's 503s are
 * never up) and 6 attempts started a second (CPS counts attempts, failed ones too); carrier_b 6 up,
 * 2 a second. Once as a plain proxy, once with topoh mask_callid + X-CID (a Call-ID per leg).
 *
 * Checked in a server fed live by Kamailio's siptrace (HEP), sampled three times while the traffic is
 * steady (7, 9.5 and 12 s after the first call) and once after every call ended:
 *  - CC per scope ≈ rate × hold; CC = CCacme + CCglobex = CC~dest=44 = dialog:active_dialogs;
 *    CC_early = dialog:early_dialogs; CC_max ≥ the CC seen, and ≈ rate × hold;
 *  - CPS × the seconds the 1-minute window spans = the starts so far (dialog:processed_dialogs,
 *    sipstats:attempts_started mid-run; the exact numbers of calls and attempts at the end); the span
 *    of the `rate` profile (60 s in 6 slots of 10 s, aligned to Unix time): from the start of its
 *    oldest slot to now, now − (start of the current 10 s slot − 50 s);
 *  - CPS_max ≈ the rate, and exactly the most starts within one second of the capture clock as
 *    the HEP timestamps show them;
 *  - after the calls: every CC and CC_early 0, CC_max (1m, 10m, 1h) kept, dialog:processed_dialogs
 *    the number of calls, no failed or expired dialog.
 * Then `sipstats replay` of the tcpdump capture of the same run (replayCapture): the same CC_max and
 * CPS_max per scope (CPS_max exactly the busiest second of the pcap timestamps), CPS × the span at
 * the capture's end = the starts, every CC 0 at the end.
 *
 * Tolerances, and why: SIPp paces its calls on its own timer (-r, -rp 1000; a late scheduler loop
 * sends a start a few ms late), Kamailio and the SIPp UASs add a few ms per message, and the
 * machine is shared (2 cores; other tests, tsc): a call is up for its hold time plus a few ms, and
 * a start may slip across an edge. So:
 *  - CC and CC_max: within ±max(2, 15 %) of rate × hold (20 → ±3, 26 → ±4, 6 → ±2); at the
 *    instants a call starts and one ends the count is one off anyway;
 *  - a customer's CC and its carrier's attempts up (read at the same instant): ±1 (the carrier's 200
 *    and the one Kamailio relays to the customer are two messages, the BYEs too in topoh mode);
 *  - CPS_max: ±1 of the nominal rate per SIPp UAC that feeds the scope (a start slipping across a
 *    second's edge); exact against the capture's own timestamps;
 *  - CPS × span: ±0.15 starts (CPS is rounded to 3 decimals, up to 0.03 a scope over a 60 s span, and a sum of scopes adds them; the span is read beside it).
 *
 * Needs kamailio, sip-tester (sipp), tcpdump and root (capture on lo). About 20 s per mode. Run it alone:
 *   cd /work/main && node --import tsx --test test/e2e/capacity-kamailio.test.ts
 * SIPSTATS_KEEP_CAPTURE=1 keeps the run directory (captures, configs, SIPp traces, logs) and prints its path.
 */
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import { replayCapture } from '../../src/app/replay.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { completeTracker, readIngest } from '../../src/config/ingest-config.ts';
import type { Stats } from '../../src/index.ts';
import { callsOnWire, carrierByIp, CARRIERS, CUSTOMERS, PLATFORM_IP as PLATFORM, readHepPcap, readSipPcap, requireTools, ROUTES, runCarriers, sipstatsYaml } from '../support/kamailio.ts';
import type { CarrierCode, Customer, CustomerLoad, Mode, PlannedCall, RunResult, WireSip } from '../support/kamailio.ts';

// ---------------------------------------------------------------------------------------------
// The traffic

interface Flow {
  customer: Customer;
  /** Calls per second (SIPp -r, -rp 1000). */
  rate: number;
  /** ms from the customer's ACK to its BYE. */
  holdMs: number;
  calls: number;
  /** What the carriers of the route of +44 (a, b, c) reply, in order. */
  replies: readonly CarrierCode[];
  /** Dialled numbers: this prefix and the call's number. */
  prefix: string;
}

const TRAFFIC_S = 14;
const DEST = '44';
const FLOWS: readonly Flow[] = [
  { customer: 'acme', rate: 4, holdMs: 5000, calls: 4 * TRAFFIC_S, replies: [200], prefix: '+4420794' },
  { customer: 'globex', rate: 2, holdMs: 3000, calls: 2 * TRAFFIC_S, replies: [503, 200], prefix: '+4420795' },
];
/** When the live server is sampled, ms after it saw the first call: every flow is steady (its first calls ended) and still starting calls. */
const SAMPLE_AT_MS = [7000, 9500, 12_000];

const labelOf = (f: Flow, i: number) => `${f.customer === 'acme' ? 'A' : 'G'}${String(i + 1).padStart(3, '0')}`;

function loadOf(f: Flow): CustomerLoad {
  const calls: PlannedCall[] = [];
  for (let i = 0; i < f.calls; i++) calls.push({ label: labelOf(f, i), customer: f.customer, dialled: `${f.prefix}${String(i + 1).padStart(4, '0')}`, replies: f.replies, holdMs: f.holdMs });
  // SIPp's own limit on calls at once well above rate × (hold + setup): it must never hold calls back
  return { customer: f.customer, calls, rate: f.rate, limit: Math.ceil(3 * f.rate * (f.holdMs / 1000 + 1)) };
}

/** What one scope should show: CC (legs up at once), starts a second, starts in all, SIPp UACs feeding it. */
interface ScopeExpect {
  /** Series name suffix: '' (all traffic), `acme`, `~carrier=carrier_a`, `~dest=44`, `~carrier=carrier_a~dest=44`. */
  suffix: string;
  cc: number;
  rate: number;
  starts: number;
  uacs: number;
}

/** The scopes and their nominal values, from FLOWS: calls for all traffic, customers and the destination; attempts for carriers. */
function scopes(): ScopeExpect[] {
  const out = new Map<string, ScopeExpect>();
  const add = (suffix: string, cc: number, rate: number, starts: number) => {
    const s = out.get(suffix) ?? { suffix, cc: 0, rate: 0, starts: 0, uacs: 0 };
    s.cc += cc;
    s.rate += rate;
    s.starts += starts;
    s.uacs += 1;
    out.set(suffix, s);
  };
  for (const f of FLOWS) {
    const up = (f.rate * f.holdMs) / 1000;
    for (const suffix of ['', f.customer, `~dest=${DEST}`]) add(suffix, up, f.rate, f.calls);
    f.replies.forEach((code, i) => {
      const carrier = CARRIERS[ROUTES[DEST][i]].name;
      for (const suffix of [`~carrier=${carrier}`, `~carrier=${carrier}~dest=${DEST}`]) add(suffix, code === 200 ? up : 0, f.rate, f.calls);
    });
  }
  return [...out.values()];
}

/** The same, by hand: CC, calls (attempts) a second, calls (attempts) in all. */
const BY_HAND: Record<string, [number, number, number]> = {
  '': [26, 6, 84],
  acme: [20, 4, 56],
  globex: [6, 2, 28],
  '~dest=44': [26, 6, 84],
  '~carrier=carrier_a': [20, 6, 84],
  '~carrier=carrier_b': [6, 2, 28],
  '~carrier=carrier_a~dest=44': [20, 6, 84],
  '~carrier=carrier_b~dest=44': [6, 2, 28],
};

// ---------------------------------------------------------------------------------------------
// Tolerances (see the header)

const ccTol = (n: number) => Math.max(2, Math.ceil(0.15 * n));
const STARTS_TOL = 0.15;

/** The rate profile of the 1-minute window: 60 s in 6 slots of 10 s (catalogue WINDOWS, profile `rate`). */
const WINDOW_MS = 60_000;
const SLOT_MS = 10_000;
/** The seconds the 1-minute window spans at engine time `t`: from the start of its oldest slot to `t`. */
const spanS = (t: number) => (t - (Math.floor(t / SLOT_MS) * SLOT_MS - (WINDOW_MS - SLOT_MS))) / 1000;

// ---------------------------------------------------------------------------------------------
// Reading

interface Snapshot {
  /** Engine time of the read (ms). */
  t: number;
  v: Record<string, number | null>;
}

const MAX_WINDOWS = ['', '_10m', '_1h'];

/** Every capacity value of every scope, and the dialog statistics, at one instant (one synchronous pass). */
function snapshot(stats: Stats, ss: readonly ScopeExpect[]): Snapshot {
  const t = stats.engine.clock();
  const v: Record<string, number | null> = {};
  const read = (name: string) => {
    const s = stats.engine.lookup(name);
    if (s === undefined || s.kind !== 1) return stats.getStat(name);
    const cell = { v: null as number | null, n: null as number | null };
    s.profile.readWithCount(s, t, cell); // at `t` exactly: the span below is the one CPS was divided by
    return cell.v;
  };
  for (const s of ss) {
    for (const k of ['CC', 'CC_early']) v[`${k}${s.suffix}`] = stats.getStat(`${k}${s.suffix}`);
    for (const w of MAX_WINDOWS) for (const k of ['CC_max', 'CPS_max']) v[`${k}${w}${s.suffix}`] = read(`${k}${w}${s.suffix}`);
    v[`CPS${s.suffix}`] = read(`CPS${s.suffix}`);
  }
  for (const n of ['active_dialogs', 'early_dialogs', 'processed_dialogs', 'expired_dialogs', 'failed_dialogs']) v[`dialog:${n}`] = stats.getStat(`dialog:${n}`);
  for (const n of ['calls_started', 'attempts_started']) v[`sipstats:${n}`] = stats.getStat(`sipstats:${n}`);
  return { t, v };
}

const num = (x: number | null | undefined, what: string): number => {
  assert.equal(typeof x, 'number', `${what}: missing`);
  return x as number;
};

// ---------------------------------------------------------------------------------------------
// The truth of a capture

/** Start times (capture clock, ms) per scope: customers' INVITEs for calls, Kamailio's INVITEs to carriers for attempts. */
function startsOnWire(msgs: readonly WireSip[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const push = (suffix: string, t: number) => out.set(suffix, [...(out.get(suffix) ?? []), t]);
  for (const c of callsOnWire(msgs).values()) {
    const customer = (Object.keys(CUSTOMERS) as Customer[]).find((k) => CUSTOMERS[k] === c.customerIp)!;
    for (const suffix of ['', customer, `~dest=${DEST}`]) push(suffix, c.inviteMs);
    for (const a of c.attempts) {
      const carrier = CARRIERS[carrierByIp(a.carrierIp)!].name;
      for (const suffix of [`~carrier=${carrier}`, `~carrier=${carrier}~dest=${DEST}`]) push(suffix, a.inviteMs);
    }
  }
  return out;
}

/** The most starts within one second (floor of the capture clock), per scope: what CPS_max must be. */
function busiestSecond(starts: Map<string, number[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [suffix, ts] of starts) {
    const per = new Map<number, number>();
    for (const t of ts) per.set(Math.floor(t / 1000), (per.get(Math.floor(t / 1000)) ?? 0) + 1);
    out.set(suffix, Math.max(...per.values()));
  }
  return out;
}

/**
 * The most legs up at once per scope, in the capture's message order: a call is up from Kamailio's
 * first 2xx to the customer to the first BYE of its Call-ID, an attempt from the carrier's first 2xx
 * to the first BYE of its Call-ID (the customer's on a proxy, Kamailio's to the carrier with topoh).
 * What CC_max must be: every rise of CC is one of its samples.
 */
function peaksOnWire(msgs: readonly WireSip[]): Map<string, number> {
  const calls = callsOnWire(msgs);
  const callScopes = new Map<string, string[]>(); // customer Call-ID -> scopes
  const attemptScopes = new Map<string, string[]>(); // attempt Call-ID + branch -> scopes
  for (const c of calls.values()) {
    const customer = (Object.keys(CUSTOMERS) as Customer[]).find((k) => CUSTOMERS[k] === c.customerIp)!;
    callScopes.set(c.callId, ['', customer, `~dest=${DEST}`]);
    for (const a of c.attempts) {
      const carrier = CARRIERS[carrierByIp(a.carrierIp)!].name;
      attemptScopes.set(`${a.callId}\n${a.branch}`, [`~carrier=${carrier}`, `~carrier=${carrier}~dest=${DEST}`]);
    }
  }
  const up = new Map<string, number>();
  const peak = new Map<string, number>();
  const upLegs = new Map<string, string[]>(); // Call-ID -> the legs up with it (a BYE of that Call-ID ends them)
  const move = (scopes: readonly string[], d: number) => {
    for (const s of scopes) {
      up.set(s, (up.get(s) ?? 0) + d);
      peak.set(s, Math.max(peak.get(s) ?? 0, up.get(s)!));
    }
  };
  const wasUp = new Set<string>();
  for (const m of msgs) {
    const { msg } = m;
    const callId = msg.callId ?? '';
    if (!msg.isRequest && msg.cseq?.method === 'INVITE' && msg.status >= 200 && msg.status < 300) {
      const key = m.srcIp === PLATFORM ? callId : `${callId}\n${msg.viaBranch}`;
      const scopes = m.srcIp === PLATFORM ? callScopes.get(callId) : attemptScopes.get(key);
      if (scopes === undefined || wasUp.has(key)) continue;
      wasUp.add(key);
      upLegs.set(callId, [...(upLegs.get(callId) ?? []), key]);
      move(scopes, 1);
    } else if (msg.isRequest && msg.method === 'BYE') {
      for (const key of upLegs.get(callId) ?? []) move(callScopes.get(key) ?? attemptScopes.get(key)!, -1);
      upLegs.delete(callId);
    }
  }
  return peak;
}

/** The run placed FLOWS: every call on the wire, its carriers and replies, answered and hung up; the Call-IDs of the mode. */
function checkWire(mode: Mode, wire: readonly WireSip[]): void {
  const calls = callsOnWire(wire);
  const want = FLOWS.flatMap((f) => Array.from({ length: f.calls }, (_, i) => labelOf(f, i)));
  assert.deepEqual([...calls.keys()].sort(), want.sort(), 'one call on the wire per call placed');
  for (const f of FLOWS) {
    for (let i = 0; i < f.calls; i++) {
      const c = calls.get(labelOf(f, i))!;
      assert.equal(c.customerIp, CUSTOMERS[f.customer], `${c.label}: customer`);
      assert.equal(c.code, 200, `${c.label}: answered`);
      assert.equal(c.byes, 1, `${c.label}: one BYE`);
      assert.deepEqual(
        c.attempts.map((a) => `${carrierByIp(a.carrierIp)}=${a.code}`),
        f.replies.map((code, j) => `${ROUTES[DEST][j]}=${code}`),
        `${c.label}: attempts (carrier=reply)`,
      );
      for (const a of c.attempts) {
        if (mode === 'proxy') assert.equal(a.callId, c.callId, `${c.label}: a proxy keeps the Call-ID`);
        else {
          assert.notEqual(a.callId, c.callId, `${c.label}: topoh masks the carrier leg's Call-ID`);
          assert.equal(a.xcid, c.callId, `${c.label}: X-CID names the customer's Call-ID`);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The checks

/** While the traffic is steady. */
function checkSteady(s: Snapshot, ss: readonly ScopeExpect[], label: string): string[] {
  const out: string[] = [];
  const v = s.v;
  const span = spanS(s.t);
  for (const e of ss) {
    const cc = num(v[`CC${e.suffix}`], `${label} CC${e.suffix}`);
    const max = num(v[`CC_max${e.suffix}`], `${label} CC_max${e.suffix}`);
    const early = num(v[`CC_early${e.suffix}`], `${label} CC_early${e.suffix}`);
    if (Math.abs(cc - e.cc) > ccTol(e.cc)) out.push(`${label}: CC${e.suffix} ${cc}, expected ${e.cc} ±${ccTol(e.cc)}`);
    if (max < cc) out.push(`${label}: CC_max${e.suffix} ${max} < CC${e.suffix} ${cc}`);
    if (Math.abs(max - e.cc) > ccTol(e.cc)) out.push(`${label}: CC_max${e.suffix} ${max}, expected ${e.cc} ±${ccTol(e.cc)}`);
    // calls setting up: 400-500 ms of each call (a second for a slow run) at its rate
    if (early < 0 || early > e.rate) out.push(`${label}: CC_early${e.suffix} ${early}, expected 0..${e.rate}`);
    const cpsMax = num(v[`CPS_max${e.suffix}`], `${label} CPS_max${e.suffix}`);
    if (Math.abs(cpsMax - e.rate) > e.uacs) out.push(`${label}: CPS_max${e.suffix} ${cpsMax}, expected ${e.rate} ±${e.uacs}`);
  }
  const g = (n: string) => num(v[n], `${label} ${n}`);
  const eq = (a: string, b: number, what: string, tol = 0) => {
    if (Math.abs(g(a) - b) > tol) out.push(`${label}: ${a} ${g(a)}, ${what} ${b}${tol > 0 ? ` ±${tol}` : ''}`);
  };
  // levels read at one instant: sums and the dialog module agree exactly
  eq('CC', g('CCacme') + g('CCglobex'), 'CCacme + CCglobex');
  eq(`CC~dest=${DEST}`, g('CC'), 'CC');
  eq('dialog:active_dialogs', g('CC'), 'CC');
  eq('dialog:early_dialogs', g('CC_early'), 'CC_early');
  for (const c of ['carrier_a', 'carrier_b']) eq(`CC~carrier=${c}~dest=${DEST}`, g(`CC~carrier=${c}`), `CC~carrier=${c}`);
  // a customer's calls up and its carrier's attempts up: one message apart
  eq('CC~carrier=carrier_a', g('CCacme'), 'CCacme', 1);
  eq('CC~carrier=carrier_b', g('CCglobex'), 'CCglobex', 1);
  // CPS × span: the starts so far
  const calls = g('dialog:processed_dialogs');
  eq('sipstats:calls_started', calls, 'dialog:processed_dialogs');
  const starts = (suffix: string) => g(`CPS${suffix}`) * span;
  const near = (what: string, x: number, want: number) => {
    if (Math.abs(x - want) > STARTS_TOL) out.push(`${label}: ${what} = ${x.toFixed(3)}, expected ${want} (span ${span.toFixed(3)} s)`);
  };
  near('CPS × span', starts(''), calls);
  near(`CPS~dest=${DEST} × span`, starts(`~dest=${DEST}`), calls);
  near('(CPSacme + CPSglobex) × span', starts('acme') + starts('globex'), calls);
  near('(CPS~carrier=carrier_a + CPS~carrier=carrier_b) × span', starts('~carrier=carrier_a') + starts('~carrier=carrier_b'), g('sipstats:attempts_started'));
  return out;
}

/** After every call ended (live, or at the end of a replay). */
function checkEnded(s: Snapshot, ss: readonly ScopeExpect[], label: string, busiest: Map<string, number>, peaks: Map<string, number>): string[] {
  const out: string[] = [];
  const v = s.v;
  const span = spanS(s.t);
  for (const e of ss) {
    for (const k of ['CC', 'CC_early']) if (v[`${k}${e.suffix}`] !== 0) out.push(`${label}: ${k}${e.suffix} ${v[`${k}${e.suffix}`]}, expected 0`);
    const max = v[`CC_max${e.suffix}`];
    if (typeof max !== 'number' || Math.abs(max - e.cc) > ccTol(e.cc)) out.push(`${label}: CC_max${e.suffix} ${max}, expected ${e.cc} ±${ccTol(e.cc)} (kept after the calls)`);
    for (const w of ['_10m', '_1h']) for (const k of ['CC_max', 'CPS_max']) if (v[`${k}${w}${e.suffix}`] !== v[`${k}${e.suffix}`]) out.push(`${label}: ${k}${w}${e.suffix} ${v[`${k}${w}${e.suffix}`]}, ${k}${e.suffix} ${v[`${k}${e.suffix}`]} (the whole run is in every window)`);
    if (max !== peaks.get(e.suffix)) out.push(`${label}: CC_max${e.suffix} ${max}, the capture's message order has at most ${peaks.get(e.suffix)} up at once`);
    const cpsMax = v[`CPS_max${e.suffix}`];
    if (typeof cpsMax !== 'number' || Math.abs(cpsMax - e.rate) > e.uacs) out.push(`${label}: CPS_max${e.suffix} ${cpsMax}, expected ${e.rate} ±${e.uacs}`);
    if (cpsMax !== busiest.get(e.suffix)) out.push(`${label}: CPS_max${e.suffix} ${cpsMax}, the capture's busiest second has ${busiest.get(e.suffix)} starts`);
    const cps = v[`CPS${e.suffix}`];
    if (typeof cps !== 'number' || Math.abs(cps * span - e.starts) > STARTS_TOL) out.push(`${label}: CPS${e.suffix} ${cps} × span ${span.toFixed(3)} s = ${typeof cps === 'number' ? (cps * span).toFixed(3) : '-'}, expected ${e.starts} starts`);
  }
  const calls = FLOWS.reduce((n, f) => n + f.calls, 0);
  const attempts = FLOWS.reduce((n, f) => n + f.calls * f.replies.length, 0);
  const want: Record<string, number> = {
    'dialog:active_dialogs': 0,
    'dialog:early_dialogs': 0,
    'dialog:processed_dialogs': calls,
    'dialog:failed_dialogs': 0,
    'dialog:expired_dialogs': 0,
    'sipstats:calls_started': calls,
    'sipstats:attempts_started': attempts,
  };
  for (const [n, x] of Object.entries(want)) if ((v[n] ?? 0) !== x) out.push(`${label}: ${n} ${v[n]}, expected ${x}`);
  return out;
}

/** One line per scope for the report. */
function table(t: TestContext, mode: Mode, ss: readonly ScopeExpect[], samples: readonly Snapshot[], live: Snapshot, replay: Snapshot): void {
  t.diagnostic(`${mode}: scope | CC at ${SAMPLE_AT_MS.map((x) => x / 1000).join('/')} s (expected) | CC_max | CPS (× span = starts) | CPS_max | replay CC_max, CPS (× span), CPS_max`);
  for (const e of ss) {
    const sx = e.suffix === '' ? '(all)' : e.suffix;
    const cps = (s: Snapshot) => `${s.v[`CPS${e.suffix}`]} (${((s.v[`CPS${e.suffix}`] ?? 0) * spanS(s.t)).toFixed(2)})`;
    t.diagnostic(
      `${mode}: ${sx} | ${samples.map((s) => s.v[`CC${e.suffix}`]).join('/')} (${e.cc}) | ${live.v[`CC_max${e.suffix}`]} | ${cps(live)} | ${live.v[`CPS_max${e.suffix}`]} | ${replay.v[`CC_max${e.suffix}`]}, ${cps(replay)}, ${replay.v[`CPS_max${e.suffix}`]}`,
    );
  }
  t.diagnostic(`${mode}: span live ${spanS(live.t).toFixed(3)} s, replay ${spanS(replay.t).toFixed(3)} s; dialog:processed_dialogs ${live.v['dialog:processed_dialogs']}; samples dialog:active_dialogs ${samples.map((s) => s.v['dialog:active_dialogs']).join('/')}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

describe('Kamailio at known rates: concurrent calls and calls per second', () => {
  for (const mode of ['proxy', 'topoh'] as const) {
    const what = mode === 'proxy' ? 'proxy (one Call-ID per call)' : 'topoh mask_callid + X-CID (a Call-ID per leg)';
    test(`${what}: CC ≈ rate × hold, CC_max, CPS, CPS_max per customer, carrier, destination; replay agrees`, { timeout: 120_000 }, async (t) => {
      requireTools();
      const ss = scopes();
      assert.deepEqual(Object.fromEntries(ss.map((s) => [s.suffix, [s.cc, s.rate, s.starts]])), BY_HAND, 'the scopes FLOWS imply');

      const parsed = parseNativeText(sipstatsYaml(mode === 'topoh'));
      assert.ok(parsed.ok, `configuration: ${JSON.stringify(!parsed.ok && parsed.issues)}`);
      const config = parsed.value;
      const ingest = readIngest(config.hep, config.kpi);
      assert.deepEqual(ingest.problems, []);

      const dir = mkdtempSync(join(tmpdir(), `sipstats-capacity-${mode}-`));
      const warnings: string[] = [];
      const srv = await start({ config, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (level, m) => warnings.push(`${level}: ${m}`), env: {} });
      let run: RunResult | undefined;
      try {
        const hepPort = Number(srv.hepAddress!.split(':').pop());
        let done = false;
        const running = runCarriers({ mode, dir, hepPort, timeoutMs: 60_000, load: FLOWS.map(loadOf), trace: process.env.SIPSTATS_KEEP_CAPTURE !== undefined });
        running.then(
          () => (done = true),
          () => (done = true),
        );

        // 1. while the traffic is steady: sampled from the first call sipstats saw
        const samples: Snapshot[] = [];
        const until = Date.now() + 30_000;
        while (!done && (srv.stats.getStat('dialog:processed_dialogs') ?? 0) === 0 && Date.now() < until) await sleep(5);
        const first = Date.now();
        for (const at of SAMPLE_AT_MS) {
          await sleep(first + at - Date.now());
          if (done) break;
          samples.push(snapshot(srv.stats, ss));
        }
        run = await running;
        assert.equal(samples.length, SAMPLE_AT_MS.length, 'the run lasted past the samples');

        const wire = readSipPcap(run.sipPcap);
        checkWire(mode, wire);
        const hep = readHepPcap(run.hepPcap);
        assert.equal(hep.length, wire.length, 'siptrace sent every SIP message on the wire as HEP');
        for (let i = 0; i < 500 && (srv.stats.getStat('sipstats:hep_packets') ?? 0) < hep.length; i++) await sleep(10);
        assert.equal(srv.stats.getStat('sipstats:hep_packets'), hep.length, 'every HEP frame reached the server');

        // 2. after the calls
        const live = snapshot(srv.stats, ss);
        const liveBusiest = busiestSecond(startsOnWire(hep));
        const livePeaks = peaksOnWire(hep);

        // 3. replay of the capture, with the same configuration
        const replayed = await replayCapture(run.sipPcap, { config: config.engine, ...completeTracker(ingest.value.tracker) });
        assert.equal(replayed.error, undefined);
        assert.equal(replayed.sipMessages, wire.length);
        const replay = snapshot(replayed.stats, ss);
        const wireBusiest = busiestSecond(startsOnWire(wire));
        const wirePeaks = peaksOnWire(wire);
        table(t, mode, ss, samples, live, replay);

        const problems = samples.flatMap((s, i) => checkSteady(s, ss, `live at ${SAMPLE_AT_MS[i] / 1000} s`));
        // CC_max never went down in the run, and kept at the end what it reached
        for (const e of ss) {
          const seen = samples.map((s) => s.v[`CC_max${e.suffix}`] ?? 0);
          const ccSeen = Math.max(...samples.map((s) => s.v[`CC${e.suffix}`] ?? 0));
          for (let i = 1; i < seen.length; i++) if (seen[i] < seen[i - 1]) problems.push(`live: CC_max${e.suffix} went down mid-run: ${seen.join(', ')}`);
          if ((live.v[`CC_max${e.suffix}`] ?? 0) < Math.max(ccSeen, ...seen)) problems.push(`live: CC_max${e.suffix} ${live.v[`CC_max${e.suffix}`]} after the calls, ${Math.max(ccSeen, ...seen)} seen during`);
        }
        problems.push(...checkEnded(live, ss, 'live after the calls', liveBusiest, livePeaks));
        problems.push(...checkEnded(replay, ss, 'replay', wireBusiest, wirePeaks));
        // the same calls, the same message order: the same peaks (CPS_max differs only where tcpdump
        // and siptrace stamp a start on either side of a second's edge)
        for (const e of ss) {
          for (const w of MAX_WINDOWS) {
            const n = `CC_max${w}${e.suffix}`;
            if (replay.v[n] !== live.v[n]) problems.push(`replay ${n} ${replay.v[n]}, live ${live.v[n]}`);
          }
          const n = `CPS_max${e.suffix}`;
          if (liveBusiest.get(e.suffix) === wireBusiest.get(e.suffix) && replay.v[n] !== live.v[n]) problems.push(`replay ${n} ${replay.v[n]}, live ${live.v[n]}`);
          if (liveBusiest.get(e.suffix) !== wireBusiest.get(e.suffix)) t.diagnostic(`${mode}: ${n}: the busiest second has ${liveBusiest.get(e.suffix)} starts by the HEP clock, ${wireBusiest.get(e.suffix)} by tcpdump's`);
        }
        assert.deepEqual(problems, [], 'capacity KPIs');
        assert.deepEqual(warnings, []);
      } finally {
        await srv.close();
        if (process.env.SIPSTATS_KEEP_CAPTURE === undefined) rmSync(dir, { recursive: true, force: true });
        else process.stderr.write(`capacity e2e (${mode}): run kept in ${dir}\n`);
      }
      for (const pid of run?.pids ?? []) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} still running`);
    });
  }
});
