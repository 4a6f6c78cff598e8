/**
 * The KPI catalogue: every call KPI, every window and every dimension, as data. Everything else is
 * derived from these rows: the profiles the KPIs need (KPI_MODPARAMS), series names and their
 * structured identity (labels), Prometheus labels, the dashboard's columns, the replay table, the
 * call tracker's and the accounting feeder's handles. Adding a KPI or a window is one row here.
 *
 * Definitions (RFC 6076 and ITU-T E.411 usage): a **call** is what a customer placed (the inbound
 * leg; on a proxy without `kpi.platform`, every initial INVITE); an **attempt** is one outbound leg
 * towards a carrier (the "seizure" view). Ratios count calls or attempts, averages time them.
 */

/**
 * ratio: a percentage of calls (+1 / −1 per call); average: a mean of values; percentile: a
 * quantile; rate: a count per second over the time the window covers; max: the highest value fed
 * in the window; level: a value now, not windowed (window "now": kept by the feeder, see `NOW`).
 */
export type KpiKind = 'ratio' | 'average' | 'percentile' | 'rate' | 'max' | 'level';

/** The kinds kept as series of a window's profile (every kind but `level`, and `count`: the final replies by code). */
export type SeriesKind = Exclude<KpiKind, 'level'> | 'count' | 'fine-ratio' | 'fine-average' | 'fine-max' | 'low-percentile' | 'time-average';

export interface KpiDef {
  /** Series name prefix and Prometheus `kpi` label. */
  readonly name: string;
  readonly unit: '%' | 'ms' | 's' | '/s' | '';
  readonly kind: KpiKind;
  readonly title: string;
  /** Which way is good (the dashboard sorts worst first). */
  readonly better: 'higher' | 'lower';
  /** What the sample count of this KPI counts (dashboard text). */
  readonly samples: string;
  /**
   * For a percentile: the KPI whose values it ranks (every feeder of that KPI feeds it too). For an
   * average of a level (CC_avg): the level it averages over the window (what a `drop` alert rule
   * compares the level with).
   */
  readonly of?: string;
  /**
   * A ratio the reply-code outcome table decides: each rule of `kpi.outcomes` gives it a weight
   * (+1, −1 or 0) under its name in lower case (`asr`), and every feeder of outcomes feeds it.
   */
  readonly outcome?: true;
  /** Shown as a card and a chart (true), or only in tables (false). */
  readonly card: boolean;
  /**
   * The profile kind it is kept under when not its kind's (media quality: two decimals, `fine-*`;
   * MOS_p5 a 5th percentile, `low-percentile`; CC_avg a time average, `time-average`).
   */
  readonly series?: SeriesKind;
  /** Media quality (fed from RTP and RTCP, per stream or call with media): never a number of calls. */
  readonly media?: true;
}

