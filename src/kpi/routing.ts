/**
 * "Which carrier for this number?": the carriers to try for a destination, best first, from their
 * carrier × destination KPIs (the `routing` section of the native configuration; reloadable).
 * Pure: checks the section and orders the carriers it is given figures of.
 *
 *   routing: { kpi: ASR, window: 1m, min_samples: 1, warn: 50, crit: 20 }
 *   routing: { score: { ASR: 0.6, PDD: -0.002, MOS: 10 }, window: 10m, min_samples: 5, warn: 30, crit: 10 }
 *
 * Order, as OpenSIPS' qrouting does it: carriers in state `ok` by score, then those with too few
 * samples for this destination (`unknown`, in the order asked: a new carrier must still get
 * traffic), then `warn`, then `crit`; ties keep the order asked.
 */
import type { ErrorCode } from '../errors.ts';
import { HEADLINE_KPI, kpiByName, KPIS, windowByName, WINDOWS } from './catalogue.ts';
import type { KpiDef, WindowDef } from './catalogue.ts';
import { DEFAULTS } from '../defaults.ts';

export type CarrierState = 'ok' | 'unknown' | 'warn' | 'crit';

/** The order states come in. */
export const STATE_ORDER: readonly CarrierState[] = Object.freeze(['ok', 'unknown', 'warn', 'crit']);

export interface RoutingTerm {
  readonly kpi: KpiDef;
  readonly weight: number;
}

export interface RoutingConfig {
  /** One KPI (weight 1) or a weighted sum (`score`). */
  readonly terms: readonly RoutingTerm[];
  readonly window: WindowDef;
  /** Samples of the first term's KPI (for carrier × destination) below which a carrier is `unknown`. */
  readonly minSamples: number;
  readonly warn: number | undefined;
  readonly crit: number | undefined;
  /**
   * Which way is good for the thresholds and the order: the KPI's own (catalogue `better`) for a
   * single KPI; a weighted score is higher-is-better (give lower-is-better KPIs a negative weight).
   */
  readonly better: 'higher' | 'lower';
}

export const ROUTING_DEFAULTS = Object.freeze({ kpi: HEADLINE_KPI.name, window: WINDOWS[0].name, minSamples: DEFAULTS.routing.minSamples });

/** The default: ASR over the shortest window, on 1 sample, no thresholds. */
export function defaultRouting(): RoutingConfig {
  return { terms: [{ kpi: kpiByName(ROUTING_DEFAULTS.kpi)!, weight: 1 }], window: windowByName(ROUTING_DEFAULTS.window)!, minSamples: ROUTING_DEFAULTS.minSamples, warn: undefined, crit: undefined, better: 'higher' };
}

const KEYS = ['kpi', 'score', 'window', 'min_samples', 'warn', 'crit'] as const;

/** KPIs a carrier can be ranked by: windowed ones (a level, such as CC, is no figure of quality). */
const RANKABLE = (k: KpiDef) => k.kind !== 'level';

