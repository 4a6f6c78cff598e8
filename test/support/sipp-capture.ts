/**
 * Real SIP traffic for the call-KPI end-to-end test: a SIPp UAC and UAS on 127.0.0.1 play
 * a fixed mix of calls (answered with known delays, 486, 404, 408, 503, CANCEL, no answer, a 401
 * challenge then answer, retransmissions) while tcpdump captures them into a pcap. The result holds
 * the capture, what each call must count as, and the KPI values the mix implies by the counting rules of docs/kpis.md, in the
 * shape of a `get_statistics` reply (`{ "stats:ASRacme": 40, ... }`). docs/kpi-e2e.md explains it.
 *
 * Needs Debian `sip-tester` (sipp) and `tcpdump`, and the right to capture on `lo` (root or
 * CAP_NET_RAW). Every process started here is stopped before captureSippMix() settles, whatever
 * happens; as a last resort sipp quits by itself (-timeout) and tcpdump runs under coreutils
 * `timeout`.
 *
 * Standalone: `node --import tsx test/support/sipp-capture.ts [DIR]` captures into DIR (default: a
 * temporary directory) and prints the result as JSON.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeUdp } from '../support/pcap-link.ts';
import { readPcap } from '../support/pcap-read.ts';
import { parseSip } from '../../src/protocol/sip/parse.ts';
import type { SipMessage } from '../../src/protocol/sip/parse.ts';
import { alive, exited, freeUdpPorts, readText, stop, tail, udpPortTaken } from './processes.ts';

// ---------------------------------------------------------------------------------------------
// The mix

/** How the UAS (X-Scenario) and the UAC (injection field 1) play a call. */
export type Scenario = 'answer' | 'uasbye' | 'reject' | 'cancel' | 'noanswer' | 'auth';

/** One line of the injection file: everything both sides need to play one call. */
export interface CallSpec {
  /** c01..c12: Request-URI user and `X-Test-Call` header of the call's INVITEs. */
  label: string;
  scenario: Scenario;
  /** `X-Customer` of the INVITE; null: the INVITE has no such header (global series only). */
  customer: string | null;
  /** UAS: 100 Trying at once; false makes the UAC retransmit the INVITE (T1 = 500 ms). */
  trying: boolean;
  /** UAS: ringing reply, if any. */
  ring: 180 | 183 | null;
  /** UAS: final reply (cancel: 487 comes from the CANCEL; noanswer: none). */
  final: 200 | 404 | 408 | 486 | 503 | null;
  /** UAS: ms from the (served) INVITE to the ringing reply, or to the final one without ringing. */
  pauseRingMs: number;
  /** UAS: ms from the ringing reply to the final reply. */
  pauseFinalMs: number;
  /** UAS, uasbye: ms from the ACK to the BYE it sends. */
  pauseHangupMs: number;
  /** UAC: ms from the 200 OK to the ACK (> 500: the UAS retransmits its 200 OK). */
  ackDelayMs: number;
  /** UAC: talk time before its BYE; ringing time before its CANCEL or before giving up. */
  waitMs: number;
  /** UAC, auth: ms from the 401 to the re-sent INVITE. */
  resendMs: number;
  /** UAS, auth: ms from the first INVITE to the 401. */
  challengeMs: number;
  description: string;
}

const base = { trying: true, pauseFinalMs: 0, pauseHangupMs: 0, ackDelayMs: 0, waitMs: 0, resendMs: 0, challengeMs: 0 };

/**
 * The mix, in the order the UAC starts the calls (one every 100 ms). Times are ms from the call's
 * first INVITE. The no-answer call goes first so that the capture runs on long enough after it for
 * an INVITE timeout of a couple of seconds to decide it. ACD values are chosen so that per-call
 * seconds floored, rounded or kept exact give the same truncated averages (checked at load time).
 */
