/** Plain, serialisable definitions: parsed from config, listed by the MI, saved in snapshots. */

/** Returns the current Unix time in milliseconds. Injected: the core never reads the system clock. */
export type Clock = () => number;

export interface CounterDef {
  /** Statistic name (case-sensitive). */
  readonly name: string;
  /** Group, as declared (looked up case-insensitively). `script` for `variable` lines. */
  readonly group: string;
  /** `/no_reset`: reset_stat / reset_statistics leave it unchanged. */
  readonly noReset: boolean;
}

export interface ProfileDef {
  /** Profile name as declared; looked up case-insensitively. */
  readonly name: string;
  /** `accumulate` | `average` | `percentage` (+ later algorithms). */
  readonly algorithm: string;
  /** Seconds of data kept. */
  readonly window: number;
  /** Number of clock-aligned slots the window is cut into. */
  readonly slots: number;
  /** Group the series of this profile appear in. */
  readonly group: string;
  /** Power of 10 that scales `percentage` output (OpenSIPS default 100). */
  readonly percentageFactor: number;
  /** Extension: round output to N decimals instead of truncating (null = OpenSIPS integer output). */
  readonly precision: number | null;
  /** Extension: value is null until the window holds at least N updates (0 = off). */
  readonly minSamples: number;
  /** Algorithm-specific options (e.g. `quantile` for percentiles). */
  readonly options: Readonly<Record<string, number>>;
  /** Cardinality control: at most this many series (0 = unlimited). */
  readonly maxSeries?: number;
  /** Seconds without an update after which a series is removed by the sweep (0 = never). */
  readonly idle?: number;
  /** When `maxSeries` is reached: refuse new series (E_SERIES_LIMIT) or fold them into `<profile>_other`. */
  readonly overflow?: 'refuse' | 'other';
}

export interface EngineConfig {
  readonly counters: readonly CounterDef[];
  /** Declared groups (`stat_groups`), display spelling. */
  readonly groups: readonly string[];
  readonly profiles: readonly ProfileDef[];
}

/**
 * A series' structured identity (e.g. `{ kpi: 'ASR', window: '10m', customer: 'acme' }`), given by
 * the engine's labeler when the series is created and kept beside its name: readers use it and
 * never parse names back. null for series the labeler does not know.
 */
export type SeriesLabels = { readonly [key: string]: string | undefined };

/** One statistic as seen by exporters (Prometheus, dashboard, snapshots). */
export interface StatView {
  readonly group: string;
  readonly name: string;
  /** counter: resettable counter; gauge_counter: /no_reset counter; series: sliding-window series. */
  readonly kind: 'counter' | 'no_reset' | 'series';
  /** Profile name for series. */
  readonly profile?: string;
  /** Current value; null = not enough data (min_samples). */
  readonly value: number | null;
  /**
   * Series only: the samples in the window behind `value` (0: an empty window, whose value is
   * OpenSIPS' 0), or null when neither the profile (min_samples) nor the algorithm's parts tell.
   */
  readonly samples?: number | null;
  /** A series', or a level's (StatsEngine.level), labels (see SeriesLabels). */
  readonly labels?: SeriesLabels | null;
  /**
   * A statistic a feeder keeps (a KPI scope's series or level): its owner and its place there.
   * Exporters key what they write by these (a place's text by its owner's layout and slot, an
   * owner's own labels once per pass) instead of by name: nothing is kept per statistic.
   * `name` and `labels` of such a view are spelled only when read.
   */
  readonly owner?: KeptOwner;
  readonly slot?: number;
}

/**
 * Who spells the names and labels of the statistics it keeps, by place (`slot`): a KPI scope.
 */
export interface KeptOwner {
  nameAt(slot: number): string;
  labelsAt(slot: number): SeriesLabels;
  /**
   * Owners of one layout label a place alike except for their own labels (a KPI scope's dimension
   * values): `labelsAt(slot)` of two of them differ only in labels that are the same at every slot
   * of one owner.
   */
  readonly layout: object;
}
