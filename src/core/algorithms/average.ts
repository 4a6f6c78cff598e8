import type { SeriesAlgorithm } from './algorithm.ts';
import { finish } from './algorithm.ts';

/** average: parts [sum, count]; value = trunc(sum / count), 0 when empty. v = 0 is a sample. */
export const average: SeriesAlgorithm = {
  name: 'average',
  width: 2,
  samples: (f, o) => f[o + 1],
  reset(f, o) {
    f[o] = 0;
    f[o + 1] = 0;
  },
  add(f, o, v) {
    f[o] += v;
    f[o + 1] += 1;
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
    const n = f[o + 1];
    if (n <= 0) return 0;
    return finish(f[o] / n, p.precision);
  },
};
