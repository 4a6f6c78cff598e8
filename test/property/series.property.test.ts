import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import { oracleValue } from '../support/oracle.ts';
import type { OracleProfile, Sample } from '../support/oracle.ts';

/** Random profiles: windows 1 s..1 h, slots 1..window*1000 (often not dividing it), the three algorithms. */
const profileArb = fc
  .record({
    algorithm: fc.constantFrom('accumulate', 'average', 'percentage'),
    window: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 3600 })),
    slotsPick: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 64 }), fc.constantFrom(3, 7, 13, 60, 600)),
    factorExp: fc.integer({ min: 0, max: 4 }),
    precision: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
    minSamples: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })),
  })
  .map(
    (r): OracleProfile => ({
      algorithm: r.algorithm,
      window: r.window,
      slots: Math.min(r.slotsPick, r.window * 1000),
      percentageFactor: 10 ** r.factorExp,
      precision: r.precision,
      minSamples: r.minSamples,
    }),
  );

type Op = { kind: 'update'; gap: number; series: number; v: number } | { kind: 'read'; gap: number; series: number };

const opsArb = (p: OracleProfile) => {
  const W = p.window * 1000;
  const gap = fc.oneof(
    { weight: 5, arbitrary: fc.constant(0) },
    { weight: 5, arbitrary: fc.integer({ min: 0, max: Math.max(1, Math.ceil(W / p.slots)) }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: W }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 * W }) },
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('update' as const), gap, series: fc.integer({ min: 0, max: 2 }), v: fc.integer({ min: -50, max: 50 }) }),
    fc.record({ kind: fc.constant('read' as const), gap, series: fc.integer({ min: 0, max: 2 }) }),
  );
  return fc.array(op, { minLength: 1, maxLength: 120 });
};

const cfgLine = (p: OracleProfile) =>
  `modparam("statistics", "stat_series_profile", "prop: algorithm=${p.algorithm} window=${p.window} slots=${p.slots} percentage_factor=${p.percentageFactor}` +
  `${p.precision === null ? '' : ` precision=${p.precision}`}${p.minSamples ? ` min_samples=${p.minSamples}` : ''}")`;

test('every series read equals a brute-force recomputation from the raw samples', () => {
  fc.assert(
    fc.property(
      profileArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }))),
      ([p, ops, start]) => {
        let now = start;
        const stats = createStats({ config: cfgLine(p), clock: () => now });
        const samples: Sample[][] = [[], [], []];
        const created = [false, false, false];
        for (const op of ops) {
          now += op.gap;
          if (op.kind === 'update') {
            stats.updateStatSeries('prop', `s${op.series}`, op.v);
            samples[op.series].push({ t: now, v: op.v });
            created[op.series] = true;
          } else {
            const got = stats.getStat(`s${op.series}`);
            const want = created[op.series] ? oracleValue(p, samples[op.series], now) : null;
            assert.equal(got, want, `profile ${JSON.stringify(p)} series s${op.series} at +${now - start} ms`);
          }
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('reads through MI get_statistics agree with the oracle for every series of a group', async () => {
  await fc.assert(
    fc.asyncProperty(
      profileArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p))),
      async ([p, ops]) => {
        let now = 1_795_508_514_186;
        const stats = createStats({ config: cfgLine(p), clock: () => now });
        const samples: Sample[][] = [[], [], []];
        for (const op of ops) {
          now += op.gap;
          if (op.kind === 'update') {
            await stats.mi('update_stat_series', { profile: 'prop', name: `s${op.series}`, value: op.v });
            samples[op.series].push({ t: now, v: op.v });
          }
        }
        const reply = (await stats.mi('get_statistics', [['prop:']])) as { result: Record<string, number | null> };
        const want: Record<string, number | null> = {};
        for (let i = 0; i < 3; i++) if (samples[i].length > 0) want[`prop:s${i}`] = oracleValue(p, samples[i], now);
        assert.deepEqual(reply.result, want);
      },
    ),
    { numRuns: 150 },
  );
});

test('merging the slots of two engines (snapshots, cluster nodes) equals one engine fed everything', () => {
  fc.assert(
    fc.property(
      profileArb.chain((p) => fc.tuple(fc.constant(p), opsArb(p), fc.array(fc.boolean(), { minLength: 120, maxLength: 120 }))),
      ([p, ops, side]) => {
        let now = 1_795_508_514_186;
        const cfg = cfgLine(p);
        const a = createStats({ config: cfg, clock: () => now });
        const b = createStats({ config: cfg, clock: () => now });
        const all: Sample[] = [];
        ops.forEach((op, i) => {
          now += op.gap;
          if (op.kind !== 'update') return;
          (side[i] ? a : b).updateStatSeries('prop', 'x', op.v);
          all.push({ t: now, v: op.v });
        });
        // merge b's live slots into a
        const pa = a.engine.profile('prop')!;
        const pb = b.engine.profile('prop')!;
        const sb = b.engine.lookup('x');
        if (sb !== undefined && sb.kind === 1) {
          pb.expireAt(sb, now);
          const slots: [number, Float64Array][] = [];
          pb.exportSlots(sb, (slot, f, o) => slots.push([slot, f.slice(o, o + pb.w)]));
          if (a.engine.lookup('x') === undefined) a.updateStatSeries('prop', 'x', 0);
          const sa = a.engine.lookup('x')!;
          if (sa.kind === 1) pa.importSlots(sa, slots.map(([slot, parts]) => ({ slot, parts, offset: 0 })), now);
        }
        if (all.length === 0) return;
        // the value 0 written to create the series is a sample for average and min_samples: account for it
        const extra = a.engine.lookup('x') !== undefined && !side.slice(0, ops.length).some((s, i) => s && ops[i].kind === 'update') && sb !== undefined;
        const samples = extra ? [...all, { t: now, v: 0 }] : all;
        assert.equal(a.getStat('x'), oracleValue(p, samples, now), JSON.stringify(p));
        // and later reads/updates still agree
        now += Math.ceil((p.window * 1000) / p.slots);
        a.updateStatSeries('prop', 'x', 3);
        samples.push({ t: now, v: 3 });
        assert.equal(a.getStat('x'), oracleValue(p, samples, now), JSON.stringify(p));
      },
    ),
    { numRuns: 300 },
  );
});
