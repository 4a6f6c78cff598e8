import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import type { Stats } from '../../src/index.ts';
import type { Series } from '../../src/core/stat.ts';

/**
 * Sparse series (a new series keeps only the parts its live slots use, until a budget) against the
 * same engine with rows from the start: every read, every exported slot and every merge of foreign
 * slots (restore, cluster) gives the same numbers, whatever the algorithm, the budget, the clock
 * (gaps, jumps back) and the moment a series turns dense.
 */
const ALGORITHMS = ['accumulate', 'average', 'percentage', 'max', 'min', 'stddev', 'p95', 'p50 buckets=8'];

type Op =
  | { kind: 'update'; gap: number; series: number; v: number }
  | { kind: 'read'; gap: number; series: number }
  | { kind: 'back'; ms: number }
  | { kind: 'merge'; series: number }
  | { kind: 'remove'; series: number }
  | { kind: 'sweep' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('update' as const), gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 40_000 })), series: fc.nat(3), v: fc.integer({ min: -20, max: 5000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), gap: fc.integer({ min: 0, max: 5000 }), series: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('back' as const), ms: fc.integer({ min: 1, max: 15_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('merge' as const), series: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), series: fc.nat(3) }) },
  // the periodic sweep: gives slot memory back, and packs the sparse pool when its free blocks outweigh the live ones
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const) }) },
);

function slots(stats: Stats, name: string): [number, number[]][] {
  const s = stats.engine.lookup(name) as Series | undefined;
  if (s === undefined) return [];
  const out: [number, number[]][] = [];
  s.profile.expireAt(s, stats.engine.clock());
  s.profile.exportSlots(s, (slot, f, o) => out.push([slot, Array.from(f.subarray(o, o + s.profile.w))]));
  return out;
}

/** The parts that mean something: a sketch's buckets in use (what lies past them is free room). */
function meaningful(stats: Stats, name: string): [number, number[]][] {
  const s = stats.engine.lookup(name) as Series | undefined;
  return slots(stats, name).map(([k, parts]) => {
    const used = s?.profile.alg.used?.(parts, 0);
    return [k, used === undefined ? parts : [...parts.slice(0, used), ...parts.slice(s!.profile.aw)]];
  });
}

test('sparse series read, export and merge exactly like series with rows, through every move to rows', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ALGORITHMS),
      fc.constantFrom(60, 600, 5),
      fc.constantFrom(6, 10, 1, 60),
      fc.constantFrom(0, 3),
      fc.constantFrom(8, 16, 32, 64),
      fc.array(opArb, { minLength: 1, maxLength: 150 }),
      (alg, window, slotsN, minSamples, budget, ops) => {
        let now = 1_795_508_400_000;
        const line = `modparam("statistics", "stat_series_profile", "p: algorithm=${alg} window=${window} slots=${slotsN}${minSamples ? ` min_samples=${minSamples}` : ''}")`;
        const sparse = createStats({ config: line, clock: () => now, sparseDoubles: budget });
        const dense = createStats({ config: line, clock: () => now, sparseDoubles: 0 });
        // a source of foreign slots (another node, a snapshot): always dense
        const other = createStats({ config: line, clock: () => now, sparseDoubles: 0 });
        for (const op of ops) {
          const name = `s${'series' in op ? op.series : 0}`;
          if (op.kind === 'update') {
            now += op.gap;
            sparse.updateStatSeries('p', name, op.v);
            dense.updateStatSeries('p', name, op.v);
            other.updateStatSeries('p', name, op.v * 3 + 1);
          } else if (op.kind === 'read') now += op.gap;
          else if (op.kind === 'sweep') for (const st of [sparse, dense]) st.engine.sweep();
          else if (op.kind === 'back') now -= op.ms;
          else if (op.kind === 'remove') {
            for (const st of [sparse, dense]) {
              const s = st.engine.lookup(name) as Series | undefined;
              if (s !== undefined) st.engine.removeSeries(s);
            }
          } else {
            for (const [slot, parts] of slots(other, name))
              for (const st of [sparse, dense]) {
                const s = (st.engine.lookup(name) as Series | undefined) ?? st.engine.createSeriesFor(st.engine.profile('p')!, name);
                s.profile.importSlots(s, [{ slot, parts, offset: 0 }], now);
              }
          }
          for (let i = 0; i < 4; i++) {
            const n = `s${i}`;
            assert.equal(sparse.getStat(n), dense.getStat(n), `${alg}: ${n} after ${JSON.stringify(op)}`);
            assert.deepEqual(meaningful(sparse, n), meaningful(dense, n), `${alg}: slots of ${n}`);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('the sparse pool gives back what series that turned dense held (no sweep needed)', () => {
  let now = 1_795_508_400_000;
  const line = 'modparam("statistics", "stat_series_profile", "p: algorithm=average window=60 slots=6")';
  const sparse = createStats({ config: line, clock: () => now });
  const dense = createStats({ config: line, clock: () => now, sparseDoubles: 0 });
  const N = 5000;
  // every series is sparse for its first 7 updates, in a new slot each time (its block grows), then dense
  for (let u = 0; u < 8; u++) {
    now += 10_000;
    for (let i = 0; i < N; i++) for (const st of [sparse, dense]) st.updateStatSeries('p', `s${i}`, i + u);
  }
  const ps = sparse.engine.profile('p')!;
  const pd = dense.engine.profile('p')!;
  assert.equal(ps.sparseSize, 0);
  for (let i = 0; i < N; i += 97) assert.equal(sparse.getStat(`s${i}`), dense.getStat(`s${i}`));
  // what is left beyond the dense engine's rows: the per-series bookkeeping (5 numbers), not the entries it once had
  const extra = ps.allocatedBytes() - pd.allocatedBytes();
  assert.ok(extra <= N * 5 * 8 * 1.5 + 64 * 1024, `sparse profile holds ${extra} B more than the dense one`);
});
