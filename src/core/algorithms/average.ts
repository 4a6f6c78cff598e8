import type { SeriesAlgorithm } from './algorithm.ts';
import { finish } from './algorithm.ts';
import { addWithCount, twoSums } from './sum-parts.ts';

/** average: parts [sum, count]; value = trunc(sum / count), 0 when empty. v = 0 is a sample. */
export const average: SeriesAlgorithm = {
  ...twoSums,
  name: 'average',
  samples: (f, o) => f[o + 1],
  add: addWithCount,
  read(f, o, p) {
    const n = f[o + 1];
    if (n <= 0) return 0;
    return finish(f[o] / n, p.precision);
  },
};
