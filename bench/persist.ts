/**
 * Persistence and cluster benchmark.
 *  - Snapshot of 100 000 series (the default KPI profile mix, every window full): encode, atomic save
 *    (write + fsync + read back + verify + rename), load + decode, restore; file size. Compared in the
 *    same run with the naive peer: JSON.stringify(exportState) + gzip.
 *  - Redis commands per second per node at 100 000 updates/s (simulated clock, one flush per second
 *    or per 5 s), for 1 000, 10 000 and 100 000 series: commands are counted by Redis itself
 *    (INFO commandstats), so batching is measured, not assumed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createStats, exportState, parseOpenSipsConfig, restoreState } from '../src/index.ts';
import type { EngineState, Stats } from '../src/index.ts';
import { encodeEngine } from '../src/persist/attach.ts';
import { attachCluster } from '../src/cluster/attach.ts';
import { SnapshotFileStore } from '../src/persist/file-store.ts';
import { decodeSnapshot } from '../src/persist/snapshot-codec.ts';
import { startRedis } from '../test/support/redis-server.ts';
import { KPI_MODPARAMS } from '../src/kpi/catalogue.ts';
import type { BenchResult } from './lib.ts';
import { host, isMain, printResults } from './lib.ts';

/** The default KPI profiles (docs/kpis.md and the p95 ones); the bench fills the six seed profiles. */
const CFG = KPI_MODPARAMS;
const PROFILES = ['perc', 'avg', '10m-perc', '1h-perc', '10m-avg', '1h-avg'];
const KPIS = ['ASR', 'NER', 'CCR', 'PDD', 'AST', 'ACD'];

function makeStats(clock: () => number): Stats {
  const r = parseOpenSipsConfig(CFG);
  if (!r.ok) throw new Error('bench config');
  return createStats({ config: r.value, clock });
}

/** Series i: a KPI of a customer, in one of the six profiles (suffix keeps names unique per profile). */
const seriesName = (i: number) => `${KPIS[i % 6]}${['', '_10m', '_1h'][Math.floor(i / 6) % 3]}cust${i}`;
const profileOf = (i: number) => PROFILES[i % 6];
const valueFor = (i: number, x: number) => (profileOf(i).includes('avg') ? 100 + (x % 2900) : x % 5 === 0 ? -1 : 1);

