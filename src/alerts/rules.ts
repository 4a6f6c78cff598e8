import { ALL_TRAFFIC, averageOf, DIMENSIONS, KPIS, kpiByName, NOW, VIEWS, viewByName, WINDOWS, windowByName } from '../kpi/catalogue.ts';
import type { DimensionName } from '../kpi/catalogue.ts';
import type { ErrorCode } from '../errors.ts';
import { DEFAULTS } from '../defaults.ts';

/**
 * Alert rules and notification targets: the `alerts` and `notify` sections of the native
 * configuration (docs/alerts.md), checked here (pure: no I/O). Every problem is returned with its
 * path (`alerts[2].below`) and code, none stops the others, like the rest of the configuration.
 */

/** What a rule watches: a catalogue KPI in a window (by labels), one statistic by name, or every statistic of a group. */
export type RuleTarget =
  | { readonly type: 'kpi'; readonly kpi: string; readonly window: string }
  | { readonly type: 'stat'; readonly name: string }
  | { readonly type: 'group'; readonly group: string };

export interface AlertRule {
  readonly name: string;
  readonly target: RuleTarget;
  /** The view (`customer`, `carrier`, `destination`, `carrier,destination`), or [] for all traffic. */
  readonly by: readonly DimensionName[];
  /** Anchored regular expressions per dimension (Prometheus `=~` semantics: the whole value must match). */
  readonly match: Readonly<Partial<Record<DimensionName, string>>>;
  /** `below`: fires when value < threshold; `above`: when value > threshold. */
  readonly op: 'below' | 'above';
  readonly threshold: number;
  /** Resolves only once the value is past this (>= clear for below, <= clear for above); default the threshold. */
  readonly clear: number;
  /** Never fires (nor resolves) on a window with fewer samples (calls, attempts) than this. */
  readonly minSamples: number;
  /** Milliseconds the condition must hold before firing. */
  readonly forMs: number;
  /**
   * A `drop` rule (outages: `kpi: CC, drop: 50`): the value watched is how far the level KPI now
   * is below its own average over the window (`avg`: the catalogue's average of it, CC_avg), in %:
   * 100 × (1 − CC / CC_avg); it fires `above` the drop; `min_samples` counts the average's samples.
   */
  readonly drop?: { readonly avg: string };
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export type NotifyFormat = 'alertmanager' | 'json';

export interface NotifyTarget {
  readonly url: string;
  readonly format: NotifyFormat;
  /** Request timeout, ms. */
  readonly timeoutMs: number;
  /** Alertmanager: firing alerts are sent again this often (ms), as Alertmanager expects of its clients. */
  readonly resendMs: number;
  /** Longest wait between two attempts of a failing delivery (backoff 0.5 s doubling up to this), ms. */
  readonly maxBackoffMs: number;
  /** Changes waiting for delivery at most; past it the oldest are dropped and counted. */
  readonly maxQueue: number;
  /** Extra request headers (e.g. authorization). */
  readonly headers: Readonly<Record<string, string>>;
}

export interface AlertsConfig {
  readonly rules: readonly AlertRule[];
  readonly notify: readonly NotifyTarget[];
}

export const ALERT_RULE_KEYS = ['name', 'kpi', 'window', 'by', 'match', 'below', 'above', 'drop', 'clear', 'min_samples', 'for', 'severity', 'labels', 'annotations'] as const;
export const NOTIFY_KEYS = ['url', 'format', 'timeout', 'resend', 'max_backoff', 'max_queue', 'headers'] as const;

export const NOTIFY_DEFAULTS = DEFAULTS.notify;

/** Labels an alert sets itself: a rule's `labels` may not use them. */
export const RESERVED_LABELS: readonly string[] = ['alertname', 'severity', 'state', 'alertstate', 'stat', 'kpi', 'window', 'group', ...DIMENSIONS.map((d) => d.name)];

/** The views a rule may name in `by` (the catalogue's views; all traffic is `by` omitted). */
export const RULE_VIEWS: readonly string[] = VIEWS.filter((v) => v.dimensions.length > 0).map((v) => v.name);

const RULE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const LABEL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const STAT_NAME_RE = /^[^\s"':]{1,255}$/;
const GROUP_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export type Problem = readonly [path: string, code: ErrorCode, message: string];

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/**
 * A duration: a number of seconds, or text `500ms`, `30s`, `10m`, `2h` (units may be combined:
 * `1m30s`). Returns milliseconds, or null when it does not parse.
 */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : null;
  if (typeof v !== 'string') return null;
  const t = v.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(t)) return null;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * unit[m[2]];
  return Math.round(ms);
}

