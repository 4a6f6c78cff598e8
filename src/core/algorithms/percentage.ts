import type { SeriesAlgorithm } from './algorithm.ts';
import { finish } from './algorithm.ts';
import { twoSums } from './sum-parts.ts';

/**
 * percentage: parts [true weight, false weight]; v > 0 adds v to true, v < 0 adds -v to false,
 * v = 0 changes nothing. Value = floor(true * factor / (true + false)), 0 when both are 0.
 */
export const percentage: SeriesAlgorithm = {
  ...twoSums,
  name: 'percentage',
  samples: (f, o) => f[o] + f[o + 1],
  add(f, o, v) {
    if (v > 0) f[o] += v;
    else if (v < 0) f[o + 1] -= v;
  },
  read(f, o, p) {
    const t = f[o];
    const all = t + f[o + 1];
    if (all <= 0) return 0;
    return finish((t * p.percentageFactor) / all, p.precision, true);
  },
};
