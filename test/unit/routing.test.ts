/**
 * The order rules of the routing answers (src/kpi/routing.ts): states by thresholds for higher- and
 * lower-is-better KPIs and weighted scores, unknown carriers kept in the order asked, ties, the
 * whole-traffic figure reported but never used for the state, the text forms, the section's checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { kpiByName, windowByName } from '../../src/kpi/catalogue.ts';
import { parseRouting, rankCarriers, routeText, STATE_ORDER, stateOf } from '../../src/kpi/routing.ts';
import type { FigureSource, RoutingConfig } from '../../src/kpi/routing.ts';

const K = (n: string) => kpiByName(n)!;
const cfg = (over: Partial<RoutingConfig> = {}): RoutingConfig => ({ terms: [{ kpi: K('ASR'), weight: 1 }], window: windowByName('1m')!, minSamples: 3, warn: 50, crit: 20, better: 'higher', ...over });

/** A reader over a table: carrier → destination ('' = whole traffic) → KPI → [value, samples]. */
function reader(t: Record<string, Record<string, Record<string, [number, number]>>>): FigureSource<Record<string, [number, number]>> {
  return {
    scope: (carrier, destination) => t[carrier]?.[destination ?? ''] ?? null,
    read: (scope, kpi, out) => {
      const f = scope[kpi.name];
      if (f === undefined) return false;
      out.v = f[0];
      out.n = f[1];
      return true;
    },
  };
}

test('states and order: ok by score, unknown as asked, then warn, then crit (ASR: higher is better)', () => {
  const read = reader({
    a: { '44': { ASR: [10, 30] }, '': { ASR: [90, 500] } }, // crit here, whatever its whole traffic
    b: { '44': { ASR: [80, 30] } },
    c: { '44': { ASR: [40, 30] } }, // warn
    d: { '44': { ASR: [95, 2] }, '': { ASR: [95, 900] } }, // too few samples here: unknown
    e: {}, // never seen: unknown
    f: { '44': { ASR: [90, 10] } },
  });
  const r = rankCarriers(cfg(), '44', ['a', 'b', 'c', 'd', 'e', 'f'], read);
  assert.deepEqual(
    r.map((x) => [x.carrier, x.state, x.score]),
    [
      ['f', 'ok', 90],
      ['b', 'ok', 80],
      ['d', 'unknown', null],
      ['e', 'unknown', null],
      ['c', 'warn', 40],
      ['a', 'crit', 10],
    ],
  );
  // an unknown carrier's whole-traffic figure is reported beside, not used; a known one's figures are this destination's
  assert.equal(r.find((x) => x.carrier === 'd')!.overall!.ASR, 95);
  assert.equal(r.find((x) => x.carrier === 'a')!.kpis.ASR, 10);
  assert.equal(r.find((x) => x.carrier === 'a')!.overall, undefined);
});

test('a lower-is-better KPI (PDD): thresholds above, lowest first; ties keep the order asked', () => {
  const c = cfg({ terms: [{ kpi: K('PDD'), weight: 1 }], better: 'lower', warn: 3000, crit: 6000, minSamples: 1 });
  const read = reader({ x: { '49': { PDD: [2000, 5] } }, y: { '49': { PDD: [7000, 5] } }, z: { '49': { PDD: [2000, 5] } }, w: { '49': { PDD: [4000, 5] } }, v: { '49': { PDD: [1500, 5] } } });
  assert.deepEqual(
    rankCarriers(c, '49', ['x', 'y', 'z', 'w', 'v'], read).map((r) => [r.carrier, r.state]),
    [
      ['v', 'ok'],
      ['x', 'ok'],
      ['z', 'ok'],
      ['w', 'warn'],
      ['y', 'crit'],
    ],
  );
  assert.equal(stateOf(3000, c), 'ok', 'at the threshold: not past it');
  assert.equal(stateOf(3000.5, c), 'warn');
});

test('a weighted score: Σ weight × value, higher is better; a KPI missing for the destination makes it unknown', () => {
  const c = cfg({ terms: [{ kpi: K('ASR'), weight: 0.6 }, { kpi: K('PDD'), weight: -0.01 }], better: 'higher', warn: 30, crit: 10, minSamples: 1 });
  const read = reader({ a: { '33': { ASR: [80, 10], PDD: [2000, 10] } }, b: { '33': { ASR: [60, 10], PDD: [500, 10] } }, c: { '33': { ASR: [90, 10] } } });
  const r = rankCarriers(c, '33', ['a', 'b', 'c'], read);
  assert.deepEqual(
    r.map((x) => [x.carrier, x.state, x.score === null ? null : Number(x.score.toFixed(6))]),
    [
      ['b', 'ok', 31],
      ['c', 'unknown', null],
      ['a', 'warn', 28],
    ],
  );
});