/** A duration as Prometheus writes it (`90s`, `10m`, `1h`, `500ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function stringMap(v: unknown, path: string, code: ErrorCode, problems: Problem[], keyRe: RegExp, reserved: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isObj(v)) {
    problems.push([path, code, `must be a mapping of names to strings, got ${show(v)}`]);
    return out;
  }
  for (const [k, x] of Object.entries(v)) {
    if (!keyRe.test(k)) problems.push([`${path}.${k}`, code, 'is not a valid label name ([A-Za-z_][A-Za-z0-9_]*)']);
    else if (reserved.includes(k)) problems.push([`${path}.${k}`, code, `is set by sipstats itself (reserved: ${reserved.join(', ')})`]);
    else if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') problems.push([`${path}.${k}`, code, `must be a string, got ${show(x)}`]);
    else out[k] = String(x);
  }
  return out;
}

/** Levenshtein distance of two short strings. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The catalogue KPI (src/kpi/catalogue.ts `KPIS`) a name that is not one was most likely meant to
 * be: the same name in another case (`asr`), or the nearest within one edit (two for names longer
 * than 4: `ASRR`, `PDD_p59`), compared without case. Undefined when none is that near.
 */
export function nearestKpi(name: string): { name: string; caseOnly: boolean } | undefined {
  const lower = name.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const k of KPIS) {
    const d = editDistance(lower, k.name.toLowerCase());
    if (best === undefined || d < best.d) best = { name: k.name, d };
  }
  if (best === undefined || best.d > (Math.min(name.length, best.name.length) > 4 ? 2 : 1)) return undefined;
  return { name: best.name, caseOnly: best.d === 0 };
}

