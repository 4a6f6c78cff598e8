import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';

const T0 = 1_795_508_400_000; // a multiple of every window below

function setup(profile: string, sparseDoubles = 0) {
  let now = T0;
  // rows from the first update unless asked (sparse series: the last tests here and test/property/sparse-series)
  const stats = createStats({ config: `modparam("statistics", "stat_series_profile", "${profile}")`, clock: () => now, sparseDoubles });
  const p = stats.engine.profile(profile.slice(0, profile.indexOf(':')))!;
  return { stats, p, advance: (ms: number) => (now += ms), now: () => now };
}

test('a series gets slot memory as it uses slots, not for its whole window at creation', () => {
  const { stats, p, advance } = setup('h: algorithm=accumulate window=3600 slots=3600');
  const empty = p.allocatedBytes();
  for (let i = 0; i < 1000; i++) stats.updateStatSeries('h', `s${i}`, 1);
  // rows only: far less than 1 000 x 3 599 slots x 8 bytes (28.8 MB)
  const rows = p.allocatedBytes();
  assert.ok(rows - empty < 200_000, `1 000 fresh 1-hour series hold ${rows - empty} bytes`);
  // one slot change each: room for a few completed slots, not 3 599
  advance(1000);
  for (let i = 0; i < 1000; i++) stats.updateStatSeries('h', `s${i}`, 1);
  const few = p.allocatedBytes();
  assert.ok(few - rows < 200_000, `after one slot change: ${few - rows} more bytes`);
  for (let i = 0; i < 1000; i++) assert.equal(stats.getStat(`s${i}`), 2);
});

test('queues grow through every capacity to S-1 slots with exact values, and give memory back when they expire', () => {
  const S = 100;
  const { stats, p, advance } = setup(`g: algorithm=accumulate window=${S} slots=${S}`);
  const samples: { at: number; v: number }[] = [];
  let t = T0;
  // 250 slots, one update per slot for 20 series: each queue passes capacities 4, 8, 16, 32, 64, 99
  let rows = 0;
  for (let k = 0; k < 250; k++) {
    for (let i = 0; i < 20; i++) stats.updateStatSeries('g', `q${i}`, k + i);
    if (k === 0) rows = p.allocatedBytes(); // the series' rows, before any slot change
    samples.push({ at: t, v: k });
    // every read equals the sum of the samples of the last S slots (exact: integers)
    const want = samples.filter((x) => x.at > t - S * 1000).reduce((a, x) => a + x.v, 0);
    assert.equal(stats.getStat('q0'), want, `slot ${k}`);
    assert.equal(stats.getStat('q19'), want + 19 * Math.min(k + 1, S), `slot ${k}`);
    t = advance(1000);
  }
  const full = p.allocatedBytes();
  // all slots expire: queue memory is released (rows stay)
  advance(S * 1000);
  for (let i = 0; i < 20; i++) assert.equal(stats.getStat(`q${i}`), 0);
  assert.ok(full > rows + 20 * 99 * 8, `full queues: ${full} bytes, rows alone ${rows}`);
  stats.engine.sweep(); // gives back the empty chunk each pool keeps for reuse
  assert.equal(p.allocatedBytes(), rows, 'after expiry and a sweep only the rows are left');
  // and is allocated again on use
  stats.updateStatSeries('g', 'q0', 5);
  advance(1000);
  stats.updateStatSeries('g', 'q0', 6);
  assert.equal(stats.getStat('q0'), 11);
});

test('min and max recompute across queue growth and expiry (parts that cannot be subtracted)', () => {
  const { stats, advance } = setup('m: algorithm=max window=40 slots=40');
  const vals: number[] = [];
  for (let k = 0; k < 120; k++) {
    const v = (k * 37) % 101;
    stats.updateStatSeries('m', 'x', v);
    vals.push(v);
    assert.equal(stats.getStat('x'), Math.max(...vals.slice(-40)), `slot ${k}`);
    advance(1000);
  }
});

type Sample = { t: number; v: number };

/**
 * Random creates (first update), updates, removals and clock jumps over N series of one profile
 * with window=20 slots=20: after every step each series reads what `expect` computes from the
 * samples still in its window; at the end, once every slot has expired and the sweep has run, the
 * profile holds its rows and nothing else.
 */
