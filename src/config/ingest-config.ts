import { ConfigError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CustomerKey } from '../kpi/customer.ts';
import { parseCustomerKey } from '../kpi/customer.ts';
import { compileCidrs } from '../kpi/cidr.ts';
import { parseCarrierKey, PrefixTable } from '../kpi/dimensions.ts';
import type { CarrierKey, DestinationOptions } from '../kpi/dimensions.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';
import { OutcomeTable } from '../kpi/outcomes.ts';
import { OUTCOME_KPIS, outcomeKey } from '../kpi/catalogue.ts';
import { parseLimits } from '../kpi/limits.ts';
import type { OutcomeRule } from '../kpi/outcomes.ts';
import { isPlainObject, parseListen, show } from './fields.ts';
import type { ListenAddress } from './fields.ts';
import { DEFAULTS } from '../defaults.ts';

/** Defaults of the traffic inputs, with their units. */
export const INGEST_DEFAULTS = DEFAULTS.ingest;

export interface IngestSettings {
  /** null = no HEP listener. */
  readonly hep: ListenAddress | null;
  readonly hepAuthKey: string | undefined;
  readonly events: ListenAddress | null;
  readonly tracker: TrackerOptions;
  /** acc extra field naming the customer in accounting events. */
  readonly accCustomerParam: string;
  /** acc extra field with the set-up time in ms (default `setuptime_ms`). */
  readonly accSetupMsParam: string | undefined;
}

const HEP_KEYS = ['listen', 'authKey', 'enabled'];
const KPI_KEYS = [
  'customer',
  'inviteTimeout',
  'maxCallDuration',
  'shortCall',
  'poorMos',
  'maxCalls',
  'maxCustomers',
  'maxCarriers',
  'maxDestinations',
  'dimensionIdle',
  'outcomes',
  'ringing',
  'percentiles',
  'inviteSeries',
  'eventsListen',
  'accCustomerParam',
  'accSetupMsParam',
  'acdFrom',
  'platform',
  'carrier',
  'destination',
  'correlation',
];
const DESTINATION_KEYS = ['number', 'strip', 'prefixes'];
const CORRELATION_KEYS = ['header', 'hep'];
/** `kpi.customer` / `kpi.carrier` as an object: `{ kind }`, `{ kind: header, name }`, `{ kind: cidr, map }`. */
const KEY_FORM_KEYS = ['kind', 'name', 'map'];
/** A rule of kpi.outcomes: its codes and a weight per outcome KPI of the catalogue. */
const OUTCOME_KEYS = ['codes', ...OUTCOME_KPIS.map(outcomeKey)];

/** The prefix table shipped with sipstats: ITU-T E.164 country calling codes (`prefix,name,description`). */
export function defaultPrefixTableFile(): string {
  // src/config → src/kpi/data; dist/config → the package's src/kpi/data (tsc does not copy data files)
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, '..', 'kpi', 'data', 'itu-country-codes.csv');
  return existsSync(beside) ? beside : join(here, '..', '..', 'src', 'kpi', 'data', 'itu-country-codes.csv');
}