function rule(r: unknown, path: string, problems: Problem[]): AlertRule | undefined {
  const code: ErrorCode = 'E_CFG_BAD_ALERT';
  const bad = (key: string, message: string) => problems.push([key === '' ? path : `${path}.${key}`, code, message]);
  if (!isObj(r)) {
    bad('', `must be a rule {name, kpi, below|above, ...}, got ${show(r)}`);
    return undefined;
  }
  const before = problems.length;
  for (const k of Object.keys(r)) if (!(ALERT_RULE_KEYS as readonly string[]).includes(k)) problems.push([`${path}.${k}`, 'E_CFG_UNKNOWN_PARAM', `unknown key (allowed: ${ALERT_RULE_KEYS.join(', ')})`]);

  const name = r.name;
  if (name === undefined) bad('name', 'is required');
  else if (typeof name !== 'string' || !RULE_NAME_RE.test(name)) bad('name', `must be a name of letters, digits and '_' (a Prometheus alertname), got ${show(name)}`);

  let target: RuleTarget | undefined;
  const kpi = r.kpi;
  if (kpi === undefined) bad('kpi', `is required: a KPI (${KPIS.map((k) => k.name).join(', ')}), a statistic name or a group as 'group:'`);
  else if (typeof kpi !== 'string' || kpi === '') bad('kpi', `must be a string, got ${show(kpi)}`);
  else if (kpiByName(kpi) !== undefined) {
    const def = kpiByName(kpi)!;
    const w = r.window ?? WINDOWS[0].name;
    if (def.kind === 'level' && r.drop === undefined) {
      // a level is a value now: it has no window but "now"
      if (r.window !== undefined && r.window !== NOW.name) bad('window', `'${kpi}' is a value now (window ${NOW.name}), not kept over a window; for a drop against its average over a window, give 'drop'`);
      else target = { type: 'kpi', kpi, window: NOW.name };
    } else if (typeof w !== 'string' || windowByName(w) === undefined) bad('window', `must be one of ${WINDOWS.map((x) => x.name).join(', ')}, got ${show(w)}`);
    else target = { type: 'kpi', kpi, window: w };
  } else if (!kpi.includes(':') && nearestKpi(kpi) !== undefined) {
    // a bare name one slip away from a KPI (ASRR, asr) is a typo, not a statistic: it would never fire
    const near = nearestKpi(kpi)!;
    bad('kpi', `'${kpi}' is not a KPI: did you mean ${near.name}? ${near.caseOnly ? 'KPI names are case-sensitive' : `(for a statistic of that name, give its group: 'GROUP:${kpi}')`}`);
  } else {
    if (r.window !== undefined) bad('window', `only applies to a catalogue KPI (${KPIS.map((k) => k.name).join(', ')}); '${kpi}' is a statistic name`);
    if (kpi.endsWith(':') && GROUP_RE.test(kpi.slice(0, -1))) target = { type: 'group', group: kpi.slice(0, -1) };
    else {
      const colon = kpi.indexOf(':');
      const bare = colon < 0 ? kpi : kpi.slice(colon + 1);
      if (!STAT_NAME_RE.test(bare) || (colon >= 0 && !GROUP_RE.test(kpi.slice(0, colon)))) bad('kpi', `'${kpi}' is neither a KPI (${KPIS.map((k) => k.name).join(', ')}), a statistic name ([group:]name) nor a group ('group:')`);
      else target = { type: 'stat', name: kpi };
    }
  }

  let by: DimensionName[] = [];
  if (r.by !== undefined && r.by !== null) {
    const b = Array.isArray(r.by) ? r.by.join(',') : r.by;
    const view = typeof b === 'string' && RULE_VIEWS.includes(b.replace(/\s+/g, '')) ? viewByName(b.replace(/\s+/g, '')) : undefined;
    if (view === undefined) bad('by', `must be one of ${RULE_VIEWS.join(' | ')} (omitted: all traffic), got ${show(r.by)}`);
    else if (target !== undefined && target.type !== 'kpi') bad('by', 'only applies to a catalogue KPI');
    else by = view.dimensions.map((d) => d.name);
  }

  const match: Partial<Record<DimensionName, string>> = {};
  if (r.match !== undefined && r.match !== null) {
    if (!isObj(r.match)) bad('match', `must be a mapping {${DIMENSIONS.map((d) => d.name).join('|')}: regex}, got ${show(r.match)}`);
    else
      for (const [k, x] of Object.entries(r.match)) {
        const d = DIMENSIONS.find((y) => y.name === k);
        if (d === undefined) problems.push([`${path}.match.${k}`, 'E_CFG_UNKNOWN_PARAM', `unknown key: not a dimension (allowed: ${DIMENSIONS.map((y) => y.name).join(', ')})`]);
        else if (!by.includes(d.name)) bad(`match.${k}`, `the rule is not by ${k} (by: ${by.length === 0 ? ALL_TRAFFIC.title : by.join(',')})`);
        else if (typeof x !== 'string' || x === '') bad(`match.${k}`, `must be a regular expression, got ${show(x)}`);
        else {
          try {
            new RegExp(`^(?:${x})$`);
            match[d.name] = x;
          } catch (e) {
            bad(`match.${k}`, `is not a valid regular expression: ${(e as Error).message}`);
          }
        }
      }
  }

  const num = (key: string): number | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      bad(key, `must be a number, got ${show(v)}`);
      return undefined;
    }
    return v;
  };
  const below = num('below');
  const above = num('above');
  const dropPct = num('drop');
  let op: 'below' | 'above' = 'below';
  let threshold = NaN;
  let drop: AlertRule['drop'];
  if (r.drop !== undefined) {
    // an outage: the level (CC) fell by `drop` % against its own average over the window
    const def = typeof kpi === 'string' ? kpiByName(kpi) : undefined;
    const avg = def === undefined ? undefined : averageOf(def);
    if (avg === undefined) bad('drop', `applies to a level KPI the catalogue averages over a window (${KPIS.filter((k) => averageOf(k) !== undefined).map((k) => k.name).join(', ')}), not to ${show(kpi)}`);
    if (below !== undefined || above !== undefined) bad('drop', "give 'drop' alone: it fires when the value falls that many % below its average ('below'/'above' are thresholds of the value itself)");
    if (dropPct !== undefined && !(dropPct > 0 && dropPct <= 100)) bad('drop', `must be a percentage above 0, up to 100, got ${dropPct}`);
    else if (dropPct !== undefined && avg !== undefined) {
      op = 'above';
      threshold = dropPct;
      drop = { avg: avg.name };
    }
  } else if (below !== undefined && above !== undefined) bad('', "give either 'below' or 'above', not both");
  else if (below === undefined && above === undefined) {
    if (r.below === undefined && r.above === undefined) bad('', "needs a threshold: 'below: N', 'above: N', or for a level 'drop: PERCENT'");
  } else if (below !== undefined) threshold = below;
  else {
    op = 'above';
    threshold = above!;
  }
  const clearV = num('clear');
  let clear = threshold;
  if (clearV !== undefined && !Number.isNaN(threshold)) {
    if (op === 'below' && clearV < threshold) bad('clear', `must be >= below (${threshold}): the alert resolves once the value is back at 'clear' or above, got ${clearV}`);
    else if (op === 'above' && clearV > threshold) bad('clear', `must be <= above (${threshold}): the alert resolves once the value is back at 'clear' or below, got ${clearV}`);
    else clear = clearV;
  }

  let minSamples = 0;
  if (r.min_samples !== undefined) {
    if (typeof r.min_samples !== 'number' || !Number.isInteger(r.min_samples) || r.min_samples < 0 || r.min_samples > 1e9) bad('min_samples', `must be an integer 0..1000000000, got ${show(r.min_samples)}`);
    else minSamples = r.min_samples;
  }
  let forMs = 0;
  if (r.for !== undefined) {
    const d = parseDuration(r.for);
    if (d === null || d > 7 * 86_400_000) bad('for', `must be a duration up to 7d (30s, 10m, 1h, or a number of seconds), got ${show(r.for)}`);
    else forMs = d;
  }
  let severity = 'warning';
  if (r.severity !== undefined) {
    if (typeof r.severity !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(r.severity)) bad('severity', `must be a word (critical, warning, info, ...), got ${show(r.severity)}`);
    else severity = r.severity;
  }
  const labels = stringMap(r.labels, `${path}.labels`, code, problems, LABEL_NAME_RE, RESERVED_LABELS);
  const annotations = stringMap(r.annotations, `${path}.annotations`, code, problems, LABEL_NAME_RE);
  if (problems.length > before || target === undefined || typeof name !== 'string') return undefined;
  return { name, target, by, match, op, threshold, clear, minSamples, forMs, severity, labels, annotations, ...(drop !== undefined ? { drop } : {}) };
}

