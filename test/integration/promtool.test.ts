import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';

/** `/metrics` through a real parser: promtool (Debian package `prometheus`), as CI installs it. */

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('promtool', ['check', 'metrics']);
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (out += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

async function scrape(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return r.text();
}

const CONFIG = `
groups: [custgrp]
variables: [register_calls, active_calls/no_reset, custgrp:blocked_total]
profiles:
  - { name: perc, algorithm: percentage, group: stats }
  - { name: 10m-perc, algorithm: percentage, window: 600, slots: 10, group: stats_10m }
  - { name: 1h-perc, algorithm: percentage, window: 3600, slots: 6, group: stats_1h }
  - { name: avg, algorithm: average, group: stats }
  - { name: 10m-avg, algorithm: average, window: 600, slots: 10, group: stats_10m }
  - { name: 1h-avg, algorithm: average, window: 3600, slots: 6, group: stats_1h }
  - { name: precise, algorithm: percentage, window: 60, precision: 2, min_samples: 3 }
  - { name: inv_acc_per_min, algorithm: accumulate, window: 60 }
`;

describe('promtool check metrics on a real scrape', () => {
  let now = 1_795_508_514_000;
  let srv: Running;
  before(async () => {
    const cfg = parseNativeText(CONFIG);
    assert.ok(cfg.ok, JSON.stringify(cfg));
    srv = await start({ config: cfg.value, listen: '127.0.0.1:0', hepListen: null, clock: () => now, print: () => {}, env: {} });
    const s = srv.stats;
    for (const customer of ['', 'acme', 'Müller-GmbH', 'a.b+c', 'x%y']) {
      for (const [kpi, perc] of [
        ['ASR', true],
        ['NER', true],
        ['CCR', true],
        ['PDD', false],
        ['AST', false],
        ['ACD', false],
      ] as const) {
        s.updateStatSeries(perc ? 'perc' : 'avg', `${kpi}${customer}`, perc ? 1 : 1200);
        s.updateStatSeries(perc ? '10m-perc' : '10m-avg', `${kpi}_10m${customer}`, perc ? -1 : 3400);
        s.updateStatSeries(perc ? '1h-perc' : '1h-avg', `${kpi}_1h${customer}`, perc ? 1 : 15);
      }
    }
    s.updateStat('register_calls', 5);
    s.updateStat('active_calls', -2);
    s.updateStat('custgrp:blocked_total', 1);
    s.updateStat('dynamicCalls', 7);
    s.updateStat('weird-name.with.dots', 1);
    s.updateStatSeries('precise', 'ok_ratio', 1); // 1 sample < min_samples 3: null, left out
    s.updateStatSeries('precise', 'good_ratio', 1);
    s.updateStatSeries('precise', 'good_ratio', 1);
    s.updateStatSeries('precise', 'good_ratio', -1);
    s.updateStatSeries('inv_acc_per_min', 'INVITE_per_min', 42);
    s.updateStatSeries('inv_acc_per_min', 'PDD_p95', 42);
    now += 1500;
  });
  after(() => srv?.close());

  test('promtool is installed', () => {
    assert.ok(hasPromtool, 'promtool not found on PATH: install the Debian package `prometheus` (apt-get install prometheus); CI installs it (.ci/run)');
  });

  test('the scrape passes promtool check metrics (exit 0, no lint problem)', async () => {
    assert.ok(hasPromtool, 'promtool not found on PATH: install the Debian package `prometheus`');
    const text = await scrape(srv.url);
    assert.match(text, /sipstats_kpi\{kpi="ASR",window="10m",customer="Müller-GmbH",group="stats_10m"\} 0/);
    assert.match(text, /sipstats_good_ratio\{group="precise"\} 66\.67/);
    assert.doesNotMatch(text, /ok_ratio/);
    const r = await promtool(text);
    assert.equal(r.out, '');
    assert.equal(r.code, 0);
  });

  test('awkward statistic names never make the text unparseable, nor camelCase/colon/_total lint problems', async () => {
    assert.ok(hasPromtool, 'promtool not found on PATH: install the Debian package `prometheus`');
    // names the engine accepts that are awkward for Prometheus: punctuation, camelCase, a gauge
    // ending in _total, unicode, a leading digit
    for (const n of ['a-b', 'a.b', 'a_b', 'fooBar', '9lives', 'ünï', 'x/y', 'p%q', 'b+c', 'kpi', 'cnt_total']) {
      srv.stats.updateStatSeries('inv_acc_per_min', `z${n}`, 1);
      srv.stats.updateStat(n, 1);
    }
    const r = await promtool(await scrape(srv.url));
    // only the linter may object, and only to what the user named (`a_b`: "b" reads as bytes)
    assert.notEqual(r.code, 1, r.out);
    for (const line of r.out.split('\n').filter((l) => l !== '')) assert.match(line, /^sipstats_\S+ metric names should not contain abbreviated units$/);
  });

  test('a linter complaint about a user-chosen name (e.g. "..._counter") is not a parse error', async () => {
    assert.ok(hasPromtool, 'promtool not found on PATH: install the Debian package `prometheus`');
    srv.stats.updateStat('register_counter', 1); // the statistics module's own example name: promtool lints "_counter" in a counter's name
    const r = await promtool(await scrape(srv.url));
    assert.notEqual(r.code, 1, r.out); // 1 = parse error; 3 = lint problems only
    assert.doesNotMatch(r.out, /error while linting|parsing error/);
  });
});