/** Checks the `routing` section; every problem with its path. */
export function parseRouting(raw: unknown): { value: RoutingConfig; problems: [path: string, message: string, code: ErrorCode][] } {
  const problems: [string, string, ErrorCode][] = [];
  const def = defaultRouting();
  if (raw === undefined || raw === null) return { value: def, problems };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(['routing', `must be a mapping { ${KEYS.join(', ')} }, got ${JSON.stringify(raw)}`, 'E_CFG_SYNTAX']);
    return { value: def, problems };
  }
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!(KEYS as readonly string[]).includes(k)) problems.push([`routing.${k}`, `unknown key (allowed: ${KEYS.join(', ')})`, 'E_CFG_UNKNOWN_PARAM']);
  const kpiNamed = (name: unknown, path: string): KpiDef | undefined => {
    const k = typeof name === 'string' ? kpiByName(name) : undefined;
    if (k === undefined || !RANKABLE(k)) {
      problems.push([path, `must be a KPI of the catalogue other than a level (${KPIS.filter(RANKABLE).map((x) => x.name).join(' ')}), got ${JSON.stringify(name)}`, 'E_CFG_SYNTAX']);
      return undefined;
    }
    return k;
  };
  let terms: RoutingTerm[] = def.terms.slice();
  let better: 'higher' | 'lower' = def.better;
  if (r.kpi !== undefined && r.score !== undefined) problems.push(['routing', 'give either kpi or score, not both', 'E_CFG_SYNTAX']);
  else if (r.kpi !== undefined) {
    const k = kpiNamed(r.kpi, 'routing.kpi');
    if (k !== undefined) {
      terms = [{ kpi: k, weight: 1 }];
      better = k.better;
    }
  } else if (r.score !== undefined) {
    if (typeof r.score !== 'object' || r.score === null || Array.isArray(r.score) || Object.keys(r.score).length === 0) problems.push(['routing.score', 'must be a mapping of KPI names to weights ({ ASR: 0.6, PDD: -0.002 })', 'E_CFG_SYNTAX']);
    else {
      terms = [];
      for (const [name, w] of Object.entries(r.score as Record<string, unknown>)) {
        const k = kpiNamed(name, `routing.score.${name}`);
        if (typeof w !== 'number' || !Number.isFinite(w) || w === 0) problems.push([`routing.score.${name}`, `the weight must be a number other than 0, got ${JSON.stringify(w)}`, 'E_CFG_SYNTAX']);
        else if (k !== undefined) terms.push({ kpi: k, weight: w });
      }
      better = 'higher';
    }
  }
  const window = r.window === undefined ? def.window : typeof r.window === 'string' ? windowByName(r.window) : undefined;
  if (window === undefined) problems.push(['routing.window', `must be one of ${WINDOWS.map((w) => w.name).join(', ')}, got ${JSON.stringify(r.window)}`, 'E_CFG_SYNTAX']);
  const num = (key: 'min_samples' | 'warn' | 'crit', integer: boolean): number | undefined => {
    const v = r[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0))) {
      problems.push([`routing.${key}`, `must be ${integer ? 'a whole number from 0' : 'a number'}, got ${JSON.stringify(v)}`, 'E_CFG_SYNTAX']);
      return undefined;
    }
    return v;
  };
  const minSamples = num('min_samples', true) ?? def.minSamples;
  const warn = num('warn', false);
  const crit = num('crit', false);
  if (warn !== undefined && crit !== undefined && (better === 'higher' ? crit > warn : crit < warn))
    problems.push(['routing.crit', `is ${better === 'higher' ? 'above' : 'below'} warn: for a ${better}-is-better ${terms.length > 1 ? 'score' : 'KPI'} crit must be ${better === 'higher' ? 'at most' : 'at least'} warn (${warn})`, 'E_CFG_SYNTAX']);
  return { value: { terms, window: window ?? def.window, minSamples, warn, crit, better }, problems };
}

/** A KPI's value (null: under the profile's min_samples) and the samples behind it, as read into a cell (no object a read). */
export interface FigureCell {
  v: number | null;
  n: number | null;
}

/**
 * What the router reads: the figures of a carrier for a destination (null: the carrier's whole
 * traffic). `scope` finds them once a carrier (null when sipstats holds nothing of that scope);
 * `read` fills `out` with a KPI's figure there, false when the scope has no series of the KPI.
 */
export interface FigureSource<S> {
  scope(carrier: string, destination: string | null): S | null;
  read(scope: S, kpi: KpiDef, out: FigureCell): boolean;
}

export interface CarrierAnswer {
  readonly carrier: string;
  readonly state: CarrierState;
  /** The KPI's value (or the weighted score) for this destination; null when unknown. */
  readonly score: number | null;
  /** Samples behind it (of the first KPI of the score), for this destination. */
  readonly samples: number;
  /** The KPIs shown with it (REPORTED_KPIS and the score's), for this destination. */
  readonly kpis: Readonly<Record<string, number | null>>;
  /**
   * For a carrier `unknown` here: the score's KPIs over its whole traffic, reported so that the
   * proxy's operator sees them, never used for the state.
   */
  readonly overall?: Readonly<Record<string, number | null>>;
}

/** The KPIs every answer reports beside the score's: the outcome ratios and the set-up delays of the catalogue's cards. */
export const REPORTED_KPIS: readonly KpiDef[] = Object.freeze(KPIS.filter((k) => k.outcome === true || (k.card && k.kind === 'average' && k.unit === 'ms' && k.media !== true)));

/** The state of a score against the thresholds, for a higher- or lower-is-better figure. */
export function stateOf(score: number, cfg: Pick<RoutingConfig, 'warn' | 'crit' | 'better'>): CarrierState {
  const higher = cfg.better === 'higher';
  if (worse(score, cfg.crit, higher)) return 'crit';
  if (worse(score, cfg.warn, higher)) return 'warn';
  return 'ok';
}

/** Whether `v` is past `limit` (none: never) for a higher- or lower-is-better figure. */
function worse(v: number, limit: number | undefined, higher: boolean): boolean {
  return limit !== undefined && (higher ? v < limit : v > limit);
}

/**
 * The carriers `candidates` (in the order asked) for `destination`, best first (see the file's
 * comment). `read` gives each figure; a carrier without enough samples of the score's first KPI for
 * this destination is `unknown` whatever its whole traffic says.
 */