let defaultTable: PrefixTable | undefined;
/** `file` relative to `baseDir` (the configuration file's directory), else to the working directory; errors name the absolute path. */
function loadPrefixTable(file: string | undefined, baseDir?: string): PrefixTable | string {
  if (file === undefined && defaultTable !== undefined) return defaultTable;
  const path = file === undefined ? defaultPrefixTableFile() : resolve(baseDir ?? '', file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return `cannot read prefix table ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
  }
  const r = PrefixTable.parseCsv(text);
  if (r.problems.length > 0) return `prefix table ${path}: ${r.problems.slice(0, 5).join('; ')}${r.problems.length > 5 ? ` (and ${r.problems.length - 5} more)` : ''}`;
  if (file === undefined) defaultTable = r.table;
  return r.table;
}

/** A problem of the `hep`/`kpi` sections: path, message, and its code when it is not E_CFG_SYNTAX. */
export type IngestProblem = [path: string, message: string, code?: ErrorCode];

/**
 * Reads the native config's `hep` and `kpi` sections (both optional). Problems are returned as
 * `[path, message, code?]`, all of them: an unknown key is E_CFG_UNKNOWN_PARAM (as in every
 * section), anything else E_CFG_SYNTAX. A relative `kpi.destination.prefixes` is read from
 * `baseDir` (the configuration file's directory), else from the working directory.
 */
/** `limits`: the top-level section of channel and CPS limits (src/kpi/limits.ts), given to the tracker. */
export function readIngest(hep: Readonly<Record<string, unknown>> | null, kpi: Readonly<Record<string, unknown>> | null, baseDir?: string, limits?: unknown): { value: IngestSettings; problems: IngestProblem[] } {
  const problems: IngestProblem[] = [];
  const bad = (path: string, msg: string) => problems.push([path, msg]);
  const unknownKeys = (obj: Readonly<Record<string, unknown>>, allowed: readonly string[], path: string) => {
    for (const key of Object.keys(obj)) if (!allowed.includes(key)) problems.push([`${path}.${key}`, `unknown key (allowed: ${allowed.join(', ')})`, 'E_CFG_UNKNOWN_PARAM']);
  };
  const h = hep ?? {};
  const k = kpi ?? {};
  unknownKeys(h, HEP_KEYS, 'hep');
  unknownKeys(k, KPI_KEYS, 'kpi');

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
  const longest = num('maxCallDuration', 60, 7 * 86400, 1000);
  if (longest !== undefined) tracker.maxCallDurationMs = longest;
  const short = num('shortCall', 1, 3600, 1000);
  if (short !== undefined) tracker.shortCallMs = short;
  const poor = num('poorMos', 1, 4.5);
  if (poor !== undefined) tracker.poorMos = poor;
  const maxCalls = num('maxCalls', 1, 100_000_000);
  if (maxCalls !== undefined) tracker.maxCalls = Math.floor(maxCalls);
  const maxCustomers = num('maxCustomers', 1, 1_000_000);
  if (maxCustomers !== undefined) tracker.maxCustomers = Math.floor(maxCustomers);
  const maxCarriers = num('maxCarriers', 1, 1_000_000);
  if (maxCarriers !== undefined) tracker.maxCarriers = Math.floor(maxCarriers);
  const maxDestinations = num('maxDestinations', 1, 1_000_000);
  if (maxDestinations !== undefined) tracker.maxDestinations = Math.floor(maxDestinations);
  const idle = num('dimensionIdle', 0, 30 * 86400, 1000);
  if (idle !== undefined) tracker.dimensionIdleMs = idle;
  if (k.acdFrom !== undefined) {
    if (k.acdFrom !== 'invite' && k.acdFrom !== 'answer') bad('kpi.acdFrom', `must be invite or answer, got ${show(k.acdFrom)}`);
    else tracker.acdFrom = k.acdFrom;
  }
  if (k.platform !== undefined) {
    if (!Array.isArray(k.platform) || !k.platform.every((c) => typeof c === 'string')) bad('kpi.platform', `must be a list of CIDRs ("10.0.0.0/24", "2001:db8::/64"), got ${show(k.platform)}`);
    else {
      const list = k.platform as string[];
      try {
        compileCidrs(Object.fromEntries(list.map((c) => [c, 'p'])));
        tracker.platform = list;
      } catch (e) {
        bad('kpi.platform', (e as Error).message);
      }
    }
  }
  if (k.carrier !== undefined) {
    if (isPlainObject(k.carrier)) unknownKeys(k.carrier, KEY_FORM_KEYS, 'kpi.carrier');
    const c = readCarrier(k.carrier);
    if (typeof c === 'string') bad('kpi.carrier', c);
    else if (k.platform === undefined) bad('kpi.carrier', 'needs kpi.platform (attempts are the INVITEs the platform sends out)');
    else tracker.carrier = c;
  }
  if (k.destination !== undefined && k.destination !== null) {
    const d = readDestination(k.destination, (path, msg, code) => problems.push([`kpi.destination${path}`, msg, ...(code !== undefined ? [code] : [])] as IngestProblem), baseDir);
    if (d !== undefined) tracker.destination = d;
  } else if (k.platform !== undefined && k.destination !== null) {
    const table = loadPrefixTable(undefined);
    if (typeof table === 'string') bad('kpi.destination', table);
    else tracker.destination = { table };
  }
  if (k.correlation !== undefined) {
    const c = k.correlation;
    if (!isPlainObject(c)) bad('kpi.correlation', `must be { header: NAME } or { hep: true }, got ${show(c)}`);
    else {
      unknownKeys(c, CORRELATION_KEYS, 'kpi.correlation');
      if (c.header !== undefined && (typeof c.header !== 'string' || !/^[A-Za-z0-9!%'*+.^_`|~-]+$/.test(c.header))) bad('kpi.correlation.header', `must be a header name, got ${show(c.header)}`);
      if (c.hep !== undefined && typeof c.hep !== 'boolean') bad('kpi.correlation.hep', `must be true or false, got ${show(c.hep)}`);
      tracker.correlation = { ...(typeof c.header === 'string' ? { header: c.header } : {}), ...(c.hep === true ? { hep: true } : {}) };
    }
  }
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
    if (isPlainObject(k.customer)) unknownKeys(k.customer, KEY_FORM_KEYS, 'kpi.customer');
    const c = readCustomer(k.customer);
    if (typeof c === 'string') bad('kpi.customer', c);
    else tracker.customer = c;
  }
  if (k.outcomes !== undefined) {
    if (!Array.isArray(k.outcomes)) bad('kpi.outcomes', `must be a list of { ${OUTCOME_KEYS.join(', ')} }`);
    else {
      k.outcomes.forEach((o, i) => {
        if (isPlainObject(o)) unknownKeys(o, OUTCOME_KEYS, `kpi.outcomes[${i}]`);
      });
      const rules = k.outcomes as OutcomeRule[];
      const p = OutcomeTable.validate(rules);
      if (p.length > 0) p.forEach((m) => bad('kpi.outcomes', m));
      else tracker.outcomes = rules;
    }
  }
  let accSetupMsParam: string | undefined;
  if (k.accSetupMsParam !== undefined) {
    if (typeof k.accSetupMsParam !== 'string' || k.accSetupMsParam === '') bad('kpi.accSetupMsParam', 'must be a non-empty string');
    else accSetupMsParam = k.accSetupMsParam;
  }
  let accCustomerParam = 'customer';
  if (k.accCustomerParam !== undefined) {
    if (typeof k.accCustomerParam !== 'string' || k.accCustomerParam === '') bad('kpi.accCustomerParam', 'must be a non-empty string');
    else accCustomerParam = k.accCustomerParam;
  }
  const lim = parseLimits(limits);
  for (const [path, msg, code] of lim.problems) problems.push([path, msg, code]);
  if (limits !== undefined && limits !== null) tracker.limits = lim.value;
  return { value: { hep: hepAt, hepAuthKey: typeof h.authKey === 'string' ? h.authKey : undefined, events, tracker, accCustomerParam, accSetupMsParam }, problems };
}

