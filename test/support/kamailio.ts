/**
 * Real carrier failover for the legs end-to-end test (test/e2e/kamailio-carriers.test.ts): Kamailio
 * (Debian `kamailio`) on 127.0.0.1 as the platform, two SIPp UACs as customers on 127.0.0.11 and
 * 127.0.0.12, three SIPp UASs as carriers on 127.0.0.21..23. Kamailio routes each call by the
 * dialled country to a list of carriers and fails over to the next one on 503 or 408
 * (failure_route); it mirrors every SIP message it receives or sends to sipstats as HEP
 * (siptrace), while tcpdump captures the SIP on the wire for `sipstats replay`.
 *
 * Two modes: `proxy` (every leg of a call shares the customer's Call-ID) and `topoh` (topoh with
 * mask_callid: the carrier legs carry a masked Call-ID, as a B2BUA's would, and an X-CID header
 * naming the customer's).
 *
 * The plan (PLAN) says what each carrier replies to each call; everything the test expects
 * follows from it: per call, per attempt, and the KPI values per customer, carrier, destination,
 * carrier × destination and overall (expectedKpis).
 *
 * Needs Debian `kamailio`, `sip-tester` (sipp) and `tcpdump`, and the right to capture on `lo`
 * (root or CAP_NET_RAW). Every process started here is stopped before runCarriers() settles.
 *
 * startPlatform() is the same platform under the test's control while it runs (no capture): Kamailio
 * and the carriers up, customers started on demand with steady traffic (SteadyCall), a carrier's UAS
 * killed and a new one started on the same address and port (test/e2e/capacity-outage.test.ts);
 * Platform.close() stops every process it started.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeUdp } from '../support/pcap-link.ts';
import { readPcap } from '../support/pcap-read.ts';
import { decodeHep } from '../../src/protocol/hep/decode.ts';
import { parseSip } from '../../src/protocol/sip/parse.ts';
import type { SipMessage } from '../../src/protocol/sip/parse.ts';
import { alive, exited, freeUdpPorts, readText, stop, tail, udpPortTaken } from './processes.ts';

// ---------------------------------------------------------------------------------------------
// Who is where

export const PLATFORM_IP = '127.0.0.1';
export const CUSTOMERS = { acme: '127.0.0.11', globex: '127.0.0.12' } as const;
export type Customer = keyof typeof CUSTOMERS;
export const CARRIERS = {
  a: { name: 'carrier_a', ip: '127.0.0.21' },
  b: { name: 'carrier_b', ip: '127.0.0.22' },
  c: { name: 'carrier_c', ip: '127.0.0.23' },
} as const;
export type CarrierLetter = keyof typeof CARRIERS;
/** The carrier lists of kamailio.cfg, by dialled country code. */
export const ROUTES: Readonly<Record<string, readonly CarrierLetter[]>> = { '44': ['a', 'b', 'c'], '49': ['b', 'c'], '33': ['c', 'a'] };
/** Carrier replies after which Kamailio tries the next carrier (t_check_status("503|408")). */
export const FAILOVER_CODES: readonly number[] = [503, 408];
/** Codes the carrier UAS (uas.xml) can send. */
export type CarrierCode = 200 | 404 | 408 | 486 | 503;

