import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';

const CFG = `
modparam("statistics", "variable", "calls")
modparam("statistics", "variable", "active/no_reset")
modparam("statistics", "stat_groups", "cust")
modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate window=10 slots=10")
`;

test('update_stat accepts numbers and signed decimal strings', () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  s.updateStat('calls', '+1');
  s.updateStat('calls', '+1');
  s.updateStat('calls', '-1');
  s.updateStat('calls', 5);
  s.updateStat('calls', '2.5');
  assert.equal(s.getStat('calls'), 8.5);
  assert.equal(s.getStat('script:calls'), 8.5);
});

for (const bad of ['abc', '', '1e3x', '1e3', ' 1', '+', '--1', '0x10', 'NaN', 'Infinity']) {
  test(`update_stat refuses value ${JSON.stringify(bad)} with E_BAD_VALUE and changes nothing`, async () => {
    const s = createStats({ config: CFG, clock: () => 0 });
    s.updateStat('calls', 3);
    assert.throws(() => s.updateStat('calls', bad), (e: any) => e.code === 'E_BAD_VALUE');
    assert.throws(() => s.updateStat('newone', bad), (e: any) => e.code === 'E_BAD_VALUE');
    assert.throws(() => s.updateStatSeries('acc', 'ser', bad), (e: any) => e.code === 'E_BAD_VALUE');
    const r = await s.mi('update_stat', { name: 'calls', value: bad });
    assert.ok('error' in r && r.error.code === 400 && /Bad value/.test(r.error.message) && (r.error.data as any).code === 'E_BAD_VALUE');
    assert.equal(s.getStat('calls'), 3);
    assert.equal(s.getStat('newone'), null);
    assert.equal(s.getStat('ser'), null);
  });
}

for (const bad of [NaN, Infinity, -Infinity, null, undefined, {}, [1], true]) {
  test(`update_stat refuses value ${String(bad)} (non-finite or not a number)`, () => {
    const s = createStats({ config: CFG, clock: () => 0 });
    assert.throws(() => s.updateStat('calls', bad as never), (e: any) => e.code === 'E_BAD_VALUE');
    assert.equal(s.getStat('calls'), 0);
  });
}

test('value 0 is a no-op that does not create the statistic', () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  s.updateStat('ghost', 0);
  assert.equal(s.getStat('ghost'), null);
  s.updateStat('ghost', 2);
  assert.equal(s.getStat('dynamic:ghost'), 2);
});

test('unknown names are created in dynamic; grp:name needs a declared group', () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  s.updateStat('cust:x', 4);
  assert.equal(s.getStat('cust:x'), 4);
  assert.equal(s.getStat('CUST:x'), 4, 'group names are case-insensitive');
  assert.equal(s.getStat('X'), null, 'statistic names are case-sensitive');
  assert.throws(() => s.updateStat('nogroup:x', 1), (e: any) => e.code === 'E_UNKNOWN_GROUP');
  assert.equal(s.getStat('nogroup:x'), null);
});

test('bad names are refused with E_BAD_NAME', () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  for (const n of ['', 'a b', 'x\n', 'cust:', 'a"b']) assert.throws(() => s.updateStat(n, 1), (e: any) => e.code === 'E_BAD_NAME', n);
  assert.throws(() => s.updateStatSeries('acc', '', 1), (e: any) => e.code === 'E_BAD_NAME');
  assert.throws(() => s.updateStatSeries('acc', 'a b', 1), (e: any) => e.code === 'E_BAD_NAME');
});

test('counters stay signed and are not truncated to 32 bits', () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  s.updateStat('calls', -4);
  assert.equal(s.getStat('calls'), -4);
  s.updateStat('calls', 2 ** 40);
  assert.equal(s.getStat('calls'), 2 ** 40 - 4);
});

test('reset_stat: counters to 0, /no_reset and series unchanged, unknown → E_NOT_FOUND', () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  s.updateStat('calls', 3);
  s.updateStat('active', 3);
  s.updateStatSeries('acc', 'ser', 3);
  s.resetStat('calls');
  s.resetStat('active');
  s.resetStat('ser');
  assert.deepEqual([s.getStat('calls'), s.getStat('active'), s.getStat('ser')], [0, 3, 3]);
  assert.throws(() => s.resetStat('nope'), (e: any) => e.code === 'E_NOT_FOUND');
});

test('series name rules: unknown profile, name taken by a counter or another profile', () => {
  const s = createStats({ config: CFG + 'modparam("statistics", "stat_series_profile", "acc2")', clock: () => 0 });
  assert.throws(() => s.updateStatSeries('nope', 'x', 1), (e: any) => e.code === 'E_UNKNOWN_PROFILE');
  assert.throws(() => s.updateStatSeries('acc', 'calls', 1), (e: any) => e.code === 'E_NAME_TAKEN');
  s.updateStatSeries('ACC', 'ser', 1);
  assert.throws(() => s.updateStatSeries('acc2', 'ser', 1), (e: any) => e.code === 'E_NAME_TAKEN');
  assert.throws(() => s.updateStat('cust:ser', 1), (e: any) => e.code === 'E_NAME_TAKEN');
  s.updateStat('ser', 100); // OpenSIPS: update_stat on a series name succeeds and changes nothing
  assert.equal(s.getStat('ser'), 1);
});

test('MI errors for the script commands say why', async () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  const cases: [string, unknown, RegExp][] = [
    ['update_stat_series', { profile: 'nope', name: 'x', value: 1 }, /Profile not found/],
    ['update_stat_series', { profile: 'acc', name: 'calls', value: 1 }, /already in use/],
    ['update_stat', { name: 'zz:x', value: 1 }, /not declared/],
    ['update_stat', ['x'], /Invalid params/],
    ['update_stat', { name: 'x', value: 1, extra: 1 }, /Invalid params/],
    ['reset_stat', { name: 'nope' }, /Statistics Not Found/],
  ];
  for (const [m, p, re] of cases) {
    const r = await s.mi(m, p as never);
    assert.ok('error' in r, `${m} ${JSON.stringify(p)}`);
    assert.match(r.error.message, re);
  }
  assert.deepEqual(await s.mi('update_stat', ['calls', '+2']), { result: 'OK' });
  assert.equal(s.getStat('calls'), 2);
});

test('which lists every command, aliases included; clear_statistics reads then resets', async () => {
  const s = createStats({ config: CFG, clock: () => 0 });
  const w = (await s.mi('which', {})) as { result: string[] };
  for (const c of ['get_statistics', 'list_statistics', 'reset_statistics', 'reset_all_statistics', 'which', 'update_stat', 'update_stat_series', 'reset_stat', 'clear_statistics', 'statistics:get', 'statistics:list', 'statistics:reset', 'statistics:reset_all'])
    assert.ok(w.result.includes(c), c);
  s.updateStat('calls', 9);
  assert.deepEqual(await s.mi('clear_statistics', [['calls']]), { result: { 'script:calls': 9 } });
  assert.equal(s.getStat('calls'), 0);
  s.updateStat('cust:a', 1);
  assert.deepEqual(await s.mi('statistics:reset', { statistics: ['cust:'] }), { result: 'OK' });
  assert.equal(s.getStat('cust:a'), 0);
  assert.deepEqual(await s.mi('statistics:get', [['all']]), { result: { 'script:calls': 0, 'script:active': 0, 'cust:a': 0 } });
});
