import type { SeriesAlgorithm } from './algorithm.ts';
import { accumulate } from './accumulate.ts';
import { average } from './average.ts';
import { percentage } from './percentage.ts';

export type { SeriesAlgorithm } from './algorithm.ts';

/** Every algorithm a profile may name (`algorithm=`), by lower-case name. */
export const ALGORITHMS: ReadonlyMap<string, SeriesAlgorithm> = new Map<string, SeriesAlgorithm>([
  ['accumulate', accumulate],
  ['average', average],
  ['percentage', percentage],
]);

export function algorithmFor(name: string): SeriesAlgorithm | undefined {
  return ALGORITHMS.get(name.toLowerCase());
}
