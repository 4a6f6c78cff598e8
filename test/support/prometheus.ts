/**
 * A real Prometheus server (Debian `prometheus`) for tests: its own loopback port and a throwaway
 * TSDB, scraping the given targets every second. Stopped (and its directory removed) by stop().
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.ts';

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
  let out = '';
  const child: ChildProcess = spawn(bin, [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${out}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async query(expr) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await r.json()) as PrometheusQueryResult;
    },
    stop,
  };
}
