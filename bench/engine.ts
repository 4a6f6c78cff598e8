/**
 * Engine benchmark: update_stat_series by name with 1 000 and 100 000 distinct series, and
 * reads, against prom-client Counter.inc (one label), prom-client Summary with maxAgeSeconds (its
 * sliding window) and the raw limit (a Map lookup plus a Float64Array add). The engine gets a coarse
 * clock advanced once per batch of 1 000 updates, as the server does per event-loop turn.
 * Memory: bytes per 60-slot average series vs. the raw slot payload (60 slots × sum+count × 8 B).
 * Every contender runs in a fresh process (no contender's garbage or JIT state slows another),
 * in alternating order over three rounds; medians.
 */
import client from 'prom-client';
import { createStats } from '../src/index.ts';
import type { BenchResult } from './lib.ts';
import { median, opsPerSec, printResults, settle } from './lib.ts';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BATCH = 1000;

function workload(n: number, ops: number) {
  const names = Array.from({ length: n }, (_, i) => `cust${i}_ASR`);
  // a fixed pseudo-random access sequence, the same for every contender
  const idx = new Uint32Array(ops);
  let x = 2463534242;
  for (let i = 0; i < ops; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    idx[i] = (x >>> 0) % n;
  }
  const vals = new Float64Array(ops);
  for (let i = 0; i < ops; i++) vals[i] = (i % 7) * 100 + 1;
  return { names, idx, vals };
}

type Contender = 'engine' | 'reads' | 'promCounter' | 'promCounterLabels' | 'promSummary' | 'rawLimit';

/** One contender, measured in this (fresh) process: warm-up, then the median of 5 timed passes. */
function measureOne(contender: Contender, n: number, ops: number): number {
  const { names, idx, vals } = workload(n, ops);
  let now = 1_795_508_514_000;
  const stats = createStats({ config: 'modparam("statistics", "stat_series_profile", "avg: algorithm=average window=60 slots=60")', clock: () => now });
  for (const nm of names) stats.updateStatSeries('avg', nm, 1);
  let fn: () => void;
  let count = ops;
  let sink = 0;
  switch (contender) {
    case 'engine':
      fn = () => {
        for (let b = 0; b < ops; b += BATCH) {
          now += 1; // coarse clock: one tick per batch
          const end = Math.min(ops, b + BATCH);
          for (let i = b; i < end; i++) stats.updateStatSeries('avg', names[idx[i]], vals[i]);
        }
      };
      break;
    case 'reads':
      fn = () => {
        for (let i = 0; i < ops; i++) sink += stats.getStat(names[idx[i]]) ?? 0;
      };
      break;
    case 'promCounter': {
      const counter = new client.Counter({ name: 'c', help: 'h', labelNames: ['series'], registers: [new client.Registry()] });
      fn = () => {
        for (let i = 0; i < ops; i++) counter.inc({ series: names[idx[i]] }, vals[i]);
      };
      break;
    }
    case 'promCounterLabels': {
      const counter = new client.Counter({ name: 'c', help: 'h', labelNames: ['series'], registers: [new client.Registry()] });
      fn = () => {
        for (let i = 0; i < ops; i++) counter.labels(names[idx[i]]).inc(vals[i]);
      };
      break;
    }
    case 'promSummary': {
      const summary = new client.Summary({ name: 's', help: 'h', labelNames: ['series'], maxAgeSeconds: 60, ageBuckets: 5, registers: [new client.Registry()] });
      count = Math.min(ops, 200_000);
      fn = () => {
        for (let i = 0; i < count; i++) summary.observe({ series: names[idx[i]] }, vals[i]);
      };
      break;
    }
    case 'rawLimit': {
      const map = new Map<string, number>();
      names.forEach((nm, i) => map.set(nm, i * 2));
      const raw = new Float64Array(n * 2);
      fn = () => {
        for (let i = 0; i < ops; i++) raw[map.get(names[idx[i]])!] += vals[i];
      };
      break;
    }
  }
  const r = opsPerSec(fn, count, contender === 'promSummary' ? 3 : 5);
  if (sink === -1) console.log(sink);
  return r;
}

