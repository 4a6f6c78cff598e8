import type { HeaderName } from '../protocol/sip/parse.ts';
import { customerExtractor, DEFAULT_CUSTOMER_KEY } from './customer.ts';
import type { CustomerKey, PacketMeta } from './customer.ts';
import { DEFAULT_WINDOWS, KpiNames } from './kpi-profiles.ts';
import type { KpiWindow } from './kpi-profiles.ts';
import { DEFAULT_OUTCOMES, OutcomeTable, TIMEOUT } from './outcomes.ts';
import type { Outcome, OutcomeRule } from './outcomes.ts';

/** What the tracker reads of a SIP message (the lazy parser's SipMessage fits). */
export interface SipView {
  readonly isRequest: boolean;
  readonly method: string | null;
  readonly status: number;
  readonly callId: string | null;
  readonly cseq: { seq: number; method: string } | null;
  readonly toTag: string | null;
  readonly viaBranch: string | null;
  readonly fromUser: string | null;
  readonly fromDomain: string | null;
  readonly toDomain: string | null;
  header(name: HeaderName): string | null;
}

/** Where KPI updates go: the engine's public API (update_stat_series, update_stat). */
export interface KpiSink {
  updateStatSeries(profile: string, name: string, value: number): void;
  /** Self-statistics of the tracker, in group `sipstats`: counts... */
  selfStat(name: string, delta: number): void;
  /** ...and levels (not reset by reset_statistics). */
  gauge(name: string, value: number): void;
}

export interface TrackerOptions {
  /** A call with no final reply this long after its (last) INVITE is a failure, in ms. */
  inviteTimeoutMs?: number;
  /** An answered call with no BYE after this long is forgotten (no ACD), in ms. */
  maxCallDurationMs?: number;
  /** Decided calls are remembered this long to absorb retransmissions and late replies, in ms. */
  lingerMs?: number;
  /** At most this many calls are tracked (pending + answered); the oldest pending is evicted past it. */
  maxCalls?: number;
  /** At most this many distinct customers get their own series; more fold into customer `other`. */
  maxCustomers?: number;
  customer?: CustomerKey;
  outcomes?: readonly OutcomeRule[];
  windows?: readonly KpiWindow[];
  /** Ringing replies that end PDD. */
  ringingCodes?: readonly number[];
  /** Feed the seed's INVITE_per_min / INVITE_ratio series. */
  inviteSeries?: boolean;
  /** Feed PDD_p95 / AST_p95. */
  percentiles?: boolean;
}

export const TRACKER_DEFAULTS: Required<Omit<TrackerOptions, 'customer' | 'outcomes' | 'windows' | 'ringingCodes'>> = {
  inviteTimeoutMs: 120_000, // OpenSIPS tm fr_inv_timeout
  maxCallDurationMs: 4 * 3600_000,
  lingerMs: 32_000, // 64*T1: how long a transaction's retransmissions can go on
  maxCalls: 500_000,
  maxCustomers: 10_000,
  inviteSeries: true,
  percentiles: true,
};

const PENDING = 0;
const ANSWERED = 1;
const DONE = 2;

class Call {
  state = PENDING;
  /** First INVITE: PDD, AST and ACD run from here. */
  readonly t0: number;
  /** Last (re-)sent INVITE: the timeout runs from here. */
  lastInvite: number;
  seq: number;
  branch: string | null;
  pddDone = false;
  awaitingAuth = false;
  /** When it entered its current map (pending: last INVITE; answered: answer; done: decision). */
  since: number;
  constructor(
    t: number,
    seq: number,
    branch: string | null,
    readonly names: KpiNames | null,
  ) {
    this.t0 = t;
    this.lastInvite = t;
    this.seq = seq;
    this.branch = branch;
    this.since = t;
  }
}

/**
 * Follows SIP calls from captured messages and turns each call into KPI updates, by the counting
 * rules of SPEC §7: only initial INVITEs start a call; retransmissions count once; a 401/407
 * challenge and the re-sent INVITE are one call; re-INVITEs and 100 Trying are not outcomes;
 * CANCEL → 487 is a failure; no final reply within the INVITE timeout is a failure; the first 2xx
 * wins; BYE from either side ends the call. Pure: time comes from the packets (`meta.timeMs`) and
 * from `tick(now)`. Memory is bounded: calls live in three insertion-ordered maps (pending,
 * answered, done) swept from the front, and a cap evicts the oldest pending call.
 */