export const MIX: readonly CallSpec[] = Object.freeze([
  { ...base, label: 'c01', scenario: 'noanswer', customer: 'acme', ring: 180, final: null, pauseRingMs: 150, waitMs: 1000, description: '100, 180 at 150 ms, then nothing; the caller gives up silently (no CANCEL): decided by the INVITE timeout' },
  { ...base, label: 'c02', scenario: 'answer', customer: 'acme', ring: 180, final: 200, pauseRingMs: 200, pauseFinalMs: 300, waitMs: 1700, description: '180 at 200 ms, 200 at 500 ms, caller BYE at 2200 ms' },
  { ...base, label: 'c03', scenario: 'answer', customer: 'globex', ring: 183, final: 200, pauseRingMs: 300, pauseFinalMs: 600, waitMs: 2300, description: '183 at 300 ms, 200 at 900 ms, caller BYE at 3200 ms' },
  { ...base, label: 'c04', scenario: 'answer', customer: 'globex', ring: null, final: 200, pauseRingMs: 400, waitMs: 1900, description: 'no ringing: 200 at 400 ms (PDD ends at the 200), caller BYE at 2300 ms' },
  { ...base, label: 'c05', scenario: 'answer', customer: 'acme', trying: false, ring: 180, final: 200, pauseRingMs: 700, pauseFinalMs: 400, ackDelayMs: 700, waitMs: 1500, description: 'no 100 Trying: the INVITE is retransmitted at 500 ms; 180 at 700 ms, 200 at 1100 ms, the ACK is late so the 200 is retransmitted at 1600 ms, ACK at 1800 ms, caller BYE at 3300 ms' },
  { ...base, label: 'c06', scenario: 'uasbye', customer: null, ring: 180, final: 200, pauseRingMs: 250, pauseFinalMs: 250, pauseHangupMs: 1700, description: 'no X-Customer; 180 at 250 ms, 200 at 500 ms, the called side sends the BYE at 2200 ms' },
  { ...base, label: 'c07', scenario: 'reject', customer: 'acme', ring: 180, final: 486, pauseRingMs: 200, pauseFinalMs: 400, description: '180 at 200 ms, 486 Busy Here at 600 ms' },
  { ...base, label: 'c08', scenario: 'reject', customer: 'globex', ring: null, final: 404, pauseRingMs: 100, description: '404 Not Found at 100 ms, no ringing' },
  { ...base, label: 'c09', scenario: 'reject', customer: 'globex', ring: null, final: 503, pauseRingMs: 250, description: '503 Service Unavailable at 250 ms, no ringing' },
  { ...base, label: 'c10', scenario: 'cancel', customer: 'acme', ring: 180, final: null, pauseRingMs: 200, waitMs: 600, description: '180 at 200 ms, CANCEL at 800 ms: 200 to the CANCEL, 487 to the INVITE, ACK' },
  { ...base, label: 'c11', scenario: 'auth', customer: 'globex', ring: 180, final: 200, challengeMs: 100, resendMs: 300, pauseRingMs: 200, pauseFinalMs: 400, waitMs: 1200, description: '401 at 100 ms, ACK, INVITE re-sent with credentials at 400 ms (CSeq 2, new branch), 180 at 600 ms, 200 at 1000 ms, caller BYE at 2200 ms' },
  { ...base, label: 'c12', scenario: 'reject', customer: 'globex', ring: null, final: 408, pauseRingMs: 300, description: '408 Request Timeout at 300 ms, no ringing (a network success for NER)' },
]);

// ---------------------------------------------------------------------------------------------
// Expected outcomes

export type CallOutcome = 'answered' | 'failed' | 'timeout';

/** What one call of the mix must count as (docs/kpis.md), with the times the mix gives it. */
export interface ExpectedCall {
  label: string;
  scenario: Scenario;
  description: string;
  customer: string | null;
  outcome: CallOutcome;
  /** The reply code that decides the call (487 for the CANCEL); null: decided by the INVITE timeout. */
  finalCode: number | null;
  /** Contributions to the percentage KPIs. */
  asr: 1 | -1;
  ner: 1 | -1;
  ccr: 1 | -1;
  /** Nominal times from the first INVITE, ms (ACD series take acdMs / 1000 s). */
  pddMs: number;
  astMs: number | null;
  acdMs: number | null;
  /** Which side sends the BYE. */
  byeFrom: 'caller' | 'callee' | null;
  /** INVITE transactions (2: challenged, then re-sent with credentials). */
  inviteTransactions: number;
  /** Extra copies on the wire: of the INVITE (no 100 Trying) and of the 200 OK (late ACK). */
  inviteRetransmissions: number;
  okRetransmissions: number;
  /** After the run: the Call-ID in the capture, and the times measured there. */
  callId?: string;
  measured?: MeasuredCall;
}

