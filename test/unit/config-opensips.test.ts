import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOpenSipsConfig, createStats } from '../../src/index.ts';

const mp = (param: string, value: string) => `modparam("statistics", "${param}", "${value}")`;

test('modparam lines inside a whole opensips.cfg are found; other lines are ignored', () => {
  const cfg = [
    '#!define WITH_STATS',
    'log_level=3',
    'loadmodule "statistics.so"',
    'modparam("tm", "fr_timeout", 5)',
    '# modparam("statistics", "variable", "commented_out")',
    '/* modparam("statistics", "variable", "in_block")',
    '*/',
    mp('variable', 'register_counter'),
    "modparam('statistics', 'variable', 'active_calls/NO_RESET')  # single quotes, flag in caps",
    mp('stat_groups', 'custgrp, other  third'),
    mp('stat_series_profile', '10m-perc: algorithm=percentage window=600 slots=10 group=stats_10m'),
    'route { update_stat("x", "+1"); }',
  ].join('\n');
  const r = parseOpenSipsConfig(cfg);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
  assert.deepEqual(
    r.value.counters.map((c) => [c.group, c.name, c.noReset]),
    [
      ['script', 'register_counter', false],
      ['script', 'active_calls', true],
    ],
  );
  assert.deepEqual(r.value.groups, ['custgrp', 'other', 'third']);
  assert.deepEqual(r.value.profiles[0], {
    name: '10m-perc', algorithm: 'percentage', window: 600, slots: 10, group: 'stats_10m',
    percentageFactor: 100, precision: null, minSamples: 0, options: {},
  });
});

test('profile defaults: accumulate, window 60, slots = window, group = profile name, factor 100', () => {
  const r = parseOpenSipsConfig(mp('stat_series_profile', 'acc60'));
  assert.ok(r.ok);
  assert.deepEqual(r.value.profiles[0], {
    name: 'acc60', algorithm: 'accumulate', window: 60, slots: 60, group: 'acc60',
    percentageFactor: 100, precision: null, minSamples: 0, options: {},
  });
});

const bad: [string, string, RegExp][] = [
  ['unknown algorithm', mp('stat_series_profile', 'p: algorithm=median'), /unknown algorithm 'median'/],
  ['factor not a power of 10', mp('stat_series_profile', 'p: algorithm=percentage percentage_factor=50'), /power of 10/],
  ['window 0 (OpenSIPS crashes)', mp('stat_series_profile', 'p: window=0'), /window=0/],
  ['slots > window*1000 (OpenSIPS crashes)', mp('stat_series_profile', 'p: window=1 slots=1001'), /more than window\*1000/],
  ['slots 0', mp('stat_series_profile', 'p: slots=0'), /slots=0/],
  ['non-numeric window', mp('stat_series_profile', 'p: window=abc'), /not a number/],
  ['unknown key', mp('stat_series_profile', 'p: colour=blue'), /unknown key 'colour'/],
  ['duplicate key', mp('stat_series_profile', 'p: window=10 window=20'), /given twice/],
  ['token without =', mp('stat_series_profile', 'p: algorithm'), /not key=value/],
  ['bad profile name', mp('stat_series_profile', 'bad name!: window=10'), /profile name/],
  ['bad precision', mp('stat_series_profile', 'p: precision=9'), /precision=9/],
  ['bad min_samples', mp('stat_series_profile', 'p: min_samples=-1'), /min_samples=-1/],
  ['bad variable flag', mp('variable', 'x/sometimes'), /unknown flag/],
  ['bad variable name', mp('variable', 'has space'), /invalid statistic name/],
  ['variable in undeclared group', mp('variable', 'nogrp:x'), /not declared/],
  ['bad group name', mp('stat_groups', 'a b!c'), /invalid group name/],
  ['unknown parameter', mp('stat_serie_profile', 'p'), /unknown statistics parameter/],
  ['numeric value', 'modparam("statistics", "variable", 5)', /needs a string value/],
  ['unterminated modparam', 'modparam("statistics", "variable", "x"', /expected/],
  ['unterminated string', 'modparam("statistics", "variable", "x)', /unterminated string/],
];
for (const [what, line, re] of bad) {
  test(`refused with a coded issue: ${what}`, () => {
    const r = parseOpenSipsConfig(`# line 1\n${line}\n`);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.issues.length >= 1, true);
    assert.equal(r.issues[0].line, 2);
    assert.match(r.issues[0].code, /^E_CFG_/);
    assert.match(r.issues.map((i) => i.message).join('\n'), re);
  });
}

test('all problems are reported at once, in line order, and createStats throws one E_CONFIG error', () => {
  const text = [mp('stat_series_profile', 'a: window=0'), mp('variable', 'ok'), mp('variable', 'x/bad'), mp('stat_series_profile', 'a: window=5'), mp('stat_series_profile', 'A')].join('\n');
  const r = parseOpenSipsConfig(text);
  assert.ok(!r.ok);
  assert.deepEqual(r.issues.map((i) => [i.line, i.code]), [
    [1, 'E_CFG_BAD_PROFILE'],
    [3, 'E_CFG_BAD_VARIABLE'],
    [5, 'E_CFG_DUPLICATE'],
  ]);
  assert.throws(() => createStats({ config: text }), (e: any) => e.code === 'E_CONFIG' && /line 1/.test(e.message) && /line 5/.test(e.message));
});

test('duplicate variables are refused', () => {
  const r = parseOpenSipsConfig([mp('variable', 'x'), mp('variable', 'x/no_reset')].join('\n'));
  assert.ok(!r.ok);
  assert.equal(r.issues[0].code, 'E_CFG_DUPLICATE');
  assert.equal(r.issues[0].line, 2);
});

test('a variable may live in a declared group (grp:name)', () => {
  const r = parseOpenSipsConfig([mp('variable', 'custgrp:calls'), mp('stat_groups', 'custgrp')].join('\n'));
  assert.ok(r.ok);
  assert.deepEqual(r.value.counters[0], { name: 'calls', group: 'custgrp', noReset: false });
});