export class CallTracker {
  private readonly opt: typeof TRACKER_DEFAULTS;
  private readonly outcomes: OutcomeTable;
  private readonly windows: readonly KpiWindow[];
  private readonly customerOf: ReturnType<typeof customerExtractor>;
  private readonly ringing: Set<number>;
  private readonly pending = new Map<string, Call>();
  private readonly answered = new Map<string, Call>();
  private readonly done = new Map<string, Call>();
  /** Recently seen non-initial requests (Call-ID, CSeq, method) → time: retransmissions count once. */
  private readonly recent = new Map<string, number>();
  private readonly customers = new Map<string, KpiNames>();
  private readonly global: KpiNames;
  private nextSweep = -Infinity;

  constructor(
    private readonly sink: KpiSink,
    options: TrackerOptions = {},
  ) {
    this.opt = { ...TRACKER_DEFAULTS, ...stripUndefined(options) } as typeof TRACKER_DEFAULTS;
    this.outcomes = new OutcomeTable(options.outcomes ?? DEFAULT_OUTCOMES);
    this.windows = options.windows ?? DEFAULT_WINDOWS;
    this.customerOf = customerExtractor(options.customer ?? DEFAULT_CUSTOMER_KEY);
    this.ringing = new Set(options.ringingCodes ?? [180, 183]);
    this.global = new KpiNames(this.windows, '');
  }

  /** Calls being tracked (pending + answered). */
  get trackedCalls(): number {
    return this.pending.size + this.answered.size;
  }

  /** Feeds one parsed SIP message captured at `meta.timeMs`. Never throws on odd traffic. */
  onSip(msg: SipView, meta: PacketMeta): void {
    const t = meta.timeMs;
    if (t >= this.nextSweep) this.tick(t);
    const callId = msg.callId;
    const cseq = msg.cseq;
    if (callId === null || cseq === null) {
      this.sink.selfStat('sip_incomplete', 1);
      return;
    }
    if (msg.isRequest) {
      if (msg.method === 'INVITE' && msg.toTag === null) this.initialInvite(msg, meta, callId, cseq.seq, t);
      else this.otherRequest(msg.method ?? '', callId, cseq.seq, t);
    } else if (cseq.method === 'INVITE') this.inviteReply(msg, callId, cseq.seq, t);
  }

  private initialInvite(msg: SipView, meta: PacketMeta, callId: string, seq: number, t: number): void {
    const known = this.pending.get(callId) ?? this.answered.get(callId) ?? this.done.get(callId);
    if (known !== undefined) {
      if (known.state === PENDING && seq > known.seq) {
        // the INVITE re-sent after a 401/407 (or a new transaction of the same attempt): same call
        known.seq = seq;
        known.branch = msg.viaBranch;
        known.awaitingAuth = false;
        known.lastInvite = t;
        this.move(known, callId, this.pending, this.pending, t);
      }
      return; // otherwise a retransmission
    }
    if (this.trackedCalls >= this.opt.maxCalls) this.evictOldest();
    const call = new Call(t, seq, msg.viaBranch, this.namesFor(this.customerOf(msg, meta)));
    this.pending.set(callId, call);
    this.sink.selfStat('calls_started', 1);
    if (this.opt.inviteSeries) {
      this.sink.updateStatSeries('inv_acc_per_min', 'INVITE_per_min', 1);
      this.sink.updateStatSeries('inv_perc_per_min', 'INVITE_ratio', 1);
    }
  }

  private otherRequest(method: string, callId: string, seq: number, t: number): void {
    const key = `${callId}\n${seq}\n${method}`;
    if (this.recent.has(key)) return; // a retransmission
    this.recent.set(key, t);
    if (this.opt.inviteSeries) this.sink.updateStatSeries('inv_perc_per_min', 'INVITE_ratio', -1);
    if (method !== 'BYE') return;
    const call = this.answered.get(callId);
    if (call === undefined) return;
    this.series(call, 'acd', (t - call.t0) / 1000);
    this.finish(call, callId, this.answered, t);
  }

  private inviteReply(msg: SipView, callId: string, seq: number, t: number): void {
    const call = this.pending.get(callId);
    if (call === undefined || seq !== call.seq) return; // decided already, unknown, or a re-INVITE's reply
    const code = msg.status;
    if (code < 200) {
      if (!call.pddDone && this.ringing.has(code)) this.pdd(call, t);
      return;
    }
    if (code === 401 || code === 407) {
      call.awaitingAuth = true; // a challenge: not an outcome, and it does not end PDD
      return;
    }
    if (code >= 300 && call.branch !== null && msg.viaBranch !== null && msg.viaBranch !== call.branch) return; // another leg's failure
    const out = this.outcomes.of(code);
    if (out === undefined) return;
    if (!call.pddDone) this.pdd(call, t);
    this.decide(call, out);
    if (out.answered) {
      this.series(call, 'ast', t - call.t0);
      call.state = ANSWERED;
      this.move(call, callId, this.pending, this.answered, t);
    } else this.finish(call, callId, this.pending, t);
  }