async function churn(o: { profile: string; N: number; values: number[]; minLength: number; maxLength: number; numRuns: number; sparseDoubles?: number; expect: (name: string, got: number | null, live: number[] | undefined) => void }) {
  const fc = (await import('fast-check')).default;
  const { N } = o;
  const name = o.profile.slice(0, o.profile.indexOf(':'));
  const op = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), i: fc.nat(N - 1), v: fc.constantFrom(...o.values) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), i: fc.nat(N - 1) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 25_000 })) }) },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: o.minLength, maxLength: o.maxLength }), async (ops) => {
      const { stats, p, advance, now } = setup(o.profile, o.sparseDoubles);
      const slot = (t: number) => Math.floor(t / 1000);
      const model: (Sample[] | undefined)[] = [];
      for (let i = 0; i < N; i++) {
        stats.updateStatSeries(name, `${name}${i}`, o.values[0]);
        model[i] = [{ t: now(), v: o.values[0] }];
      }
      const rows = p.allocatedBytes();
      const checkAll = () => {
        for (let i = 0; i < N; i++) o.expect(`${name}${i}`, stats.getStat(`${name}${i}`), model[i]?.filter((x) => slot(x.t) > slot(now()) - 20).map((x) => x.v));
      };
      for (const x of ops) {
        if (x.kind === 'add') {
          stats.updateStatSeries(name, `${name}${x.i}`, x.v);
          (model[x.i] ??= []).push({ t: now(), v: x.v });
        } else if (x.kind === 'remove') {
          const r = await stats.mi('remove_series', { name: `${name}${x.i}` });
          assert.equal('result' in r, model[x.i] !== undefined);
          model[x.i] = undefined;
        } else advance(x.ms);
        checkAll();
      }
      advance(21_000);
      checkAll();
      stats.engine.sweep();
      // every queue region comes back (with sparse series, those that turned dense keep their rows:
      // the values are what the sparse runs check)
      if (!o.sparseDoubles) assert.equal(p.allocatedBytes(), rows);
    }),
    { numRuns: o.numRuns },
  );
}

/** An accumulate series reads the sum of its live values (null once removed). */
function exactSum(name: string, got: number | null, live: number[] | undefined): void {
  assert.equal(got, live === undefined ? null : live.reduce((a, v) => a + v, 0), name);
}

/** A p50 series reads the median of its live values within the sketch's 1 % (null once removed). */
function nearP50(name: string, got: number | null, live: number[] | undefined): void {
  if (live === undefined) return assert.equal(got, null, name);
  if (live.length === 0) return assert.ok(got === null || got === 0, `${name}: empty window read ${got}`);
  const want = [...live].sort((a, b) => a - b)[Math.floor(0.5 * (live.length - 1))];
  assert.ok(got !== null && Math.abs(got - want) <= want * 0.01 + 1, `${name}: ${got} for ${want}`);
}

test('churn of creates, removals and clock jumps: values stay exact and all queue memory comes back', async () => {
  await churn({
    profile: 'c: algorithm=accumulate window=20 slots=20',
    N: 12,
    values: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    minLength: 100,
    maxLength: 300,
    numRuns: 150,
    expect: exactSum,
  });
});

test('churn with wide slots (several regions per chunk, chunks dropped and reused): p50 stays right, memory comes back', async () => {
  // p50 with 256 buckets: 514 parts per slot, so pools hold 7, 3, then 1 region per chunk
  await churn({
    profile: 'w: algorithm=p50 buckets=256 window=20 slots=20',
    N: 24,
    values: [100, 200, 400, 800],
    minLength: 150,
    maxLength: 400,
    numRuns: 60,
    expect: nearP50,
  });
});

test('churn of sparse series (default budget): values stay exact while they are sparse and after they turn dense', async () => {
  await churn({
    profile: 's: algorithm=accumulate window=20 slots=20',
    N: 12,
    values: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    minLength: 100,
    maxLength: 300,
    numRuns: 100,
    sparseDoubles: 32,
    expect: exactSum,
  });
});

test('churn of sparse p50 series: a sketch keeps only the buckets it uses, and reads the same', async () => {
  await churn({
    profile: 'u: algorithm=p50 window=20 slots=20',
    N: 12,
    values: [100, 200, 400, 800],
    minLength: 100,
    maxLength: 300,
    numRuns: 60,
    sparseDoubles: 32,
    expect: nearP50,
  });
});

