import type { SeriesAlgorithm } from './algorithm.ts';
import { finish } from './algorithm.ts';

/** accumulate: parts [sum]; value = sum. */
export const accumulate: SeriesAlgorithm = {
  name: 'accumulate',
  width: 1,
  reset(f, o) {
    f[o] = 0;
  },
  add(f, o, v) {
    f[o] += v;
  },
  merge(d, i, s, j) {
    d[i] += s[j];
  },
  subtract(d, i, s, j) {
    d[i] -= s[j];
  },
  read(f, o, p) {
    const x = f[o];
    return p.precision === null ? x : finish(x, p.precision);
  },
};
