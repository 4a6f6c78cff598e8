import type { SeriesAlgorithm } from './algorithm.ts';
import { finish } from './algorithm.ts';
import { addWithCount, sumParts, twoSums } from './sum-parts.ts';

/** sum: parts [sum]; like accumulate, but rounded only with `precision` (a float otherwise). */
export const sum = sumParts('sum', (f, o, p) => (p.precision === null ? f[o] : finish(f[o], p.precision)));

/** count: parts [n]; the number of updates in the window (any value, 0 included). */
export const count = { ...sumParts('count', (f, o) => f[o], true), samples: (f: ArrayLike<number>, o: number) => f[o] };

/**
 * rate: parts [sum]; the value is sum per second over the time the window covers at the read
 * (from the start of its oldest slot to now: between window - window/slots and window).
 * Rounded to `precision` decimals (default 3).
 */
export const rate = sumParts('rate', (f, o, p, coveredMs) => (coveredMs <= 0 ? 0 : finish((f[o] * 1000) / coveredMs, p.precision ?? 3)));

/**
 * timeavg: parts [sum, n]; the time average of a level whose feeder adds value × seconds (e.g. CC ×
 * the seconds it held: call-seconds): the sum per second over the time the window covers at the read
 * (as rate), truncated like average unless `precision` is given; its samples are the updates.
 */
export const timeavg: SeriesAlgorithm = {
  ...twoSums,
  name: 'timeavg',
  samples: (f, o) => f[o + 1],
  add: addWithCount,
  read: (f, o, p, coveredMs) => (coveredMs <= 0 ? 0 : finish((f[o] * 1000) / coveredMs, p.precision)),
};

/**
 * stddev: parts [n, sum, sum of squares]; population standard deviation of the window's samples,
 * null when empty. Rounded to `precision` decimals (default 3). Sums of squares lose precision for
 * values beyond ~1e7 with tiny spread; for delays in ms and call durations in s that is far off.
 */
export const stddev: SeriesAlgorithm = {
  name: 'stddev',
  width: 3,
  samples: (f, o) => f[o],
  reset(f, o) {
    f[o] = 0;
    f[o + 1] = 0;
    f[o + 2] = 0;
  },
  add(f, o, v) {
    f[o] += 1;
    f[o + 1] += v;
    f[o + 2] += v * v;
  },
  merge(d, i, s, j) {
    d[i] += s[j];
    d[i + 1] += s[j + 1];
    d[i + 2] += s[j + 2];
  },
  subtract(d, i, s, j) {
    d[i] -= s[j];
    d[i + 1] -= s[j + 1];
    d[i + 2] -= s[j + 2];
  },
  read(f, o, p) {
    const n = f[o];
    if (n <= 0) return null;
    const mean = f[o + 1] / n;
    const variance = Math.max(0, f[o + 2] / n - mean * mean);
    return finish(Math.sqrt(variance), p.precision ?? 3);
  },
};