export const KPIS: readonly KpiDef[] = Object.freeze([
  { name: 'ASR', unit: '%', kind: 'ratio', title: 'Answer-seizure ratio', better: 'higher', samples: 'calls', card: true, outcome: true },
  { name: 'NER', unit: '%', kind: 'ratio', title: 'Network effectiveness ratio', better: 'higher', samples: 'calls', card: true, outcome: true },
  { name: 'CCR', unit: '%', kind: 'ratio', title: 'Call completion ratio', better: 'higher', samples: 'calls', card: true, outcome: true },
  { name: 'PDD', unit: 'ms', kind: 'average', title: 'Post-dial delay', better: 'lower', samples: 'calls timed', card: true },
  { name: 'AST', unit: 'ms', kind: 'average', title: 'Answer seizure time', better: 'lower', samples: 'answered calls', card: true },
  { name: 'ACD', unit: 's', kind: 'average', title: 'Average call duration', better: 'higher', samples: 'ended calls', card: true },
  { name: 'PDD_p95', unit: 'ms', kind: 'percentile', title: 'Post-dial delay, 95th percentile', better: 'lower', samples: 'calls timed', of: 'PDD', card: false },
  { name: 'AST_p95', unit: 'ms', kind: 'percentile', title: 'Answer seizure time, 95th percentile', better: 'lower', samples: 'answered calls', of: 'AST', card: false },
  // fed only with kpi.platform: the share of calls that took more than one outbound attempt
  { name: 'FOR', unit: '%', kind: 'ratio', title: 'Failover ratio (calls with more than one attempt)', better: 'lower', samples: 'calls', card: false },
  // capacity: calls (customers, all traffic, destinations) or attempts (carriers: trunk channels and seizures)
  { name: 'CC', unit: '', kind: 'level', title: 'Concurrent calls (answered, not ended)', better: 'higher', samples: '', card: true },
  { name: 'CC_early', unit: '', kind: 'level', title: 'Calls setting up (no final reply yet)', better: 'higher', samples: '', card: false },
  { name: 'CC_max', unit: '', kind: 'max', title: 'Most concurrent calls in the window', better: 'higher', samples: '', card: false },
  { name: 'CPS', unit: '/s', kind: 'rate', title: 'Calls started per second', better: 'higher', samples: '', card: true },
  { name: 'CPS_max', unit: '/s', kind: 'max', title: 'Calls started in the busiest second of the window', better: 'higher', samples: '', card: false },
  { name: 'SDR', unit: '%', kind: 'ratio', title: 'Short-duration ratio (answered calls ended within kpi.shortCall)', better: 'lower', samples: 'ended calls', card: false },
  // the time average of CC over the window (call-seconds per second): what the `drop` alert rule compares CC with
  { name: 'CC_avg', unit: '', kind: 'average', title: 'Average concurrent calls in the window (call-seconds per second)', better: 'higher', samples: '5 s steps with calls up', of: 'CC', card: false, series: 'time-average' },
  // with a configured limit (the `limits` section): utilisation, and time over the limit
  { name: 'CC_util', unit: '%', kind: 'level', title: 'Channels in use now (% of the channel limit)', better: 'lower', samples: '', card: false },
  { name: 'CPS_util', unit: '%', kind: 'max', title: 'Busiest second of the window (% of the CPS limit)', better: 'lower', samples: '', card: false },
  { name: 'CC_over', unit: 's', kind: 'level', title: 'Seconds spent over the channel limit (since the server started)', better: 'lower', samples: '', card: false },
  { name: 'CPS_over', unit: 's', kind: 'level', title: 'Seconds in which more calls started than the CPS limit (since the server started)', better: 'lower', samples: '', card: false },
  // media quality (docs/kpis.md): from the RTP of a capture and the RTCP reports of live agents, per call (attempt) ended in the window
  { name: 'LOSS', unit: '%', kind: 'ratio', title: 'RTP packet loss (lost of expected packets)', better: 'lower', samples: 'packets expected', card: true, series: 'fine-ratio', media: true },
  { name: 'JITTER', unit: 'ms', kind: 'average', title: 'Mean interarrival jitter of the streams', better: 'lower', samples: 'streams', card: false, series: 'fine-average', media: true },
  { name: 'JITTER_max', unit: 'ms', kind: 'max', title: 'Highest interarrival jitter of a stream in the window', better: 'lower', samples: 'streams', card: false, series: 'fine-max', media: true },
  { name: 'MOS', unit: '', kind: 'average', title: 'Mean opinion score (E-model, worst stream of each call)', better: 'higher', samples: 'calls with media', card: true, series: 'fine-average', media: true },
  { name: 'MOS_p5', unit: '', kind: 'percentile', title: 'Mean opinion score, 5th percentile of the calls', better: 'higher', samples: 'calls with media', of: 'MOS', card: false, series: 'low-percentile', media: true },
  { name: 'POOR', unit: '%', kind: 'ratio', title: 'Calls with a MOS below kpi.poorMos', better: 'lower', samples: 'calls with media', card: false, media: true },
  { name: 'NOMEDIA', unit: '%', kind: 'ratio', title: 'Answered calls with no RTP in a direction (one-way audio)', better: 'lower', samples: 'answered calls of 2 s or more', card: false, media: true },
] as const satisfies readonly KpiDef[]);

export type KpiName = (typeof KPIS)[number]['name'];

/** The KPIs that are levels (a value now, kept by their feeder: concurrent calls). */
export const LEVEL_KPIS: readonly KpiDef[] = Object.freeze(KPIS.filter((k) => k.kind === 'level'));

/** The ratios the reply-code outcome table decides, in catalogue order (its columns). */
export const OUTCOME_KPIS: readonly KpiDef[] = Object.freeze(KPIS.filter((k) => k.outcome === true));

/** The column of an outcome KPI in `kpi.outcomes` rules: its name in lower case (`asr`). */
export const outcomeKey = (k: KpiDef): string => k.name.toLowerCase();

