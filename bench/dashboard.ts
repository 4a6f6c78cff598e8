/**
 * Dashboard benchmark, everything on 127.0.0.1, with 1 000 customers × 3 windows × 8 KPIs
 * (24 000 KPI series) whose values change between polls:
 * - page weight: bytes of HTML + JS + CSS + uPlot transferred (gzip), and uncompressed (every file
 *   the page loads, from the browser's resource timings: each of the page's ES modules counts);
 * - time to first chart: navigation start → the first uPlot chart drawn with data (the
 *   `sipstats:first-chart` mark set by charts.js), cold (fresh profile) and warm (reloads);
 * - update cost in the browser: script + layout ms per poll cycle (measured by render.js around its
 *   render), with the default 200 table rows and with all 1 000 rows shown;
 * - server side: /api/kpis response time and size (all 3 windows, and the one window the page
 *   asks for), the snapshot alone, /api/history, and one history sample of every series.
 * Needs Debian's chromium at /usr/bin/chromium for the browser figures (skipped with a note otherwise).
 */
import { DEFAULTS } from '../src/config/defaults.ts';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { createHttpServer } from '../src/http/server.ts';
import { miRoute } from '../src/mi/route.ts';
import { createStats } from '../src/index.ts';
import { KPI_MODPARAMS } from '../src/kpi/catalogue.ts';
import { kpiHistory } from '../src/kpi/kpi-history.ts';
import { dashboardRoutes, kpiSnapshot } from '../src/web/routes.ts';
import type { BenchResult } from './lib.ts';
import { median, printResults } from './lib.ts';

const CHROMIUM = '/usr/bin/chromium';
const CUSTOMERS = 1000;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WINDOWS = [
  { suffix: '', perc: 'perc', avg: 'avg', p95: 'p95' },
  { suffix: '_10m', perc: '10m-perc', avg: '10m-avg', p95: '10m-p95' },
  { suffix: '_1h', perc: '1h-perc', avg: '1h-avg', p95: '1h-p95' },
];

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function get(agent: Agent, port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    })
      .on('error', reject)
      .end();
  });
}

/** Every KPI of every customer (and of all traffic) gets a few samples: the values move each call. */
function traffic(update: (p: string, n: string, v: number) => void, rnd: () => number, calls: number): void {
  for (let c = -1; c < CUSTOMERS; c++) {
    const cust = c < 0 ? '' : `cust${String(c).padStart(4, '0')}`;
    for (const w of WINDOWS) {
      for (let i = 0; i < calls; i++) {
        const ok = rnd() < 0.3 + (c % 7) / 10;
        update(w.perc, `ASR${w.suffix}${cust}`, ok ? 1 : -1);
        update(w.perc, `NER${w.suffix}${cust}`, ok || rnd() < 0.5 ? 1 : -1);
        update(w.perc, `CCR${w.suffix}${cust}`, ok || rnd() < 0.8 ? 1 : -1);
        const pdd = 500 + rnd() * 4000;
        update(w.avg, `PDD${w.suffix}${cust}`, pdd);
        update(w.p95, `PDD_p95${w.suffix}${cust}`, pdd);
        if (ok) {
          update(w.avg, `AST${w.suffix}${cust}`, pdd + 2000 + rnd() * 6000);
          update(w.p95, `AST_p95${w.suffix}${cust}`, pdd + 2000 + rnd() * 6000);
          update(w.avg, `ACD${w.suffix}${cust}`, 5 + rnd() * 200);
        }
      }
    }
  }
}

async function renderCosts(page: Page, polls: number): Promise<number[]> {
  const start = await page.evaluate(() => (window as unknown as { sipstatsDashboard: { renderMs: number[] } }).sipstatsDashboard.renderMs.length);
  await page.waitForFunction(
    ([s, n]) => (window as unknown as { sipstatsDashboard: { renderMs: number[] } }).sipstatsDashboard.renderMs.length >= s + n,
    [start, polls] as const,
    { timeout: (polls + 10) * 2000, polling: 200 },
  );
  return page.evaluate((s) => (window as unknown as { sipstatsDashboard: { renderMs: number[] } }).sipstatsDashboard.renderMs.slice(s), start);
}

