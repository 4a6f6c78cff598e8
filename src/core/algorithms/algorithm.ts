import type { ProfileDef } from '../types.ts';

/**
 * A series algorithm: how one update changes the mergeable parts of a slot, and how a value is read
 * from the parts of a whole window. Parts are plain float64 numbers (sums, counts, weights, sketch
 * buckets), so slots, snapshots and cluster nodes merge exactly by `merge`. Every algorithm passes
 * the shared contract suite in test/contract/algorithms.test.ts.
 */
export interface SeriesAlgorithm {
  readonly name: string;
  /** Number of float64 parts per slot (and in the window total). */
  readonly width: number;
  /** Sets parts to the identity of `merge` (all zeros unless overridden, e.g. +Infinity for min). */
  reset(f: Float64Array, o: number): void;
  /** Adds one sample `v` into the parts at `f[o..o+width)`. */
  add(f: Float64Array, o: number, v: number): void;
  /** dst ⊕= src. */
  merge(dst: Float64Array, d: number, src: ArrayLike<number>, s: number): void;
  /**
   * dst ⊖= src, for invertible parts (sums, counts). Absent for min/max: the window total is then
   * recomputed from the live slots when a slot expires.
   */
  readonly subtract?: (dst: Float64Array, d: number, src: ArrayLike<number>, s: number) => void;
  /**
   * The value of merged parts, OpenSIPS-compatible unless the profile asks for precision.
   * `coveredMs`: how long the window covers at this read (start of its oldest slot to now).
   */
  read(f: ArrayLike<number>, o: number, p: ProfileDef, coveredMs: number): number | null;
  /** How many samples merged parts hold, when the parts tell (absent: accumulate, sum, rate, min, max). */
  readonly samples?: (f: ArrayLike<number>, o: number) => number;
  /**
   * How many leading parts hold data (the rest is free room, e.g. a sketch's unused buckets), so
   * that a sparse series keeps only those. Absent: all `width` parts.
   */
  readonly used?: (f: ArrayLike<number>, o: number) => number;
}

/** Truncate toward zero (OpenSIPS integer output) or round to `precision` decimals (extension). */
export function finish(x: number, precision: number | null, floor = false): number {
  if (precision === null) {
    const r = floor ? Math.floor(x) : Math.trunc(x);
    return r === 0 ? 0 : r; // never -0 (trunc(-0.5))
  }
  const m = 10 ** precision;
  const r = Math.round(x * m) / m;
  return Object.is(r, -0) ? 0 : r;
}