/** The percentiles that rank a KPI's values (catalogue `of`), for each KPI. */
export function percentilesOf(k: KpiDef): KpiDef[] {
  return KPIS.filter((p) => p.kind === 'percentile' && p.of === k.name);
}

/** The average over a window of a level KPI (CC → CC_avg), if the catalogue keeps one. */
export function averageOf(k: KpiDef): KpiDef | undefined {
  return KPIS.find((a) => a.kind === 'average' && a.of === k.name);
}

/** The KPI the dashboard's heat map and overview lead with (the first card ratio). */
export const HEADLINE_KPI: KpiDef = KPIS.find((k) => k.kind === 'ratio' && k.card)!;

/**
 * A profile as data: the keys of OpenSIPS' `stat_series_profile` (src/core/types.ts ProfileDef);
 * `window` and `slots` left out keep OpenSIPS' defaults (60 s, slots of 1 s), `group` left out its
 * default group. KPI_MODPARAMS is written from these, never parsed back.
 */
export interface ProfileSpec {
  readonly name: string;
  readonly algorithm: string;
  /** Seconds of data kept. */
  readonly window?: number;
  /** Clock-aligned slots the window is cut into. */
  readonly slots?: number;
  readonly group?: string;
  /**
   * Updates the window must hold for a value (OpenSIPS `min_samples`). The rates and maxima set 1:
   * the update count it makes them keep is their sample count (starts for CPS), which /metrics
   * exports beside them and the dashboard's history waits for (their algorithms count nothing).
   */
  readonly minSamples?: number;
  /** Decimals of its values (the media KPIs: 2; left out: OpenSIPS' whole numbers). */
  readonly precision?: number;
  /** The quantile of algorithm=percentile (MOS_p5: 0.05). */
  readonly quantile?: number;
}

export interface WindowDef {
  /** Prometheus `window` label and dashboard name. */
  readonly name: string;
  /** Series name suffix after the KPI name (OpenSIPS-compatible: `ASR`, `ASR_10m`, `ASR_1h`). */
  readonly suffix: string;
  readonly seconds: number;
  readonly title: string;
  /** The profile each kind of KPI is kept under in this window. */
  readonly profiles: Readonly<Record<SeriesKind, ProfileSpec>>;
}

/**
 * The "window" of a level KPI (concurrent calls): its value now. Levels are named without a window
 * suffix (`CC`, `CCacme`, `CC~carrier=carrier_a`: MI), labelled `window="now"` (Prometheus), and
 * kept in the 1-minute KPI group (`stats:CC`).
 */
export const NOW: Pick<WindowDef, 'name' | 'suffix' | 'seconds' | 'title'> & { readonly group: string } = Object.freeze({ name: 'now', suffix: '', seconds: 0, title: 'now', group: 'stats' });