export function rankCarriers<S>(cfg: RoutingConfig, destination: string | null, candidates: readonly string[], src: FigureSource<S>): CarrierAnswer[] {
  const reported = reportedOf(cfg);
  const terms = cfg.terms;
  const termAt = termIndexes(cfg, reported);
  const n = candidates.length;
  const answers: CarrierAnswer[] = new Array(n);
  const rank = new Float64Array(n);
  const values: (number | null)[] = new Array(reported.length);
  const higher = cfg.better === 'higher';
  const cell: FigureCell = { v: null, n: null };
  for (let c = 0; c < n; c++) {
    const carrier = candidates[c];
    const scope = src.scope(carrier, destination);
    const kpis: Record<string, number | null> = {};
    let samples = 0;
    for (let i = 0; i < reported.length; i++) {
      const found = scope !== null && src.read(scope, reported[i], cell);
      const v = found ? cell.v : null;
      values[i] = v;
      kpis[reported[i].name] = v;
      if (i === termAt[0]) samples = found ? (cell.n ?? 0) : 0;
    }
    let score: number | null = null;
    if (samples >= cfg.minSamples && samples > 0) {
      let s = 0;
      for (let t = 0; t < terms.length; t++) {
        const v = values[termAt[t]];
        if (v === null) {
          s = NaN;
          break;
        }
        s += terms[t].weight * v;
      }
      if (s === s) score = s;
    }
    const state: CarrierState = score === null ? 'unknown' : stateOf(score, cfg);
    let overall: Record<string, number | null> | undefined;
    if (state === 'unknown' && destination !== null) {
      const whole = src.scope(carrier, null);
      overall = {};
      for (const t of terms) overall[t.kpi.name] = whole !== null && src.read(whole, t.kpi, cell) ? cell.v : null;
    }
    answers[c] = overall === undefined ? { carrier, state, score, samples, kpis } : { carrier, state, score, samples, kpis, overall };
    // the order: the state's place, then (but for unknown ones) the score best first, then as asked
    rank[c] = STATE_RANK[state];
  }
  // a stable insertion sort: a proxy asks about a few carriers (and a sort's comparator is a call a comparison)
  const out: CarrierAnswer[] = new Array(n);
  const at: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j > 0 && before(i, at[j - 1], rank, answers, higher)) {
      at[j] = at[j - 1];
      j--;
    }
    at[j] = i;
  }
  for (let i = 0; i < n; i++) out[i] = answers[at[i]];
  return out;
}

/** Whether answer `a` goes before answer `b` (asked before it): the state's place, then (but for unknown ones) the score best first. */
function before(a: number, b: number, rank: Float64Array, answers: readonly CarrierAnswer[], higher: boolean): boolean {
  if (rank[a] !== rank[b]) return rank[a] < rank[b];
  const sa = answers[a].score;
  const sb = answers[b].score;
  if (answers[a].state !== 'unknown' && sa !== sb) return higher ? sa! > sb! : sa! < sb!;
  return false;
}

/** A state's place in the order (STATE_ORDER's index). */
const STATE_RANK = Object.freeze(Object.fromEntries(STATE_ORDER.map((s, i) => [s, i]))) as Readonly<Record<CarrierState, number>>;

/** The KPIs an answer reports under a configuration: REPORTED_KPIS and the score's (made once a configuration). */
const REPORTED_OF = new WeakMap<RoutingConfig, readonly KpiDef[]>();
function reportedOf(cfg: RoutingConfig): readonly KpiDef[] {
  let r = REPORTED_OF.get(cfg);
  if (r === undefined) REPORTED_OF.set(cfg, (r = [...REPORTED_KPIS, ...cfg.terms.map((t) => t.kpi).filter((k) => !REPORTED_KPIS.includes(k))]));
  return r;
}
const TERM_AT = new WeakMap<RoutingConfig, readonly number[]>();
function termIndexes(cfg: RoutingConfig, reported: readonly KpiDef[]): readonly number[] {
  let r = TERM_AT.get(cfg);
  if (r === undefined) TERM_AT.set(cfg, (r = cfg.terms.map((t) => reported.indexOf(t.kpi))));
  return r;
}

/** The plain-text answer for scripts: names one a line (`text`), or comma-separated (`csv`). */
export function routeText(answers: readonly CarrierAnswer[], format: 'text' | 'csv'): string {
  const names = answers.map((a) => a.carrier);
  return format === 'csv' ? `${names.join(',')}\n` : names.length === 0 ? '' : `${names.join('\n')}\n`;
}
