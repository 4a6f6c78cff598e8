import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats, exportState, restoreState } from '../../src/index.ts';

const CFG = `
modparam("statistics", "variable", "calls")
modparam("statistics", "stat_series_profile", "perc: algorithm=percentage window=60 slots=60 group=stats")
modparam("statistics", "stat_series_profile", "1h-avg: algorithm=average window=3600 slots=6 group=stats_1h")
modparam("statistics", "stat_series_profile", "pm: algorithm=percentage window=60 min_samples=2")
`;

test('export then restore into a fresh engine reproduces every value; expired slots are dropped by the clock', () => {
  let now = 1_795_508_400_000;
  const a = createStats({ config: CFG, clock: () => now });
  a.updateStat('calls', 7);
  a.updateStat('dyn', -2);
  for (let i = 0; i < 90; i++) {
    now += 1000;
    a.updateStatSeries('perc', 'ASR', i % 3 === 0 ? -1 : 1);
    a.updateStatSeries('1h-avg', 'PDD_1h', 100 + i);
    a.updateStatSeries('pm', 'NER', 1);
  }
  const state = JSON.parse(JSON.stringify(exportState(a.engine)));
  const b = createStats({ config: CFG, clock: () => now });
  const r = restoreState(b.engine, state);
  assert.deepEqual(r.skipped, []);
  for (const n of ['calls', 'dyn', 'ASR', 'PDD_1h', 'NER']) assert.equal(b.getStat(n), a.getStat(n), n);
  // two minutes later the 1-minute window is empty; the 1-hour window keeps its data
  now += 120_000;
  const c = createStats({ config: CFG, clock: () => now });
  const r2 = restoreState(c.engine, state);
  assert.ok(r2.expiredSlots > 0);
  assert.equal(c.getStat('ASR'), 0);
  assert.equal(c.getStat('NER'), null);
  assert.equal(c.getStat('PDD_1h'), a.getStat('PDD_1h'));
  // restored series keep working
  c.updateStatSeries('perc', 'ASR', 1);
  assert.equal(c.getStat('ASR'), 100);
});

test('series whose profile changed how it keeps data are skipped and reported', () => {
  let now = 1_795_508_400_000;
  const a = createStats({ config: CFG, clock: () => now });
  a.updateStatSeries('perc', 'ASR', 1);
  const state = exportState(a.engine);
  const b = createStats({ config: CFG.replace('window=60 slots=60 group=stats', 'window=600 slots=10 group=stats'), clock: () => now });
  const r = restoreState(b.engine, state);
  assert.equal(r.series, 0);
  assert.match(r.skipped[0].reason, /differently/);
  assert.equal(b.getStat('ASR'), null);
});