/** The sipstats configuration of the test (native YAML), with or without X-CID correlation. */
export function sipstatsYaml(correlation: boolean): string {
  const cidr = (m: Record<string, string>) => Object.entries(m).map(([ip, n]) => `"${ip}/32": ${n}`).join(', ');
  return [
    'kpi:',
    `  platform: ["${PLATFORM_IP}/32"]`,
    `  customer: { kind: cidr, map: { ${cidr(Object.fromEntries(Object.entries(CUSTOMERS).map(([n, ip]) => [ip, n])))} } }`,
    `  carrier: { kind: cidr, map: { ${cidr(Object.fromEntries(Object.values(CARRIERS).map((c) => [c.ip, c.name])))} } }`,
    '  destination: { strip: ["+", "00"] }',
    ...(correlation ? ['  correlation: { header: X-CID }'] : []),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The plan

export interface PlannedCall {
  /** X-Call header of the customer's INVITE (copied to every attempt by Kamailio). */
  label: string;
  customer: Customer;
  /** Request-URI user the customer dials. */
  dialled: string;
  /** What the carriers of the route reply, in route order; the list ends where the call does. */
  replies: readonly CarrierCode[];
  /** Answered calls: ms from the customer's ACK to its BYE. */
  holdMs: number;
}

/**
 * Twelve calls, six per customer, to three countries. Nominal timing (uas.xml): a carrier fails
 * 100 ms after its INVITE, or rings at 100 ms and answers at 400 ms; so an attempt starts 100 ms
 * after the previous one failed. Hold times are chosen so that every ACD average lies well inside
 * its second (checkPlan).
 */
export const PLAN: readonly PlannedCall[] = Object.freeze([
  { label: 'A1', customer: 'acme', dialled: '+442079460001', replies: [200], holdMs: 1300 },
  { label: 'A2', customer: 'acme', dialled: '+442079460002', replies: [503, 200], holdMs: 1000 },
  { label: 'A3', customer: 'acme', dialled: '+493012340003', replies: [408, 200], holdMs: 1100 },
  { label: 'A4', customer: 'acme', dialled: '+33140000004', replies: [486], holdMs: 0 },
  { label: 'A5', customer: 'acme', dialled: '+493012340005', replies: [503, 503], holdMs: 0 },
  { label: 'A6', customer: 'acme', dialled: '0033140000006', replies: [503, 200], holdMs: 1500 },
  { label: 'G1', customer: 'globex', dialled: '+442079460007', replies: [503, 503, 200], holdMs: 3200 },
  { label: 'G2', customer: 'globex', dialled: '+493012340008', replies: [200], holdMs: 3200 },
  { label: 'G3', customer: 'globex', dialled: '+33140000009', replies: [408, 200], holdMs: 2900 },
  { label: 'G4', customer: 'globex', dialled: '+442079460010', replies: [404], holdMs: 0 },
  { label: 'G5', customer: 'globex', dialled: '+493012340011', replies: [503, 486], holdMs: 0 },
  { label: 'G6', customer: 'globex', dialled: '+442079460012', replies: [408, 486], holdMs: 0 },
]);

/** Timing of the carrier UAS (uas.xml), ms from its INVITE. */
export const UAS_TIMING = Object.freeze({ failMs: 100, ringMs: 100, answerMs: 400 });

export interface Weights {
  asr: 1 | -1;
  ner: 1 | -1;
  ccr: 1 | -1;
}

/** The default outcome table (docs/kpis.md): 2xx all +; 486/408 ASR− NER+ CCR+; other 3xx-4xx CCR+ only; 5xx-6xx all −. */
export function weightsOf(code: number): Weights {
  if (code >= 200 && code < 300) return { asr: 1, ner: 1, ccr: 1 };
  if (code === 486 || code === 408) return { asr: -1, ner: 1, ccr: 1 };
  if (code >= 300 && code < 500) return { asr: -1, ner: -1, ccr: 1 };
  return { asr: -1, ner: -1, ccr: -1 };
}

export interface ExpectedAttempt {
  carrier: CarrierLetter;
  carrierName: string;
  code: CarrierCode;
  weights: Weights;
  /** Nominal ms from the customer's INVITE to this attempt's INVITE. */
  startMs: number;
  pddMs: number;
  astMs: number | null;
  acdMs: number | null;
}

export interface ExpectedCall {
  label: string;
  customer: Customer;
  dialled: string;
  /** Destination name: the country code (ITU prefix table). */
  country: string;
  attempts: ExpectedAttempt[];
  /** Reply codes Kamailio may send the customer: tm's choice among the attempts' failures. */
  finalCodes: number[];
  weights: Weights;
  /** Nominal times from the customer's INVITE (ms). */
  pddMs: number;
  astMs: number | null;
  acdMs: number | null;
}

/** The country code of a dialled number ("+" or "00" stripped): one of the ROUTES keys. */
export function countryOf(dialled: string): string {
  const n = dialled.replace(/^\+/, '').replace(/^00/, '');
  const cc = Object.keys(ROUTES).find((k) => n.startsWith(k));
  if (cc === undefined) throw new Error(`plan: no route for ${dialled}`);
  return cc;
}

/**
 * The final reply tm sends upstream when every branch failed (RFC 3261 16.7 as Kamailio applies it):
 * 6xx first, else the lowest class; a 503 may be relayed as 500. The plan must not depend on
 * which one of a class tm picks (checkPlan): every candidate has the same weights.
 */
function tmChoice(codes: readonly number[]): number[] {
  const six = codes.filter((c) => c >= 600);
  const pool = six.length > 0 ? six : codes.filter((c) => Math.floor(c / 100) === Math.min(...codes.map((x) => Math.floor(x / 100))));
  const out = new Set<number>(pool);
  if (out.has(503)) out.add(500);
  return [...out].sort();
}

/** What a planned call must look like on the wire and count as. */
export function expectCall(p: PlannedCall): ExpectedCall {
  const country = countryOf(p.dialled);
  const route = ROUTES[country];
  if (p.replies.length === 0 || p.replies.length > route.length) throw new Error(`plan ${p.label}: ${p.replies.length} replies for a route of ${route.length}`);
  p.replies.forEach((code, i) => {
    const last = i === p.replies.length - 1;
    if (!last && !FAILOVER_CODES.includes(code)) throw new Error(`plan ${p.label}: Kamailio does not fail over on ${code}`);
    if (last && FAILOVER_CODES.includes(code) && i < route.length - 1) throw new Error(`plan ${p.label}: a ${code} from ${route[i]} goes on to ${route[i + 1]}`);
  });
  const { failMs, ringMs, answerMs } = UAS_TIMING;
  const answered = p.replies[p.replies.length - 1] === 200;
  const attempts: ExpectedAttempt[] = p.replies.map((code, i) => {
    const startMs = i * failMs;
    const ok = code === 200;
    return {
      carrier: route[i],
      carrierName: CARRIERS[route[i]].name,
      code,
      weights: weightsOf(code),
      startMs,
      pddMs: ok ? ringMs : failMs,
      astMs: ok ? answerMs : null,
      acdMs: ok ? answerMs + p.holdMs : null,
    };
  });
  const last = attempts[attempts.length - 1];
  const finalCodes = answered ? [200] : tmChoice(p.replies);
  const weights = weightsOf(finalCodes[0]);
  for (const c of finalCodes) {
    if (JSON.stringify(weightsOf(c)) !== JSON.stringify(weights)) throw new Error(`plan ${p.label}: tm may send ${finalCodes.join(' or ')}, which count differently`);
  }
  return {
    label: p.label,
    customer: p.customer,
    dialled: p.dialled,
    country,
    attempts,
    finalCodes,
    weights,
    pddMs: last.startMs + last.pddMs,
    astMs: answered ? last.startMs + answerMs : null,
    acdMs: answered ? last.startMs + answerMs + p.holdMs : null,
  };
}

/** The X-Plan header value of a call: what each carrier of its route replies ("a=503 b=200"). */
export function planHeader(p: PlannedCall): string {
  return expectCall(p)
    .attempts.map((a) => `${a.carrier}=${a.code}`)
    .join(' ');
}

// ---------------------------------------------------------------------------------------------
// Expected KPIs

/** One leg as the KPIs see it. */
interface LegSample {
  weights: Weights;
  failover: boolean | null;
  pddMs: number;
  astMs: number | null;
  acdMs: number | null;
}

export interface ExpectedKpis {
  /** 1-minute series by name (`ASR`, `ASRacme`, `ASR~dest=44`, `ASR~carrier=carrier_a~dest=44`, `FOR`, ...). */
  values: Record<string, number>;
  /** Allowed |actual − expected| for the time-based series (PDD, AST: ms). Absent: exact. */
  tolerance: Record<string, number>;
  /** Samples behind each ratio series: calls (all, customer, destination) or attempts (carrier scopes). */
  samples: Record<string, number>;
}

const pct = (ws: number[]) => {
  const ok = ws.filter((w) => w > 0).length;
  return ws.length === 0 ? 0 : Math.floor((100 * ok) / ws.length);
};
const avg = (xs: number[]) => (xs.length === 0 ? null : Math.trunc(xs.reduce((s, x) => s + x, 0) / xs.length));

function scopeValues(suffix: string, legs: readonly LegSample[], out: ExpectedKpis, timeTolMs: number, acdShiftMs = 0): void {
  out.values[`ASR${suffix}`] = pct(legs.map((l) => l.weights.asr));
  out.values[`NER${suffix}`] = pct(legs.map((l) => l.weights.ner));
  out.values[`CCR${suffix}`] = pct(legs.map((l) => l.weights.ccr));
  out.samples[`ASR${suffix}`] = legs.length;
  if (legs.every((l) => l.failover !== null)) out.values[`FOR${suffix}`] = pct(legs.map((l) => (l.failover ? 1 : -1)));
  const pdd = avg(legs.map((l) => l.pddMs));
  if (pdd !== null) {
    out.values[`PDD${suffix}`] = pdd;
    out.tolerance[`PDD${suffix}`] = timeTolMs;
  }
  const ast = avg(legs.flatMap((l) => (l.astMs === null ? [] : [l.astMs])));
  if (ast !== null) {
    out.values[`AST${suffix}`] = ast;
    out.tolerance[`AST${suffix}`] = timeTolMs;
  }
  const acd = avg(legs.flatMap((l) => (l.acdMs === null ? [] : [(l.acdMs + acdShiftMs) / 1000])));
  if (acd !== null) out.values[`ACD${suffix}`] = acd;
}

/**
 * The 1-minute KPI series the plan implies: calls (all traffic, per customer, per destination) and
 * attempts (per carrier, per carrier × destination). `acdShiftMs` moves every ACD sample (checkPlan).
 */
export function expectedKpis(plan: readonly PlannedCall[] = PLAN, timeTolMs = 100, acdShiftMs = 0): ExpectedKpis {
  const calls = plan.map(expectCall);
  const out: ExpectedKpis = { values: {}, tolerance: {}, samples: {} };
  const group = <T>(xs: readonly T[], key: (x: T) => string) => {
    const m = new Map<string, T[]>();
    for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
    return m;
  };
  const callLeg = (c: ExpectedCall): LegSample => ({ weights: c.weights, failover: c.attempts.length > 1, pddMs: c.pddMs, astMs: c.astMs, acdMs: c.acdMs });
  scopeValues('', calls.map(callLeg), out, timeTolMs, acdShiftMs);
  for (const [customer, cs] of group(calls, (c) => c.customer)) scopeValues(customer, cs.map(callLeg), out, timeTolMs, acdShiftMs);
  for (const [dest, cs] of group(calls, (c) => c.country)) scopeValues(`~dest=${dest}`, cs.map(callLeg), out, timeTolMs, acdShiftMs);
  const attempts = calls.flatMap((c) => c.attempts.map((a) => ({ ...a, country: c.country })));
  const attemptLeg = (a: ExpectedAttempt): LegSample => ({ weights: a.weights, failover: null, pddMs: a.pddMs, astMs: a.astMs, acdMs: a.acdMs });
  for (const [carrier, as] of group(attempts, (a) => a.carrierName)) scopeValues(`~carrier=${carrier}`, as.map(attemptLeg), out, timeTolMs, acdShiftMs);
  for (const [key, as] of group(attempts, (a) => `~carrier=${a.carrierName}~dest=${a.country}`)) scopeValues(key, as.map(attemptLeg), out, timeTolMs, acdShiftMs);
  return out;
}

/** Self-statistics the plan implies. */
export function expectedCounters(plan: readonly PlannedCall[] = PLAN): Record<string, number | null> {
  const calls = plan.map(expectCall);
  return {
    'sipstats:calls_started': calls.length,
    'sipstats:attempts_started': calls.reduce((n, c) => n + c.attempts.length, 0),
    'sipstats:calls_failed_over': calls.filter((c) => c.attempts.length > 1).length,
    'sipstats:attempts_uncorrelated': null,
  };
}

/**
 * Guards the plan: every call is one Kamailio can play (expectCall), and no truncated ACD average
 * moves when every call is up to 250 ms shorter or longer than nominal (SIPp and Kamailio add a
 * few ms per message; a loaded machine more).
 */
export function checkPlan(plan: readonly PlannedCall[] = PLAN): void {
  const ref = expectedKpis(plan).values;
  for (const shift of [-250, 250]) {
    const v = expectedKpis(plan, 100, shift).values;
    for (const k of Object.keys(ref)) if (k.startsWith('ACD') && v[k] !== ref[k]) throw new Error(`plan: ${k} is ${ref[k]} nominal but ${v[k]} with calls ${shift} ms longer`);
  }
  const labels = new Set(plan.map((p) => p.label));
  if (labels.size !== plan.length) throw new Error('plan: labels repeat');
}
checkPlan();

// ---------------------------------------------------------------------------------------------
// Running it

export type Mode = 'proxy' | 'topoh';

export interface RunOptions {
  mode: Mode;
  /** Directory for the configuration, scenarios, captures and logs (created if needed). */
  dir: string;
  /** sipstats' HEP port on 127.0.0.1 (siptrace's duplicate_uri). */
  hepPort: number;
  /** Whole run, ms (default 40 000). The plan itself takes about 6 s. */
  timeoutMs?: number;
  /** Log every SIP message SIPp sends and receives, and Kamailio at debug level. */
  trace?: boolean;
  /**
   * What each customer's SIPp places (default: the calls of PLAN, 4 calls/s, all at once). Each
   * call of `calls` is one line of the customer's injection file, placed in that order.
   */
  load?: readonly CustomerLoad[];
}

/** One customer's traffic: its calls, paced at `rate` calls/s (SIPp -r), at most `limit` at once (-l). */
export interface CustomerLoad {
  customer: Customer;
  calls: readonly PlannedCall[];
  rate: number;
  limit: number;
}

export interface RunResult {
  /** SIP on the wire (every message goes to or from Kamailio's port, HEP excluded): what replay reads. */
  sipPcap: string;
  /** siptrace's HEP to sipstats, captured beside it (for checks only). */
  hepPcap: string;
  ports: { sip: number; hep: number; carriers: Record<CarrierLetter, number> };
  /** Process ids started (all stopped when the promise settles). */
  pids: number[];
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FIXTURES = resolve(HERE, '../e2e/kamailio');

/** The kamailio binary (PATH, then /usr/sbin), or a clear error naming the Debian package. */
export function kamailioBinary(): string {
  for (const c of ['kamailio', '/usr/sbin/kamailio', '/usr/local/sbin/kamailio']) {
    const r = spawnSync(c, ['-v'], { stdio: 'ignore', timeout: 10_000 });
    if (r.error === undefined) return c;
  }
  throw new Error('kamailio not found: install the Debian package kamailio (apt-get install kamailio)');
}

/** The directory holding Kamailio's modules (tm.so, siptrace.so, topoh.so, ...). */
export function kamailioModules(): string {
  const candidates: string[] = [];
  for (const base of ['/usr/lib', '/usr/local/lib', '/usr/lib64', '/usr/local/lib64']) {
    candidates.push(join(base, 'kamailio', 'modules'));
    try {
      for (const d of readdirSync(base)) candidates.push(join(base, d, 'kamailio', 'modules'));
    } catch {
      // no such base
    }
  }
  for (const dir of candidates) if (existsSync(join(dir, 'tm.so'))) {
    const missing = ['tmx', 'sl', 'rr', 'pv', 'maxfwd', 'textops', 'siputils', 'xlog', 'siptrace', 'topoh'].filter((m) => !existsSync(join(dir, `${m}.so`)));
    if (missing.length > 0) throw new Error(`Kamailio modules missing in ${dir}: ${missing.join(', ')} (Debian package kamailio)`);
    return dir;
  }
  throw new Error('Kamailio modules (tm.so) not found: install the Debian package kamailio (apt-get install kamailio)');
}

/** Throws a clear error when `cmd` cannot be run. */
function requireTool(cmd: string, args: string[], hint: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${cmd} not found: ${hint}`);
}

/** Every tool the run needs, or an error saying which Debian package to install. */
export function requireTools(): { kamailio: string; modules: string } {
  requireTool('sipp', ['-v'], 'install the Debian package sip-tester (apt-get install sip-tester)');
  requireTool('tcpdump', ['--version'], 'install the Debian package tcpdump (apt-get install tcpdump)');
  return { kamailio: kamailioBinary(), modules: kamailioModules() };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits up to `ms` for every pid to be gone. */
async function gone(pids: readonly number[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (pids.some(running) && Date.now() < until) await sleep(20);
}

/** A process and all its descendants (Linux /proc), the process first. */
function descendants(pid: number): number[] {
  if (pid <= 0) return [];
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${out[i]}/task`)) {
        for (const c of readText(`/proc/${out[i]}/task/${task}/children`).split(/\s+/)) if (c !== '' && !out.includes(Number(c))) out.push(Number(c));
      }
    } catch {
      // gone meanwhile, or no /proc
    }
  }
  return out;
}

