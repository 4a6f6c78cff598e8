import type { ProfileDef } from '../types.ts';
import type { SeriesAlgorithm } from './algorithm.ts';
import { accumulate } from './accumulate.ts';
import { average } from './average.ts';
import { max, min } from './extrema.ts';
import { count, rate, stddev, sum, timeavg } from './moments.ts';
import { DEFAULT_BUCKETS, percentile } from './percentile.ts';
import { percentage } from './percentage.ts';

export type { SeriesAlgorithm } from './algorithm.ts';

type Options = Readonly<Record<string, number>>;

/** How to build an algorithm for a profile, and which `key=value` options it takes. */
export interface AlgorithmFactory {
  /** Option keys this algorithm accepts (besides the common profile keys). */
  readonly options: readonly string[];
  /** Problems with the options, as messages; empty when fine. */
  validate(options: Options): string[];
  create(options: Options): SeriesAlgorithm;
}

const plain = (alg: SeriesAlgorithm): AlgorithmFactory => ({ options: [], validate: () => [], create: () => alg });

function validateBuckets(o: Options): string[] {
  const b = o.buckets;
  return b === undefined || (Number.isInteger(b) && b >= 8 && b <= 1024) ? [] : [`buckets=${b} must be an integer from 8 to 1024`];
}

const percentileFactory: AlgorithmFactory = {
  options: ['quantile', 'buckets'],
  validate(o) {
    const q = o.quantile;
    const out = validateBuckets(o);
    if (q === undefined) out.push('algorithm=percentile needs quantile=Q (0 < Q < 1), or use p50, p90, p95, p99');
    else if (!(q > 0 && q < 1)) out.push(`quantile=${q} must be between 0 and 1 (exclusive)`);
    return out;
  },
  create: (o) => percentile(o.quantile, o.buckets ?? DEFAULT_BUCKETS),
};

const fixedQuantile = (q: number, name: string): AlgorithmFactory => ({
  options: ['buckets'],
  validate: validateBuckets,
  create: (o) => percentile(q, o.buckets ?? DEFAULT_BUCKETS, name),
});

/** Every algorithm a profile may name (`algorithm=`), by lower-case name. */
export const ALGORITHMS: ReadonlyMap<string, AlgorithmFactory> = new Map<string, AlgorithmFactory>([
  ['accumulate', plain(accumulate)],
  ['average', plain(average)],
  ['percentage', plain(percentage)],
  ['min', plain(min)],
  ['max', plain(max)],
  ['sum', plain(sum)],
  ['count', plain(count)],
  ['rate', plain(rate)],
  ['timeavg', plain(timeavg)],
  ['stddev', plain(stddev)],
  ['percentile', percentileFactory],
  ['p50', fixedQuantile(0.5, 'p50')],
  ['p90', fixedQuantile(0.9, 'p90')],
  ['p95', fixedQuantile(0.95, 'p95')],
  ['p99', fixedQuantile(0.99, 'p99')],
]);

/** Every option key some algorithm takes. */
export const ALGORITHM_OPTION_KEYS: ReadonlySet<string> = new Set([...ALGORITHMS.values()].flatMap((f) => f.options));

export function algorithmFor(def: Pick<ProfileDef, 'algorithm' | 'options'>): SeriesAlgorithm | undefined {
  return ALGORITHMS.get(def.algorithm.toLowerCase())?.create(def.options);
}
