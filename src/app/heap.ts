import { setFlagsFromString } from 'node:v8';

/**
 * For a long process (a server, a replay): V8 may let the heap grow only `percent` past what is
 * still in use after each full collection, instead of up to 4× its size, so that the process's
 * memory follows what it holds rather than how much went through it (replay: the file; serve: a
 * burst of new customers, measured 12.6 -> 9.3-9.5 KB of RSS a customer with 50 %). Not a heap limit:
 * nothing fails when more is in use. Process-wide, so it is the command line's call. Returns the
 * percent applied, or null when node was started with its own `--heap-growing-percent` (kept).
 */
export function boundHeapGrowth(percent: number): number | null {
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return null;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}

/**
 * For a replay and a server: V8 doubles the young generation (where new objects are made) as a
 * process allocates fast, up to 32 MB of semi-spaces, and keeps what it grew. A replay allocates
 * fast all the way and holds a large set of long-lived objects (the calls up), so that growth is
 * RSS the process never gives back: on the benchmark's capture of 62 000 calls up at once, peak
 * RSS 177 MB with it, 138–143 MB at the first size (2 MB), for about 5–10 % more replay time (more,
 * smaller scavenges; medians of 8 runs each on a noisy machine: 1.04–1.09×). A server grows it in
 * its first burst and keeps it at rest (30 MB of a burst of 10 000 new customers). Set at run time
 * (V8 reads the growth factor at each collection; a size given on the command line is fixed at
 * start). Process-wide, so it is the command line's call. Returns false when node was started with
 * its own semi-space flags, on its command line or in NODE_OPTIONS (kept).
 */
export function keepYoungGenerationSmall(): boolean {
  const own = /(^|\s)--(semi[-_]space[-_]growth[-_]factor|max[-_]semi[-_]space[-_]size)\b/;
  if (process.execArgv.some((a) => own.test(a)) || own.test(process.env.NODE_OPTIONS ?? '')) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}