export const WINDOWS: readonly WindowDef[] = Object.freeze([
  {
    name: '1m',
    suffix: '',
    seconds: 60,
    title: '1 minute',
    profiles: {
      ratio: { name: 'perc', algorithm: 'percentage', group: 'stats' },
      average: { name: 'avg', algorithm: 'average', group: 'stats' },
      percentile: { name: 'p95', algorithm: 'p95', window: 60, slots: 6, group: 'stats' },
      rate: { name: 'rate', algorithm: 'rate', window: 60, slots: 6, minSamples: 1, group: 'stats' },
      max: { name: 'max', algorithm: 'max', window: 60, slots: 6, minSamples: 1, group: 'stats' },
      count: { name: 'count', algorithm: 'accumulate', window: 60, slots: 6, group: 'stats' },
      'fine-ratio': { name: 'perc2', algorithm: 'percentage', precision: 2, group: 'stats' },
      'fine-average': { name: 'avg2', algorithm: 'average', precision: 2, group: 'stats' },
      'fine-max': { name: 'max2', algorithm: 'max', window: 60, slots: 6, minSamples: 1, precision: 2, group: 'stats' },
      'low-percentile': { name: 'p5', algorithm: 'percentile', quantile: 0.05, window: 60, slots: 6, precision: 2, group: 'stats' },
      'time-average': { name: 'tavg', algorithm: 'timeavg', window: 60, slots: 6, group: 'stats' },
    },
  },
  {
    name: '10m',
    suffix: '_10m',
    seconds: 600,
    title: '10 minutes',
    profiles: {
      ratio: { name: '10m-perc', algorithm: 'percentage', window: 600, slots: 10, group: 'stats_10m' },
      average: { name: '10m-avg', algorithm: 'average', window: 600, slots: 10, group: 'stats_10m' },
      percentile: { name: '10m-p95', algorithm: 'p95', window: 600, slots: 10, group: 'stats_10m' },
      rate: { name: '10m-rate', algorithm: 'rate', window: 600, slots: 10, minSamples: 1, group: 'stats_10m' },
      max: { name: '10m-max', algorithm: 'max', window: 600, slots: 10, minSamples: 1, group: 'stats_10m' },
      count: { name: '10m-count', algorithm: 'accumulate', window: 600, slots: 10, group: 'stats_10m' },
      'fine-ratio': { name: '10m-perc2', algorithm: 'percentage', window: 600, slots: 10, precision: 2, group: 'stats_10m' },
      'fine-average': { name: '10m-avg2', algorithm: 'average', window: 600, slots: 10, precision: 2, group: 'stats_10m' },
      'fine-max': { name: '10m-max2', algorithm: 'max', window: 600, slots: 10, minSamples: 1, precision: 2, group: 'stats_10m' },
      'low-percentile': { name: '10m-p5', algorithm: 'percentile', quantile: 0.05, window: 600, slots: 10, precision: 2, group: 'stats_10m' },
      'time-average': { name: '10m-tavg', algorithm: 'timeavg', window: 600, slots: 10, group: 'stats_10m' },
    },
  },
  {
    name: '1h',
    suffix: '_1h',
    seconds: 3600,
    title: '1 hour',
    profiles: {
      ratio: { name: '1h-perc', algorithm: 'percentage', window: 3600, slots: 6, group: 'stats_1h' },
      average: { name: '1h-avg', algorithm: 'average', window: 3600, slots: 6, group: 'stats_1h' },
      percentile: { name: '1h-p95', algorithm: 'p95', window: 3600, slots: 6, group: 'stats_1h' },
      rate: { name: '1h-rate', algorithm: 'rate', window: 3600, slots: 6, minSamples: 1, group: 'stats_1h' },
      max: { name: '1h-max', algorithm: 'max', window: 3600, slots: 6, minSamples: 1, group: 'stats_1h' },
      count: { name: '1h-count', algorithm: 'accumulate', window: 3600, slots: 6, group: 'stats_1h' },
      'fine-ratio': { name: '1h-perc2', algorithm: 'percentage', window: 3600, slots: 6, precision: 2, group: 'stats_1h' },
      'fine-average': { name: '1h-avg2', algorithm: 'average', window: 3600, slots: 6, precision: 2, group: 'stats_1h' },
      'fine-max': { name: '1h-max2', algorithm: 'max', window: 3600, slots: 6, minSamples: 1, precision: 2, group: 'stats_1h' },
      'low-percentile': { name: '1h-p5', algorithm: 'percentile', quantile: 0.05, window: 3600, slots: 6, precision: 2, group: 'stats_1h' },
      'time-average': { name: '1h-tavg', algorithm: 'timeavg', window: 3600, slots: 6, group: 'stats_1h' },
    },
  },
]);

export type WindowName = string;

/**
 * Dimensions, in the order their values appear in a series name. The customer keeps OpenSIPS'
 * spelling (its value right after the window suffix: `ASR_10macme`); the others are marked with a
 * `~` that a customer name can never hold (`ASR_10m~carrier=carrier_a~dest=44`), so no
 * carrier or destination series can take a customer's name.
 */
export interface DimensionDef {
  /** Prometheus label and config key. */
  readonly name: 'customer' | 'carrier' | 'destination';
  /** Written before the value in series names ('' for the customer). */
  readonly marker: string;
  readonly title: string;
  /** Whose KPIs: the customer's calls, the carrier's attempts; destinations have both. */
  readonly of: 'call' | 'attempt' | 'both';
}

export const DIMENSIONS: readonly DimensionDef[] = Object.freeze([
  { name: 'customer', marker: '', title: 'Customers', of: 'call' },
  { name: 'carrier', marker: '~carrier=', title: 'Carriers', of: 'attempt' },
  { name: 'destination', marker: '~dest=', title: 'Destinations', of: 'both' },
] as const satisfies readonly DimensionDef[]);

