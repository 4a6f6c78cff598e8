import type { SeriesAlgorithm } from './algorithm.ts';

/** The parts of every sum-based algorithm (accumulate, sum, rate): [sum]; `count` adds 1 instead of v. */
export function sumParts(name: string, read: SeriesAlgorithm['read'], counting = false): SeriesAlgorithm {
  return {
    name,
    width: 1,
    reset(f, o) {
      f[o] = 0;
    },
    add: counting
      ? (f, o) => {
          f[o] += 1;
        }
      : (f, o, v) => {
          f[o] += v;
        },
    merge(d, i, s, j) {
      d[i] += s[j];
    },
    subtract(d, i, s, j) {
      d[i] -= s[j];
    },
    read,
  };
}

/** The merging of two-part algorithms whose parts are two sums (average: sum, count; percentage: true, false weights; timeavg). */
export const twoSums = {
  width: 2,
  reset(f: Float64Array, o: number): void {
    f[o] = 0;
    f[o + 1] = 0;
  },
  merge(d: Float64Array, i: number, s: ArrayLike<number>, j: number): void {
    d[i] += s[j];
    d[i + 1] += s[j + 1];
  },
  subtract(d: Float64Array, i: number, s: ArrayLike<number>, j: number): void {
    d[i] -= s[j];
    d[i + 1] -= s[j + 1];
  },
} as const;

/** Adds `v` to the sum, 1 to the count: parts [sum, count] (average, timeavg). */
export function addWithCount(f: Float64Array, o: number, v: number): void {
  f[o] += v;
  f[o + 1] += 1;
}
