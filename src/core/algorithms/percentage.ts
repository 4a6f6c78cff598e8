import type { SeriesAlgorithm } from './algorithm.ts';
import { finish } from './algorithm.ts';

/**
 * percentage: parts [true weight, false weight]; v > 0 adds v to true, v < 0 adds -v to false,
 * v = 0 changes nothing. Value = floor(true * factor / (true + false)), 0 when both are 0.
 */
export const percentage: SeriesAlgorithm = {
  name: 'percentage',
  width: 2,
  samples: (f, o) => f[o] + f[o + 1],
  reset(f, o) {
    f[o] = 0;
    f[o + 1] = 0;
  },
  add(f, o, v) {
    if (v > 0) f[o] += v;
    else if (v < 0) f[o + 1] -= v;
  },
  merge(d, i, s, j) {
    d[i] += s[j];
    d[i + 1] += s[j + 1];
  },
  subtract(d, i, s, j) {
    d[i] -= s[j];
    d[i + 1] -= s[j + 1];
  },
  read(f, o, p) {
    const t = f[o];
    const all = t + f[o + 1];
    if (all <= 0) return 0;
    return finish((t * p.percentageFactor) / all, p.precision, true);
  },
};
