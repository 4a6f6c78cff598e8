import type { ProfileRuntime } from './profile-runtime.ts';

/** A group of statistics, shown as `group:name`. Looked up case-insensitively, shown as declared. */
export interface Group {
  readonly name: string;
}

/** `Series.tk` when the series has no entry. A small integer, so the field stays unboxed. */
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
 * A sliding-window series. The slot being written ("current") lives in its profile's compact
 * arrays at index `local` (`cur` parts, `tk` slot), so that the hot path touches few cache lines.
 * Completed slots live in the profile's slab (`f`/`u` at offsets `fo`/`uo`) as a queue in slot
 * order: `head` is the oldest, `count` how many are live.
 */
export class Series {
  readonly kind = StatKind.Series;
  next: Stat | undefined = undefined;
  head = 0;
  count = 0;
  /** Slot of the newest update relative to the profile's base slot (idle sweep). */
  lu = 0;
  constructor(
    readonly name: string,
    readonly group: Group,
    readonly profile: ProfileRuntime,
    /** Index of this series in its profile (slab region, current-slot arrays, engine code). */
    readonly local: number,
    readonly f: Float64Array,
    readonly u: Uint16Array | Uint32Array,
    readonly fo: number,
    readonly uo: number,
  ) {}
}

export type Stat = Counter | Series;
