import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** Runs `fn` (which performs `ops` operations) `rounds` times after a warm-up; median ops/s. */
export function opsPerSec(fn: () => void, ops: number, rounds = 7): number {
  fn();
  fn();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(ops / dt);
  }
  return median(rates);
}

/** Measures several contenders in alternating order, round after round; median ops/s of each. */
export function compare(contenders: Record<string, () => void>, ops: number, rounds = 7): Record<string, number> {
  const names = Object.keys(contenders);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) {
    contenders[n]();
    contenders[n]();
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const t0 = process.hrtime.bigint();
      contenders[n]();
      rates[n].push(ops / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(rates[n])]));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function host(): string {
  return `${cpus()[0]?.model ?? 'cpu?'} x${cpus().length}, node ${process.version}`;
}

export function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(2);
}

export function printResults(title: string, results: BenchResult[]): void {
  console.log(`\n## ${title}`);
  for (const r of results) console.log(`  ${r.name.padEnd(58)} ${fmt(r.value).padStart(10)} ${r.unit}${r.note ? `   ${r.note}` : ''}`);
}

export const isMain = (url: string) => process.argv[1] !== undefined && url.endsWith(process.argv[1].replace(/^.*\//, '/').replace(/^\//, ''));

/**
 * A full GC, then a pause and another: V8 frees the backing stores of dead ArrayBuffers on a
 * background thread after a GC, so process.memoryUsage().arrayBuffers read right after gc() can
 * still count memory that is already garbage (seen: +30 % on the engine's memory figure).
 */
export async function settle(gc: () => void): Promise<void> {
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
}

/**
 * Runs `node --import tsx FILE ARGS` as a load generator: on core 1 when the bench is pinned to
 * core 0 (taskset), since it stands for other machines and must not take the server's core.
 * Resolves when it exits.
 */
export function runLoadGenerator(file: string, args: string[]): Promise<void> {
  const node = [process.execPath, '--import', 'tsx', file, ...args];
  const elsewhere = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  const child = elsewhere ? spawn('taskset', ['-c', '1', ...node], { stdio: 'inherit' }) : spawn(node[0], node.slice(1), { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', () => resolve()));
}
