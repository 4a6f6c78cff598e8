import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import type { Series } from '../../src/core/stat.ts';

// The series name index is a null-prototype object (for speed), not a Map: names that mean
// something to plain JavaScript objects, or that V8 stores as array indices, must be ordinary names.
const SPECIAL = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', '0', '1', '123', '4294967294', '4294967295', '-1', '1.5', 'NaN', 'undefined', 'length'];
const CONFIG = 'modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate window=60 slots=6")\nmodparam("statistics", "stat_series_profile", "avg: algorithm=average window=60 slots=6")';

test('names special to JavaScript objects are ordinary series names', async () => {
  let now = 1_795_508_514_000;
  const s = createStats({ config: CONFIG, clock: () => now });
  // nothing exists before it is created
  for (const name of SPECIAL) assert.equal(s.getStat(name), null, name);
  SPECIAL.forEach((name, i) => s.updateStatSeries('acc', name, i + 1));
  SPECIAL.forEach((name, i) => s.updateStatSeries('acc', name, i + 1));
  now += 10_000;
  SPECIAL.forEach((name, i) => assert.equal(s.getStat(name), 2 * (i + 1), name));
  // a name of one profile is taken for the other
  assert.throws(() => s.updateStatSeries('avg', '__proto__', 1), { code: 'E_NAME_TAKEN' });
  assert.throws(() => s.updateStatSeries('avg', '123', 1), { code: 'E_NAME_TAKEN' });
  // removing frees exactly that name, and it can be created again empty in another profile
  assert.deepEqual(await s.mi('remove_series', { name: '__proto__' }), { result: { removed: 1 } });
  assert.deepEqual(await s.mi('remove_series', { name: '4294967295' }), { result: { removed: 1 } });
  assert.equal(s.getStat('__proto__'), null);
  assert.equal(s.getStat('4294967295'), null);
  assert.equal(s.getStat('constructor'), 2 * (SPECIAL.indexOf('constructor') + 1));
  s.updateStatSeries('avg', '__proto__', 7);
  s.updateStatSeries('avg', '__proto__', 8);
  assert.equal(s.getStat('__proto__'), 7);
  assert.equal(s.getStat('4294967294'), 2 * (SPECIAL.indexOf('4294967294') + 1));
});

test('the name index agrees with a Map model under random creates, updates and removals', async () => {
  const name = fc.oneof(fc.constantFrom(...SPECIAL), fc.stringMatching(/^[a-z0-9_.]{1,6}$/), fc.nat(2 ** 33).map(String));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), profile: fc.constantFrom('acc', 'avg'), name, v: fc.integer({ min: 1, max: 9 }) }),
    fc.record({ kind: fc.constant('remove' as const), name }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 60 }), async (ops) => {
      const s = createStats({ config: CONFIG, clock: () => 1_795_508_514_000 });
      const model = new Map<string, { profile: string; sum: number; n: number }>();
      for (const o of ops) {
        if (o.kind === 'add') {
          const m = model.get(o.name);
          if (m !== undefined && m.profile !== o.profile) {
            assert.throws(() => s.updateStatSeries(o.profile, o.name, o.v), { code: 'E_NAME_TAKEN' });
            continue;
          }
          s.updateStatSeries(o.profile, o.name, o.v);
          const e = m ?? { profile: o.profile, sum: 0, n: 0 };
          e.sum += o.v;
          e.n += 1;
          model.set(o.name, e);
        } else {
          const r = await s.mi('remove_series', { name: o.name });
          assert.equal('result' in r, model.delete(o.name));
        }
      }
      for (const o of ops) {
        const m = model.get(o.name);
        const want = m === undefined ? null : m.profile === 'acc' ? m.sum : Math.trunc(m.sum / m.n);
        assert.equal(s.getStat(o.name), want, o.name);
      }
    }),
    { numRuns: 200 },
  );
});

/** A feeder's scope in miniature: it keeps series `cust0..2` at slots 0..2 and is their directory. */
function keeper(engine: import('../../src/core/engine.ts').StatsEngine) {
  const held: (Series | undefined)[] = [];
  const locals = [-1, -1, -1];
  const owner = {
    nameAt: (slot: number) => `cust${slot}`,
    labelsAt: (slot: number) => ({ kpi: 'x', customer: `cust${slot}` }),
    layout: {}, // (never exported: its labels differ by slot, which a KPI scope's never do but in kpi and window)
    localAt: (slot: number) => locals[slot],
    keyAt: (slot: number) => slot,
    moved: (slot: number, local: number) => {
      locals[slot] = local < 0 ? -1 : local;
    },
  };
  engine.addDirectory({
    find: (name) => {
      const s = held[Number(name.slice(4))];
      return /^cust[0-2]$/.test(name) && s !== undefined && !s.removed ? s : undefined;
    },
    *stats() {
      for (const s of held) if (s !== undefined && !s.removed && s.kept) yield s;
    },
  });
  return { held, owner };
}

test('property: a series a feeder keeps (updateStatSeriesAt) and the same series updated by name are one series', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ byName: fc.boolean(), series: fc.nat(2), v: fc.integer({ min: 0, max: 1000 }), gap: fc.integer({ min: 0, max: 15_000 }), remove: fc.boolean() }), { minLength: 1, maxLength: 60 }),
      (ops) => {
        let now = 1_795_508_514_000;
        const kept = createStats({ config: CONFIG, clock: () => now });
        const ref = createStats({ config: CONFIG, clock: () => now });
        const { held, owner } = keeper(kept.engine);
        for (const op of ops) {
          now += op.gap;
          const name = `cust${op.series}`;
          ref.updateStatSeries('avg', name, op.v);
          const s = held[op.series];
          if (op.byName) kept.updateStatSeries('avg', name, op.v);
          else if (s !== undefined && !s.removed) kept.engine.updateSeries(s, op.v);
          else held[op.series] = kept.engine.updateStatSeriesAt('avg', owner, op.series, op.v);
          // a series past its 8th update gets rows (a new local index): by name must still find it
          if (op.remove && op.series === 2)
            for (const st of [kept, ref]) {
              const x = st.engine.lookup(name);
              if (x !== undefined && x.kind === 1) st.engine.removeSeries(x);
            }
          for (let i = 0; i < 3; i++) assert.equal(kept.getStat(`cust${i}`), ref.getStat(`cust${i}`), `cust${i} after ${JSON.stringify(op)}`);
          assert.deepEqual([...kept.engine.all()].map((x) => x.name).sort(), [...ref.engine.all()].map((x) => x.name).sort());
          // a kept series holds no name of its own: its owner spells it, and its labels
          for (const x of held) if (x !== undefined && !x.removed && x.kept) assert.deepEqual([x.name, x.labels], [`cust${held.indexOf(x)}`, { kpi: 'x', customer: x.name }]);
        }
      },
    ),
    { numRuns: 300 },
  );
});