function target(t: unknown, path: string, problems: Problem[]): NotifyTarget | undefined {
  const code: ErrorCode = 'E_CFG_BAD_NOTIFY';
  const bad = (key: string, message: string) => problems.push([key === '' ? path : `${path}.${key}`, code, message]);
  if (!isObj(t)) {
    bad('', `must be {url, format}, got ${show(t)}`);
    return undefined;
  }
  const before = problems.length;
  for (const k of Object.keys(t)) if (!(NOTIFY_KEYS as readonly string[]).includes(k)) problems.push([`${path}.${k}`, 'E_CFG_UNKNOWN_PARAM', `unknown key (allowed: ${NOTIFY_KEYS.join(', ')})`]);
  let url = '';
  if (t.url === undefined) bad('url', 'is required');
  else if (typeof t.url !== 'string') bad('url', `must be an http:// URL, got ${show(t.url)}`);
  else {
    try {
      const u = new URL(t.url);
      if (u.protocol !== 'http:') bad('url', `must be an http:// URL (https is not supported: put a local proxy in front), got ${show(t.url)}`);
      url = u.href;
    } catch {
      bad('url', `is not a URL, got ${show(t.url)}`);
    }
  }
  const format = t.format ?? 'json';
  if (format !== 'alertmanager' && format !== 'json') bad('format', `must be alertmanager or json, got ${show(format)}`);
  const dur = (key: string, dflt: number, lo: number, hi: number): number => {
    if (t[key] === undefined) return dflt;
    const d = parseDuration(t[key]);
    if (d === null || d < lo || d > hi) {
      bad(key, `must be a duration ${lo / 1000}s..${hi / 1000}s, got ${show(t[key])}`);
      return dflt;
    }
    return d;
  };
  const timeoutMs = dur('timeout', NOTIFY_DEFAULTS.timeoutMs, 100, 120_000);
  const resendMs = dur('resend', NOTIFY_DEFAULTS.resendMs, 1_000, 3_600_000);
  const maxBackoffMs = dur('max_backoff', NOTIFY_DEFAULTS.maxBackoffMs, 500, 3_600_000);
  let maxQueue: number = NOTIFY_DEFAULTS.maxQueue;
  if (t.max_queue !== undefined) {
    if (typeof t.max_queue !== 'number' || !Number.isInteger(t.max_queue) || t.max_queue < 1 || t.max_queue > 1_000_000) bad('max_queue', `must be an integer 1..1000000, got ${show(t.max_queue)}`);
    else maxQueue = t.max_queue;
  }
  const headers = stringMap(t.headers, `${path}.headers`, code, problems, /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/);
  if (problems.length > before) return undefined;
  return { url, format: format as NotifyFormat, timeoutMs, resendMs, maxBackoffMs, maxQueue, headers };
}

