import type { OpensipsEvent } from '../protocol/opensips/event.ts';
import { sanitizeCustomer } from './customer.ts';
import { DEFAULT_WINDOWS, KpiNames } from './kpi-profiles.ts';
import type { KpiWindow } from './kpi-profiles.ts';
import { DEFAULT_OUTCOMES, OutcomeTable } from './outcomes.ts';
import type { OutcomeRule } from './outcomes.ts';
import type { KpiSink } from './call-tracker.ts';

export interface AccOptions {
  /** Event parameter (an acc extra field) that names the customer. */
  customerParam?: string;
  outcomes?: readonly OutcomeRule[];
  windows?: readonly KpiWindow[];
}

/**
 * KPIs from OpenSIPS accounting events, for deployments that prefer accounting over capture:
 * E_ACC_CDR (an answered call that ended: ASR/NER/CCR +1, AST from `setuptime`, ACD from
 * `duration`) and E_ACC_MISSED_EVENT (a failed call: its `sip_code` through the outcome table).
 * PDD is not in accounting data. Each Call-ID counts once (events may be re-sent).
 */
export class AccKpiFeeder {
  private readonly outcomes: OutcomeTable;
  private readonly windows: readonly KpiWindow[];
  private readonly global: KpiNames;
  private readonly customers = new Map<string, KpiNames>();
  private readonly seen = new Map<string, true>();
  private readonly customerParam: string;

  constructor(
    private readonly sink: KpiSink,
    opts: AccOptions = {},
  ) {
    this.outcomes = new OutcomeTable(opts.outcomes ?? DEFAULT_OUTCOMES);
    this.windows = opts.windows ?? DEFAULT_WINDOWS;
    this.global = new KpiNames(this.windows, '');
    this.customerParam = opts.customerParam ?? 'customer';
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
    const cust = sanitizeCustomer(p[this.customerParam] === undefined || p[this.customerParam] === null ? null : String(p[this.customerParam]));
    const scopes = [this.global, ...(cust !== null ? [this.namesFor(cust)] : [])];
    const ws = this.windows;
    for (const n of scopes) {
      for (let i = 0; i < ws.length; i++) {
        if (out.asr) this.sink.updateStatSeries(ws[i].perc, n.asr[i], out.asr);
        if (out.ner) this.sink.updateStatSeries(ws[i].perc, n.ner[i], out.ner);
        if (out.ccr) this.sink.updateStatSeries(ws[i].perc, n.ccr[i], out.ccr);
        if (e.name === 'E_ACC_CDR') {
          const setup = Number(p.setuptime);
          const duration = Number(p.ms_duration !== undefined && p.ms_duration !== null ? Number(p.ms_duration) / 1000 : p.duration);
          if (Number.isFinite(setup)) this.sink.updateStatSeries(ws[i].avg, n.ast[i], setup * 1000);
          if (Number.isFinite(duration) && Number.isFinite(setup)) this.sink.updateStatSeries(ws[i].avg, n.acd[i], setup + duration);
        }
      }
    }
    this.sink.selfStat('acc_events', 1);
    return true;
  }

  private namesFor(c: string): KpiNames {
    let n = this.customers.get(c);
    if (n === undefined) {
      if (this.customers.size >= 10_000) c = 'other';
      n = this.customers.get(c) ?? new KpiNames(this.windows, c);
      this.customers.set(c, n);
    }
    return n;
  }
}
