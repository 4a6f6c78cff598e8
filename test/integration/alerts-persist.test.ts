import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { decodeSnapshot, encodeSnapshot, HEADER_BYTES } from '../../src/persist/snapshot-codec.ts';
import { crc32 } from '../../src/persist/snapshot-codec.ts';
import { startReceiver, waitFor } from '../support/alertmanager.ts';

/** Alert state in the snapshot (format version 2): a restart neither forgets a firing alert nor notifies it twice. */

const dir = mkdtempSync(join(tmpdir(), 'sipstats-alerts-persist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a firing alert survives a restart: still firing, not notified again, resolved once after it', async () => {
  const hook = await startReceiver('ok');
  let now = Date.now();
  const cfgText = `alerts:\n  - { name: asr_low, kpi: ASR, window: 10m, by: customer, below: 40, clear: 45, min_samples: 4 }\nnotify:\n  - { url: "${hook.url}", format: json }\n`;
  const cfg = parseNativeText(cfgText);
  assert.ok(cfg.ok);
  const opts = { config: cfg.value, listen: '127.0.0.1:0', hepListen: null, dataDir: dir, print: () => {}, log: () => {}, env: {}, clock: () => now };
  let srv = await start(opts);
  for (let i = 0; i < 4; i++) srv.stats.updateStatSeries('10m-perc', 'ASR_10macme', -1);
  assert.equal(srv.alerts.tick(now).length, 1);
  await waitFor('the firing notification', 3000, () => (hook.acknowledged.length === 1 ? true : undefined));
  await srv.close();

  now += 5000;
  srv = await start(opts);
  try {
    const l = (await srv.stats.mi('list_alerts')) as { result: { active: { state: string; dimension: unknown; since: string }[] } };
    assert.deepEqual(l.result.active.map((a) => [a.state, a.dimension]), [['firing', { customer: 'acme' }]]);
    assert.deepEqual(srv.alerts.tick(now), [], 'still firing: no new change');
    for (let i = 0; i < 6; i++) srv.stats.updateStatSeries('10m-perc', 'ASR_10macme', 1);
    const c = srv.alerts.tick((now += 1000));
    assert.deepEqual(c.map((x) => [x.status, x.seq]), [['resolved', 2]]);
    await waitFor('the resolved notification', 3000, () => (hook.acknowledged.length === 2 ? true : undefined));
    assert.deepEqual(hook.acknowledged.map((b) => [b.status, b.seq]), [['firing', 1], ['resolved', 2]]);
  } finally {
    await srv.close();
    await hook.close();
  }
});

test('a resolved change not yet delivered when the server stops is delivered after the restart, once', async () => {
  const hook = await startReceiver('fail');
  let now = Date.now();
  const d = join(dir, 'b');
  const cfg = parseNativeText(`alerts:\n  - { name: asr_low, kpi: ASR, by: customer, below: 40 }\nnotify:\n  - { url: "${hook.url}", format: json, max_backoff: 1s }\n`);
  assert.ok(cfg.ok);
  const opts = { config: cfg.value, listen: '127.0.0.1:0', hepListen: null, dataDir: d, print: () => {}, log: () => {}, env: {}, clock: () => now };
  let srv = await start(opts);
  srv.stats.updateStatSeries('perc', 'ASRacme', -1);
  srv.alerts.tick(now);
  srv.stats.updateStatSeries('perc', 'ASRacme', 1);
  srv.stats.updateStatSeries('perc', 'ASRacme', 1);
  srv.alerts.tick((now += 1000));
  await srv.close();
  hook.mode = 'ok';
  srv = await start(opts);
  try {
    await waitFor('both changes', 5000, () => (hook.acknowledged.length >= 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(hook.acknowledged.map((b) => [b.status, b.seq]), [['firing', 1], ['resolved', 2]]);
  } finally {
    await srv.close();
    await hook.close();
  }
});

test('snapshot format: version 2 carries sections; a version 1 file (no sections) is still read; tag 3 in a version 1 file is corrupt', () => {
  const state = { at: 1_795_508_400_000, profiles: [], counters: [{ group: 'script', name: 'x', value: 3 }], series: [] };
  const v2 = encodeSnapshot(state, { alerts: '{"v":1}' });
  const r2 = decodeSnapshot(v2);
  assert.ok(r2.ok);
  assert.equal(r2.version, 2);
  assert.deepEqual({ ...r2.sections }, { alerts: '{"v":1}' });
  // version 1: the same body without sections, version field 1
  const v1 = encodeSnapshot(state);
  new DataView(v1.buffer, v1.byteOffset).setUint16(8, 1);
  const r1 = decodeSnapshot(v1);
  assert.ok(r1.ok);
  assert.equal(r1.version, 1);
  assert.deepEqual({ ...r1.sections }, {});
  assert.deepEqual(r1.value.counters, state.counters);
  const bad = Uint8Array.from(v2);
  const v = new DataView(bad.buffer);
  v.setUint16(8, 1);
  v.setUint32(16, crc32(bad, HEADER_BYTES, bad.length));
  const rb = decodeSnapshot(bad);
  assert.equal(!rb.ok && rb.error.code, 'E_SNAPSHOT_CORRUPT');
  writeFileSync(join(dir, 'unused'), '');
});
