import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';

/** The server refuses to start on a bad rule; MI reload_alerts applies a good file and keeps the rules in force on a bad one. */

const dir = mkdtempSync(join(tmpdir(), 'sipstats-alerts-reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const base = { listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, log: () => {}, env: {} };

test('a bad rule: the server does not start, every problem listed with its path', async () => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'alerts:\n  - { name: a, kpi: ASR, below: 40, clear: 30 }\n  - { name: b, kpi: XYZ_, above: 1, window: 10m }\n');
  await assert.rejects(start({ ...base, configPath: f }), (e: Error & { code?: string; issues?: { path: string; code: string }[] }) => {
    assert.equal(e.code, 'E_CONFIG');
    assert.deepEqual(e.issues!.map((i) => `${i.path} ${i.code}`), ['alerts[0].clear E_CFG_BAD_ALERT', 'alerts[1].window E_CFG_BAD_ALERT']);
    return true;
  });
});

test('reload_alerts: a good file replaces the rules, a bad one is refused and the old rules stay', async () => {
  let now = Date.now();
  const f = join(dir, 'cfg.yaml');
  writeFileSync(f, 'alerts:\n  - { name: asr_low, kpi: ASR, by: customer, below: 40 }\n');
  const srv = await start({ ...base, configPath: f, clock: () => now });
  try {
    srv.stats.updateStatSeries('perc', 'ASRacme', -1);
    assert.equal(srv.alerts.tick(now).length, 1);
    writeFileSync(f, 'alerts:\n  - { name: asr_low, kpi: ASR, by: customer, below: 40, clear: 200 }\n  - { name: nope, kpi: ASR, by: planet, below: 1 }\n');
    const bad = await srv.stats.mi('reload_alerts');
    assert.ok('error' in bad);
    assert.equal((bad.error.data as { code: string }).code, 'E_CONFIG');
    assert.match(bad.error.message, /alerts\[1\]\.by/);
    assert.deepEqual(srv.alerts.rules.map((r) => r.name), ['asr_low']);
    assert.equal(srv.alerts.rules[0].clear, 40);
    writeFileSync(f, 'alerts:\n  - { name: asr_low, kpi: ASR, by: customer, below: 40, clear: 60 }\n  - { name: ner_low, kpi: NER, by: customer, below: 50 }\n');
    const good = await srv.stats.mi('reload_alerts');
    assert.deepEqual(good, { result: { rules: 2, notify: 0 } });
    assert.deepEqual(srv.alerts.tick((now += 1000)), [], 'asr_low|customer=acme stays firing across the reload');
    const l = (await srv.stats.mi('list_alerts', { state: 'firing' })) as { result: { active: { alertname: string }[] } };
    assert.deepEqual(l.result.active.map((a) => a.alertname), ['asr_low']);
  } finally {
    await srv.close();
  }
});
