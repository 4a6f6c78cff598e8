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