/** Every contender in fresh processes, in alternating order round after round; medians. */
function speed(n: number, ops: number): BenchResult[] {
  const contenders: Contender[] = ['engine', 'reads', 'promCounter', 'promCounterLabels', 'promSummary', 'rawLimit'];
  const rates: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c, []]));
  for (let round = 0; round < 3; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', c, String(n), String(ops)], { encoding: 'utf8' });
      rates[c].push(Number(out.trim()));
    }
  }
  const r = Object.fromEntries(contenders.map((c) => [c, median(rates[c])])) as Record<Contender, number>;
  const tag = `${n.toLocaleString('en')} series`;
  return [
    { name: `engine update_stat_series (${tag})`, value: r.engine, unit: 'ops/s' },
    { name: `engine getStat read (${tag})`, value: r.reads, unit: 'ops/s' },
    { name: `prom-client Counter.inc 1 label (${tag})`, value: r.promCounter, unit: 'ops/s', note: `engine is ${(r.engine / r.promCounter).toFixed(1)}x (target >= 5x)` },
    { name: `prom-client labels(name).inc() (${tag})`, value: r.promCounterLabels, unit: 'ops/s', note: `engine is ${(r.engine / r.promCounterLabels).toFixed(1)}x (the other usual spelling of (a))` },
    { name: `prom-client Summary maxAgeSeconds=60 (${tag})`, value: r.promSummary, unit: 'ops/s', note: `engine is ${(r.engine / r.promSummary).toFixed(1)}x (target >= 20x)` },
    { name: `raw Map lookup + Float64Array add (${tag})`, value: r.rawLimit, unit: 'ops/s', note: `engine is ${((100 * r.engine) / r.rawLimit).toFixed(0)}% of raw (target >= 50%)` },
    // how far the raw limit itself (a Map, no window, no checks) is ahead of each peer: a Map-based
    // engine could not do better than these ratios
    { name: `  raw limit itself vs Counter.inc (${tag})`, value: r.rawLimit / r.promCounter, unit: 'x', note: `and ${(r.rawLimit / r.promSummary).toFixed(1)}x Summary` },
  ];
}

async function memory(): Promise<BenchResult[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return [{ name: 'memory per 60-slot average series', value: NaN, unit: 'B', note: 'run node with --expose-gc' }];
  const N = 50_000;
  let now = 1_795_508_514_000;
  const names = Array.from({ length: N }, (_, i) => `cust${i}_PDD`);
  gc();
  const before = process.memoryUsage();
  const stats = createStats({ config: 'modparam("statistics", "stat_series_profile", "avg: algorithm=average window=60 slots=60")', clock: () => now });
  // fill all 60 slots of every series
  for (let s = 0; s < 60; s++) {
    now += 1000;
    for (const nm of names) stats.updateStatSeries('avg', nm, s);
  }
  await settle(gc);
  const after = process.memoryUsage();
  const bytes = (after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers)) / N;
  const raw = 60 * 2 * 8;
  const slots = stats.engine.profile('avg')!.allocatedBytes() / N;
  if (stats.getStat(names[0]) === -1) console.log('unreachable');
  return [
    { name: 'slot memory per 60-slot average series, allocated', value: slots, unit: 'B', note: 'exact: rows and rings / series' },
    {
      name: 'memory per 60-slot average series (name and index included)',
      value: bytes,
      unit: 'B',
      note: `${(bytes / raw).toFixed(2)}x the raw slot payload of ${raw} B; limit 1.3x+150 = ${(1.3 * raw + 150).toFixed(0)} B`,
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  // memory first, in a clean heap
  const mem = await memory();
  return [...speed(1000, 2_000_000), ...speed(100_000, 2_000_000), ...mem];
}

if (process.argv[2] === '--one') {
  process.stdout.write(`${measureOne(process.argv[3] as Contender, Number(process.argv[4]), Number(process.argv[5]))}\n`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  printResults('engine', await run());
}
