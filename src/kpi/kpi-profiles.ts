/**
 * The KPI series of SPEC §7 and the profiles they are kept under. A call's KPIs go to the global
 * series (empty suffix) and to the series of its customer (`ASR_10m` + customer), for every window.
 */
export interface KpiWindow {
  /** Series name suffix of this window: '' (1 minute), '_10m', '_1h'. */
  readonly suffix: string;
  /** Profiles: percentage KPIs (ASR, NER, CCR), averages (PDD, AST, ACD), 95th percentiles. */
  readonly perc: string;
  readonly avg: string;
  readonly p95: string;
}

export const DEFAULT_WINDOWS: readonly KpiWindow[] = Object.freeze([
  { suffix: '', perc: 'perc', avg: 'avg', p95: 'p95' },
  { suffix: '_10m', perc: '10m-perc', avg: '10m-avg', p95: '10m-p95' },
  { suffix: '_1h', perc: '1h-perc', avg: '1h-avg', p95: '1h-p95' },
]);

/** Profiles the default KPI set needs (the seed's, plus the percentile ones), in OpenSIPS syntax. */
export const KPI_MODPARAMS = `# call KPIs over 1 minute, 10 minutes and 1 hour (SPEC section 7)
modparam("statistics", "stat_series_profile", "perc: algorithm=percentage group=stats")
modparam("statistics", "stat_series_profile", "10m-perc: algorithm=percentage window=600 slots=10 group=stats_10m")
modparam("statistics", "stat_series_profile", "1h-perc: algorithm=percentage window=3600 slots=6 group=stats_1h")
modparam("statistics", "stat_series_profile", "avg: algorithm=average group=stats")
modparam("statistics", "stat_series_profile", "10m-avg: algorithm=average window=600 slots=10 group=stats_10m")
modparam("statistics", "stat_series_profile", "1h-avg: algorithm=average window=3600 slots=6 group=stats_1h")
# 95th percentiles of PDD and AST (PDD_p95, AST_p95_10m, ...)
modparam("statistics", "stat_series_profile", "p95: algorithm=p95 window=60 slots=6 group=stats")
modparam("statistics", "stat_series_profile", "10m-p95: algorithm=p95 window=600 slots=10 group=stats_10m")
modparam("statistics", "stat_series_profile", "1h-p95: algorithm=p95 window=3600 slots=6 group=stats_1h")
# INVITEs per minute, and the share of initial INVITEs among all requests (the seed's first example)
modparam("statistics", "stat_series_profile", "inv_acc_per_min: algorithm=accumulate window=60")
modparam("statistics", "stat_series_profile", "inv_perc_per_min: algorithm=percentage window=60")
`;

/** Series names of one customer (or of all traffic, customer ''), per window: built once, then reused. */
export class KpiNames {
  readonly asr: string[];
  readonly ner: string[];
  readonly ccr: string[];
  readonly pdd: string[];
  readonly ast: string[];
  readonly acd: string[];
  readonly pddP95: string[];
  readonly astP95: string[];
  constructor(windows: readonly KpiWindow[], customer: string) {
    const n = (kpi: string) => windows.map((w) => `${kpi}${w.suffix}${customer}`);
    this.asr = n('ASR');
    this.ner = n('NER');
    this.ccr = n('CCR');
    this.pdd = n('PDD');
    this.ast = n('AST');
    this.acd = n('ACD');
    this.pddP95 = n('PDD_p95');
    this.astP95 = n('AST_p95');
  }
}

export const KPI_NAMES = ['ASR', 'NER', 'CCR', 'PDD', 'AST', 'ACD', 'PDD_p95', 'AST_p95'] as const;
export type KpiName = (typeof KPI_NAMES)[number];
const KPI_RE = /^(PDD_p95|AST_p95|ASR|NER|CCR|PDD|AST|ACD)(_10m|_1h)?(.*)$/;

/** Splits a KPI series name (`ASR_10macme`) into KPI, window ('1m', '10m', '1h') and customer ('' = all traffic). */
export function parseKpiName(name: string): { kpi: KpiName; window: '1m' | '10m' | '1h'; customer: string } | null {
  const m = KPI_RE.exec(name);
  if (m === null) return null;
  return { kpi: m[1] as KpiName, window: m[2] === '_10m' ? '10m' : m[2] === '_1h' ? '1h' : '1m', customer: m[3] };
}
