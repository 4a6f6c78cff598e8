/**
 * A node with persistence, fed continuously, for the restart tests (test/integration/persist.test.ts):
 *   node --import tsx test/support/persist-child.ts DATA_DIR INTERVAL_MS
 * Prints JSON lines on stdout: {"ready":…} once restored, {"fed":n} after every feeding turn,
 * {"saved":n} when a snapshot holding the first n feeds is on disk, and on SIGTERM, after the final
 * save, {"final":{name:value}}. Real clock; windows of an hour, so nothing expires during a test.
 */
import { createStats, parseOpenSipsConfig } from '../../src/index.ts';
import type { Stats } from '../../src/index.ts';
import { attachPersistence } from '../../src/persist/attach.ts';

export const CHILD_CONFIG = `
modparam("statistics", "variable", "fed")
modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate window=3600 slots=6 group=stats")
modparam("statistics", "stat_series_profile", "perc: algorithm=percentage window=3600 slots=6 group=stats")
modparam("statistics", "stat_series_profile", "avg: algorithm=average window=3600 slots=6 group=stats")
`;
export const CHILD_STATS = ['fed', 'total', 'ok', 'lat', 'c0', 'c1', 'c2'] as const;

export function childStats(clock: () => number = Date.now): Stats {
  const r = parseOpenSipsConfig(CHILD_CONFIG);
  if (!r.ok) throw new Error('bad child config');
  return createStats({ config: r.value, clock });
}

/** Feed number n (1-based): the same updates in every run, so the parent can check values exactly. */
export function feed(stats: Stats, n: number): void {
  stats.updateStat('fed', 1);
  stats.updateStatSeries('acc', 'total', 1);
  stats.updateStatSeries('perc', 'ok', n % 3 === 0 ? -1 : 1);
  stats.updateStatSeries('avg', 'lat', n % 100);
  stats.updateStatSeries('acc', `c${n % 3}`, n);
}

async function main(): Promise<void> {
  const [dir, interval] = process.argv.slice(2);
  const stats = childStats();
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  let fed = 0;
  const atStart = new Map<number, number>();
  const p = await attachPersistence(stats, {
    dataDir: dir,
    intervalMs: Number(interval),
    log: (level, m) => process.stderr.write(`${level}: ${m}\n`),
    onSaveStart: (seq) => atStart.set(seq, fed),
    onSaved: (r) => out({ saved: atStart.get(r.seq) }),
  });
  fed = stats.getStat('fed') ?? 0;
  out({ ready: p.restoreReport.source, fed });
  let stop = false;
  const turn = () => {
    if (stop) return;
    for (let i = 0; i < 20; i++) feed(stats, ++fed);
    out({ fed });
    setTimeout(turn, 1);
  };
  turn();
  process.on('SIGTERM', () => {
    stop = true;
    void p.close().then(() => {
      out({ final: Object.fromEntries(CHILD_STATS.map((n) => [n, stats.getStat(n)])) });
      process.exit(0);
    });
  });
}

if (process.argv[1]?.endsWith('persist-child.ts')) void main();
