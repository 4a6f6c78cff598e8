import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODPARAMS } from '../../src/config/defaults.ts';
import { defaultConfig, detectFormat, loadConfigFile, parseConfigText } from '../../src/config/load.ts';
import { parseNativeConfig, parseNativeText, TOP_KEYS } from '../../src/config/yaml-format.ts';
import { parseListen } from '../../src/config/fields.ts';
import { createStats } from '../../src/index.ts';
import { CONFORMANCE_DIR } from '../support/conformance.ts';

const docs = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
const block = (lang: string) => {
  const m = new RegExp('```' + lang + '(?: [^\\n]*)?\\n([\\s\\S]*?)```').exec(docs);
  assert.ok(m, `docs/config.md has a ${lang} block`);
  return m[1];
};
const issues = (r: ReturnType<typeof parseNativeConfig>) => {
  assert.equal(r.ok, false, 'refused');
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.code}: ${i.message}`);
};
const ok = <T>(r: { ok: true; value: T } | { ok: false }): T => {
  assert.ok(r.ok, `accepted: ${JSON.stringify(r)}`);
  return (r as { value: T }).value;
};

function assertDeepFrozen(v: unknown, path = '$'): void {
  if (v === null || typeof v !== 'object') return;
  // compiled tables (class instances: a prefix trie over typed arrays) are not frozen, by design
  if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return;
  assert.ok(Object.isFrozen(v), `${path} is frozen`);
  for (const [k, x] of Object.entries(v)) assertDeepFrozen(x, `${path}.${k}`);
}

test('the complete example of docs/config.md is accepted, with every setting read', () => {
  const c = ok(parseNativeText(block('yaml')));
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8888 });
  assert.equal(c.auth.token, 'change-me');
  assert.deepEqual(c.engine.groups, ['custgrp']);
  assert.deepEqual(c.engine.counters, [
    { name: 'register_counter', group: 'script', noReset: false },
    { name: 'active_calls', group: 'script', noReset: true },
    { name: 'blocked', group: 'custgrp', noReset: false },
    { name: 'rejected', group: 'custgrp', noReset: false },
  ]);
  assert.deepEqual(
    c.engine.profiles.map((p) => p.name),
    ['perc', '10m-perc', '1h-perc', 'avg', '10m-avg', '1h-avg', 'asr-precise'],
  );
  const precise = c.engine.profiles[6];
  assert.deepEqual({ ...precise, options: { ...precise.options } }, {
    name: 'asr-precise',
    algorithm: 'percentage',
    window: 600,
    slots: 60,
    group: 'precise',
    percentageFactor: 100,
    precision: 2,
    minSamples: 10,
    options: {},
  });
  assert.equal(c.dataDir, './data');
  assert.deepEqual([c.hep, c.redis, c.kpi], [{ listen: '127.0.0.1:9060' }, { target: { mode: 'single', url: 'redis://127.0.0.1:6379' }, nodeId: 'edge1' }, { customer: 'header:X-Customer' }]);
  assert.equal(c.source, 'native');
  // and the engine takes it
  const stats = createStats({ config: c.engine, clock: () => 1_795_508_514_000 });
  stats.updateStat('custgrp:blocked', 2);
  assert.equal(stats.getStat('blocked'), 2);
});

test('the JSON example of docs/config.md is accepted', () => {
  const c = ok(parseNativeText(block('json')));
  assert.equal(c.engine.profiles.length, 1);
  assert.deepEqual(c.engine.counters[1], { name: 'active_calls', group: 'script', noReset: true });
});

test('the result is frozen all the way down', () => {
  const c = ok(parseNativeText(block('yaml')));
  assertDeepFrozen(c);
  assert.throws(() => ((c as { listen: unknown }).listen = null), TypeError);
  assertDeepFrozen(defaultConfig());
});

test('every problem is reported at once, each with its path', () => {
  const r = parseNativeConfig({
    listen: 'localhost',
    colour: 'blue',
    auth: { token: 'a b', user: 'x' },
    groups: ['ok', 'bad group', 3],
    variables: ['fine', { name: 'v', group: 'nosuch' }, { name: 'w', noReset: 'yes', extra: 1 }, 'a b', 'fine'],
    profiles: [
      { name: 'p0' },
      { name: 'p1', window: 0 },
      { name: 'p2', window: 1.5, slots: -1, algorithm: 'median', percentage_factor: 50, precision: 9, min_samples: -1, colour: 1 },
      { name: 'P0' },
      'p4',
      { window: 10 },
      { name: 'p6', window: 1, slots: 1001 },
    ],
    hep: 'udp',
    dataDir: 5,
  });
  assert.deepEqual(issues(r).sort(), [
    'auth.token: E_CFG_SYNTAX: must be a token of printable ASCII without spaces, got "a b"',
    'auth.user: E_CFG_UNKNOWN_PARAM: unknown key (allowed: token, readToken, allowUnauthenticated)',
    `colour: E_CFG_UNKNOWN_PARAM: unknown key (allowed: ${TOP_KEYS.join(', ')})`,
    'dataDir: E_CFG_SYNTAX: must be a non-empty string, got 5',
    "groups[1]: E_CFG_BAD_GROUP: must be a group name of letters, digits, '_', '-', '.' (at most 64), got \"bad group\"",
    "groups[2]: E_CFG_BAD_GROUP: must be a group name of letters, digits, '_', '-', '.' (at most 64), got 3",
    'hep: E_CFG_SYNTAX: must be an object, got "udp"',
    'listen: E_CFG_SYNTAX: must be HOST:PORT (IPv6 as [::1]:8888), got "localhost"',
    "profiles[1].window: E_CFG_BAD_PROFILE: must be an integer 1..604800, got 0",
    'profiles[2].algorithm: E_CFG_BAD_PROFILE: ' + issues(r).find((x) => x.startsWith('profiles[2].algorithm'))!.split('E_CFG_BAD_PROFILE: ')[1],
    'profiles[2].colour: E_CFG_UNKNOWN_PARAM: ' + issues(r).find((x) => x.startsWith('profiles[2].colour'))!.split('E_CFG_UNKNOWN_PARAM: ')[1],
    'profiles[2].min_samples: E_CFG_BAD_PROFILE: must be an integer 0..1000000000, got -1',
    'profiles[2].percentage_factor: E_CFG_BAD_PROFILE: must be a power of 10 (1, 10, 100, ...), got 50',
    'profiles[2].precision: E_CFG_BAD_PROFILE: must be an integer 0..6, got 9',
    'profiles[2].slots: E_CFG_BAD_PROFILE: must be an integer 1..86400, got -1',
    'profiles[2].window: E_CFG_BAD_PROFILE: must be an integer 1..604800, got 1.5',
    "profiles[3].name: E_CFG_DUPLICATE: profile 'P0' already defined at profiles[0]",
    'profiles[4]: E_CFG_BAD_PROFILE: must be an object {name, algorithm, window, ...}, got "p4"',
    'profiles[5].name: E_CFG_BAD_PROFILE: is required',
    'profiles[6].slots: E_CFG_BAD_PROFILE: must be at most window*1000 (1000): a slot lasts at least 1 ms',
    "variables[1]: E_CFG_BAD_VARIABLE: group 'nosuch' is not declared (in groups or as a profile's group)",
    'variables[2].extra: E_CFG_UNKNOWN_PARAM: unknown key (allowed: name, noReset, group)',
    'variables[2].noReset: E_CFG_BAD_VARIABLE: must be true or false, got "yes"',
    'variables[3]: E_CFG_BAD_VARIABLE: must be [group:]name[/no_reset] or {name, noReset, group}, got "a b"',
    "variables[4]: E_CFG_DUPLICATE: variable 'script:fine' already defined at variables[0]",
  ]);
  assert.match(issues(r).find((x) => x.startsWith('profiles[2].algorithm'))!, /one of accumulate, average, percentage/);
});

test('a value out of range names its path: profiles[2].window', () => {
  const r = parseNativeConfig({ profiles: [{ name: 'a' }, { name: 'b' }, { name: 'c', window: 604801 }] });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.issues.length, 1);
    assert.equal(r.issues[0].path, 'profiles[2].window');
    assert.match(r.issues[0].message, /^must be an integer 1\.\.604800/);
  }
});

test('without profiles the embedded default profiles apply; profiles: [] means none', () => {
  const d = ok(parseNativeConfig({}));
  assert.deepEqual(d.engine.profiles, defaultConfig().engine.profiles);
  assert.equal(ok(parseNativeConfig({ profiles: [] })).engine.profiles.length, 0);
  assert.deepEqual(ok(parseNativeConfig(null)).listen, { host: '127.0.0.1', port: 8888 });
  assert.equal(ok(parseNativeText('')).auth.token, null);
});

test('the default configuration: the KPI profiles of docs/kpis.md, the p95 profiles and the two INVITE profiles', () => {
  const c = defaultConfig();
  assert.equal(c.source, 'default');
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8888 });
  assert.equal(c.auth.token, null);
  const p = Object.fromEntries(c.engine.profiles.map((x) => [x.name, [x.algorithm, x.window, x.slots, x.group]]));
  assert.deepEqual(p, {
    perc: ['percentage', 60, 60, 'stats'],
    '10m-perc': ['percentage', 600, 10, 'stats_10m'],
    '1h-perc': ['percentage', 3600, 6, 'stats_1h'],
    avg: ['average', 60, 60, 'stats'],
    '10m-avg': ['average', 600, 10, 'stats_10m'],
    '1h-avg': ['average', 3600, 6, 'stats_1h'],
    p95: ['p95', 60, 6, 'stats'],
    '10m-p95': ['p95', 600, 10, 'stats_10m'],
    '1h-p95': ['p95', 3600, 6, 'stats_1h'],
    rate: ['rate', 60, 6, 'stats'],
    '10m-rate': ['rate', 600, 10, 'stats_10m'],
    '1h-rate': ['rate', 3600, 6, 'stats_1h'],
    max: ['max', 60, 6, 'stats'],
    '10m-max': ['max', 600, 10, 'stats_10m'],
    '1h-max': ['max', 3600, 6, 'stats_1h'],
    count: ['accumulate', 60, 6, 'stats'],
    '10m-count': ['accumulate', 600, 10, 'stats_10m'],
    '1h-count': ['accumulate', 3600, 6, 'stats_1h'],
    // CC_avg: the time average of CC
    tavg: ['timeavg', 60, 6, 'stats'],
    '10m-tavg': ['timeavg', 600, 10, 'stats_10m'],
    '1h-tavg': ['timeavg', 3600, 6, 'stats_1h'],
    // media quality: two decimals; MOS_p5 a 5th percentile
    perc2: ['percentage', 60, 60, 'stats'],
    '10m-perc2': ['percentage', 600, 10, 'stats_10m'],
    '1h-perc2': ['percentage', 3600, 6, 'stats_1h'],
    avg2: ['average', 60, 60, 'stats'],
    '10m-avg2': ['average', 600, 10, 'stats_10m'],
    '1h-avg2': ['average', 3600, 6, 'stats_1h'],
    max2: ['max', 60, 6, 'stats'],
    '10m-max2': ['max', 600, 10, 'stats_10m'],
    '1h-max2': ['max', 3600, 6, 'stats_1h'],
    p5: ['percentile', 60, 6, 'stats'],
    '10m-p5': ['percentile', 600, 10, 'stats_10m'],
    '1h-p5': ['percentile', 3600, 6, 'stats_1h'],
    inv_acc_per_min: ['accumulate', 60, 60, 'inv_acc_per_min'],
    inv_perc_per_min: ['percentage', 60, 60, 'inv_perc_per_min'],
  });
  // docs/config.md shows the same text
  for (const line of DEFAULT_MODPARAMS.split('\n').filter((l) => l.startsWith('modparam'))) assert.ok(docs.includes(line), `docs show: ${line}`);
});

test('format detection: by extension, else by content', () => {
  assert.equal(detectFormat('', 'a.cfg'), 'opensips');
  assert.equal(detectFormat('listen: x', 'opensips.conf'), 'opensips');
  assert.equal(detectFormat('modparam("x","y","z")', 'a.yaml'), 'native');
  assert.equal(detectFormat('{}', 'a.json'), 'native');
  assert.equal(detectFormat('loadmodule "statistics.so"\nmodparam ("statistics", "variable", "x")'), 'opensips');
  assert.equal(detectFormat('listen: 127.0.0.1:1\n'), 'native');
  assert.equal(detectFormat('# my_modparam(x)\nlisten: 127.0.0.1:1\n'), 'native');
});

test('OpenSIPS text goes through the engine parser, with its line numbers', () => {
  const c = ok(parseConfigText('modparam("statistics", "variable", "a")\nmodparam("statistics", "stat_groups", "g")\n'));
  assert.equal(c.source, 'opensips');
  assert.deepEqual(c.engine.counters, [{ name: 'a', group: 'script', noReset: false }]);
  const r = parseConfigText('\n\nmodparam("statistics", "stat_series_profile", "x: window=0")\n');
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.issues[0].line, 3);
});

test('YAML syntax errors and duplicate keys are refused with their line', () => {
  for (const text of ['listen: a\nlisten: b\n', '{"listen": "127.0.0.1:1",\n "listen": "127.0.0.1:2"}', 'profiles:\n  - [\n']) {
    const r = parseNativeText(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) assert.ok(r.issues.every((i) => i.code === 'E_CFG_SYNTAX' && i.line >= 1), JSON.stringify(r.issues));
  }
  assert.equal(issues(parseNativeText('- 1\n- 2\n'))[0].split(':')[1].trim(), 'E_CFG_SYNTAX');
});

test('listen addresses: IPv4, names, IPv6 in brackets, port 0; refused otherwise', () => {
  assert.deepEqual(ok(parseListen('0.0.0.0:0')), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(ok(parseListen('localhost:8888')), { host: 'localhost', port: 8888 });
  assert.deepEqual(ok(parseListen('[::1]:9')), { host: '::1', port: 9 });
  for (const bad of ['8888', ':8888', '::1:8888', '127.0.0.1:', '127.0.0.1:65536', 'a b:1', '127.0.0.1:-1']) assert.equal(parseListen(bad).ok, false, bad);
});

test('loadConfigFile reads both formats and throws ConfigError listing every problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-cfg-'));
  try {
    const c = await loadConfigFile(join(CONFORMANCE_DIR, 'opensips-statistics.cfg'));
    assert.equal(c.source, 'opensips');
    assert.ok(c.engine.profiles.some((p) => p.name === 'acc10'));
    await assert.rejects(loadConfigFile(join(CONFORMANCE_DIR, 'rejected-profiles.cfg')), (e: any) => {
      assert.equal(e.code, 'E_CONFIG');
      assert.equal(e.issues.length, 2);
      return true;
    });
    const y = join(dir, 'bad.yaml');
    writeFileSync(y, 'profiles:\n  - {name: a}\n  - {name: b}\n  - {name: c, window: 0, colour: red}\nvariables: [nosuch:x]\n');
    await assert.rejects(loadConfigFile(y), (e: any) => {
      assert.equal(e.code, 'E_CONFIG');
      assert.deepEqual(
        e.issues.map((i: any) => i.path),
        ['profiles[2].colour', 'profiles[2].window', 'variables[0]'],
      );
      assert.match(e.message, /profiles\[2\]\.window: \[E_CFG_BAD_PROFILE\] must be an integer 1\.\.604800/);
      return true;
    });
    await assert.rejects(loadConfigFile(join(dir, 'missing.yaml')), (e: any) => e.code === 'E_CONFIG' && /ENOENT/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
