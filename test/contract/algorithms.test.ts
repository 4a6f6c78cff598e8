import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats, exportState, restoreState } from '../../src/index.ts';
import { slotOf } from '../support/oracle.ts';
import type { Sample } from '../support/oracle.ts';

/**
 * The shared algorithm contract: every algorithm, on random profiles and random updates/reads,
 * equals a brute-force recomputation from the raw samples (percentiles within their 1 % relative
 * error), and stays so when its slots are merged across snapshots and cluster nodes.
 */
interface Case {
  algorithm: string;
  extra: string;
  values: fc.Arbitrary<number>;
  oracle(live: number[], coveredMs: number): number | null;
  close(got: number | null, want: number | null): boolean;
}

const exact = (got: number | null, want: number | null) => got === want;
const near = (tol: number) => (got: number | null, want: number | null) =>
  got === want || (got !== null && want !== null && Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)));
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const rankValue = (q: number) => (live: number[]) => {
  if (live.length === 0) return null;
  const s = [...live].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))];
};
const withinSketch = (got: number | null, want: number | null) =>
  got === want || (got !== null && want !== null && (want <= 0 ? got === 0 : Math.abs(got - want) <= 0.01 * want + 0.0005));

const ints = fc.integer({ min: -50, max: 50 });
const positive = fc.oneof(fc.integer({ min: 1, max: 20000 }), fc.double({ min: 0.5, max: 5000, noNaN: true }), fc.constant(0));

const CASES: Case[] = [
  { algorithm: 'min', extra: '', values: ints, oracle: (l) => (l.length ? Math.min(...l) : null), close: exact },
  { algorithm: 'max', extra: '', values: ints, oracle: (l) => (l.length ? Math.max(...l) : null), close: exact },
  { algorithm: 'sum', extra: '', values: ints, oracle: (l) => l.reduce((a, b) => a + b, 0), close: exact },
  { algorithm: 'count', extra: '', values: ints, oracle: (l) => l.length, close: exact },
  { algorithm: 'rate', extra: '', values: ints, oracle: (l, c) => (c <= 0 ? 0 : round3((l.reduce((a, b) => a + b, 0) * 1000) / c)), close: near(0.0011) },
  { algorithm: 'timeavg', extra: '', values: ints, oracle: (l, c) => (c <= 0 ? 0 : Math.trunc((l.reduce((a, b) => a + b, 0) * 1000) / c) || 0), close: exact },
  {
    algorithm: 'stddev', extra: '', values: ints,
    oracle: (l) => {
      if (l.length === 0) return null;
      const m = l.reduce((a, b) => a + b, 0) / l.length;
      return round3(Math.sqrt(l.reduce((a, b) => a + (b - m) ** 2, 0) / l.length));
    },
    close: near(0.0011),
  },
  { algorithm: 'percentile', extra: ' quantile=0.95 buckets=1024', values: positive, oracle: rankValue(0.95), close: withinSketch },
  { algorithm: 'p50', extra: ' buckets=1024', values: positive, oracle: rankValue(0.5), close: withinSketch },
  { algorithm: 'p99', extra: ' buckets=1024', values: positive, oracle: rankValue(0.99), close: withinSketch },
  { algorithm: 'accumulate', extra: '', values: ints, oracle: (l) => l.reduce((a, b) => a + b, 0), close: exact },
  { algorithm: 'average', extra: '', values: ints, oracle: (l) => (l.length ? Math.trunc(l.reduce((a, b) => a + b, 0) / l.length) || 0 : 0), close: exact },
];

const shape = fc.record({
  window: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 3600 })),
  slots: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 30 }), fc.constantFrom(7, 60)),
});

function live(samples: Sample[], now: number, window: number, slots: number): number[] {
  const k = slotOf(now, window, slots);
  return samples.filter((s) => {
    const sk = slotOf(s.t, window, slots);
    return sk <= k && sk > k - BigInt(slots);
  }).map((s) => s.v);
}

function covered(now: number, window: number, slots: number): number {
  const W = window * 1000;
  const first = Number(slotOf(now, window, slots)) - slots + 1;
  const q = Math.floor(first / slots);
  return now - (q * W + ((first - q * slots) * W) / slots);
}