/**
 * Tracker options after command-line flags were laid over the configuration: with `platform` and no
 * destination setting, destinations come from the shipped ITU country-code table.
 */
export function completeTracker(t: TrackerOptions): TrackerOptions {
  if (t.platform === undefined || t.platform.length === 0 || t.destination !== undefined) return t;
  const table = loadPrefixTable(undefined);
  if (typeof table === 'string') throw new ConfigError([{ code: 'E_CFG_SYNTAX', line: 0, path: 'kpi.destination.prefixes', message: table }], 'prefix table');
  return { ...t, destination: { table } };
}

function readDestination(v: unknown, bad: (path: string, msg: string, code?: ErrorCode) => void, baseDir: string | undefined): DestinationOptions | undefined {
  if (!isPlainObject(v)) {
    bad('', `must be { number: ruri-user|to-user, strip: [...], prefixes: FILE.csv }, got ${show(v)}`);
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(v))
    if (!DESTINATION_KEYS.includes(key)) {
      bad(`.${key}`, `unknown key (allowed: ${DESTINATION_KEYS.join(', ')})`, 'E_CFG_UNKNOWN_PARAM');
      ok = false;
    }
  if (v.number !== undefined && v.number !== 'ruri-user' && v.number !== 'to-user') {
    bad('.number', `must be ruri-user or to-user, got ${show(v.number)}`);
    ok = false;
  }
  if (v.strip !== undefined && (!Array.isArray(v.strip) || !v.strip.every((x) => typeof x === 'string' && x !== ''))) {
    bad('.strip', `must be a list of prefixes to remove ("+", "00", "011"), got ${show(v.strip)}`);
    ok = false;
  }
  if (v.prefixes !== undefined && (typeof v.prefixes !== 'string' || v.prefixes === '')) {
    bad('.prefixes', `must be the path of a CSV file prefix,name; got ${show(v.prefixes)}`);
    ok = false;
  }
  const table = loadPrefixTable(typeof v.prefixes === 'string' && v.prefixes !== '' ? v.prefixes : undefined, baseDir);
  if (typeof table === 'string') {
    bad('.prefixes', table);
    ok = false;
  }
  if (!ok || typeof table === 'string') return undefined;
  return { table, ...(v.number !== undefined ? { number: v.number as 'ruri-user' | 'to-user' } : {}), ...(v.strip !== undefined ? { strip: v.strip as string[] } : {}) };
}

/**
 * A customer or carrier key from the config: the CLI shorthand (`header:NAME`, `from-user`,
 * `dst-ip`...), `{ kind: header, name }`, `{ kind: cidr, map }` (checked here), or `{ kind: KIND }`.
 */
function readKey<K>(v: unknown, parse: (text: string) => K | string, what: string, shorthand: string): K | { kind: 'cidr'; map: Record<string, string> } | string {
  if (typeof v === 'string') return parse(v);
  if (!isPlainObject(v)) return `must be a string (${shorthand}) or { kind: cidr, map: {...} }, got ${show(v)}`;
  if (v.kind === 'header' && typeof v.name === 'string') return parse(`header:${v.name}`);
  if (v.kind === 'cidr') {
    if (!isPlainObject(v.map) || !Object.values(v.map).every((x) => typeof x === 'string')) return `cidr needs map: { "CIDR": "${what}", ... }`;
    try {
      compileCidrs(v.map as Record<string, string>);
    } catch (e) {
      return (e as Error).message;
    }
    return { kind: 'cidr', map: v.map as Record<string, string> };
  }
  if (typeof v.kind === 'string') return parse(v.kind);
  return `unknown ${what} key ${show(v)}`;
}

const readCustomer = (v: unknown): CustomerKey | string => readKey(v, parseCustomerKey, 'customer', 'header:NAME, from-user, ...');
const readCarrier = (v: unknown): CarrierKey | string => readKey(v, parseCarrierKey, 'carrier', 'dst-ip, ruri-host, header:NAME');