test('a series seen once is sparse: a few numbers instead of rows; past its budget it gets rows and reads the same', () => {
  const profile = 'q: algorithm=p95 window=60 slots=6';
  const sparse = setup(profile, 32);
  const dense = setup(profile, 0);
  const before = sparse.p.allocatedBytes();
  for (let i = 0; i < 1000; i++) {
    sparse.stats.updateStatSeries('q', `x${i}`, 100 + i);
    dense.stats.updateStatSeries('q', `x${i}`, 100 + i);
  }
  const perSparse = (sparse.p.allocatedBytes() - before) / 1000;
  const perDense = dense.p.allocatedBytes() / 1000;
  assert.equal(sparse.p.sparseSize, 1000);
  // one value: [slot, 4, n, k, bucket, count] in a 6-number array (V8: 48 B + 8 B a number), against two 258-number rows
  assert.ok(perSparse <= 130, `a sparse p95 series of one value holds ${perSparse} B`); // and 24 B of bookkeeping (newest slot, newest update, updates)
  assert.ok(perDense >= 4000, `a dense p95 series holds ${perDense} B`);
  // many distinct values in several slots: over the budget, the series turns dense; values equal the dense engine's
  for (let k = 0; k < 8; k++) {
    for (let j = 0; j < 3; j++) {
      sparse.stats.updateStatSeries('q', 'x7', 1000 * (k + 1) + j * 37);
      dense.stats.updateStatSeries('q', 'x7', 1000 * (k + 1) + j * 37);
    }
    assert.equal(sparse.stats.getStat('x7'), dense.stats.getStat('x7'), `slot ${k}`);
    sparse.advance(10_000);
    dense.advance(10_000);
  }
  assert.equal(sparse.p.sparseSize, 999, 'x7 has its rows now');
  for (let i = 0; i < 1000; i += 97) assert.equal(sparse.stats.getStat(`x${i}`), dense.stats.getStat(`x${i}`), `x${i}`);
  // updates by name after the move reach the dense rows (the engine's name index followed it)
  sparse.stats.updateStatSeries('q', 'x7', 50_000);
  dense.stats.updateStatSeries('q', 'x7', 50_000);
  assert.equal(sparse.stats.getStat('x7'), dense.stats.getStat('x7'));
});

test('a busy series leaves the sparse form at its 8th update, even when its entries fit the budget', () => {
  const { stats, p } = setup('b: algorithm=average window=60 slots=6', 32);
  for (let i = 1; i <= 7; i++) stats.updateStatSeries('b', 'busy', i);
  assert.equal(p.sparseSize, 1, 'seven updates in one slot: still sparse');
  stats.updateStatSeries('b', 'busy', 8);
  assert.equal(p.sparseSize, 0, 'the eighth update gives it rows (the hot path)');
  assert.equal(stats.getStat('busy'), 4); // (1+...+8)/8 = 4.5, OpenSIPS truncates
});

test('header rows grow with the dense series: a profile with two holds two rows\' worth, not a chunk of 1 024 (2 MB for a percentile profile), and values survive the growth across chunks', () => {
  const { stats, p } = setup('q: algorithm=percentile window=60 slots=6 quantile=0.95');
  const empty = p.allocatedBytes();
  stats.updateStatSeries('q', 'a', 100);
  stats.updateStatSeries('q', 'b', 200);
  const two = p.allocatedBytes() - empty;
  assert.ok(two < 100_000, `two dense percentile series hold ${two} bytes`);
  // 2 100 series: the first chunk doubles to 1 024 rows, a second chunk starts and grows, a third starts
  const { stats: s2 } = setup('c: algorithm=accumulate window=60 slots=6');
  for (let i = 0; i < 2100; i++) {
    s2.updateStatSeries('c', `x${i}`, i);
    if (i % 97 === 0) for (let j = 0; j <= i; j += 13) assert.equal(s2.getStat(`x${j}`), j, `x${j} after ${i + 1} series`);
  }
  for (let i = 0; i < 2100; i++) assert.equal(s2.getStat(`x${i}`), i);
});

test('sparse series stay exact: a profile whose entry heads (slot * EN + count) would pass 2^53 by 2200, or whose 32-bit relative slots would overflow within ten years, keeps none', async () => {
  const { ProfileRuntime } = await import('../../src/core/profile-runtime.ts');
  const { percentile } = await import('../../src/core/algorithms/percentile.ts');
  const { average } = await import('../../src/core/algorithms/average.ts');
  const def = (window: number, slots: number) => ({ name: 'p', algorithm: 'x', window, slots, group: 'g', percentageFactor: 100, precision: null, minSamples: 0, options: {} });
  const group = createStats({ config: '' }).engine.declareGroup('g');
  const sparse = (window: number, slots: number, alg: ReturnType<typeof percentile>) => new ProfileRuntime(def(window, slots), alg, group, { sparseDoubles: 32 }).sparseDoubles;
  // 200 ms slots and a row of 262 146 numbers: 2200's slots times 2^19 pass 2^53 (and the same with 1 024 buckets do not)
  assert.equal(sparse(200, 1000, percentile(0.95, 131_072)), 0);
  assert.equal(sparse(200, 1000, percentile(0.95, 1024)), 32);
  // 1 ms slots: 2^31 of them are 25 days; 83 ms: 5.7 years
  assert.equal(sparse(1, 1000, average), 0);
  assert.equal(sparse(5, 60, average), 0);
  // the catalogue's (a p95 sketch of 128 buckets in 1 s slots, 10 s, 60 s), and 500 ms slots: sparse
  assert.equal(sparse(60, 60, percentile(0.95)), 32);
  assert.equal(sparse(600, 10, average), 32);
  assert.equal(sparse(5, 10, average), 32);
});
