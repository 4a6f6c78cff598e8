import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';

const prof = (rest: string) => `modparam("statistics", "stat_series_profile", "${rest}")`;

test('max_series with overflow=refuse: new series get E_SERIES_LIMIT and a self-statistic; existing ones keep working', async () => {
  const s = createStats({ config: prof('cap: algorithm=accumulate window=60 max_series=2'), clock: () => 0 });
  s.updateStatSeries('cap', 'a', 1);
  s.updateStatSeries('cap', 'b', 1);
  assert.throws(() => s.updateStatSeries('cap', 'c', 1), (e: any) => e.code === 'E_SERIES_LIMIT');
  assert.throws(() => s.updateStatSeries('cap', 'd', 1), (e: any) => e.code === 'E_SERIES_LIMIT');
  s.updateStatSeries('cap', 'a', 1);
  assert.equal(s.getStat('a'), 2);
  assert.equal(s.getStat('c'), null);
  assert.equal(s.getStat('sipstats:series_refused'), 2);
  const r = await s.mi('update_stat_series', { profile: 'cap', name: 'e', value: 1 });
  assert.ok('error' in r && r.error.code === 429);
});

test('max_series with overflow=other folds new series into <profile>_other', () => {
  const s = createStats({ config: prof('cap: algorithm=accumulate window=60 max_series=2 overflow=other'), clock: () => 0 });
  for (const n of ['a', 'b', 'c', 'd', 'c']) s.updateStatSeries('cap', n, 1);
  assert.deepEqual([s.getStat('a'), s.getStat('b'), s.getStat('c'), s.getStat('cap_other')], [1, 1, null, 3]);
  assert.equal(s.getStat('sipstats:series_folded'), 3);
});

test('idle series are removed by the sweep; list_series and remove_series over MI', async () => {
  let now = 1_000_000;
  const s = createStats({ config: prof('idl: algorithm=accumulate window=60 slots=6 idle=120'), clock: () => now });
  s.updateStatSeries('idl', 'old', 1);
  now += 100_000;
  s.updateStatSeries('idl', 'young', 1);
  now += 30_000; // old: 130 s idle, young: 30 s
  const list = (await s.mi('list_series', { profile: 'idl' })) as { result: { name: string; idle_s: number }[] };
  assert.deepEqual(list.result.map((x) => [x.name, x.idle_s]), [['old', 130], ['young', 30]]);
  assert.deepEqual(await s.mi('sweep_series', {}), { result: { removed: 1 } });
  assert.equal(s.getStat('old'), null);
  assert.equal(s.getStat('young'), 1);
  assert.equal(s.getStat('sipstats:series_removed'), 1);
  // the name is free again, with a fresh window
  s.updateStatSeries('idl', 'old', 5);
  assert.equal(s.getStat('old'), 5);
  assert.deepEqual(await s.mi('remove_series', { name: 'old' }), { result: { removed: 1 } });
  assert.equal(s.getStat('old'), null);
  assert.deepEqual(await s.mi('remove_series', { name: 'nope' }), { error: { code: 404, message: 'Statistics Not Found' } });
  assert.deepEqual(await s.mi('remove_series', { profile: 'idl' }), { result: { removed: 1 } });
  // removed slot memory is reused by new series without leaking old data
  s.updateStatSeries('idl', 'fresh', 2);
  assert.equal(s.getStat('fresh'), 2);
});

test('cardinality keys are validated', () => {
  for (const [line, re] of [
    ['p: max_series=-1', /max_series/],
    ['p: window=60 idle=30', /shorter than the window/],
    ['p: overflow=drop', /overflow=drop/],
  ] as const) assert.throws(() => createStats({ config: prof(line) }), (e: any) => e.code === 'E_CONFIG' && re.test(e.message), line);
});