test('property: the answer is a permutation of the carriers asked; states come in order; unknown ones keep the order asked; scores sorted within a state', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), { minLength: 0, maxLength: 8 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 20 }))),
      fc.boolean(),
      (asked, figures, higher) => {
        const c = cfg({ terms: [{ kpi: K(higher ? 'ASR' : 'PDD'), weight: 1 }], better: higher ? 'higher' : 'lower', warn: higher ? 50 : 50, crit: higher ? 20 : 80, minSamples: 5 });
        // (every KPI of a carrier reads its one figure for the destination; none for its whole traffic)
        const read: FigureSource<[number, number]> = {
          scope: (carrier, dest) => (dest === null || figures[carrier] === undefined ? null : figures[carrier]),
          read: (f, _kpi, out) => {
            out.v = f[0];
            out.n = f[1];
            return true;
          },
        };
        const r = rankCarriers(c, '44', asked, read);
        assert.deepEqual([...r.map((x) => x.carrier)].sort(), [...asked].sort());
        const states = r.map((x) => STATE_ORDER.indexOf(x.state));
        assert.deepEqual(states, [...states].sort((p, q) => p - q));
        const unknown = r.filter((x) => x.state === 'unknown').map((x) => x.carrier);
        assert.deepEqual(unknown, asked.filter((a) => unknown.includes(a)));
        for (const st of ['ok', 'warn', 'crit'] as const) {
          const sc = r.filter((x) => x.state === st).map((x) => x.score!);
          assert.deepEqual(sc, [...sc].sort((p, q) => (higher ? q - p : p - q)));
        }
        for (const x of r) if (x.state !== 'unknown') assert.ok(x.samples >= 5);
      },
    ),
    { numRuns: 500 },
  );
});

test('text forms for scripts: one a line, or comma-separated', () => {
  const r = rankCarriers(cfg({ minSamples: 1 }), '44', ['b', 'a'], reader({ a: { '44': { ASR: [90, 5] } }, b: { '44': { ASR: [10, 5] } } }));
  assert.equal(routeText(r, 'text'), 'a\nb\n');
  assert.equal(routeText(r, 'csv'), 'a,b\n');
  assert.equal(routeText([], 'text'), '');
});

test('the routing section: kpi or score, window, thresholds checked with their paths', () => {
  assert.deepEqual(parseRouting(undefined).problems, []);
  const ok = parseRouting({ kpi: 'PDD', window: '10m', min_samples: 5, warn: 3000, crit: 6000 });
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.value.better, 'lower');
  assert.equal(ok.value.window.name, '10m');
  const weighted = parseRouting({ score: { ASR: 0.6, PDD: -0.002, MOS: 10 } });
  assert.deepEqual(weighted.problems, []);
  assert.deepEqual(weighted.value.terms.map((t) => [t.kpi.name, t.weight]), [['ASR', 0.6], ['PDD', -0.002], ['MOS', 10]]);
  const paths = (raw: unknown) => parseRouting(raw).problems.map(([p, , code]) => `${p} ${code}`);
  assert.deepEqual(paths({ kpi: 'XYZ' }), ['routing.kpi E_CFG_SYNTAX']);
  assert.deepEqual(paths({ kpi: 'CC' }), ['routing.kpi E_CFG_SYNTAX'], 'a level ranks nothing');
  assert.deepEqual(paths({ kpi: 'ASR', score: { ASR: 1 } }), ['routing E_CFG_SYNTAX']);
  assert.deepEqual(paths({ window: '5m' }), ['routing.window E_CFG_SYNTAX']);
  assert.deepEqual(paths({ kpi: 'ASR', warn: 20, crit: 50 }), ['routing.crit E_CFG_SYNTAX'], 'crit above warn for a higher-is-better KPI');
  assert.deepEqual(paths({ score: { ASR: 0 } }), ['routing.score.ASR E_CFG_SYNTAX']);
  assert.deepEqual(paths({ min_samples: -1, colour: 'red' }), ['routing.colour E_CFG_UNKNOWN_PARAM', 'routing.min_samples E_CFG_SYNTAX']);
});
