import type { OpensipsEvent } from '../protocol/opensips/event.ts';
import { sanitizeDimensionValue, WINDOWS } from './catalogue.ts';
import type { WindowDef } from './catalogue.ts';
import { DEFAULT_OUTCOMES, OutcomeTable } from './outcomes.ts';
import type { OutcomeRule } from './outcomes.ts';
import { KPI_INDEX, OUTCOME_INDEX, PERCENTILES_OF, Scopes } from './scopes.ts';
import type { KpiSink, ScopeHandles } from './scopes.ts';
import { TRACKER_DEFAULTS } from './call-tracker.ts';

export interface AccOptions {
  /** Event parameter (an acc extra field) that names the customer. */
  customerParam?: string;
  /**
   * Event parameter (an acc extra field) with the set-up time in milliseconds. OpenSIPS' own
   * `setuptime` is in whole seconds (a 315 ms set-up arrives as 1, a 611 ms one as 0): with this
   * field AST is exact. Default `setuptime_ms`; used when present, else `setuptime` × 1000.
   */
  setupMsParam?: string;
  outcomes?: readonly OutcomeRule[];
  windows?: readonly WindowDef[];
  /** ACD from the INVITE (set-up + duration, default) or from the answer (duration). */
  acdFrom?: 'invite' | 'answer';
  maxCustomers?: number;
  /** Feed the percentiles (catalogue `of`: AST_p95 beside AST), as the call tracker's option of that name. Default true. */
  percentiles?: boolean;
}

/**
 * KPIs from OpenSIPS accounting events, for deployments that prefer accounting over capture:
 * E_ACC_CDR (an answered call that ended: ASR/NER/CCR +1, AST from `setuptime`, ACD from
 * `duration`) and E_ACC_MISSED_EVENT (a failed call: its `sip_code` through the outcome table).
 * PDD is not in accounting data. Each Call-ID counts once (events may be re-sent).
 */
export class AccKpiFeeder {
  private outcomes!: OutcomeTable;
  private readonly scopes: Scopes;
  private readonly seen = new Map<string, true>();
  private customerParam!: string;
  private setupMsParam!: string;
  private acdFromAnswer!: boolean;
  private percentiles!: boolean;

  constructor(
    private readonly sink: KpiSink,
    opts: AccOptions = {},
  ) {
    this.scopes = new Scopes(sink, { maxValues: { customer: 0, carrier: 0, destination: 0 }, idleMs: 0 }, opts.windows ?? WINDOWS);
    this.reconfigure(opts);
  }

  /** A configuration reload: outcome table, event fields, limits; the series stay. */
  reconfigure(opts: AccOptions): void {
    this.outcomes = new OutcomeTable(opts.outcomes ?? DEFAULT_OUTCOMES);
    const maxCustomers = opts.maxCustomers ?? TRACKER_DEFAULTS.maxCustomers;
    this.scopes.limits = { maxValues: { customer: maxCustomers, carrier: 0, destination: 0 }, idleMs: 0 };
    this.customerParam = opts.customerParam ?? 'customer';
    this.setupMsParam = opts.setupMsParam ?? 'setuptime_ms';
    this.acdFromAnswer = opts.acdFrom === 'answer';
    this.percentiles = opts.percentiles ?? TRACKER_DEFAULTS.percentiles;
  }

  /** Returns false (and counts it) for events that are not accounting events or lack what they need. */
  onEvent(e: OpensipsEvent): boolean {
    if (e.name !== 'E_ACC_CDR' && e.name !== 'E_ACC_MISSED_EVENT' && e.name !== 'E_ACC_EVENT') {
      this.sink.selfStat('acc_events_ignored', 1);
      return false;
    }
    const p = e.params;
    const callId = p.callid ?? p.call_id;
    const method = String(p.method ?? 'INVITE').toUpperCase();
    if (method !== 'INVITE' || callId === null || callId === undefined) {
      this.sink.selfStat('acc_events_ignored', 1);
      return false;
    }
    const key = `${e.name === 'E_ACC_MISSED_EVENT' ? 'm' : 'c'}${callId}`;
    if (this.seen.has(key)) return true;
    this.seen.set(key, true);
    if (this.seen.size > 100_000) this.seen.delete(this.seen.keys().next().value as string);
    const code = Number(p.sip_code ?? (e.name === 'E_ACC_MISSED_EVENT' ? NaN : 200));
    const out = Number.isInteger(code) ? this.outcomes.of(code) : undefined;
    if (out === undefined) {
      this.sink.selfStat('acc_events_bad', 1);
      return false;
    }
    // E_ACC_EVENT is the transaction record of an answered INVITE: the CDR will carry the call
    if (e.name === 'E_ACC_EVENT') return true;
    const raw = p[this.customerParam];
    const cust = sanitizeDimensionValue(raw === undefined || raw === null ? null : String(raw));
    const t = 0; // accounting scopes never expire (idleMs 0): their time is not needed
    const scopes: ScopeHandles[] = [this.scopes.all];
    if (cust !== null) scopes.push(this.scopes.get({ customer: cust }, t));
    // a value, and the percentiles that rank it (catalogue `of`): as the call tracker feeds them
    const pct = this.percentiles ? PERCENTILES_OF : null;
    const add = (k: number, v: number) => {
      for (const sc of scopes) {
        sc.add(k, v, t);
        if (pct !== null) for (const p of pct[k]) sc.add(p, v, t);
      }
    };
    const w = out.weights;
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) add(OUTCOME_INDEX[i], w[i]);
    if (e.name === 'E_ACC_CDR') {
      const ms = num(p[this.setupMsParam]);
      const setup = ms !== null ? ms / 1000 : num(p.setuptime);
      const msDuration = num(p.ms_duration);
      const duration = msDuration !== null ? msDuration / 1000 : num(p.duration);
      if (setup !== null) add(KPI_INDEX.AST, setup * 1000);
      if (duration !== null && (setup !== null || this.acdFromAnswer)) add(KPI_INDEX.ACD, this.acdFromAnswer ? duration : setup! + duration);
    }
    this.sink.selfStat('acc_events', 1);
    return true;
  }
}

/** A finite number from an event parameter (number or numeric string); null otherwise. */
function num(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}