export async function run(): Promise<BenchResult[]> {
  const stats = createStats({ config: KPI_MODPARAMS });
  const history = kpiHistory(stats.engine);
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const update = (p: string, n: string, v: number) => stats.updateStatSeries(p, n, v);
  traffic(update, rnd, 4);
  const out: BenchResult[] = [];

  // ---- server side ------------------------------------------------------------------------
  const t0 = process.hrtime.bigint();
  history.sample(Date.now());
  out.push({ name: `history.sample(): first, ${history.size} series (allocates)`, value: ms(t0), unit: 'ms' });
  const sampleTimes: number[] = [];
  for (let i = 1; i <= 7; i++) {
    traffic(update, rnd, 1);
    const t = process.hrtime.bigint();
    history.sample(Date.now() + i * 1000);
    sampleTimes.push(ms(t));
  }
  out.push({ name: `history.sample(): 1-minute profiles due, ${history.size} series`, value: median(sampleTimes), unit: 'ms', note: 'median of 7, once a second' });
  const snaps: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = process.hrtime.bigint();
    kpiSnapshot(stats.engine);
    snaps.push(ms(t));
  }
  out.push({ name: 'kpiSnapshot(), 1 000 customers × 3 windows (in-process)', value: median(snaps), unit: 'ms' });

  const server = createHttpServer({ limits: DEFAULTS.http, routes: [miRoute(stats), ...dashboardRoutes(stats, history)] });
  const url = await server.listen('127.0.0.1', 0);
  const port = Number(new URL(url).port);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sampler = setInterval(() => history.sample(Date.now()), 1000);
  const mover = setInterval(() => traffic(update, rnd, 1), 500);
  const profileDir = mkdtempSync(join(tmpdir(), 'sipstats-bench-chromium-'));
  try {
    for (const [label, path] of [
      ['/api/kpis, all 3 windows', '/api/kpis'],
      ['/api/kpis?window=1m (what the page polls)', '/api/kpis?window=1m'],
      ['/api/history?window=1m&customer=cust0042', '/api/history?window=1m&customer=cust0042'],
    ] as const) {
      let size = 0;
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t = process.hrtime.bigint();
        size = (await get(agent, port, path)).length;
        times.push(ms(t));
      }
      out.push({ name: `${label}: response time`, value: median(times.slice(3)), unit: 'ms', note: 'median, keep-alive, client in the same process' });
      out.push({ name: `${label}: body size`, value: size / 1024, unit: 'KiB', note: 'JSON, not compressed' });
    }

    // ---- browser --------------------------------------------------------------------------
    if (!existsSync(CHROMIUM)) {
      out.push({ name: 'browser figures', value: 0, unit: '-', note: `skipped: ${CHROMIUM} missing (apt-get install chromium)` });
      return out;
    }
    const context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1360, height: 1000 } });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const firstChart = () =>
        page.waitForFunction(() => performance.getEntriesByName('sipstats:first-chart').length > 0, undefined, { timeout: 30_000 }).then(() =>
          page.evaluate(() => performance.getEntriesByName('sipstats:first-chart')[0].startTime),
        );
      await page.goto(url);
      const cold = await firstChart();
      const weight = await page.evaluate(() => {
        const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')] as PerformanceResourceTiming[];
        const page = entries.filter((e) => !e.name.includes('/api/'));
        return { transferred: page.reduce((s, e) => s + e.transferSize, 0), decoded: page.reduce((s, e) => s + e.decodedBodySize, 0), files: page.length };
      });
      out.push({ name: `page weight: HTML + JS + CSS + uPlot, ${weight.files} files, transferred`, value: weight.transferred / 1024, unit: 'KiB', note: 'gzip, headers included' });
      out.push({ name: 'page weight: uncompressed', value: weight.decoded / 1024, unit: 'KiB' });
      out.push({ name: 'time to first chart, cold (fresh profile)', value: cold, unit: 'ms', note: 'navigation start → first chart drawn with data' });
      const warm: number[] = [];
      for (let i = 0; i < 5; i++) {
        await page.reload();
        warm.push(await firstChart());
      }
      out.push({ name: 'time to first chart, warm (reload, revalidated assets)', value: median(warm), unit: 'ms', note: 'median of 5' });

      const costs = await renderCosts(page, 8);
      out.push({ name: 'update cost per poll, 1 000 customers, 200 rows shown', value: median(costs), unit: 'ms', note: `median of ${costs.length}; max ${Math.max(...costs).toFixed(1)} ms (script + layout)` });
      await page.click('[data-testid="show-all"]');
      const all = await renderCosts(page, 8);
      out.push({ name: 'update cost per poll, 1 000 customers, all 1 000 rows shown', value: median(all), unit: 'ms', note: `median of ${all.length}; max ${Math.max(...all).toFixed(1)} ms` });
    } finally {
      await context.close();
    }
  } finally {
    clearInterval(sampler);
    clearInterval(mover);
    agent.destroy();
    await server.close();
    rmSync(profileDir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  printResults('dashboard', await run());
}
