import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stepInstance } from '../../src/alerts/evaluator.ts';
import type { AlertInstance, AlertState } from '../../src/alerts/evaluator.ts';
import type { AlertRule } from '../../src/alerts/rules.ts';

/** Hysteresis, `for` and min_samples of the alert state machine, on generated value sequences. */

function rule(o: Partial<AlertRule>): AlertRule {
  return { name: 'r', target: { type: 'kpi', kpi: 'ASR', window: '1m' }, by: [], match: {}, op: 'below', threshold: 40, clear: 45, minSamples: 0, forMs: 0, severity: 'warning', labels: {}, annotations: {}, ...o };
}

function instance(r: AlertRule, state: AlertState = 'inactive'): AlertInstance {
  return { key: 'k', rule: r, dims: {}, state, activeAt: 0, firedAt: 0, value: null, samples: null, seen: 0 };
}

const ruleArb = fc
  .record({
    op: fc.constantFrom('below' as const, 'above' as const),
    threshold: fc.integer({ min: 1, max: 90 }),
    gap: fc.integer({ min: 1, max: 10 }),
    forS: fc.integer({ min: 0, max: 10 }),
    minSamples: fc.integer({ min: 0, max: 20 }),
  })
  .map(({ op, threshold, gap, forS, minSamples }) => rule({ op, threshold, clear: op === 'below' ? threshold + gap : threshold - gap, forMs: forS * 1000, minSamples }));

test('a value oscillating between the threshold and `clear` never changes the state (no flapping), whatever the start state', () => {
  fc.assert(
    fc.property(ruleArb, fc.constantFrom<AlertState>('inactive', 'firing'), fc.array(fc.double({ min: 0.001, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 200 }), (r, start, fractions) => {
      const inst = instance(r, start);
      let t = 0;
      for (const f of fractions) {
        // strictly between the two: not past the threshold, not back past clear
        const lo = Math.min(r.threshold, r.clear);
        const v = lo + f * Math.abs(r.clear - r.threshold);
        const what = stepInstance(inst, v, r.minSamples + 5, (t += 1000));
        assert.equal(what, null);
        assert.equal(inst.state, start);
      }
    }),
    { numRuns: 300 },
  );
});

test('notifications alternate firing/resolved; a fire needs the breach held for `for`; a resolve needs a value past `clear`; min_samples holds', () => {
  const step = fc.record({ v: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(null)), n: fc.integer({ min: 0, max: 40 }) });
  fc.assert(
    fc.property(ruleArb, fc.array(step, { minLength: 1, maxLength: 300 }), (r, steps) => {
      const inst = instance(r);
      const breach = (v: number | null, n: number) => v !== null && n >= r.minSamples && (r.op === 'below' ? v < r.threshold : v > r.threshold);
      let firing = false;
      let runStart: number | null = null;
      let t = 0;
      for (const s of steps) {
        t += 1000;
        const b = breach(s.v, s.n);
        if (b) runStart ??= t;
        else runStart = null;
        const what = stepInstance(inst, s.v, s.n, t);
        if (what === 'fire') {
          assert.equal(firing, false, 'two fires without a resolve');
          assert.ok(b, 'fired on a value that is not past the threshold (or under min_samples)');
          assert.ok(s.n >= r.minSamples, 'fired under min_samples');
          assert.ok(runStart !== null && t - runStart >= r.forMs, 'fired before the breach held for `for`');
          firing = true;
        } else if (what === 'resolve') {
          assert.equal(firing, true, 'resolved an alert that was not firing');
          assert.ok(s.v !== null && s.n >= r.minSamples, 'resolved without a value or under min_samples');
          assert.ok(r.op === 'below' ? s.v >= r.clear : s.v <= r.clear, 'resolved before the value got past clear');
          firing = false;
        }
        assert.equal(inst.state === 'firing', firing);
        // a breach held for `for` with enough samples is firing by now
        if (b && runStart !== null && t - runStart >= r.forMs) assert.equal(inst.state, 'firing');
      }
    }),
    { numRuns: 500 },
  );
});

test('a breach that is interrupted before `for` never fires, however often it comes back', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 20 }), fc.array(fc.integer({ min: 1, max: 19 }), { minLength: 1, maxLength: 30 }), (forS, runs) => {
      const r = rule({ forMs: forS * 1000 });
      const inst = instance(r);
      let t = 0;
      for (const len of runs) {
        for (let i = 0; i < Math.min(len, forS); i++) assert.equal(stepInstance(inst, 10, 100, (t += 1000)), null); // held for < for (runs of at most forS steps: forS-1 s)
        assert.equal(stepInstance(inst, 42, 100, (t += 1000)), null); // between threshold and clear: breach over
        assert.notEqual(inst.state, 'firing');
      }
    }),
    { numRuns: 300 },
  );
});
