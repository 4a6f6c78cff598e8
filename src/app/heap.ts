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