export type DimensionName = DimensionDef['name'];

/** Dimension values as they appear in series names and labels: a safe character set, 1..64 long. */
export const DIMENSION_VALUE_RE = /^[A-Za-z0-9.@+-][A-Za-z0-9_.@+-]{0,63}$/;

/**
 * A dimension value from raw text (a header, an address, a prefix-table name): characters outside
 * `[A-Za-z0-9_.@+-]` become `_`, at most 64 of them, and a leading `_` becomes `-` (so that a
 * customer can never read as a window suffix: `_10mx` would make `ASR_10mx` ambiguous).
 */
export function sanitizeDimensionValue(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const t = raw.trim();
  if (t === '') return null;
  const s = t.replace(/[^A-Za-z0-9_.@+-]/g, '_').slice(0, 64);
  return s.charCodeAt(0) === 0x5f ? `-${s.slice(1)}` : s;
}

/** Where a series stands in the catalogue: its labels, kept beside the series' OpenSIPS name. */
export type KpiIdentity = {
  readonly kpi: KpiName;
  readonly window: WindowName;
  readonly customer?: string | undefined;
  readonly carrier?: string | undefined;
  readonly destination?: string | undefined;
};

/** The dimension values of one scope: {} is all traffic. */
export type Scope = Readonly<Partial<Record<DimensionName, string>>>;

/** The series name of a KPI in a window for a scope (the only place names are spelled). */
export function seriesName(kpi: KpiDef, window: Pick<WindowDef, 'suffix'>, scope: Scope): string {
  let n = kpi.name + window.suffix;
  for (const d of DIMENSIONS) {
    const v = scope[d.name];
    if (v !== undefined) n += d.marker + v;
  }
  return n;
}

/**
 * The identity of a KPI's series in a window for a scope (what identify() gives back from its
 * name): one object of a fixed shape with every dimension (undefined where the scope has none),
 * sharing the catalogue's and the scope's strings — a series keeps it for its whole life.
 */
export function identityOf(kpi: KpiDef, window: Pick<WindowDef, 'name'>, scope: Scope): KpiIdentity {
  return { kpi: kpi.name as KpiName, window: window.name, customer: scope.customer, carrier: scope.carrier, destination: scope.destination };
}

/** The profile a KPI is kept under in a window ('' for a level: it has none). */
export function profileOf(kpi: KpiDef, window: WindowDef): string {
  return kpi.kind === 'level' ? '' : window.profiles[kpi.series ?? kpi.kind].name;
}

export function kpiByName(name: string): KpiDef | undefined {
  return KPIS.find((k) => k.name === name);
}

export function windowByName(name: string): WindowDef | undefined {
  return WINDOWS.find((w) => w.name === name);
}

const INVITE_PER_MIN: ProfileSpec = { name: 'inv_acc_per_min', algorithm: 'accumulate', window: 60 };
const INVITE_RATIO: ProfileSpec = { name: 'inv_perc_per_min', algorithm: 'percentage', window: 60 };

/** The two per-minute INVITE series and their profiles (OpenSIPS' statistics module example). */
export const INVITE_SERIES = Object.freeze({
  perMinute: { profile: INVITE_PER_MIN.name, name: 'INVITE_per_min', spec: INVITE_PER_MIN },
  ratio: { profile: INVITE_RATIO.name, name: 'INVITE_ratio', spec: INVITE_RATIO },
});

/** The kinds kept in a window's profiles, in the order of `WindowDef.profiles` (KPI_MODPARAMS' order). */
const SERIES_KINDS = Object.keys(WINDOWS[0].profiles) as SeriesKind[];

/**
 * Every profile the catalogue feeds, as data (the embedded default configuration's profiles): each
 * kind's profile in each window, kind by kind, then the two INVITE profiles.
 */
export const KPI_PROFILES: readonly ProfileSpec[] = Object.freeze([
  ...SERIES_KINDS.flatMap((kind) => WINDOWS.map((w) => w.profiles[kind])),
  INVITE_SERIES.perMinute.spec,
  INVITE_SERIES.ratio.spec,
]);