function xorshift(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** 100 000 series with every slot of their window in use (an hour of traffic, the last minute dense). */
function fullEngine(n: number): { stats: Stats; now: () => number } {
  let now = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const stats = makeStats(() => now);
  const rnd = xorshift(42);
  // one update per minute for the 10m / 1h series (their slots are 60 s and 600 s)
  for (let m = 0; m < 59; m++) {
    now += 60_000;
    for (let i = 0; i < n; i++) if (i % 6 >= 2) stats.updateStatSeries(profileOf(i), seriesName(i), valueFor(i, rnd()));
  }
  // every second of the last minute for the 1-minute series (60 slots of 1 s)
  for (let s = 0; s < 60; s++) {
    now += 1000;
    for (let i = 0; i < n; i++) if (i % 6 < 2 || s === 59) stats.updateStatSeries(profileOf(i), seriesName(i), valueFor(i, rnd()));
  }
  return { stats, now: () => now };
}

const ms = (t0: number) => performance.now() - t0;

async function snapshotBench(): Promise<BenchResult[]> {
  const N = 100_000;
  const { stats, now } = fullEngine(N);
  let slots = 0;
  for (const s of stats.engine.all()) s.profile?.exportSlots(s as never, () => slots++);
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-bench-'));
  try {
    const store = new SnapshotFileStore({ dir });
    let t0 = performance.now();
    const enc = await encodeEngine(stats.engine);
    const encodeMs = ms(t0);
    t0 = performance.now();
    await store.save(enc.bytes);
    const saveMs = ms(t0);
    t0 = performance.now();
    const loaded = await store.load();
    const loadMs = ms(t0);
    if (loaded.state === null) throw new Error('snapshot did not load');
    const fresh = makeStats(now);
    t0 = performance.now();
    const rr = restoreState(fresh.engine, loaded.state);
    const restoreMs = ms(t0);
    if (rr.series !== N || fresh.getStat(seriesName(12345)) !== stats.getStat(seriesName(12345))) throw new Error('restore differs');

    // the naive peer: JSON of the plain state, gzipped
    t0 = performance.now();
    const state = exportState(stats.engine);
    const json = gzipSync(JSON.stringify(state), { level: 1 });
    const jsonEncMs = ms(t0);
    t0 = performance.now();
    const back = JSON.parse(gunzipSync(json).toString()) as EngineState;
    const jsonDecMs = ms(t0);
    if (back.series.length !== N) throw new Error('json peer');
    const d = decodeSnapshot(enc.bytes);
    if (!d.ok) throw new Error('decode');

    const mb = (b: number) => b / 1e6;
    return [
      { name: `snapshot encode (100 000 series, ${slots.toLocaleString('en')} live slots)`, value: encodeMs, unit: 'ms', note: `JSON+gzip(level 1) peer: ${jsonEncMs.toFixed(0)} ms (${(jsonEncMs / encodeMs).toFixed(1)}x slower)` },
      { name: 'snapshot atomic save (write, fsync, verify, rename)', value: saveMs, unit: 'ms' },
      { name: 'snapshot size', value: mb(enc.bytes.length), unit: 'MB', note: `${(enc.bytes.length / N).toFixed(0)} B/series, ${(enc.bytes.length / slots).toFixed(2)} B/slot; JSON+gzip peer ${mb(json.length).toFixed(1)} MB` },
      { name: 'snapshot load (read, verify CRC, decode)', value: loadMs, unit: 'ms', note: `JSON+gzip peer decode ${jsonDecMs.toFixed(0)} ms` },
      { name: 'snapshot restore into the engine (restoreState)', value: restoreMs, unit: 'ms', note: 'slots restored in order: O(S) per series' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function commandsTotal(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) if (m[1] !== 'info' && m[1] !== 'config|resetstat' && m[1] !== 'flushall') n += Number(m[2]);
  return n;
}

/** One node at 100 000 updates/s over `series` series; a flush every `flushS` simulated seconds. */
async function clusterRate(url: string, admin: Redis, series: number, flushS: number, seconds: number): Promise<{ perSec: number; flushMs: number; fieldsPerSec: number }> {
  await admin.flushall();
  let now = Math.ceil(Date.now() / 60_000) * 60_000;
  const stats = makeStats(() => now);
  const h = await attachCluster(stats, { redisUrl: url, nodeId: 'bench', flushIntervalMs: 3_600_000, log: () => undefined });
  await h.ready();
  const rnd = xorshift(series);
  const names = Array.from({ length: series }, (_, i) => seriesName(i));
  const feedSecond = () => {
    for (let b = 0; b < 100; b++) {
      now += 10; // a coarse clock tick per 1 000 updates
      for (let j = 0; j < 1000; j++) {
        const i = rnd() % series;
        stats.updateStatSeries(profileOf(i), names[i], valueFor(i, j));
      }
    }
  };
  // warm-up: every series exists and has been pushed once
  for (let i = 0; i < series; i++) stats.updateStatSeries(profileOf(i), names[i], 1);
  await h.flush();
  feedSecond();
  await h.flush();
  await admin.config('RESETSTAT');
  let flushMs = 0;
  let fields = 0;
  for (let s = 1; s <= seconds; s++) {
    feedSecond();
    if (s % flushS === 0) {
      const t0 = performance.now();
      const r = await h.flush();
      flushMs += ms(t0);
      fields += r.pushed;
      if (!r.ok) throw new Error(`flush failed: ${r.error}`);
    }
  }
  const total = await commandsTotal(admin);
  await h.close();
  return { perSec: total / seconds, flushMs: flushMs / (seconds / flushS), fieldsPerSec: fields / seconds };
}

async function clusterBench(): Promise<BenchResult[]> {
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  const out: BenchResult[] = [];
  try {
    for (const [series, flushS, seconds] of [
      [1_000, 1, 10],
      [10_000, 1, 10],
      [100_000, 1, 10],
      [100_000, 5, 10],
    ] as const) {
      const r = await clusterRate(redis.url, admin, series, flushS, seconds);
      out.push({
        name: `Redis commands/s per node, 100k updates/s, ${series.toLocaleString('en')} series, flush ${flushS} s`,
        value: r.perSec,
        unit: 'cmd/s',
        note: `${(100_000 / r.perSec).toFixed(0)} updates per command; ${Math.round(r.fieldsPerSec).toLocaleString('en')} slot fields/s; ${r.flushMs.toFixed(0)} ms per flush (wall, Redis included)`,
      });
    }
  } finally {
    admin.disconnect();
    await redis.dispose();
  }
  return out;
}

export async function run(): Promise<BenchResult[]> {
  return [...(await snapshotBench()), ...(await clusterBench())];
}

if (isMain(import.meta.url)) {
  const res = await run();
  printResults(`persist (${host()})`, res);
}