/**
 * Checks the `alerts` (a list of rules) and `notify` (a list of targets) sections. Rule names must
 * be unique. Returns the sections (empty when absent) and every problem found.
 */
export function parseAlertsConfig(alerts: unknown, notify: unknown): { value: AlertsConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const rules: AlertRule[] = [];
  const notifyOut: NotifyTarget[] = [];
  if (alerts !== undefined && alerts !== null) {
    if (!Array.isArray(alerts)) problems.push(['alerts', 'E_CFG_BAD_ALERT', `must be a list of rules, got ${show(alerts)}`]);
    else {
      const seen = new Map<string, number>();
      alerts.forEach((r, i) => {
        const x = rule(r, `alerts[${i}]`, problems);
        // names are checked for duplicates even on rules with other problems
        const name = isObj(r) && typeof r.name === 'string' ? r.name : undefined;
        if (name === undefined) return;
        const prev = seen.get(name);
        if (prev !== undefined) problems.push([`alerts[${i}].name`, 'E_CFG_DUPLICATE', `rule '${name}' already defined at alerts[${prev}]`]);
        else {
          seen.set(name, i);
          if (x !== undefined) rules.push(x);
        }
      });
    }
  }
  if (notify !== undefined && notify !== null) {
    if (!Array.isArray(notify)) problems.push(['notify', 'E_CFG_BAD_NOTIFY', `must be a list of targets {url, format}, got ${show(notify)}`]);
    else
      notify.forEach((t, i) => {
        const x = target(t, `notify[${i}]`, problems);
        if (x !== undefined) notifyOut.push(x);
      });
  }
  return { value: { rules, notify: notifyOut }, problems };
}