/** A profile in OpenSIPS `stat_series_profile` syntax: `perc: algorithm=percentage group=stats`. */
export function profileText(p: ProfileSpec): string {
  let s = `${p.name}: algorithm=${p.algorithm}`;
  if (p.window !== undefined) s += ` window=${p.window}`;
  if (p.slots !== undefined) s += ` slots=${p.slots}`;
  if (p.quantile !== undefined) s += ` quantile=${p.quantile}`;
  if (p.minSamples !== undefined) s += ` min_samples=${p.minSamples}`;
  if (p.precision !== undefined) s += ` precision=${p.precision}`;
  if (p.group !== undefined) s += ` group=${p.group}`;
  return s;
}

/** Every profile the catalogue needs, in OpenSIPS modparam syntax (part of the embedded default), written from KPI_PROFILES. */
export const KPI_MODPARAMS: string = (() => {
  const line = (p: ProfileSpec) => `modparam("statistics", "stat_series_profile", "${profileText(p)}")`;
  const lines = ['# call KPIs (src/kpi/catalogue.ts): ratios, averages, 95th percentiles, rates and maxima over each window'];
  for (const kind of SERIES_KINDS) for (const w of WINDOWS) lines.push(line(w.profiles[kind]));
  lines.push('# INVITEs per minute, and the share of initial INVITEs among all requests');
  for (const s of Object.values(INVITE_SERIES)) lines.push(line(s.spec));
  return `${lines.join('\n')}\n`;
})();

/** Every profile name the catalogue feeds, with the KPIs that need it (start-up check). */
export function requiredProfiles(options: { percentiles: boolean; inviteSeries: boolean }): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const w of WINDOWS)
    for (const k of KPIS) {
      if (k.kind === 'level' || (k.kind === 'percentile' && !options.percentiles)) continue;
      const p = profileOf(k, w);
      const list = out.get(p) ?? [];
      list.push(seriesName(k, w, {}));
      out.set(p, list);
    }
  if (options.inviteSeries)
    for (const s of Object.values(INVITE_SERIES)) out.set(s.profile, [...(out.get(s.profile) ?? []), s.name]);
  // the final replies by code
  for (const w of WINDOWS) out.set(w.profiles.count.name, [replySeriesName('503', w, {}), '...']);
  return out;
}

// ---- final replies by code: the "why calls fail" view

/**
 * Final replies by code, per scope and window: the failed calls (attempts, for carriers) by the
 * final reply that decided them — answered ones are ASR's, not counted here; a code outside `codes`
 * counts under its class (`4xx`), a call with no final reply in time under `timeout`. Series
 * `FR_503`, `FR_503_10macme`, `FR_4xx~carrier=carrier_a` (MI), kept in the windows' `count`
 * profiles; Prometheus `sipstats_final_replies{code="503",window="1m",carrier="carrier_a"}`. The
 * Q.850 cause of a `Reason` header counts the same way, as `FR_Q850_34` (code label `Q.850/34`).
 */
export const REPLIES = Object.freeze({
  prefix: 'FR_',
  /** Codes counted under their own number (the usual reasons a call fails); others fold into their class. */
  codes: Object.freeze([400, 401, 403, 404, 405, 407, 408, 410, 413, 415, 420, 480, 481, 482, 483, 484, 485, 486, 487, 488, 491, 500, 501, 502, 503, 504, 513, 600, 603, 604, 606]),
  timeout: 'timeout',
  /** Q.850 causes (1..127) from a Reason header: FR_Q850_N. */
  q850: 'Q850_',
});
const REPLY_CODE_SET: ReadonlySet<number> = new Set(REPLIES.codes);

/** The key a final reply counts under: its code, its class (`4xx`), `timeout` (code 0). */
export function replyKey(code: number): string {
  if (code === 0) return REPLIES.timeout;
  return REPLY_CODE_SET.has(code) ? String(code) : `${Math.floor(code / 100)}xx`;
}

/** The series name of a reply key in a window for a scope (`FR_503_10m~carrier=carrier_a`). */
export function replySeriesName(key: string, window: Pick<WindowDef, 'suffix'>, scope: Scope): string {
  let n = REPLIES.prefix + key + window.suffix;
  for (const d of DIMENSIONS) {
    const v = scope[d.name];
    if (v !== undefined) n += d.marker + v;
  }
  return n;
}

/** The structured identity of a final-replies series (see identify). */
export type ReplyIdentity = {
  readonly reply: string;
  readonly window: WindowName;
  readonly customer?: string | undefined;
  readonly carrier?: string | undefined;
  readonly destination?: string | undefined;
};