for (const c of CASES) {
  test(`contract: ${c.algorithm} equals brute force over random profiles, updates and reads`, () => {
    fc.assert(
      fc.property(
        shape,
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 4000 }), read: fc.boolean(), v: c.values }), { minLength: 1, maxLength: 80 }),
        (sh, ops) => {
          const slots = Math.min(sh.slots, sh.window * 1000);
          let now = 1_795_508_514_186;
          const stats = createStats({ config: `modparam("statistics", "stat_series_profile", "x: algorithm=${c.algorithm} window=${sh.window} slots=${slots}${c.extra}")`, clock: () => now });
          const samples: Sample[] = [];
          for (const op of ops) {
            now += op.gap;
            if (!op.read) {
              stats.updateStatSeries('x', 's', op.v);
              samples.push({ t: now, v: op.v });
            } else if (samples.length > 0) {
              const got = stats.getStat('s');
              const want = c.oracle(live(samples, now, sh.window, slots), covered(now, sh.window, slots));
              assert.ok(c.close(got, want), `${c.algorithm} w=${sh.window} s=${slots}: got ${got}, want ${want}`);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test(`contract: ${c.algorithm} merges across snapshots and nodes`, () => {
    fc.assert(
      fc.property(
        shape,
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3000 }), node: fc.integer({ min: 0, max: 2 }), v: c.values }), { minLength: 1, maxLength: 60 }),
        (sh, ops) => {
          const slots = Math.min(sh.slots, sh.window * 1000);
          let now = 1_795_508_514_186;
          const cfg = `modparam("statistics", "stat_series_profile", "x: algorithm=${c.algorithm} window=${sh.window} slots=${slots}${c.extra}")`;
          const nodes = [0, 1, 2].map(() => createStats({ config: cfg, clock: () => now }));
          const one = createStats({ config: cfg, clock: () => now });
          for (const op of ops) {
            now += op.gap;
            nodes[op.node].updateStatSeries('x', 's', op.v);
            one.updateStatSeries('x', 's', op.v);
          }
          // merge every node's snapshot into a fresh engine: equals the engine that saw everything
          const merged = createStats({ config: cfg, clock: () => now });
          for (const n of nodes) restoreState(merged.engine, JSON.parse(JSON.stringify(exportState(n.engine))));
          assert.ok(c.close(merged.getStat('s'), one.getStat('s')), `merged ${merged.getStat('s')} vs one ${one.getStat('s')}`);
          // and keeps agreeing as the window moves on
          now += Math.ceil((sh.window * 1000) / slots);
          assert.ok(c.close(merged.getStat('s'), one.getStat('s')), `later: merged ${merged.getStat('s')} vs one ${one.getStat('s')}`);
        },
      ),
      { numRuns: 100 },
    );
  });
}

test('percentile with few buckets collapses the lowest values but keeps high quantiles within 1 %', () => {
  const stats = createStats({ config: 'modparam("statistics", "stat_series_profile", "p: algorithm=p95 window=60 slots=6 buckets=16")', clock: () => 0 });
  const values: number[] = [];
  for (let i = 1; i <= 1000; i++) {
    const v = i * 10; // 10 .. 10000: ~360 distinct 2 % buckets, far more than 16
    values.push(v);
    stats.updateStatSeries('p', 'pdd', v);
  }
  const want = values[Math.floor(0.95 * 999)];
  const got = stats.getStat('pdd')!;
  assert.ok(Math.abs(got - want) <= 0.01 * want, `${got} vs ${want}`);
});

test('algorithm options are validated: percentile needs a quantile in (0,1), buckets 8..1024, options only where they apply', () => {
  for (const [line, re] of [
    ['p: algorithm=percentile', /needs quantile/],
    ['p: algorithm=percentile quantile=1.5', /between 0 and 1/],
    ['p: algorithm=p95 buckets=4', /buckets=4/],
    ['p: algorithm=average quantile=0.5', /does not apply/],
    ['p: algorithm=median', /unknown algorithm/],
  ] as const) {
    assert.throws(() => createStats({ config: `modparam("statistics", "stat_series_profile", "${line}")` }), (e: any) => e.code === 'E_CONFIG' && re.test(e.message), line);
  }
});
