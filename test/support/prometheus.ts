/**
 * A real Prometheus server (Debian `prometheus`) for tests: its own loopback port and a throwaway
 * TSDB, scraping the given targets every second. Stopped (and its directory removed) by stop().
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.ts';
import { startDaemon } from './daemon.ts';

/** Where the `prometheus` server is, or a thrown Error telling how to install it (tests fail, not skip). */
export function prometheusPath(): string {
  if (spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0) return 'prometheus';
  throw new Error('prometheus not found: install the Debian package `prometheus` (apt-get install prometheus; scripts/install-test-tools.sh does)');
}

export interface PrometheusQueryResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] };
}

export interface PrometheusInstance {
  readonly url: string;
  /** An instant query (GET /api/v1/query): Prometheus' answer as it is, errors included. */
  query(expr: string): Promise<PrometheusQueryResult>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (`HOST:PORT` serving /metrics) every second. */
export async function startPrometheus(targets: readonly string[]): Promise<PrometheusInstance> {
  const bin = prometheusPath();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-prom-'));
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: sipstats\n    static_configs:\n      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]\n`);
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon({
    name: 'prometheus',
    bin,
    args: [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    readyUrl: `${url}/-/ready`,
    dir,
    readyMs: 30_000,
    graceMs: 5000,
  });
  const stop = daemon.stop;
  return {
    url,
    async query(expr) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await r.json()) as PrometheusQueryResult;
    },
    stop,
  };
}
