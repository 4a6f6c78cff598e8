import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';

/**
 * `sipstats export prometheus-rules` through the real Prometheus tools (Debian `prometheus`):
 * `promtool check rules` on the file, `promtool test rules` with input series shaped like /metrics
 * and the alerts expected (test/fixtures/alerts/rules.test.yml). The committed example
 * (examples/prometheus/sipstats-alerts.rules.yml) is what the command writes for examples/alerts.yaml.
 */

const dir = mkdtempSync(join(tmpdir(), 'sipstats-rules-'));
const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });

describe('sipstats export prometheus-rules', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the committed example for examples/alerts.yaml', async () => {
    const out = join(dir, 'sipstats-alerts.rules.yml');
    assert.equal(await main(['export', 'prometheus-rules', '--config', 'examples/alerts.yaml', '--out', out]), 0);
    assert.equal(readFileSync(out, 'utf8'), readFileSync('examples/prometheus/sipstats-alerts.rules.yml', 'utf8'), 'regenerate the example: sipstats export prometheus-rules --config examples/alerts.yaml --out examples/prometheus/sipstats-alerts.rules.yml');
  });

  test('promtool check rules accepts them', () => {
    const r = promtool('check', 'rules', 'sipstats-alerts.rules.yml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 5 rules found/);
  });

  test('promtool test rules: the alerts fire, hold between below and clear, and resolve as sipstats would', () => {
    copyFileSync('test/fixtures/alerts/rules.test.yml', join(dir, 'rules.test.yml'));
    const r = promtool('test', 'rules', 'rules.test.yml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });

  test('statistic and group rules export too, and pass promtool check rules', async () => {
    const cfg = join(dir, 'more.yaml');
    writeFileSync(cfg, 'alerts:\n  - { name: invites, kpi: "stats:INVITE_per_min", above: 1000 }\n  - { name: self, kpi: "sipstats:", above: 0, for: 30s }\n  - { name: all_asr, kpi: ASR, below: 50 }\n');
    const out = join(dir, 'more.rules.yml');
    assert.equal(await main(['export', 'prometheus-rules', '--config', cfg, '--out', out]), 0);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /sipstats_kpi\{kpi="ASR",window="1m",customer="",carrier="",destination=""\} < 50/);
    const r = promtool('check', 'rules', 'more.rules.yml');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('a configuration with bad rules is refused (exit 2), every problem listed', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'alerts:\n  - { name: x, kpi: ASR, window: 2m, below: 1 }\n  - { name: y, kpi: PDD, by: planet, above: 1 }\n');
    const err: string[] = [];
    const w = process.stderr.write;
    process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
    try {
      assert.equal(await main(['export', 'prometheus-rules', '--config', cfg]), 2);
    } finally {
      process.stderr.write = w;
    }
    assert.match(err.join(''), /alerts\[0\]\.window: \[E_CFG_BAD_ALERT\]/);
    assert.match(err.join(''), /alerts\[1\]\.by: \[E_CFG_BAD_ALERT\]/);
  });
});
