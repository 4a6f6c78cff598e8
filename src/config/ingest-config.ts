import type { CustomerKey } from '../kpi/customer.ts';
import { compileCidrs, parseCustomerKey } from '../kpi/customer.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';
import { OutcomeTable } from '../kpi/outcomes.ts';
import type { OutcomeRule } from '../kpi/outcomes.ts';
import { isPlainObject, parseListen, show } from './schema.ts';
import type { ListenAddress } from './schema.ts';

/** Defaults of the traffic inputs, with their units. */
export const INGEST_DEFAULTS = Object.freeze({
  /** HEP v3 over UDP and TCP (same port); loopback only unless told otherwise. */
  hepListen: '127.0.0.1:9060',
  /** OpenSIPS event_datagram (UDP) / event_stream (TCP) listener; off unless configured. */
  eventsListen: null as string | null,
});

export interface IngestSettings {
  /** null = no HEP listener. */
  readonly hep: ListenAddress | null;
  readonly hepAuthKey: string | undefined;
  readonly events: ListenAddress | null;
  readonly tracker: TrackerOptions;
  /** acc extra field naming the customer in accounting events. */
  readonly accCustomerParam: string;
}

const HEP_KEYS = ['listen', 'authKey', 'enabled'];
const KPI_KEYS = ['customer', 'inviteTimeout', 'maxCalls', 'maxCustomers', 'outcomes', 'ringing', 'percentiles', 'inviteSeries', 'eventsListen', 'accCustomerParam'];

/**
 * Reads the native config's `hep` and `kpi` sections (both optional). Problems are returned as
 * `[path, message]` pairs, all of them.
 */
export function readIngest(hep: Readonly<Record<string, unknown>> | null, kpi: Readonly<Record<string, unknown>> | null): { value: IngestSettings; problems: [string, string][] } {
  const problems: [string, string][] = [];
  const bad = (path: string, msg: string) => problems.push([path, msg]);
  const h = hep ?? {};
  const k = kpi ?? {};
  for (const key of Object.keys(h)) if (!HEP_KEYS.includes(key)) bad(`hep.${key}`, `unknown key (allowed: ${HEP_KEYS.join(', ')})`);
  for (const key of Object.keys(k)) if (!KPI_KEYS.includes(key)) bad(`kpi.${key}`, `unknown key (allowed: ${KPI_KEYS.join(', ')})`);

  let hepAt: ListenAddress | null = null;
  if (h.enabled !== undefined && typeof h.enabled !== 'boolean') bad('hep.enabled', `must be true or false, got ${show(h.enabled)}`);
  if (h.enabled !== false) {
    const l = parseListen(typeof h.listen === 'string' ? h.listen : INGEST_DEFAULTS.hepListen);
    if (h.listen !== undefined && typeof h.listen !== 'string') bad('hep.listen', `must be HOST:PORT, got ${show(h.listen)}`);
    else if (!l.ok) bad('hep.listen', l.message);
    else hepAt = l.value;
  }
  if (h.authKey !== undefined && (typeof h.authKey !== 'string' || h.authKey === '')) bad('hep.authKey', 'must be a non-empty string');

  let events: ListenAddress | null = null;
  if (k.eventsListen !== undefined && k.eventsListen !== null) {
    const l = typeof k.eventsListen === 'string' ? parseListen(k.eventsListen) : { ok: false as const, message: `must be HOST:PORT, got ${show(k.eventsListen)}` };
    if (!l.ok) bad('kpi.eventsListen', l.message);
    else events = l.value;
  }

  const tracker: TrackerOptions = {};
  const num = (key: string, lo: number, hi: number, unit = 1): number | undefined => {
    const v = k[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
      bad(`kpi.${key}`, `must be a number ${lo}..${hi}, got ${show(v)}`);
      return undefined;
    }
    return v * unit;
  };
  const timeout = num('inviteTimeout', 1, 3600, 1000);
  if (timeout !== undefined) tracker.inviteTimeoutMs = timeout;
  const maxCalls = num('maxCalls', 1, 100_000_000);
  if (maxCalls !== undefined) tracker.maxCalls = Math.floor(maxCalls);
  const maxCustomers = num('maxCustomers', 1, 1_000_000);
  if (maxCustomers !== undefined) tracker.maxCustomers = Math.floor(maxCustomers);
  for (const b of ['percentiles', 'inviteSeries'] as const) {
    if (k[b] === undefined) continue;
    if (typeof k[b] !== 'boolean') bad(`kpi.${b}`, `must be true or false, got ${show(k[b])}`);
    else tracker[b] = k[b] as boolean;
  }
  if (k.ringing !== undefined) {
    if (!Array.isArray(k.ringing) || !k.ringing.every((c) => Number.isInteger(c) && c >= 101 && c <= 199)) bad('kpi.ringing', `must be a list of 1xx codes, got ${show(k.ringing)}`);
    else tracker.ringingCodes = k.ringing as number[];
  }
  if (k.customer !== undefined) {
    const c = readCustomer(k.customer);
    if (typeof c === 'string') bad('kpi.customer', c);
    else tracker.customer = c;
  }
  if (k.outcomes !== undefined) {
    if (!Array.isArray(k.outcomes)) bad('kpi.outcomes', 'must be a list of { codes, asr, ner, ccr }');
    else {
      const rules = k.outcomes as OutcomeRule[];
      const p = OutcomeTable.validate(rules);
      if (p.length > 0) p.forEach((m) => bad('kpi.outcomes', m));
      else tracker.outcomes = rules;
    }
  }
  let accCustomerParam = 'customer';
  if (k.accCustomerParam !== undefined) {
    if (typeof k.accCustomerParam !== 'string' || k.accCustomerParam === '') bad('kpi.accCustomerParam', 'must be a non-empty string');
    else accCustomerParam = k.accCustomerParam;
  }
  return { value: { hep: hepAt, hepAuthKey: typeof h.authKey === 'string' ? h.authKey : undefined, events, tracker, accCustomerParam }, problems };
}

function readCustomer(v: unknown): CustomerKey | string {
  if (typeof v === 'string') return parseCustomerKey(v);
  if (!isPlainObject(v)) return `must be a string (header:NAME, from-user, ...) or { kind: cidr, map: {...} }, got ${show(v)}`;
  if (v.kind === 'header' && typeof v.name === 'string') return parseCustomerKey(`header:${v.name}`);
  if (v.kind === 'cidr') {
    if (!isPlainObject(v.map) || !Object.values(v.map).every((x) => typeof x === 'string')) return 'cidr needs map: { "CIDR": "customer", ... }';
    try {
      compileCidrs(v.map as Record<string, string>);
    } catch (e) {
      return (e as Error).message;
    }
    return { kind: 'cidr', map: v.map as Record<string, string> };
  }
  if (typeof v.kind === 'string') return parseCustomerKey(v.kind);
  return `unknown customer key ${show(v)}`;
}