/** The code label of a reply key (`503`, `4xx`, `timeout`, `Q.850/34`). */
export const replyCodeLabel = (key: string): string => (key.startsWith(REPLIES.q850) ? `Q.850/${key.slice(REPLIES.q850.length)}` : key);

/**
 * The call-duration histogram of each scope (Prometheus `sipstats_call_duration_seconds`): the
 * answered calls (attempts) that ended, by their duration from the answer to the BYE, since the
 * server started (a Prometheus histogram: cumulative; rate() gives any window). Upper bounds, s.
 */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([5, 10, 30, 60, 120, 300, 600, 1800, 3600]);

// ---- names back to identities: one inverse of seriesName, used once per series when it is created

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const alt = (xs: readonly string[]) => [...xs].sort((a, b) => b.length - a.length).map(escapeRe).join('|');
/**
 * What follows a series name's KPI (or reply key): the window suffix, then the dimension values —
 * any customer spelling a script may use through the MI (OpenSIPS accepts them; the tracker's are
 * sanitised), then each marked dimension.
 */
const WINDOW_AND_DIMENSIONS =
  `(${alt(WINDOWS.map((w) => w.suffix).filter((s) => s !== ''))})?` +
  '([^~]+)?' +
  DIMENSIONS.filter((d) => d.marker !== '')
    .map((d) => `(?:${escapeRe(d.marker)}([^~]+))?`)
    .join('') +
  '$';
const nameRe = (kpis: readonly KpiDef[]) => new RegExp(`^(${alt(kpis.map((k) => k.name))})${WINDOW_AND_DIMENSIONS}`, 's');
const NAME_RE = nameRe(KPIS.filter((k) => k.kind !== 'level'));
/**
 * The names of levels apart: a level is a counter, never a series, and its names can be spelled as
 * a series' (CC of customer `Rome` and CCR of customer `ome` are both `CCRome`): which one a name is
 * depends on what holds it, and the reader says (`identify(name, true)` for a counter).
 */
const LEVEL_RE = nameRe(LEVEL_KPIS);
const WINDOW_BY_SUFFIX = new Map(WINDOWS.map((w) => [w.suffix, w]));
const KPI_BY_NAME = new Map(KPIS.map((k) => [k.name as string, k]));

/**
 * The identity of a series name, or null when the name is not a catalogue series. The engine calls
 * it once when a series is created (by the tracker, the MI, a restore or a cluster read) and keeps
 * the result beside the series: readers use those labels and never parse names.
 */
export function identify(name: string, level = false): KpiIdentity | null {
  if (level) {
    const l = LEVEL_RE.exec(name);
    return l === null ? null : identityFrom(l);
  }
  if (name.startsWith(REPLIES.prefix)) return identifyReply(name) as unknown as KpiIdentity | null;
  const m = NAME_RE.exec(name);
  return m === null ? null : identityFrom(m);
}

function identityFrom(m: RegExpExecArray): KpiIdentity {
  const values: { [K in DimensionName]?: string } = {};
  if (m[3] !== undefined) values.customer = m[3];
  let i = 4;
  for (const d of DIMENSIONS) {
    if (d.marker === '') continue;
    if (m[i] !== undefined) values[d.name] = m[i];
    i++;
  }
  const kpi = KPI_BY_NAME.get(m[1])!;
  // (a level, CCacme, is a value now: its window is `now`)
  return identityOf(kpi, kpi.kind === 'level' ? NOW : (WINDOW_BY_SUFFIX.get(m[2] ?? '') ?? WINDOWS[0]), values);
}

/** Prometheus/JSON labels of an identity: kpi, window and its dimensions (global: customer=""). */
export function identityLabels(id: KpiIdentity): Record<string, string> {
  const out: Record<string, string> = { kpi: id.kpi, window: id.window };
  let any = false;
  for (const d of DIMENSIONS) {
    const v = id[d.name];
    if (v !== undefined) {
      out[d.name] = v;
      any = true;
    }
  }
  if (!any) out.customer = '';
  return out;
}

/** True for the labels of an all-traffic KPI series (no dimension). */
export function isAllTraffic(labels: { readonly [k: string]: string | undefined }): boolean {
  for (const d of DIMENSIONS) if (labels[d.name] !== undefined) return false;
  return true;
}

// ---- views: the rows KPIs are read in

