/**
 * Percentile benchmark: updates of a p95 series against hdr-histogram-js (a plain
 * histogram, no window) and prom-client Summary (t-digest per age bucket, maxAgeSeconds=60), in the
 * same run; and memory per percentile series.
 */
import * as hdr from 'hdr-histogram-js';
import client from 'prom-client';
import { createStats } from '../src/index.ts';
import type { BenchResult } from './lib.ts';
import { compare, printResults, settle } from './lib.ts';

const OPS = 1_000_000;

function speed(): BenchResult[] {
  const vals = new Float64Array(OPS);
  let x = 88172645463325252n;
  for (let i = 0; i < OPS; i++) {
    x ^= x << 13n;
    x ^= x >> 7n;
    x ^= x << 17n;
    x &= 0xffffffffffffffffn;
    vals[i] = 200 + Number(x % 9800n); // PDD-like: 200 ms .. 10 s
  }
  let now = 1_795_508_514_000;
  const stats = createStats({ config: 'modparam("statistics", "stat_series_profile", "p95: algorithm=p95 window=60 slots=6")', clock: () => now });
  const engine = () => {
    for (let b = 0; b < OPS; b += 1000) {
      now += 1;
      for (let i = b; i < b + 1000; i++) stats.updateStatSeries('p95', 'PDD_p95', vals[i]);
    }
  };
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 2 });
  const hdrJs = () => {
    for (let i = 0; i < OPS; i++) h.recordValue(vals[i]);
  };
  const reg = new client.Registry();
  const summary = new client.Summary({ name: 's', help: 'h', percentiles: [0.95], maxAgeSeconds: 60, ageBuckets: 6, registers: [reg] });
  const promSummary = () => {
    for (let i = 0; i < OPS / 4; i++) summary.observe(vals[i]);
  };
  const r = compare({ engine, hdrJs }, OPS, 5);
  const s = compare({ promSummary }, OPS / 4, 3);
  return [
    { name: 'sipstats p95 series update (window 60 s, 6 slots)', value: r.engine, unit: 'ops/s' },
    { name: 'hdr-histogram-js recordValue (2 digits, no window)', value: r.hdrJs, unit: 'ops/s', note: `sipstats is ${(r.engine / r.hdrJs).toFixed(2)}x` },
    { name: 'prom-client Summary observe (maxAgeSeconds=60)', value: s.promSummary, unit: 'ops/s', note: `sipstats is ${(r.engine / s.promSummary).toFixed(1)}x` },
    { name: 'p95 read: sipstats value', value: stats.getStat('PDD_p95') ?? NaN, unit: 'ms', note: `hdr-histogram-js says ${h.getValueAtPercentile(95)}` },
  ];
}

async function memory(): Promise<BenchResult[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return [];
  const N = 2000;
  let now = 1_795_508_514_000;
  const names = Array.from({ length: N }, (_, i) => `PDD_p95cust${i}`);
  gc();
  const before = process.memoryUsage();
  const stats = createStats({ config: 'modparam("statistics", "stat_series_profile", "p95: algorithm=p95 window=60 slots=6")', clock: () => now });
  for (let s = 0; s < 6; s++) {
    now += 10_000;
    for (let i = 0; i < N; i++) for (let j = 0; j < 20; j++) stats.updateStatSeries('p95', names[i], 300 + ((i * 31 + j * 977) % 5000));
  }
  await settle(gc);
  const after = process.memoryUsage();
  const bytes = (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / N;
  const slab = stats.engine.profile('p95')!.allocatedBytes() / N;
  return [
    { name: 'slot memory per p95 series (6 slots, 128 sparse buckets), allocated', value: slab, unit: 'B', note: 'exact: rows and rings / series' },
    { name: 'heap + buffers per p95 series (measured, GC noise)', value: bytes, unit: 'B' },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const mem = await memory();
  return [...speed(), ...mem];
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('percentiles', await run());
