import type { ProfileRuntime } from './profile-runtime.ts';

/** A group of statistics, shown as `group:name`. Looked up case-insensitively, shown as declared. */
export interface Group {
  readonly name: string;
}

export const enum StatKind {
  Counter = 0,
  Series = 1,
}

/** A plain counter (update_stat / reset_stat). */
export class Counter {
  readonly kind = StatKind.Counter;
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
 * A sliding-window series. Its slots live in its profile's slab (`f`/`u` at offsets `fo`/`uo`), a
 * queue of the non-empty slots in slot order: `head` is the oldest, `count` how many are live.
 */
export class Series {
  readonly kind = StatKind.Series;
  next: Stat | undefined = undefined;
  f: Float64Array;
  u: Uint32Array;
  fo: number;
  uo: number;
  head = 0;
  count = 0;
  constructor(
    readonly name: string,
    readonly group: Group,
    readonly profile: ProfileRuntime,
    f: Float64Array,
    u: Uint32Array,
    fo: number,
    uo: number,
  ) {
    this.f = f;
    this.u = u;
    this.fo = fo;
    this.uo = uo;
  }
}

export type Stat = Counter | Series;
