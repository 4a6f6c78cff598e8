import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeIndexer } from '../src/ingest/load-native-index.ts';

/**
 * The native frame indexer, as `sipstats serve` uses it (null when it is not built: the pipelines
 * then read every frame in JavaScript, and the benches say so).
 */
export const INDEXER = nativeIndexer().indexer;
export const INDEXER_WHY = nativeIndexer().why;

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

/**
 * A contender: a function timed as a whole, or `prepare`, untimed, returning the function to time
 * (the input a pipeline reads is made before the clock starts: the harness' cost is not the
 * pipeline's).
 */
export type Contender = (() => void) | { prepare(): () => void };

/** Measures several contenders in alternating order, round after round; median ops/s of each. */
export function compare(contenders: Record<string, Contender>, ops: number, rounds = 7): Record<string, number> {
  const names = Object.keys(contenders);
  const rates: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const timed = (n: string): (() => void) => {
    const c = contenders[n];
    return typeof c === 'function' ? c : c.prepare();
  };
  for (const n of names) {
    timed(n)();
    timed(n)();
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const fn = timed(n);
      const t0 = process.hrtime.bigint();
      fn();
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
 * Frames laid end to end in one buffer, as a UDP receiver hands a batch of datagrams over: the
 * pipeline then reads each as a view of the batch (`frame(i)`), made when it is read, as
 * src/ingest/hep-udp.ts does, and the garbage collector sees one buffer, not a long-lived object
 * per frame (which a live server never holds).
 */
export class FrameBatch {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private bytes: Buffer = Buffer.alloc(0);
  private at = new Uint32Array(1);
  /** Frames in the batch (once `seal`ed). */
  count = 0;

  /** Adds a copy of `f`. */
  add(f: Buffer): void {
    this.chunks.push(Buffer.from(f));
    this.size += f.length;
  }

  /** Lays the frames added end to end; `frame(i)` reads them from then on. */
  seal(): this {
    this.bytes = Buffer.concat(this.chunks, this.size);
    this.at = new Uint32Array(this.chunks.length + 1);
    for (let i = 0; i < this.chunks.length; i++) this.at[i + 1] = this.at[i] + this.chunks[i].length;
    this.count = this.chunks.length;
    this.chunks.length = 0;
    return this;
  }

  frame(i: number): Buffer {
    return this.bytes.subarray(this.at[i], this.at[i + 1]);
  }
}

/** A frame the C load generator sends, with the decimal fields it numbers per call. */
export interface PacedFrame {
  buf: Buffer;
  /**
   * At `at`, the call number (modulo `mod`, when not 0, plus `add`) as `width` decimal digits, or
   * (`kind: 'binary'`) `width` bytes big-endian; `kind: 'clock'`: the sender's wall clock in Unix
   * seconds, `width` bytes big-endian (a HEP capture time).
   */
  patches: { at: number; width: number; mod?: number; add?: number; kind?: 'digits' | 'binary' | 'clock' }[];
}

let pacer: string | null | undefined;

/**
 * The load generator in C (bench/tools/udp-pace.c, sendmmsg), built once per source version into
 * the temporary directory with the system's `cc`: a Node sender spends about as much CPU per
 * datagram as the receiver it measures, and the machine has two cores. Null when no compiler.
 */
export function udpPace(): string | null {
  if (pacer !== undefined) return pacer;
  const src = fileURLToPath(new URL('./tools/udp-pace.c', import.meta.url));
  const text = readFileSync(src);
  const bin = join(tmpdir(), `sipstats-udp-pace-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  if (!existsSync(bin)) {
    const r = spawnSync('cc', ['-O2', '-o', `${bin}.tmp`, src], { stdio: 'inherit' });
    if (r.status !== 0) return (pacer = null);
    renameSync(`${bin}.tmp`, bin);
  }
  return (pacer = bin);
}

/**
 * Sends `calls` times the frames (one call's messages) to 127.0.0.1:`port` at `rate` datagrams/s
 * with the C load generator, on core 1 when taskset is there (it stands for other machines).
 * Resolves with the seconds it took to send them.
 */
export async function pacedSend(port: number, rate: number, calls: number, frames: PacedFrame[]): Promise<number> {
  const bin = udpPace();
  if (bin === null) throw new Error('bench: the load generator needs a C compiler (cc): apt-get install gcc');
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  u32(frames.length);
  for (const f of frames) {
    u32(f.buf.length);
    parts.push(f.buf);
    u32(f.patches.length);
    for (const p of f.patches) {
      u32(p.at);
      u32(p.width);
      u32(p.mod ?? 0);
      u32(p.add ?? 0);
      u32(['digits', 'binary', 'clock'].indexOf(p.kind ?? 'digits'));
    }
  }
  const file = join(tmpdir(), `sipstats-pace-${process.pid}-${Date.now()}.bin`);
  writeFileSync(file, Buffer.concat(parts));
  try {
    const args = [String(port), String(rate), String(calls), file];
    const elsewhere = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
    const child = elsewhere ? spawn('taskset', ['-c', '1', bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const m = /sent (\d+) in ([\d.]+) s/.exec(out);
    if (code !== 0 || m === null) throw new Error(`bench: udp-pace exited with ${code}: ${out}`);
    return Number(m[2]);
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Runs a command under /usr/bin/time -v: wall seconds, peak RSS (MB), stdout. `wholeMachine`: on
 * every core, as a user runs it, not on the one core bench/run.ts pins the benchmarks to (a child
 * inherits the pin; taskset widens it again when it is there).
 */
export function timed(cmd: string, args: string[], wholeMachine = false): { seconds: number; maxRssMB: number; stdout: string; status: number | null } {
  const haveTime = existsSync('/usr/bin/time');
  const line = haveTime ? ['/usr/bin/time', '-v', cmd, ...args] : [cmd, ...args];
  if (wholeMachine && spawnSync('taskset', ['-c', `0-${cpus().length - 1}`, 'true']).status === 0) line.unshift('taskset', '-c', `0-${cpus().length - 1}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(line[0], line.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  return { seconds, maxRssMB: m ? Number(m[1]) / 1024 : NaN, stdout: r.stdout ?? '', status: r.status };
}

/** The 24-byte header of a classic pcap file: little-endian, microseconds, Ethernet, snaplen 256 KiB (the generated captures stream records after it). */
export function pcapFileHeader(): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(1, 20);
  return head;
}
