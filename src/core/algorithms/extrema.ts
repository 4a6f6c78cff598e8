import type { SeriesAlgorithm } from './algorithm.ts';
import { finish } from './algorithm.ts';

/** min / max: parts [extreme]; not invertible, so the window is recomputed from its live slots on expiry. Empty → null. */
function extreme(name: 'min' | 'max'): SeriesAlgorithm {
  const id = name === 'min' ? Infinity : -Infinity;
  const pick = name === 'min' ? Math.min : Math.max;
  return {
    name,
    width: 1,
    reset(f, o) {
      f[o] = id;
    },
    add(f, o, v) {
      f[o] = pick(f[o], v);
    },
    merge(d, i, s, j) {
      d[i] = pick(d[i], s[j]);
    },
    read(f, o, p) {
      const x = f[o];
      if (x === id) return null;
      return p.precision === null ? x : finish(x, p.precision);
    },
  };
}

export const min = extreme('min');
export const max = extreme('max');
