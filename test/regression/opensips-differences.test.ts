import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';

// One regression test per OpenSIPS bug that sipstats deliberately does not copy (docs/opensips-differences.md).

test('stale slot: with slots=1 a series expires after its window even when read often (OpenSIPS never expires it)', () => {
  let now = 1_000_000;
  const s = createStats({ config: 'modparam("statistics", "stat_series_profile", "one: window=10 slots=1")', clock: () => now });
  s.updateStatSeries('one', 'x', 5);
  for (let i = 0; i < 100; i++) {
    now += 100; // read every 100 ms
    const v = s.getStat('x');
    if (now < 1_010_000) assert.equal(v, 5);
    else assert.equal(v, 0, `at ${now}`);
  }
});

test('stale slot: data does not outlive its window when an access lands on the same slot index one cycle later', () => {
  let now = 1_795_508_520_250;
  const s = createStats({ config: 'modparam("statistics", "stat_series_profile", "acc10: window=10 slots=10")', clock: () => now });
  s.updateStatSeries('acc10', 'x', 7);
  now += 10_000; // exactly one cycle later: same slot index, new slot number
  s.updateStatSeries('acc10', 'x', 1);
  assert.equal(s.getStat('x'), 1);
});

test('negative series values stay signed (OpenSIPS prints 1.844674e+19)', () => {
  const s = createStats({ config: 'modparam("statistics", "stat_series_profile", "acc")', clock: () => 0 });
  s.updateStatSeries('acc', 'x', -4);
  assert.equal(s.getStat('x'), -4);
});

test('window*1000 not divisible by slots: exact slot boundaries (OpenSIPS writes past its array)', () => {
  // W = 1000 ms, S = 3: slot boundaries at 333.33.., 666.66..
  let now = 0;
  const s = createStats({ config: 'modparam("statistics", "stat_series_profile", "p3: window=1 slots=3")', clock: () => now });
  now = 333; // slot 0
  s.updateStatSeries('p3', 'x', 1);
  now = 334; // slot 1
  s.updateStatSeries('p3', 'x', 10);
  now = 1000; // slot 3: slot 0 has expired, slot 1 has not
  assert.equal(s.getStat('x'), 10);
  now = 1333; // still slot 3 (boundary at 1333.33..)
  assert.equal(s.getStat('x'), 10);
  now = 1334; // slot 4: slot 1 expires
  assert.equal(s.getStat('x'), 0);
});

test('a clock that goes back writes into the newest slot and never revives expired data', () => {
  let now = 100_000;
  const s = createStats({ config: 'modparam("statistics", "stat_series_profile", "acc10: window=10 slots=10")', clock: () => now });
  s.updateStatSeries('acc10', 'x', 1);
  now = 120_000;
  assert.equal(s.getStat('x'), 0);
  now = 105_000; // back in time
  s.updateStatSeries('acc10', 'x', 2);
  assert.equal(s.getStat('x'), 2);
  now = 129_999; // slot 129 still within the window of slot 120 (where the 2 went)
  assert.equal(s.getStat('x'), 2);
  now = 130_000;
  assert.equal(s.getStat('x'), 0);
});

test('precision and min_samples extensions', () => {
  let now = 0;
  const s = createStats({
    config: [
      'modparam("statistics", "stat_series_profile", "pp: algorithm=percentage window=60 precision=2 min_samples=3")',
      'modparam("statistics", "stat_series_profile", "ap: algorithm=average window=60 precision=1")',
    ].join('\n'),
    clock: () => now,
  });
  s.updateStatSeries('pp', 'asr', 1);
  s.updateStatSeries('pp', 'asr', 1);
  assert.equal(s.getStat('asr'), null, 'not enough data');
  s.updateStatSeries('pp', 'asr', -1);
  assert.equal(s.getStat('asr'), 66.67);
  s.updateStatSeries('ap', 'pdd', 1);
  s.updateStatSeries('ap', 'pdd', 2);
  assert.equal(s.getStat('pdd'), 1.5);
  now = 60_000;
  assert.equal(s.getStat('asr'), null);
});

test('many series of one profile across slab chunks keep their own slots', () => {
  let now = 0;
  const s = createStats({ config: 'modparam("statistics", "stat_series_profile", "avg: algorithm=average window=60 slots=60")', clock: () => now });
  for (let i = 0; i < 1000; i++) s.updateStatSeries('avg', `s${i}`, i);
  now = 1500;
  for (let i = 0; i < 1000; i++) s.updateStatSeries('avg', `s${i}`, 3 * i);
  for (let i = 0; i < 1000; i++) assert.equal(s.getStat(`s${i}`), 2 * i);
  now = 60_500; // slot 60: slot 0 has expired, slot 1 is live
  for (let i = 0; i < 1000; i++) assert.equal(s.getStat(`s${i}`), 3 * i);
  now = 61_000; // slot 61: both gone
  for (let i = 0; i < 1000; i++) assert.equal(s.getStat(`s${i}`), 0);
});
