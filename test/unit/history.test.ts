import { HistoryRecorder } from '../../src/core/history.ts';
import { historyCommand } from '../../src/mi/history-command.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { kpiHistory } from '../../src/kpi/kpi-history.ts';

function sampleCount(p: Series['profile'], s: Series, t: number): number | null {
  const o: { v: number | null; n: number | null } = { v: null, n: null };
  p.readWithCount(s, t, o);
  return o.n;
}
import type { Series } from '../../src/core/stat.ts';

const T0 = 1_800_000_000_000; // a whole minute and hour on the Unix clock

function setup(options: Parameters<typeof kpiHistory>[1] = {}, config = KPI_MODPARAMS) {
  const clock = { now: T0 };
  const stats = createStats({ config, clock: () => clock.now });
  const history = kpiHistory(stats.engine, options);
  stats.addMiCommand(historyCommand(history, stats.engine));
  return { clock, stats, history, engine: stats.engine };
}

describe('HistoryRecorder', () => {
  test('samples each profile once per slot: 1 s for the 1-minute profiles, 60 s for 10 minutes, 600 s for 1 hour', () => {
    const { clock, stats, history } = setup();
    stats.updateStatSeries('perc', 'ASR', 1);
    stats.updateStatSeries('10m-perc', 'ASR_10m', 1);
    stats.updateStatSeries('1h-perc', 'ASR_1h', -1);
    for (let ms = 0; ms <= 180_000; ms += 250) {
      clock.now = T0 + ms;
      history.sample(clock.now);
    }
    assert.equal(history.sample(T0 + 100_000), 0, 'a clock gone back takes no point');
    const one = history.get('stats:ASR')!;
    const ten = history.get('stats_10m:ASR_10m')!;
    const hour = history.get('stats_1h:ASR_1h')!;
    assert.equal(one.t.length, 120, 'the ring holds 120 points');
    assert.deepEqual(one.t.slice(-3), [T0 + 178_000, T0 + 179_000, T0 + 180_000], 'one point per second, at the first call in the slot');
    assert.deepEqual(ten.t, [T0, T0 + 60_000, T0 + 120_000, T0 + 180_000]);
    assert.deepEqual(hour.t, [T0]);
    assert.equal(HistoryRecorder.resolution(stats.engine.profile('1h-perc')!), 600_000);
    // the ASR sample of the 1-minute window expired after 60 s: value 0, 0 samples
    assert.deepEqual([one.v.at(-1), one.n.at(-1)], [0, 0]);
    assert.deepEqual([ten.v, ten.n], [[100, 100, 100, 100], [1, 1, 1, 1]]);
    assert.deepEqual([hour.v, hour.n], [[0], [1]]);
  });

  test('records what get_statistics reads at the same instant, with the sample count of each algorithm', async () => {
    const { clock, stats, history } = setup();
    const w = (p: string, n: string, v: number) => stats.updateStatSeries(p, n, v);
    w('perc', 'ASRacme', 1);
    w('perc', 'ASRacme', 1);
    w('perc', 'ASRacme', -1);
    w('avg', 'PDDacme', 1000);
    w('avg', 'PDDacme', 2001);
    for (const v of [100, 200, 300, 400]) w('p95', 'PDD_p95acme', v);
    history.sample(clock.now);
    const reply = await stats.mi('get_statistics', { statistics: ['ASRacme', 'PDDacme', 'PDD_p95acme'] });
    assert.ok('result' in reply);
    const r = reply.result as Record<string, number>;
    assert.deepEqual(history.get('stats:ASRacme'), { t: [T0], v: [r['stats:ASRacme']], n: [3] });
    assert.deepEqual(history.get('stats:PDDacme'), { t: [T0], v: [1500], n: [2] });
    assert.deepEqual(history.get('stats:PDD_p95acme'), { t: [T0], v: [r['stats:PDD_p95acme']], n: [4] });
    assert.equal(r['stats:ASRacme'], 66);
  });

  test('readWithCount: update counts with min_samples, parts otherwise, null when the algorithm does not tell', () => {
    const cfg = `
modparam("statistics", "stat_series_profile", "ms: algorithm=percentage min_samples=3")
modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate")
modparam("statistics", "stat_series_profile", "sd: algorithm=stddev")
`;
    const { stats, engine } = setup({}, cfg);
    stats.updateStatSeries('ms', 'a', 5); // weight 5, one update
    stats.updateStatSeries('acc', 'b', 5);
    stats.updateStatSeries('sd', 'c', 5);
    stats.updateStatSeries('sd', 'c', 7);
    const n = (name: string) => {
      const s = engine.lookup(name) as Series;
      return sampleCount(s.profile, s, T0);
    };
    assert.equal(n('a'), 1);
    assert.equal(stats.getStat('a'), null, 'under min_samples');
    assert.equal(n('b'), null);
    assert.equal(n('c'), 2);
  });

  test('min_samples: a value under the threshold is recorded as null (JSON: not enough data), never as 0', () => {
    const cfg = 'modparam("statistics", "stat_series_profile", "perc: algorithm=percentage min_samples=2 group=stats")';
    const { clock, stats, history } = setup({}, cfg);
    stats.updateStatSeries('perc', 'ASR', -1);
    history.sample(clock.now);
    stats.updateStatSeries('perc', 'ASR', -1);
    clock.now += 1000;
    history.sample(clock.now);
    assert.deepEqual(history.get('stats:ASR'), { t: [T0, T0 + 1000], v: [null, 0], n: [1, 2] });
  });

  test('only KPI series are recorded by default; `select` chooses others', () => {
    const { clock, stats, history } = setup();
    stats.updateStatSeries('inv_acc_per_min', 'INVITE_per_min', 1);
    stats.updateStatSeries('perc', 'NERx', 1);
    stats.updateStat('calls', 1);
    history.sample(clock.now);
    assert.equal(history.get('inv_acc_per_min:INVITE_per_min'), undefined);
    assert.ok(history.get('stats:NERx'));
    assert.equal(history.size, 1);
    const all = kpiHistory(stats.engine, { select: () => true });
    all.sample(clock.now);
    assert.deepEqual(all.get('inv_acc_per_min:INVITE_per_min'), { t: [T0], v: [1], n: [null] });
  });

  test('a series removed from the engine is dropped; one created again under the name starts afresh', () => {
    const { clock, stats, history, engine } = setup();
    stats.updateStatSeries('perc', 'ASRgone', 1);
    history.sample(clock.now);
    clock.now += 1000;
    history.sample(clock.now);
    assert.equal(history.get('stats:ASRgone')!.t.length, 2);
    engine.removeSeries(engine.lookup('ASRgone') as Series);
    clock.now += 1000;
    history.sample(clock.now);
    assert.equal(history.get('stats:ASRgone'), undefined);
    assert.equal(history.size, 0);
    stats.updateStatSeries('perc', 'ASRgone', -1);
    clock.now += 1000;
    history.sample(clock.now);
    assert.deepEqual(history.get('stats:ASRgone'), { t: [clock.now], v: [0], n: [1] });
    // aligned reads give the profile's whole ring, null before the series existed
    assert.deepEqual(history.get('stats:ASRgone', 10, true)!.v, [null, null, null, 0]);
  });

  test('at most maxSeries customer series (all-traffic series always); room frees up when series go', () => {
    const { clock, stats, history, engine } = setup({ maxSeries: 2 });
    for (const c of ['a', 'b', 'c']) stats.updateStatSeries('perc', `ASR${c}`, 1);
    stats.updateStatSeries('perc', 'ASR', 1);
    history.sample(clock.now);
    assert.ok(history.get('stats:ASRa') && history.get('stats:ASRb') && history.get('stats:ASR'));
    assert.equal(history.get('stats:ASRc'), undefined);
    engine.removeSeries(engine.lookup('ASRa') as Series);
    clock.now += 1000;
    history.sample(clock.now);
    clock.now += 1000;
    history.sample(clock.now);
    assert.equal(history.get('stats:ASRa'), undefined);
    assert.deepEqual(history.get('stats:ASRc')!.t, [clock.now]);
  });

  test('recordFrom: a customer or carrier series gets its ring once its window holds that many samples; all traffic at once', () => {
    const { clock, stats, history } = setup({ recordFrom: 3 });
    stats.updateStatSeries('perc', 'ASR', 1);
    stats.updateStatSeries('perc', 'ASRacme', 1);
    stats.updateStatSeries('perc', 'ASR~carrier=a', 1);
    history.sample((clock.now += 1000));
    assert.ok(history.get('stats:ASR') !== undefined);
    assert.equal(history.get('stats:ASRacme'), undefined, 'one sample: no history yet');
    assert.equal(history.get('stats:ASR~carrier=a'), undefined);
    stats.updateStatSeries('perc', 'ASRacme', -1);
    stats.updateStatSeries('perc', 'ASRacme', 1);
    history.sample((clock.now += 1000));
    assert.deepEqual(history.get('stats:ASRacme')?.v, [66]);
    assert.equal(history.get('stats:ASR~carrier=a'), undefined);
  });

  test('stepSeries: a pass taken in steps records what a whole pass records, series made and removed between steps included', () => {
    // two recorders on one engine: one whole pass each second, one a few series a step
    const { clock, stats, engine } = setup();
    const whole = kpiHistory(engine);
    const stepped = kpiHistory(engine, { stepSeries: 3 });
    const names = Array.from({ length: 20 }, (_, i) => `ASRc${i}`);
    for (const n of names) stats.updateStatSeries('perc', n, 1);
    let steps = 0;
    for (let round = 0; round < 4; round++) {
      clock.now += 1000;
      whole.sample(clock.now);
      stepped.sample(clock.now);
      assert.ok(stepped.busy, 'more series than a step: the pass goes on');
      // between steps: a series goes, a new one comes (the new one is not in this pass of either)
      engine.removeSeries(engine.lookup(names[round]) as Series);
      while (stepped.resume()) steps++;
      assert.equal(stepped.busy, false);
      stats.updateStatSeries('perc', `ASRnew${round}`, 1);
    }
    assert.ok(steps >= 4 * 5, `${steps} steps`);
    for (const n of [...names, 'ASRnew0', 'ASRnew2']) assert.deepEqual(stepped.get(`stats:${n}`), whole.get(`stats:${n}`), n);
    assert.equal(stepped.size, whole.size);
  });

  test('stepSeries: a read, or the next sample, finishes the pass under way first', () => {
    const { clock, stats, engine } = setup();
    const history = kpiHistory(engine, { stepSeries: 1 });
    for (const c of ['a', 'b', 'c', 'd']) stats.updateStatSeries('perc', `ASR${c}`, 1);
    clock.now += 1000;
    history.sample(clock.now);
    assert.ok(history.busy);
    assert.deepEqual(history.get('stats:ASRd'), { t: [clock.now], v: [100], n: [1] });
    assert.equal(history.busy, false);
    stats.updateStatSeries('perc', 'ASRd', -1);
    clock.now += 1000;
    history.sample(clock.now);
    clock.now += 1000;
    history.sample(clock.now); // (the previous pass is finished before this one begins)
    while (history.resume());
    assert.deepEqual(history.get('stats:ASRd')!.v, [100, 50, 50]);
  });

  test('bad options are refused', () => {
    const { engine } = setup();
    assert.throws(() => kpiHistory(engine, { points: 1 }), RangeError);
    assert.throws(() => kpiHistory(engine, { points: 2.5 }), RangeError);
    assert.throws(() => kpiHistory(engine, { maxSeries: -1 }), RangeError);
    assert.throws(() => kpiHistory(engine, { stepSeries: 0 }), RangeError);
  });

  test('property: the ring equals a naive recorder (every sample kept, one per slot, last N)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 2500 }), v: fc.integer({ min: -3, max: 3 }) }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 2, max: 20 }),
        (steps, points) => {
          const { clock, stats, history } = setup({ points });
          const naive: { t: number; v: number | null; n: number }[] = [];
          let lastSlot = NaN;
          for (const s of steps) {
            clock.now += s.dt;
            if (s.v !== 0) stats.updateStatSeries('avg', 'PDD', s.v);
            history.sample(clock.now);
            const slot = Math.floor(clock.now / 1000);
            if (slot !== lastSlot && stats.engine.lookup('PDD') !== undefined) {
              const sv = stats.engine.lookup('PDD') as Series;
              const v = stats.getStat('PDD');
              // trunc(-0.5) is -0: JSON (and the recorder) print it as 0
              naive.push({ t: clock.now, v: v === 0 ? 0 : v, n: sampleCount(sv.profile, sv, clock.now)! });
            }
            lastSlot = slot;
          }
          const got = history.get('stats:PDD');
          const want = naive.slice(-points);
          if (want.length === 0) return got === undefined;
          assert.deepEqual(got, { t: want.map((x) => x.t), v: want.map((x) => x.v), n: want.map((x) => x.n) });
          return true;
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('MI get_history', () => {
  test('answers like get_statistics: group items, bare names, grp:name; points limits; unknown items skipped', async () => {
    const { clock, stats, history } = setup({ points: 5 });
    stats.updateStatSeries('perc', 'ASR', 1);
    stats.updateStatSeries('perc', 'ASRacme', -1);
    stats.updateStatSeries('10m-avg', 'PDD_10m', 1200);
    for (let i = 0; i < 8; i++) {
      history.sample(clock.now);
      clock.now += 1000;
    }
    const r = await stats.mi('get_history', { statistics: ['stats:', 'PDD_10m', 'nothing'], points: 3 });
    assert.ok('result' in r);
    const res = r.result as Record<string, { t: number[]; v: number[]; n: number[] }>;
    assert.deepEqual(Object.keys(res), ['stats:ASR', 'stats:ASRacme', 'stats_10m:PDD_10m']);
    assert.deepEqual(res['stats:ASR'].t, [T0 + 5000, T0 + 6000, T0 + 7000]);
    assert.deepEqual(res['stats:ASRacme'].v, [0, 0, 0]);
    assert.deepEqual(res['stats_10m:PDD_10m'], { t: [T0], v: [1200], n: [1] });
    // positional form, points above the capacity → the whole ring
    const all = await stats.mi('get_history', [['stats:ASR'], 1000]);
    assert.ok('result' in all);
    assert.equal((all.result as Record<string, { t: number[] }>)['stats:ASR'].t.length, 5);
    assert.deepEqual(await stats.mi('statistics:history', { statistics: ['nothing'] }), { result: {} });
  });

  test('bad params are -32602 errors', async () => {
    const { stats } = setup();
    for (const [params, data] of [
      [undefined, 'Too few or too many parameters'],
      [{ statistics: 'ASR' }, "Bad type for parameter 'statistics'"],
      [{ statistics: [] }, "Empty array in parameter 'statistics'"],
      [{ statistics: ['ASR'], points: 0 }, "Bad type for parameter 'points'"],
      [{ statistics: ['ASR'], points: 'x' }, "Bad type for parameter 'points'"],
      [{ statistics: ['ASR'], extra: 1 }, 'Named parameters do not match'],
    ] as const) {
      assert.deepEqual(await stats.mi('get_history', params as never), { error: { code: -32602, message: 'Invalid params', data } }, JSON.stringify(params));
    }
  });
});