  /**
   * Advances time to `now`: pending calls past the INVITE timeout fail (or, when they were only
   * challenged and never re-sent, are dropped), answered calls past the maximum duration are
   * forgotten, decided calls and seen requests past the linger time are released.
   */
  tick(now: number): void {
    this.nextSweep = now + 100;
    for (const [id, call] of this.pending) {
      if (call.lastInvite + this.opt.inviteTimeoutMs > now) break;
      if (call.awaitingAuth) {
        this.sink.selfStat('calls_abandoned_after_challenge', 1);
      } else {
        const out = this.outcomes.of(TIMEOUT);
        if (out !== undefined) this.decide(call, out);
        this.sink.selfStat('calls_timed_out', 1);
      }
      this.finish(call, id, this.pending, now);
    }
    for (const [id, call] of this.answered) {
      if (call.since + this.opt.maxCallDurationMs > now) break;
      this.sink.selfStat('calls_unended', 1);
      this.finish(call, id, this.answered, now);
    }
    for (const [id, call] of this.done) {
      if (call.since + this.opt.lingerMs > now) break;
      this.done.delete(id);
    }
    for (const [key, seen] of this.recent) {
      if (seen + this.opt.lingerMs > now) break;
      this.recent.delete(key);
    }
    // bound the retransmission memory too (an OPTIONS flood must not grow it without limit)
    while (this.recent.size > this.opt.maxCalls) this.recent.delete(this.recent.keys().next().value as string);
    this.sink.gauge('calls_tracked', this.trackedCalls);
  }

  private evictOldest(): void {
    const first = this.pending.entries().next();
    if (!first.done) {
      this.pending.delete(first.value[0]);
      this.sink.selfStat('calls_evicted', 1);
      return;
    }
    const a = this.answered.keys().next();
    if (!a.done) {
      this.answered.delete(a.value);
      this.sink.selfStat('calls_evicted', 1);
    }
  }

  private move(call: Call, id: string, from: Map<string, Call>, to: Map<string, Call>, t: number): void {
    from.delete(id);
    call.since = t;
    to.set(id, call);
  }

  private finish(call: Call, id: string, from: Map<string, Call>, t: number): void {
    call.state = DONE;
    this.move(call, id, from, this.done, t);
  }

  private pdd(call: Call, t: number): void {
    call.pddDone = true;
    this.series(call, 'pdd', t - call.t0);
  }

  private decide(call: Call, out: Outcome): void {
    this.series(call, 'asr', out.asr);
    this.series(call, 'ner', out.ner);
    this.series(call, 'ccr', out.ccr);
  }

  /** One KPI value to every window, for all traffic and for the call's customer. */
  private series(call: Call, kpi: 'asr' | 'ner' | 'ccr' | 'pdd' | 'ast' | 'acd', v: number): void {
    if (v === 0 && (kpi === 'asr' || kpi === 'ner' || kpi === 'ccr')) return;
    const ws = this.windows;
    const perc = kpi === 'asr' || kpi === 'ner' || kpi === 'ccr';
    const p95 = this.opt.percentiles && (kpi === 'pdd' || kpi === 'ast');
    for (let scope = 0; scope < 2; scope++) {
      const names = scope === 0 ? this.global : call.names;
      if (names === null) continue;
      const list = names[kpi];
      for (let i = 0; i < ws.length; i++) {
        this.sink.updateStatSeries(perc ? ws[i].perc : ws[i].avg, list[i], v);
        if (p95) this.sink.updateStatSeries(ws[i].p95, (kpi === 'pdd' ? names.pddP95 : names.astP95)[i], v);
      }
    }
  }

  private namesFor(customer: string | null): KpiNames | null {
    if (customer === null) return null;
    let n = this.customers.get(customer);
    if (n === undefined) {
      if (this.customers.size >= this.opt.maxCustomers) {
        this.sink.selfStat('customers_folded', 1);
        customer = 'other';
        n = this.customers.get(customer);
        if (n !== undefined) return n;
      }
      n = new KpiNames(this.windows, customer);
      this.customers.set(customer, n);
    }
    return n;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