/**
 * A view: the rows of the scopes that have exactly its dimensions. Derived from DIMENSIONS: all
 * traffic (no dimension), each dimension alone, and the dimensions of an attempt together
 * (carrier × destination). The read model (kpi-read.ts), /api/kpis and the dashboard's tabs and
 * heat map, `sipstats replay --by` and alert rules' `by` all take their views from here.
 */
export interface ViewDef {
  /** 'all', or its dimensions' names joined by ',' (`carrier,destination`: replay's `--by`, rules' `by`). */
  readonly name: string;
  /** Its dimensions, in catalogue order (none: all traffic). */
  readonly dimensions: readonly DimensionDef[];
  /** 'all traffic', or its dimensions' names joined by ' × ' (`carrier × destination`). */
  readonly title: string;
  /** The name of its rows in /api/kpis and of the dashboard's tab: `overall`, `customers`, `carrierDestinations`. */
  readonly rows: string;
  /** Whose KPIs its rows hold: calls, or attempts (a view with a dimension of attempts). */
  readonly of: 'call' | 'attempt';
}

function viewOfDimensions(dims: readonly DimensionDef[]): ViewDef {
  const names = dims.map((d) => d.name as string);
  return Object.freeze({
    name: dims.length === 0 ? 'all' : names.join(','),
    dimensions: Object.freeze([...dims]),
    title: dims.length === 0 ? 'all traffic' : names.join(' × '),
    rows: dims.length === 0 ? 'overall' : `${names.map((n, i) => (i === 0 ? n : n[0].toUpperCase() + n.slice(1))).join('')}s`,
    of: dims.some((d) => d.of === 'attempt') ? 'attempt' : 'call',
  });
}

const ATTEMPT_DIMENSIONS = DIMENSIONS.filter((d) => d.of !== 'call');

/** Every view: all traffic first, then each dimension alone, then carrier × destination. */
export const VIEWS: readonly ViewDef[] = Object.freeze([
  viewOfDimensions([]),
  ...DIMENSIONS.map((d) => viewOfDimensions([d])),
  ...(ATTEMPT_DIMENSIONS.length > 1 ? [viewOfDimensions(ATTEMPT_DIMENSIONS)] : []),
]);

/** The view of all traffic (no dimension). */
export const ALL_TRAFFIC: ViewDef = VIEWS[0];

/** Views by the dimensions they have (bit i: DIMENSIONS[i]). */
const VIEW_BY_MASK: readonly (ViewDef | undefined)[] = (() => {
  const out: (ViewDef | undefined)[] = new Array(1 << DIMENSIONS.length).fill(undefined);
  for (const v of VIEWS) out[v.dimensions.reduce((m, d) => m | (1 << DIMENSIONS.indexOf(d)), 0)] = v;
  return out;
})();

/**
 * The view a scope (or a series' identity, or labels) is read in: the one of exactly the
 * dimensions it has; undefined for a combination no view has. The only place a view is computed.
 */
export function viewOf(scope: { readonly [K in DimensionName]?: string | undefined }): ViewDef | undefined {
  let m = 0;
  for (let i = 0; i < DIMENSIONS.length; i++) if (scope[DIMENSIONS[i].name] !== undefined) m |= 1 << i;
  return VIEW_BY_MASK[m];
}

export function viewByName(name: string): ViewDef | undefined {
  return VIEWS.find((v) => v.name === name);
}

const REPLY_RE = new RegExp(`^${escapeRe(REPLIES.prefix)}(${alt([...REPLIES.codes.map(String), '3xx', '4xx', '5xx', '6xx', REPLIES.timeout])}|${escapeRe(REPLIES.q850)}\\d{1,3})${WINDOW_AND_DIMENSIONS}`, 's');

/** The identity of a final-replies series name (`FR_503_10macme`), or null. */
export function identifyReply(name: string): ReplyIdentity | null {
  const m = REPLY_RE.exec(name);
  if (m === null) return null;
  const out: { -readonly [K in keyof ReplyIdentity]?: ReplyIdentity[K] } = { reply: m[1], window: (WINDOW_BY_SUFFIX.get(m[2] ?? '') ?? WINDOWS[0]).name };
  if (m[3] !== undefined) out.customer = m[3];
  let i = 4;
  for (const d of DIMENSIONS) {
    if (d.marker === '') continue;
    if (m[i] !== undefined) out[d.name] = m[i];
    i++;
  }
  return out as ReplyIdentity;
}