/** Fills @NAME@ placeholders; throws when one of `values` is not used or one is left. */
function fill(template: string, values: Record<string, string>, what: string): string {
  let text = template;
  for (const [k, v] of Object.entries(values)) {
    if (!text.includes(`@${k}@`)) throw new Error(`${what}: no @${k}@`);
    text = text.split(`@${k}@`).join(v);
  }
  const left = /@[A-Z_]+@/.exec(text);
  if (left !== null) throw new Error(`${what}: ${left[0]} not filled`);
  return text;
}

/** The injection file of one customer's calls (fields as described at the top of uac.xml). */
export function injectionFile(customer: Customer, plan: readonly PlannedCall[] = PLAN): string {
  return ['SEQUENTIAL', ...plan.filter((p) => p.customer === customer).map((p) => [p.label, p.dialled, planHeader(p), p.holdMs].join(';'))].join('\n') + '\n';
}

/**
 * Plays the plan through Kamailio: tcpdump captures the SIP (and, apart, the HEP), Kamailio starts,
 * the carriers, then both customers place their calls at once. Resolves when every call is over and
 * every process stopped; rejects (after stopping them) when a tool is missing or a SIPp call failed.
 */
export async function runCarriers(opts: RunOptions): Promise<RunResult> {
  const tools = requireTools();
  const timeoutMs = opts.timeoutMs ?? 40_000;
  const deadline = Date.now() + timeoutMs;
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const sipPcap = join(dir, `${opts.mode}-sip.pcap`);
  const hepPcap = join(dir, `${opts.mode}-hep.pcap`);

  const [sipPort, pa, pb, pc, ...ctl] = await freeUdpPorts(4 + 5);
  const [uacAcme, uacGlobex] = await freeUdpPorts(2);
  const carrierPorts: Record<CarrierLetter, number> = { a: pa, b: pb, c: pc };
  const cfg = join(dir, `${opts.mode}-kamailio.cfg`);
  writeFileSync(
    cfg,
    fill(
      readFileSync(join(FIXTURES, 'kamailio.cfg'), 'utf8'),
      {
        DEBUG: opts.trace ? '3' : '2',
        SIP_PORT: String(sipPort),
        HEP_PORT: String(opts.hepPort),
        MODULES: tools.modules,
        CARRIER_A: `${CARRIERS.a.ip}:${pa}`,
        CARRIER_B: `${CARRIERS.b.ip}:${pb}`,
        CARRIER_C: `${CARRIERS.c.ip}:${pc}`,
      },
      'kamailio.cfg',
    ),
  );
  const uasTemplate = readFileSync(join(FIXTURES, 'uas.xml'), 'utf8');
  for (const l of Object.keys(CARRIERS) as CarrierLetter[]) writeFileSync(join(dir, `uas-${l}.xml`), fill(uasTemplate, { CARRIER: l }, 'uas.xml'));
  const load: readonly CustomerLoad[] =
    opts.load ?? (Object.keys(CUSTOMERS) as Customer[]).map((customer) => ({ customer, calls: PLAN.filter((p) => p.customer === customer), rate: 4, limit: PLAN.filter((p) => p.customer === customer).length }));
  for (const l of load) {
    if (l.calls.some((p) => p.customer !== l.customer)) throw new Error(`load: a call of ${l.customer}'s is another customer's`);
    writeFileSync(join(dir, `${l.customer}.csv`), injectionFile(l.customer, l.calls));
  }

  const children: ChildProcess[] = [];
  const extraPids: number[] = [];
  const fds: number[] = [];
  const killAll = () => {
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const lifetimeS = Math.ceil(timeoutMs / 1000) + 10; // failsafe: the tools quit by themselves
  const log = (name: string) => {
    const fd = openSync(join(dir, name), 'w');
    fds.push(fd);
    return fd;
  };
  const start = (cmd: string, args: string[], out: number, err: number | 'pipe') => {
    const child = spawn(cmd, args, { stdio: ['ignore', out, err] });
    children.push(child);
    child.on('error', () => {}); // reported through the exit code and the checks below
    return child;
  };
  const hasTimeout = spawnSync('timeout', ['--version'], { stdio: 'ignore' }).error === undefined;
  const startTcpdump = async (file: string, filter: string, name: string) => {
    const args = ['-i', 'lo', '-n', '-U', '--immediate-mode', '-w', file, filter];
    const td = hasTimeout ? start('timeout', ['-s', 'INT', '-k', '5', String(lifetimeS), 'tcpdump', ...args], log(`${name}.out`), 'pipe') : start('tcpdump', args, log(`${name}.out`), 'pipe');
    let err = '';
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`tcpdump did not start listening within 10 s: ${err}`)), 10_000);
      td.stderr!.setEncoding('utf8');
      td.stderr!.on('data', (d: string) => {
        err += d;
        if (err.includes('listening on')) {
          clearTimeout(timer);
          res();
        }
      });
      td.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`tcpdump exited (${code}) before listening: ${err.trim()} (capturing on lo needs root or CAP_NET_RAW)`));
      });
    });
    return td;
  };
  const waitBound = async (child: ChildProcess, ip: string, port: number, what: string, logFile: string) => {
    while (!(await udpPortTaken(ip, port))) {
      if (!alive(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${tail(readText(join(dir, logFile)))}`);
      if (Date.now() > deadline) throw new Error(`${what} did not bind ${ip}:${port} in time:\n${tail(readText(join(dir, logFile)))}`);
      await sleep(20);
    }
  };

  try {
    // siptrace sends its HEP from Kamailio's SIP socket: that is not SIP on the wire
    const tdSip = await startTcpdump(sipPcap, `udp and port ${sipPort} and not port ${opts.hepPort}`, `${opts.mode}-tcpdump-sip`);
    const tdHep = await startTcpdump(hepPcap, `udp and dst port ${opts.hepPort}`, `${opts.mode}-tcpdump-hep`);

    // Kamailio in the foreground (-DD: no daemon, its workers are its children), logs on stderr
    const kamLog = `${opts.mode}-kamailio.log`;
    const kamOut = log(kamLog);
    const kamArgs = ['-f', cfg, '-DD', '-E', '-n', '1', '-P', join(dir, `${opts.mode}-kamailio.pid`), '-Y', dir, '-w', dir, '-m', '32', '-M', '8', ...(opts.mode === 'topoh' ? ['-A', 'WITH_TOPOH'] : [])];
    // under coreutils `timeout` when there is one (it passes our SIGTERM on): the failsafe
    const kamailio = hasTimeout ? start('timeout', ['-s', 'TERM', '-k', '5', String(lifetimeS), tools.kamailio, ...kamArgs], kamOut, kamOut) : start(tools.kamailio, kamArgs, kamOut, kamOut);
    await waitBound(kamailio, PLATFORM_IP, sipPort, 'kamailio', kamLog);

    const common = ['-bind_local', '-nostdin', '-default_behaviors', 'none', '-timer_resol', '1', '-timeout', `${lifetimeS}s`];
    const trace = (side: string) => ['-trace_err', '-error_file', join(dir, `${opts.mode}-${side}-errors.log`), ...(opts.trace ? ['-trace_msg', '-message_file', join(dir, `${opts.mode}-${side}-messages.log`)] : [])];
    const carriers: ChildProcess[] = [];
    let k = 0;
    for (const l of Object.keys(CARRIERS) as CarrierLetter[]) {
      const name = `${opts.mode}-uas-${l}.out`;
      const out = log(name);
      const uas = start('sipp', ['-sf', join(dir, `uas-${l}.xml`), '-i', CARRIERS[l].ip, '-p', String(carrierPorts[l]), '-cp', String(ctl[k++]), ...common, ...trace(`uas-${l}`)], out, out);
      carriers.push(uas);
      await waitBound(uas, CARRIERS[l].ip, carrierPorts[l], `sipp carrier ${l}`, name);
    }

    const uacs: { customer: Customer; child: ChildProcess; out: string }[] = [];
    const uacPorts: Record<Customer, number> = { acme: uacAcme, globex: uacGlobex };
    for (const { customer, calls: placed, rate, limit } of load) {
      const port = uacPorts[customer];
      const calls = placed.length;
      const name = `${opts.mode}-uac-${customer}.out`;
      const out = log(name);
      const child = start(
        'sipp',
        [
          `${PLATFORM_IP}:${sipPort}`,
          '-sf', join(FIXTURES, 'uac.xml'),
          '-inf', join(dir, `${customer}.csv`),
          '-i', CUSTOMERS[customer],
          '-p', String(port),
          '-cp', String(ctl[k++]),
          '-m', String(calls),
          '-r', String(rate), '-rp', '1000',
          '-l', String(limit),
          '-timeout_error',
          ...common,
          ...trace(`uac-${customer}`),
        ],
        out,
        out,
      );
      uacs.push({ customer, child, out: name });
    }
    for (const u of uacs) {
      const code = await exited(u.child, Math.max(1000, deadline - Date.now()));
      if (code === null) throw new Error(`sipp customer ${u.customer} did not finish within ${timeoutMs} ms:\n${tail(readText(join(dir, u.out)))}`);
      if (code !== 0) {
        throw new Error(
          `sipp customer ${u.customer} failed (exit ${code}; 1 = some call failed):\n${tail(readText(join(dir, u.out)))}\n${readText(join(dir, `${opts.mode}-uac-${u.customer}-errors.log`)).slice(0, 4000)}\nkamailio:\n${tail(readText(join(dir, kamLog)))}`,
        );
      }
    }

    // the last 200 to a BYE, and its HEP copy, reach the captures; then stop, captures first
    await sleep(500);
    await stop(tdSip, 'SIGINT', 5000);
    await stop(tdHep, 'SIGINT', 5000);
    for (const c of carriers) await stop(c, 'SIGTERM', 3000);
    // Kamailio's own processes (main and workers), so that they are waited for and can be checked
    for (const pid of descendants(kamailio.pid ?? -1)) if (pid !== kamailio.pid) extraPids.push(pid);
    await stop(kamailio, 'SIGTERM', 5000);
    await gone(extraPids, 5000);
    for (const side of [...load.map((l) => `uac-${l.customer}`), 'uas-a', 'uas-b', 'uas-c']) {
      // (SIPp's watchdog warnings say the machine was busy, not that a message was unexpected)
      const errors = readText(join(dir, `${opts.mode}-${side}-errors.log`))
        .split('\n')
        .filter((l) => !/watchdog timer \d+ms has been tripped/.test(l))
        .join('\n');
      if (errors.trim() !== '') throw new Error(`sipp ${side} reported unexpected messages (${join(dir, `${opts.mode}-${side}-errors.log`)}):\n${errors.slice(0, 4000)}`);
    }
    for (const f of [sipPcap, hepPcap]) if (!existsSync(f) || statSync(f).size <= 24) throw new Error(`tcpdump wrote no packets to ${f}`);
    return { sipPcap, hepPcap, ports: { sip: sipPort, hep: opts.hepPort, carriers: carrierPorts }, pids: [...children.map((c) => c.pid ?? -1), ...extraPids] };
  } finally {
    await Promise.all(children.map((c) => stop(c, c.spawnfile === 'sipp' ? 'SIGTERM' : 'SIGINT', 3000)));
    // a Kamailio worker left behind (its main process killed hard) is ended by its own id
    await gone(extraPids, 3000);
    for (const pid of extraPids) if (running(pid) && readText(`/proc/${pid}/cmdline`).includes('kamailio')) process.kill(pid, 'SIGKILL');
    process.off('exit', killAll);
    for (const fd of fds) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// A platform the test controls while it runs: carriers killed and started again mid-traffic

/**
 * One call of steady traffic. Unlike a PlannedCall, `replies` names what each carrier of the route
 * replies should the call reach it, and a carrier may answer even when another before it did: with
 * `{ a: 200, b: 200 }` the call is answered by carrier_a while it is there, by carrier_b once
 * carrier_a is gone (its INVITE times out, 408, and Kamailio fails over).
 */
export interface SteadyCall {
  /** X-Call header (need not be unique: SIPp loops over its injection file). */
  label: string;
  dialled: string;
  replies: Partial<Record<CarrierLetter, CarrierCode>>;
  /** ms from the customer's ACK to its BYE. */
  holdMs: number;
}

/** `count` calls of one customer to `prefix` + a 4-digit number, each with the same replies and hold. */
export function steadyCalls(customer: Customer, count: number, prefix: string, replies: SteadyCall['replies'], holdMs: number): SteadyCall[] {
  const tag = customer === 'acme' ? 'A' : 'G';
  return Array.from({ length: count }, (_, i) => ({ label: `${tag}${String(i + 1).padStart(4, '0')}`, dialled: `${prefix}${String(i + 1).padStart(4, '0')}`, replies, holdMs }));
}

export interface PlatformOptions {
  mode: Mode;
  /** Directory for the configuration, scenarios and logs (created if needed). */
  dir: string;
  /** sipstats' HEP port on 127.0.0.1 (siptrace's duplicate_uri). */
  hepPort: number;
  /** Failsafe: every tool quits by itself after this long, ms (default 180 000). */
  lifetimeMs?: number;
  /** Log every SIP message SIPp sends and receives, and Kamailio at debug level. */
  trace?: boolean;
  /** The carriers started with the platform (default all three); startCarrier() starts the others. */
  carriers?: readonly CarrierLetter[];
}

/** A customer's SIPp UAC started by Platform.startCustomer. */
export interface CustomerRun {
  customer: Customer;
  child: ChildProcess;
  /** SIPp's screen output and its unexpected-message log. */
  outLog: string;
  errorsLog: string;
}

/**
 * Kamailio and the carrier UASs up, the customers started on demand: the test kills a carrier's
 * UAS and starts another one on the same address and port while the traffic runs.
 */
export interface Platform {
  readonly sipPort: number;
  readonly carrierPorts: Readonly<Record<CarrierLetter, number>>;
  readonly kamailioLog: string;
  /** The carrier's running UAS, if any. */
  carrier(l: CarrierLetter): ChildProcess | undefined;
  /** Starts the carrier's UAS (uas.xml) on its address and port; resolves once it listens. Each start has its own logs (`-uas-a-2.out`). */
  startCarrier(l: CarrierLetter): Promise<ChildProcess>;
  /** Sends `signal` (default SIGKILL: an outage) to the carrier's UAS; resolves once it is gone and its port free. */
  killCarrier(l: CarrierLetter, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts a customer's SIPp UAC placing `calls` at `rate` calls/s (-r, -rp 1000), at most `limit`
   * at once; it runs until its calls are placed and over, or close(). `byeReplies`: the replies to
   * its BYEs it accepts besides 200 (a BYE towards a dead carrier gets Kamailio's 408).
   */
  startCustomer(customer: Customer, calls: readonly SteadyCall[], rate: number, limit: number, byeReplies?: readonly number[]): Promise<CustomerRun>;
  /** Every process started so far (for the check that none is left). */
  pids(): number[];
  /** Stops everything: customers, carriers, Kamailio and its workers. */
  close(): Promise<void>;
}

/** Kamailio and the carriers (all three unless `carriers` says otherwise); rejects (after stopping them) when a tool is missing or does not start. */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const tools = requireTools();
  const lifetimeS = Math.ceil((opts.lifetimeMs ?? 180_000) / 1000);
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const [sipPort, pa, pb, pc] = await freeUdpPorts(4);
  const carrierPorts: Record<CarrierLetter, number> = { a: pa, b: pb, c: pc };
  const cfg = join(dir, `${opts.mode}-kamailio.cfg`);
  writeFileSync(
    cfg,
    fill(
      readFileSync(join(FIXTURES, 'kamailio.cfg'), 'utf8'),
      { DEBUG: opts.trace ? '3' : '2', SIP_PORT: String(sipPort), HEP_PORT: String(opts.hepPort), MODULES: tools.modules, CARRIER_A: `${CARRIERS.a.ip}:${pa}`, CARRIER_B: `${CARRIERS.b.ip}:${pb}`, CARRIER_C: `${CARRIERS.c.ip}:${pc}` },
      'kamailio.cfg',
    ),
  );
  const uasTemplate = readFileSync(join(FIXTURES, 'uas.xml'), 'utf8');
  for (const l of Object.keys(CARRIERS) as CarrierLetter[]) writeFileSync(join(dir, `uas-${l}.xml`), fill(uasTemplate, { CARRIER: l }, 'uas.xml'));

  const children: ChildProcess[] = [];
  const extraPids: number[] = [];
  const fds: number[] = [];
  const killAll = () => {
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const log = (name: string) => {
    const fd = openSync(join(dir, name), 'w');
    fds.push(fd);
    return fd;
  };
  const spawnTool = (cmd: string, args: string[], out: number) => {
    const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
    children.push(child);
    child.on('error', () => {}); // seen as an exit below
    return child;
  };
  const waitBound = async (child: ChildProcess, ip: string, port: number, what: string, logFile: string) => {
    const until = Date.now() + 15_000;
    while (!(await udpPortTaken(ip, port))) {
      if (!alive(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${tail(readText(join(dir, logFile)))}`);
      if (Date.now() > until) throw new Error(`${what} did not bind ${ip}:${port} within 15 s:\n${tail(readText(join(dir, logFile)))}`);
      await sleep(20);
    }
  };
  const hasTimeout = spawnSync('timeout', ['--version'], { stdio: 'ignore' }).error === undefined;
  const common = ['-bind_local', '-nostdin', '-default_behaviors', 'none', '-timer_resol', '1', '-timeout', `${lifetimeS}s`];
  const trace = (side: string) => ['-trace_err', '-error_file', join(dir, `${opts.mode}-${side}-errors.log`), ...(opts.trace ? ['-trace_msg', '-message_file', join(dir, `${opts.mode}-${side}-messages.log`)] : [])];
  // SIPp's control socket (-cp): a free UDP port of its own for each SIPp
  const controlPort = async () => (await freeUdpPorts(1))[0];

  const uas: Partial<Record<CarrierLetter, ChildProcess>> = {};
  const starts: Record<CarrierLetter, number> = { a: 0, b: 0, c: 0 };
  const kamLog = `${opts.mode}-kamailio.log`;
  let kamailio: ChildProcess | undefined;

  const close = async () => {
    const sipps = children.filter((c) => c !== kamailio);
    await Promise.all(sipps.map((c) => stop(c, 'SIGTERM', 3000)));
    if (kamailio !== undefined) {
      for (const pid of descendants(kamailio.pid ?? -1)) if (pid !== kamailio.pid && !extraPids.includes(pid)) extraPids.push(pid);
      await stop(kamailio, 'SIGTERM', 5000);
    }
    await gone(extraPids, 5000);
    // a Kamailio worker left behind (its main process killed hard) is ended by its own id
    for (const pid of extraPids) if (running(pid) && readText(`/proc/${pid}/cmdline`).includes('kamailio')) process.kill(pid, 'SIGKILL');
    process.off('exit', killAll);
    for (const fd of fds.splice(0)) closeSync(fd);
  };

  const platform: Platform = {
    sipPort,
    carrierPorts,
    kamailioLog: join(dir, kamLog),
    carrier: (l) => (uas[l] !== undefined && alive(uas[l]!) ? uas[l] : undefined),
    async startCarrier(l) {
      if (platform.carrier(l) !== undefined) throw new Error(`carrier ${l}: a UAS is already running`);
      const n = ++starts[l];
      const name = `${opts.mode}-uas-${l}-${n}.out`;
      const child = spawnTool('sipp', ['-sf', join(dir, `uas-${l}.xml`), '-i', CARRIERS[l].ip, '-p', String(carrierPorts[l]), '-cp', String(await controlPort()), ...common, ...trace(`uas-${l}-${n}`)], log(name));
      uas[l] = child;
      await waitBound(child, CARRIERS[l].ip, carrierPorts[l], `sipp carrier ${l}`, name);
      return child;
    },
    async killCarrier(l, signal = 'SIGKILL') {
      const child = platform.carrier(l);
      if (child === undefined) throw new Error(`carrier ${l}: no UAS running`);
      child.kill(signal);
      if ((await exited(child, 5000)) === null) throw new Error(`carrier ${l}: its UAS did not exit on ${signal} within 5 s`);
      const until = Date.now() + 5000;
      while (await udpPortTaken(CARRIERS[l].ip, carrierPorts[l])) {
        if (Date.now() > until) throw new Error(`carrier ${l}: ${CARRIERS[l].ip}:${carrierPorts[l]} still taken 5 s after its UAS exited`);
        await sleep(20);
      }
    },
    async startCustomer(customer, calls, rate, limit, byeReplies = []) {
      const byeAnswer = '<recv response="200" next="done"/>';
      const uac = readFileSync(join(FIXTURES, 'uac.xml'), 'utf8');
      if (uac.split(byeAnswer).length !== 2) throw new Error(`uac.xml: the reply to the BYE (${byeAnswer}) is not there once`);
      const scenario = join(dir, `uac-${customer}.xml`);
      writeFileSync(scenario, uac.replace(byeAnswer, [...byeReplies.map((c) => `<recv response="${c}" optional="true" next="done"/>`), byeAnswer].join('\n  ')));
      const csv = join(dir, `${customer}-steady.csv`);
      const xplan = (c: SteadyCall) => (Object.keys(c.replies) as CarrierLetter[]).map((l) => `${l}=${c.replies[l]}`).join(' ');
      writeFileSync(csv, ['SEQUENTIAL', ...calls.map((c) => [c.label, c.dialled, xplan(c), c.holdMs].join(';'))].join('\n') + '\n');
      const outLog = `${opts.mode}-uac-${customer}.out`;
      const [port, cp] = await freeUdpPorts(2);
      const child = spawnTool(
        'sipp',
        [
          `${PLATFORM_IP}:${sipPort}`,
          '-sf', scenario,
          '-inf', csv,
          '-i', CUSTOMERS[customer],
          '-p', String(port),
          '-cp', String(cp),
          '-m', String(calls.length),
          '-r', String(rate), '-rp', '1000',
          '-l', String(limit),
          ...common,
          ...trace(`uac-${customer}`),
        ],
        log(outLog),
      );
      return { customer, child, outLog: join(dir, outLog), errorsLog: join(dir, `${opts.mode}-uac-${customer}-errors.log`) };
    },
    pids: () => [...children.map((c) => c.pid ?? -1), ...extraPids],
    close,
  };

  try {
    const kamArgs = ['-f', cfg, '-DD', '-E', '-n', '1', '-P', join(dir, `${opts.mode}-kamailio.pid`), '-Y', dir, '-w', dir, '-m', '32', '-M', '8', ...(opts.mode === 'topoh' ? ['-A', 'WITH_TOPOH'] : [])];
    // under coreutils `timeout` when there is one (it passes our SIGTERM on): the failsafe
    kamailio = hasTimeout ? spawnTool('timeout', ['-s', 'TERM', '-k', '5', String(lifetimeS), tools.kamailio, ...kamArgs], log(kamLog)) : spawnTool(tools.kamailio, kamArgs, log(kamLog));
    await waitBound(kamailio, PLATFORM_IP, sipPort, 'kamailio', kamLog);
    for (const pid of descendants(kamailio.pid ?? -1)) if (pid !== kamailio.pid) extraPids.push(pid);
    for (const l of opts.carriers ?? (Object.keys(CARRIERS) as CarrierLetter[])) await platform.startCarrier(l);
    return platform;
  } catch (e) {
    await close();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the captures back: the per-call truth

/** One SIP message with its addresses and capture time. */
export interface WireSip {
  timeMs: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  msg: SipMessage;
}

/** The SIP messages of a pcap (UDP), in capture order; throws on anything else. */
export function readSipPcap(file: string): WireSip[] {
  const { packets, stats } = readPcap(readFileSync(file));
  if (stats.error !== null) throw new Error(`${file}: ${stats.error.code} ${stats.error.message}`);
  return packets.map((p) => {
    const u = decodeUdp(p.linkType, p.data);
    if (u === null) throw new Error(`${file}: a packet at ${p.timeMs} is not UDP`);
    const r = parseSip(u.payload);
    if (!r.ok) throw new Error(`${file}: not SIP at ${p.timeMs}: ${r.error.message}`);
    return { timeMs: p.timeMs, srcIp: u.srcIp, dstIp: u.dstIp, srcPort: u.srcPort, dstPort: u.dstPort, msg: r.value };
  });
}

/** The SIP messages siptrace sent as HEP (captured on their way to sipstats), in capture order. */
export function readHepPcap(file: string): WireSip[] {
  const { packets, stats } = readPcap(readFileSync(file));
  if (stats.error !== null) throw new Error(`${file}: ${stats.error.code} ${stats.error.message}`);
  return packets.map((p) => {
    const u = decodeUdp(p.linkType, p.data);
    if (u === null) throw new Error(`${file}: a packet at ${p.timeMs} is not UDP`);
    const h = decodeHep(u.payload);
    if (!h.ok) throw new Error(`${file}: not HEP at ${p.timeMs}`);
    const r = parseSip(h.value.payload);
    if (!r.ok) throw new Error(`${file}: HEP payload is not SIP at ${p.timeMs}: ${r.error.message}`);
    return { timeMs: h.value.timeMs, srcIp: h.value.srcIp, dstIp: h.value.dstIp, srcPort: h.value.srcPort, dstPort: h.value.dstPort, msg: r.value };
  });
}

/** One attempt as the wire shows it. */
export interface WireAttempt {
  carrierIp: string;
  callId: string;
  branch: string | null;
  xcid: string | null;
  /** The carrier's final reply (first one). */
  code: number | null;
  inviteMs: number;
}

/** One customer call as the wire shows it. */
export interface WireCall {
  label: string;
  customerIp: string;
  callId: string;
  dialled: string | null;
  /** Kamailio's final reply to the customer (first one). */
  code: number | null;
  inviteMs: number;
  attempts: WireAttempt[];
  byes: number;
}

const CARRIER_IPS: ReadonlySet<string> = new Set(Object.values(CARRIERS).map((c) => c.ip));
const CUSTOMER_IPS: ReadonlySet<string> = new Set(Object.values(CUSTOMERS));

/** The calls and attempts of a capture, by the X-Call label their INVITEs carry. */
export function callsOnWire(msgs: readonly WireSip[]): Map<string, WireCall> {
  const calls = new Map<string, WireCall>();
  const byCallId = new Map<string, WireCall>();
  const attemptOf = new Map<string, WireAttempt>(); // Call-ID + branch
  for (const m of msgs) {
    const { msg } = m;
    const callId = msg.callId ?? '';
    if (msg.isRequest && msg.method === 'INVITE' && msg.toTag === null) {
      const label = msg.header('X-Call') ?? '';
      if (CUSTOMER_IPS.has(m.srcIp) && m.dstIp === PLATFORM_IP) {
        if (calls.has(label)) continue; // a retransmission
        const c: WireCall = { label, customerIp: m.srcIp, callId, dialled: msg.ruriUser, code: null, inviteMs: m.timeMs, attempts: [], byes: 0 };
        calls.set(label, c);
        byCallId.set(callId, c);
      } else if (m.srcIp === PLATFORM_IP && CARRIER_IPS.has(m.dstIp)) {
        const key = `${callId}\n${msg.viaBranch}`;
        if (attemptOf.has(key)) continue;
        const c = calls.get(label);
        if (c === undefined) throw new Error(`wire: attempt ${key} of unknown call ${label}`);
        const a: WireAttempt = { carrierIp: m.dstIp, callId, branch: msg.viaBranch, xcid: msg.header('X-CID'), code: null, inviteMs: m.timeMs };
        c.attempts.push(a);
        attemptOf.set(key, a);
        byCallId.set(callId, c);
      }
      continue;
    }
    if (msg.isRequest) {
      if (msg.method === 'BYE' && CUSTOMER_IPS.has(m.srcIp)) {
        const c = byCallId.get(callId);
        if (c !== undefined) c.byes++;
      }
      continue;
    }
    if (msg.cseq?.method !== 'INVITE' || msg.status < 200) continue;
    if (m.srcIp === PLATFORM_IP && CUSTOMER_IPS.has(m.dstIp)) {
      const c = byCallId.get(callId);
      if (c !== undefined && c.code === null) c.code = msg.status;
    } else if (CARRIER_IPS.has(m.srcIp)) {
      const a = attemptOf.get(`${callId}\n${msg.viaBranch}`);
      if (a !== undefined && a.code === null) a.code = msg.status;
    }
  }
  return calls;
}

export const carrierByIp = (ip: string): CarrierLetter | undefined => (Object.keys(CARRIERS) as CarrierLetter[]).find((l) => CARRIERS[l].ip === ip);

// ---------------------------------------------------------------------------------------------

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // `node --import tsx test/support/kamailio.ts` prints the expected table of the plan
  const e = expectedKpis();
  console.log(JSON.stringify({ calls: PLAN.map(expectCall), expected: e.values, samples: e.samples, counters: expectedCounters() }, null, 2));
}