/** A call as found in the capture. Times in ms from its first INVITE (capture clock). */
export interface MeasuredCall {
  /** Capture time of the first INVITE, ms since the epoch. */
  t0Ms: number;
  /** Capture time of the call's last packet, ms since the epoch. */
  lastMs: number;
  /** Capture time of the last INVITE transaction's first packet (the INVITE timeout runs from here). */
  lastInviteMs: number;
  finalCode: number | null;
  finalMs: number | null;
  pddMs: number | null;
  astMs: number | null;
  acdMs: number | null;
}

const TIMEOUT = -1;

/** The default code → outcome table (docs/kpis.md). */
export function weightsOf(code: number): { asr: 1 | -1; ner: 1 | -1; ccr: 1 | -1 } {
  if (code >= 200 && code < 300) return { asr: 1, ner: 1, ccr: 1 };
  if (code === 486 || code === 408) return { asr: -1, ner: 1, ccr: 1 };
  if (code >= 300 && code < 500) return { asr: -1, ner: -1, ccr: 1 };
  return { asr: -1, ner: -1, ccr: -1 }; // >= 500, or TIMEOUT
}

/** A call spec's expected outcome and nominal times. */
export function expectCall(s: CallSpec): ExpectedCall {
  const served = s.scenario === 'auth' ? s.challengeMs + s.resendMs : 0; // the INVITE the UAS serves
  const ringAt = s.ring === null ? null : served + s.pauseRingMs;
  let finalCode: number | null;
  let finalAt: number | null;
  if (s.scenario === 'noanswer') {
    finalCode = null;
    finalAt = null;
  } else if (s.scenario === 'cancel') {
    if (ringAt === null) throw new Error(`${s.label}: a cancelled call rings first`);
    finalCode = 487;
    finalAt = ringAt + s.waitMs;
  } else {
    if (s.final === null) throw new Error(`${s.label}: ${s.scenario} needs a final reply`);
    finalCode = s.final;
    finalAt = served + s.pauseRingMs + s.pauseFinalMs;
  }
  const answered = finalCode !== null && finalCode >= 200 && finalCode < 300;
  let acdMs: number | null = null;
  if (answered) acdMs = s.scenario === 'uasbye' ? finalAt! + s.pauseHangupMs : finalAt! + s.ackDelayMs + s.waitMs;
  const pddMs = ringAt ?? finalAt;
  if (pddMs === null) throw new Error(`${s.label}: no PDD`);
  return {
    label: s.label,
    scenario: s.scenario,
    description: s.description,
    customer: s.customer,
    outcome: finalCode === null ? 'timeout' : answered ? 'answered' : 'failed',
    finalCode,
    ...weightsOf(finalCode ?? TIMEOUT),
    pddMs,
    astMs: answered ? finalAt : null,
    acdMs,
    byeFrom: !answered ? null : s.scenario === 'uasbye' ? 'callee' : 'caller',
    inviteTransactions: s.scenario === 'auth' ? 2 : 1,
    inviteRetransmissions: !s.trying && s.pauseRingMs > 500 ? 1 : 0,
    okRetransmissions: answered && s.ackDelayMs > 500 ? 1 : 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Expected KPIs

/** The KPI windows of docs/kpis.md: series suffix and group of each. */
export const KPI_WINDOWS = Object.freeze([
  { suffix: '', group: 'stats' },
  { suffix: '_10m', group: 'stats_10m' },
  { suffix: '_1h', group: 'stats_1h' },
]);

/** KPI values keyed `group:name` like a `get_statistics` reply, for `stats:`, `stats_10m:` and `stats_1h:`. */
export type KpiValues = Record<string, number>;

export interface ExpectedKpis {
  /**
   * What the mix implies, from its nominal times: `stats:ASR`, `stats:ASRacme`, `stats_10m:PDD_10mglobex`,
   * ... for all traffic and per customer, every window (the run is far shorter than a minute, so
   * the 10-minute and 1-hour series equal the 1-minute ones); plus `inv_acc_per_min:INVITE_per_min`
   * and `inv_perc_per_min:INVITE_ratio`.
   */
  values: KpiValues;
  /** Allowed |actual − values[key]| for the time-based keys (PDD, AST: ms; ACD: s). Absent: exact. */
  tolerance: Record<string, number>;
  /**
   * The same keys computed from this capture's own timestamps with the rules of docs/kpis.md (exact
   * per-call differences, averaged, truncated): a replay of the pcap should match these within 1
   * on PDD/AST (floating point) and exactly elsewhere.
   */
  measured: KpiValues;
  /** An INVITE timeout (ms) that decides the no-answer call inside this capture and no other call. */
  inviteTimeoutMs: number;
  /** Any INVITE timeout in [min, max) ms works for this capture (see inviteTimeoutMs). */
  inviteTimeoutRangeMs: [number, number];
}

/** Per-call values the KPI computation needs. */
export interface KpiInput {
  customer: string | null;
  asr: number;
  ner: number;
  ccr: number;
  pddMs: number | null;
  astMs: number | null;
  acdMs: number | null;
}

/** OpenSIPS percentage: floor(100 * successes / (successes + failures)); 0 when empty. */
function percentage(weights: number[]): number {
  let ok = 0;
  let ko = 0;
  for (const w of weights) {
    if (w > 0) ok++;
    else if (w < 0) ko++;
  }
  return ok + ko === 0 ? 0 : Math.floor((100 * ok) / (ok + ko));
}

/** average: trunc(sum / count); 0 when empty. */
function average(values: number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const v of values) sum += v;
  return Math.trunc(sum / values.length);
}

/**
 * KPI series values implied by a set of calls (docs/kpis.md): global series and one set per customer,
 * in every window. `acdSeconds` turns a call's INVITE→BYE ms into the ACD sample (exact by default).
 */
export function kpisOf(calls: readonly KpiInput[], acdSeconds: (ms: number) => number = (ms) => ms / 1000): KpiValues {
  const scopes = new Map<string, KpiInput[]>([['', [...calls]]]);
  for (const c of calls) {
    if (c.customer === null) continue;
    let list = scopes.get(c.customer);
    if (list === undefined) scopes.set(c.customer, (list = []));
    list.push(c);
  }
  const out: KpiValues = {};
  for (const [customer, list] of scopes) {
    const v = {
      ASR: percentage(list.map((c) => c.asr)),
      NER: percentage(list.map((c) => c.ner)),
      CCR: percentage(list.map((c) => c.ccr)),
      PDD: average(list.flatMap((c) => (c.pddMs === null ? [] : [c.pddMs]))),
      AST: average(list.flatMap((c) => (c.astMs === null ? [] : [c.astMs]))),
      ACD: average(list.flatMap((c) => (c.acdMs === null ? [] : [acdSeconds(c.acdMs)]))),
    };
    for (const w of KPI_WINDOWS) for (const [kpi, value] of Object.entries(v)) out[`${w.group}:${kpi}${w.suffix}${customer}`] = value;
  }
  return out;
}

/** Tolerances of the nominal values: PDD/AST ±50 ms (SIPp's scheduling), ACD exact (see MIX). */
export function tolerances(keys: Iterable<string>, ms = 50): Record<string, number> {
  const t: Record<string, number> = {};
  for (const k of keys) {
    const name = k.slice(k.indexOf(':') + 1);
    if (name.startsWith('PDD') || name.startsWith('AST')) t[k] = ms;
  }
  return t;
}

/**
 * Differences between a `get_statistics` reply (or any `group:name` → value map) and expected
 * values: one line per key that is missing or off by more than its tolerance. Empty: all match.
 */
export function compareKpis(actual: Record<string, unknown>, expected: KpiValues, tolerance: Record<string, number> = {}): string[] {
  const out: string[] = [];
  for (const [k, want] of Object.entries(expected)) {
    const got = actual[k];
    const tol = tolerance[k] ?? 0;
    if (typeof got !== 'number') out.push(`${k}: missing (expected ${want})`);
    else if (Math.abs(got - want) > tol) out.push(`${k}: ${got}, expected ${want}${tol ? ` ±${tol}` : ''}`);
  }
  return out;
}

/** Initial INVITEs and other requests (each counted once; the INVITE re-sent after a 401 is neither). */
function inviteSeries(initialInvites: number, otherRequests: number): KpiValues {
  return {
    'inv_acc_per_min:INVITE_per_min': initialInvites,
    'inv_perc_per_min:INVITE_ratio': initialInvites + otherRequests === 0 ? 0 : Math.floor((100 * initialInvites) / (initialInvites + otherRequests)),
  };
}

/** Requests other than initial INVITEs that a call of the mix sends, each counted once. */
function otherRequestsOf(c: ExpectedCall): number {
  if (c.outcome === 'timeout') return 0;
  let n = c.inviteTransactions; // one ACK per INVITE transaction (the 401's, the final reply's)
  if (c.scenario === 'cancel') n++; // CANCEL
  if (c.outcome === 'answered') n++; // BYE
  return n;
}

/** The expected calls and nominal KPI values of a mix. */
export function expectedOf(mix: readonly CallSpec[] = MIX): { calls: ExpectedCall[]; values: KpiValues } {
  const calls = mix.map(expectCall);
  const values = { ...kpisOf(calls), ...inviteSeries(calls.length, calls.reduce((n, c) => n + otherRequestsOf(c), 0)) };
  return { calls, values };
}

/**
 * Guards the mix design: the truncated ACD averages must not depend on whether a tracker keeps
 * per-call seconds exact, floors or rounds them, nor move when every call runs up to 150 ms late;
 * and calls that ring must leave the UAC's branching <nop>s a quiet gap. Throws on a bad mix.
 */
export function checkMix(mix: readonly CallSpec[] = MIX): void {
  const calls = mix.map(expectCall);
  const acd = (f: (ms: number) => number, lateMs = 0) =>
    Object.fromEntries(Object.entries(kpisOf(calls.map((c) => ({ ...c, acdMs: c.acdMs === null ? null : c.acdMs + lateMs })), f)).filter(([k]) => k.includes(':ACD')));
  const ref = JSON.stringify(acd((ms) => ms / 1000));
  for (const [what, v] of [
    ['floored', acd((ms) => Math.floor(ms / 1000))],
    ['rounded', acd((ms) => Math.round(ms / 1000))],
    ['150 ms late', acd((ms) => ms / 1000, 150)],
    ['floored, 150 ms late', acd((ms) => Math.floor(ms / 1000), 150)],
  ] as const) {
    if (JSON.stringify(v) !== ref) throw new Error(`mix: ACD averages change when per-call seconds are ${what}: ${JSON.stringify(v)} vs ${ref}`);
  }
  for (const s of mix) {
    if (!/^c\d\d$/.test(s.label)) throw new Error(`mix: bad label ${s.label}`);
    if (s.ring !== null && s.scenario !== 'noanswer' && s.scenario !== 'cancel' && s.pauseFinalMs < 50) throw new Error(`${s.label}: keep >= 50 ms between ringing and the final reply`);
    if (s.scenario === 'cancel' && s.waitMs < 50) throw new Error(`${s.label}: keep >= 50 ms between ringing and the CANCEL`);
    if (s.ring === null && s.pauseFinalMs !== 0) throw new Error(`${s.label}: pauseFinalMs without ringing`);
    if (s.customer !== null && !/^[A-Za-z0-9]+$/.test(s.customer)) throw new Error(`${s.label}: customer ${s.customer}`);
  }
}
checkMix();

// ---------------------------------------------------------------------------------------------
// Running SIPp and tcpdump

export interface CaptureOptions {
  /** Directory for the pcap, the injection file and the logs (created if needed). */
  dir: string;
  /** Whole run, ms (default 30 000). The mix itself takes about 5 s. */
  timeoutMs?: number;
  /** Also log every SIP message SIPp sends and receives (uac-messages.log, uas-messages.log). */
  trace?: boolean;
}

export interface CaptureResult {
  /** Path of the capture (classic pcap, Ethernet link type, microsecond timestamps). */
  pcap: string;
  /** The mix in order, each with its Call-ID and the times measured in the capture. */
  calls: ExpectedCall[];
  expected: ExpectedKpis;
  /** 127.0.0.1 UDP ports of the UAS and the UAC. */
  ports: { uas: number; uac: number };
  /** Process ids started (all stopped when the promise settles). */
  pids: number[];
}

const SCENARIO_DIR = resolve(fileURLToPath(new URL('../e2e/sipp/', import.meta.url)));

/** Throws a clear error when `cmd` cannot be run. */
function requireTool(cmd: string, args: string[], hint: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${cmd} not found: ${hint}`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The injection file of the mix (fields as described at the top of uac.xml). */
export function injectionFile(mix: readonly CallSpec[] = MIX): string {
  const lines = ['SEQUENTIAL'];
  for (const s of mix) {
    lines.push(
      [
        s.label,
        s.scenario,
        s.customer === null ? 'Subject: call without a customer' : `X-Customer: ${s.customer}`,
        s.trying ? 'yes' : 'no',
        s.ring ?? 'none',
        s.final ?? 'none',
        // the UAS pauses X-Pause-Ring before ringing and X-Pause-Final before the final reply
        s.ring === null ? 0 : s.pauseRingMs,
        s.ring === null ? s.pauseRingMs + s.pauseFinalMs : s.pauseFinalMs,
        s.pauseHangupMs,
        s.ackDelayMs,
        s.waitMs,
        s.resendMs,
        s.challengeMs,
      ].join(';'),
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Plays the mix with a SIPp UAC and UAS on 127.0.0.1 while tcpdump captures it into
 * `DIR/sipp-mix.pcap`; returns the capture, the calls as they must count, and the KPIs they imply.
 * Rejects (after stopping every process it started) when a tool is missing, a SIPp call fails, or
 * the capture does not hold the mix.
 */
export async function captureSippMix(opts: CaptureOptions): Promise<CaptureResult> {
  requireTool('sipp', ['-v'], 'install Debian sip-tester (apt-get install sip-tester)');
  requireTool('tcpdump', ['--version'], 'install Debian tcpdump (apt-get install tcpdump)');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const pcap = join(dir, 'sipp-mix.pcap');
  const csv = join(dir, 'sipp-mix.csv');
  writeFileSync(csv, injectionFile(MIX));

  const [uasPort, uacPort, uasCtl, uacCtl] = await freeUdpPorts(4);
  const children: ChildProcess[] = [];
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
    child.on('error', () => {}); // reported through the exit code / the checks below
    return child;
  };

  try {
    // tcpdump, under coreutils `timeout` when there is one (it forwards our SIGINT)
    const tcpdumpArgs = ['-i', 'lo', '-n', '-U', '--immediate-mode', '-w', pcap, `udp and (port ${uasPort} or port ${uacPort})`];
    const hasTimeout = spawnSync('timeout', ['--version'], { stdio: 'ignore' }).error === undefined;
    const tcpdump = hasTimeout
      ? start('timeout', ['-s', 'INT', '-k', '5', String(lifetimeS), 'tcpdump', ...tcpdumpArgs], log('tcpdump.out'), 'pipe')
      : start('tcpdump', tcpdumpArgs, log('tcpdump.out'), 'pipe');
    let tcpdumpErr = '';
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`tcpdump did not start listening within 10 s: ${tcpdumpErr}`)), 10_000);
      tcpdump.stderr!.setEncoding('utf8');
      tcpdump.stderr!.on('data', (d: string) => {
        tcpdumpErr += d;
        if (tcpdumpErr.includes('listening on')) {
          clearTimeout(timer);
          res();
        }
      });
      tcpdump.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`tcpdump exited (${code}) before listening: ${tcpdumpErr.trim()} (capturing on lo needs root or CAP_NET_RAW)`));
      });
    });

    const common = ['-i', '127.0.0.1', '-bind_local', '-ci', '127.0.0.1', '-nostdin', '-default_behaviors', 'none', '-timer_resol', '1', '-timeout', `${lifetimeS}s`];
    const trace = (side: string) => ['-trace_err', '-error_file', join(dir, `${side}-errors.log`), ...(opts.trace ? ['-trace_msg', '-message_file', join(dir, `${side}-messages.log`)] : [])];
    const uasOut = log('uas.out');
    const uas = start('sipp', ['-sf', join(SCENARIO_DIR, 'uas.xml'), '-p', String(uasPort), '-cp', String(uasCtl), ...common, ...trace('uas')], uasOut, uasOut);
    // the UAS is up once it holds its port
    while (!(await udpPortTaken('127.0.0.1', uasPort))) {
      if (!alive(uas)) throw new Error(`sipp UAS exited (${uas.exitCode ?? uas.signalCode}):\n${tail(readText(join(dir, 'uas.out')))}`);
      if (Date.now() > deadline) throw new Error('sipp UAS did not bind its port in time');
      await sleep(20);
    }

    const uacOut = log('uac.out');
    const uac = start(
      'sipp',
      [
        `127.0.0.1:${uasPort}`,
        '-sf', join(SCENARIO_DIR, 'uac.xml'),
        '-inf', csv,
        '-p', String(uacPort),
        '-cp', String(uacCtl),
        '-m', String(MIX.length),
        '-r', '10', '-rp', '1000',
        '-l', String(MIX.length),
        '-timeout_error',
        ...common,
        ...trace('uac'),
      ],
      uacOut,
      uacOut,
    );
    const uacExit = await exited(uac, Math.max(1000, deadline - Date.now()));
    if (uacExit === null) throw new Error(`sipp UAC did not finish within ${timeoutMs} ms:\n${tail(readText(join(dir, 'uac.out')))}`);
    if (uacExit !== 0) {
      throw new Error(`sipp UAC failed (exit ${uacExit}; 1 = some call failed):\n${tail(readText(join(dir, 'uac.out')))}\n${readText(join(dir, 'uac-errors.log')).slice(0, 4000)}`);
    }

    // let the last packets reach the capture, then stop tcpdump cleanly so the file is complete
    await sleep(300);
    await stop(tcpdump, 'SIGINT', 5000);
    await stop(uas, 'SIGTERM', 3000);
    for (const side of ['uas', 'uac']) {
      const errors = readText(join(dir, `${side}-errors.log`));
      if (errors.trim() !== '') throw new Error(`sipp ${side.toUpperCase()} reported unexpected messages (${join(dir, `${side}-errors.log`)}):\n${errors.slice(0, 4000)}`);
    }
    if (!existsSync(pcap) || statSync(pcap).size <= 24) throw new Error(`tcpdump wrote no packets to ${pcap}: ${tcpdumpErr.trim()}`);

    const { calls, expected } = analyse(readFileSync(pcap), MIX);
    return { pcap, calls, expected, ports: { uas: uasPort, uac: uacPort }, pids: children.map((c) => c.pid ?? -1) };
  } finally {
    await Promise.all(children.map((c) => stop(c, c.spawnfile === 'sipp' ? 'SIGTERM' : 'SIGINT', 2000)));
    process.off('exit', killAll);
    for (const fd of fds) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the capture back

/** One SIP message of the capture, in capture order. */
export interface CapturedSip {
  timeMs: number;
  srcPort: number;
  dstPort: number;
  msg: SipMessage;
}

/** The SIP messages of a capture grouped by Call-ID, in capture order; throws on anything else. */
export function sipByCall(buf: Buffer): Map<string, CapturedSip[]> {
  const { packets, stats } = readPcap(buf);
  if (stats.error !== null) throw new Error(`capture: ${stats.error.code} ${stats.error.message}`);
  const byCall = new Map<string, CapturedSip[]>();
  for (const p of packets) {
    const udp = decodeUdp(p.linkType, p.data);
    if (udp === null) throw new Error(`capture: a packet at ${p.timeMs} is not UDP`);
    const r = parseSip(udp.payload);
    if (!r.ok) throw new Error(`capture: not SIP at ${p.timeMs}: ${r.error.message}`);
    const id = r.value.callId;
    if (id === null) throw new Error(`capture: SIP message without Call-ID at ${p.timeMs}`);
    let list = byCall.get(id);
    if (list === undefined) byCall.set(id, (list = []));
    list.push({ timeMs: p.timeMs, srcPort: udp.srcPort, dstPort: udp.dstPort, msg: r.value });
  }
  return byCall;
}

/** A call's times as a passive monitor following docs/kpis.md sees them in the capture. */
export function measureCall(msgs: readonly CapturedSip[]): MeasuredCall {
  const first = msgs.find((m) => m.msg.isRequest && m.msg.method === 'INVITE');
  if (first === undefined) throw new Error('no INVITE');
  const t0 = first.timeMs;
  let lastInvite = t0;
  let lastSeq = first.msg.cseq?.seq ?? 0;
  let pdd: number | null = null;
  let ast: number | null = null;
  let finalCode: number | null = null;
  let finalMs: number | null = null;
  let bye: number | null = null;
  for (const { timeMs, msg } of msgs) {
    if (msg.isRequest) {
      const seq = msg.cseq?.seq ?? 0;
      if (msg.method === 'INVITE' && msg.toTag === null && seq > lastSeq) {
        lastSeq = seq;
        lastInvite = timeMs;
      }
      if (msg.method === 'BYE' && bye === null) bye = timeMs - t0;
      continue;
    }
    if (msg.cseq?.method !== 'INVITE' || finalCode !== null) continue;
    const code = msg.status;
    if (code === 180 || code === 183) pdd ??= timeMs - t0;
    if (code < 200 || code === 401 || code === 407) continue;
    pdd ??= timeMs - t0;
    finalCode = code;
    finalMs = timeMs - t0;
    if (code < 300) ast = timeMs - t0;
  }
  return {
    t0Ms: t0,
    lastMs: msgs[msgs.length - 1].timeMs,
    lastInviteMs: lastInvite,
    finalCode,
    finalMs,
    pddMs: pdd,
    astMs: ast,
    acdMs: ast === null ? null : bye,
  };
}

/** Matches the capture to the mix: every call's Call-ID and measured times, and the expected KPIs. */
export function analyse(buf: Buffer, mix: readonly CallSpec[] = MIX): { calls: ExpectedCall[]; expected: ExpectedKpis } {
  const { calls, values } = expectedOf(mix);
  const byLabel = new Map(calls.map((c) => [c.label, c]));
  const byCall = sipByCall(buf);
  let otherRequests = 0;
  for (const [callId, msgs] of byCall) {
    const invite = msgs.find((m) => m.msg.isRequest && m.msg.method === 'INVITE');
    const label = invite?.msg.header('X-Test-Call');
    const call = label === null || label === undefined ? undefined : byLabel.get(label);
    if (call === undefined) throw new Error(`capture: call ${callId} is not part of the mix`);
    if (call.callId !== undefined) throw new Error(`capture: ${label} appears under two Call-IDs`);
    call.callId = callId;
    call.measured = measureCall(msgs);
    const seen = new Set<string>();
    for (const { msg } of msgs) {
      if (!msg.isRequest || msg.method === 'INVITE') continue;
      seen.add(`${msg.cseq?.seq} ${msg.method}`);
    }
    otherRequests += seen.size;
  }
  const missing = calls.filter((c) => c.callId === undefined).map((c) => c.label);
  if (missing.length > 0) throw new Error(`capture: calls missing: ${missing.join(', ')}`);
  const measured = {
    ...kpisOf(
      calls.map((c) => {
        const m = c.measured!;
        const w = weightsOf(m.finalCode ?? TIMEOUT);
        return { customer: c.customer, ...w, pddMs: m.pddMs, astMs: m.astMs, acdMs: m.acdMs };
      }),
    ),
    ...inviteSeries(calls.length, otherRequests),
  };
  // INVITE timeout: longer than any wait for a final reply, shorter than the capture after the
  // no-answer call's INVITE
  const lastPacket = Math.max(...calls.map((c) => c.measured!.lastMs));
  let min = 0;
  let max = Infinity;
  for (const c of calls) {
    const m = c.measured!;
    if (m.finalMs !== null) min = Math.max(min, m.t0Ms + m.finalMs - m.lastInviteMs);
    else max = Math.min(max, lastPacket - m.lastInviteMs);
  }
  const range: [number, number] = [Math.ceil(min) + 1, Math.floor(max)];
  const inviteTimeoutMs = 2000;
  return { calls, expected: { values, tolerance: tolerances(Object.keys(values)), measured, inviteTimeoutMs, inviteTimeoutRangeMs: range } };
}

// ---------------------------------------------------------------------------------------------

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'sipstats-sipp-'));
  captureSippMix({ dir, trace: true }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    },
  );
}
