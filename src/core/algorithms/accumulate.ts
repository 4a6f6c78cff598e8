import { finish } from './algorithm.ts';
import { sumParts } from './sum-parts.ts';

/** accumulate: parts [sum]; value = sum (OpenSIPS' integer sums; rounded only with `precision`). */
export const accumulate = sumParts('accumulate', (f, o, p) => (p.precision === null ? f[o] : finish(f[o], p.precision)));
