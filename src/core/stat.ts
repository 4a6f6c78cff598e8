import type { ProfileRuntime } from './profile-runtime.ts';
import type { SeriesLabels } from './types.ts';

/** A group of statistics, shown as `group:name`. Looked up case-insensitively, shown as declared. */
export interface Group {
  readonly name: string;
}

/** Slot stamp of a current-slot row that holds no entry. */
export const NO_TAIL = -0x40000000;

export const enum StatKind {
  Counter = 0,
  Series = 1,
}

/** A plain counter (update_stat / reset_stat). */
export class Counter {
  readonly kind = StatKind.Counter;
  /** Always undefined: lets the series hot path test `s.profile === p` without a kind check. */
  readonly profile = undefined;
  value = 0;
  /** Next statistic with the same bare name in another group (bare-name lookups walk this chain). */
  next: Stat | undefined = undefined;
  constructor(
    readonly name: string,
    readonly group: Group,
    readonly noReset: boolean,
  ) {}
}

/**
 * A sliding-window series: its name and where its slots live. The slots themselves are in its
 * profile's memory at index `local` (the current slot in a compact row, the window's total and
 * bookkeeping in a header row, completed slots in a pooled ring): see ProfileRuntime.
 */
export class Series {
  /** Its structured identity (the engine's labeler, or the feeder that made it, decides it once, at creation). */
  labels: SeriesLabels | null = null;
  /** Set when the series is removed (idle sweep, remove_series): feeders keeping it then look it up again. */
  declare removed: boolean;
  /** Next statistic with the same bare name in another group (a counter made after it; rare). */
  declare next: Stat | undefined;
  constructor(
    readonly name: string,
    readonly profile: ProfileRuntime,
    /** Index of this series in its profile (its rows, or its sparse entry; engine code). Changes when a sparse series turns dense. */
    public local: number,
  ) {}

  // What every series shares is read from the prototype, not kept per series (memory per dimension value).
  get kind(): StatKind.Series {
    return StatKind.Series;
  }
  /** Its profile's group. */
  get group(): Group {
    return this.profile.group;
  }
}
// Defaults every series reads from the prototype until it sets its own (removal, a same-name counter
// after it): 16 bytes less per series than own fields.
Object.assign(Series.prototype, { removed: false, next: undefined });

export type Stat = Counter | Series;
