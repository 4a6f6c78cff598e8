import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { createHttpServer, miRoute } from '../../src/app/http-server.ts';
import type { SipstatsHttpServer } from '../../src/app/http-server.ts';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { planDemoTraffic } from '../../src/web/demo-traffic.ts';
import { HistoryRecorder } from '../../src/web/history.ts';
import { dashboardRoutes } from '../../src/web/routes.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

/**
 * The dashboard in a real browser (Debian chromium driven by playwright-core): a server fed with
 * known traffic through the KPI pipeline on a frozen clock; the values on the page must equal
 * what the MI's get_statistics answers, for all traffic and for customers, in two windows; a
 * customer whose 1-minute window is empty shows "not enough data" (where the MI says 0); the
 * screenshot is saved to test-results/dashboard.png (SIPSTATS_UPDATE_SCREENSHOT=1 writes the
 * README's docs/dashboard.png instead).
 */

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'e2e-secret';
const SCREENSHOT = fileURLToPath(new URL(process.env.SIPSTATS_UPDATE_SCREENSHOT === '1' ? '../../docs/dashboard.png' : '../../test-results/dashboard.png', import.meta.url));
const END = Date.UTC(2026, 2, 10, 14, 30, 0);
const CARD_KPIS = ['ASR', 'NER', 'CCR', 'PDD', 'AST', 'ACD'] as const;

interface Packet {
  timeMs: number;
  srcIp: string;
  sip: Buffer;
}

/** A call with exactly known figures: answered (PDD, AST, talk in s) or refused with `code` after `pdd` ms. */
function knownCall(id: string, customer: string, t0: number, o: { code: number; pdd: number; ast?: number; acdS?: number }): Packet[] {
  const leg = { callId: id, fromTag: `f${id}`, customer };
  const br = newBranch();
  const p = (dt: number, sip: Buffer) => ({ timeMs: t0 + dt, srcIp: '192.0.2.7', sip });
  if (o.code !== 200) return [p(0, invite(leg, { branch: br })), p(o.pdd, reply(o.code, 'Failed', leg, { branch: br, toTag: 'x' }))];
  return [
    p(0, invite(leg, { branch: br })),
    p(o.pdd, reply(180, 'Ringing', leg, { branch: br, toTag: 'x' })),
    p(o.ast!, reply(200, 'OK', leg, { branch: br, toTag: 'x' })),
    p(o.ast! + 10, request('ACK', leg, { seq: 1, toTag: 'x' })),
    p(o.acdS! * 1000, request('BYE', leg, { seq: 2, toTag: 'x' })),
  ];
}

/** Builds the engine, history and routes, and feeds the traffic on a simulated clock ending at END. */
function fixture() {
  let now = END - 300_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const history = new HistoryRecorder(stats.engine);
  stats.addMiCommand(history.miCommand());
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = t) });
  const packets: Packet[] = [];
  // alpha, in the last minute: 7 answered (PDD 1000 ms, AST 3000 ms, 20 s calls), 3 busy → ASR 70, NER 100, CCR 100
  for (let i = 0; i < 10; i++) packets.push(...knownCall(`alpha${i}`, 'alpha', END - 50_000 + i * 2000, i < 7 ? { code: 200, pdd: 1000, ast: 3000, acdS: 20 } : { code: 486, pdd: 1000 }));
  // beta, in the last minute: 2 answered, 2 × 503, 1 × 486 → ASR 40, NER 60, CCR 60
  for (let i = 0; i < 5; i++) packets.push(...knownCall(`beta${i}`, 'beta', END - 40_000 + i * 1000, i < 2 ? { code: 200, pdd: 2000, ast: 5000, acdS: 10 } : { code: i < 4 ? 503 : 486, pdd: 1500 }));
  // stale: 4 answered calls five minutes ago; nothing since → its 1-minute window is empty
  for (let i = 0; i < 4; i++) packets.push(...knownCall(`stale${i}`, 'stale', END - 300_000 + i * 1000, { code: 200, pdd: 800, ast: 1800, acdS: 5 }));
  // the demo's customers (seeded), for four minutes: moving charts for the screenshot
  for (const m of planDemoTraffic({ from: END - 240_000, to: END - 3_000, until: END, callsPerSecond: 6, seed: 7 })) packets.push({ timeMs: m.timeMs, srcIp: m.srcIp, sip: Buffer.from(m.sip) });
  packets.sort((a, b) => a.timeMs - b.timeMs);
  let nextSecond = Math.ceil((END - 300_000) / 1000) * 1000;
  const second = (t: number) => {
    now = t;
    pipe.tick(t);
    history.sample(t);
  };
  for (const p of packets) {
    while (nextSecond <= p.timeMs) second((nextSecond += 1000) - 1000);
    pipe.onSip(p.sip, { timeMs: p.timeMs, srcIp: p.srcIp });
  }
  while (nextSecond <= END) second((nextSecond += 1000) - 1000);
  now = END;
  return { stats, history };
}

async function mi(url: string, method: string, params: unknown): Promise<Record<string, number | null>> {
  const r = await fetch(`${url}/mi`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await r.json()) as { result: Record<string, number | null> };
  return body.result;
}

async function kpiApi(url: string, window: string) {
  const r = await fetch(`${url}/api/kpis?window=${window}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  return (await r.json()) as { kpis: string[]; windows: Record<string, { overall: { n: number[] }; customers: Record<string, { n: number[] }> }> };
}

/** Waits until the page shows `window` and `customer` and has rendered after the change. */
async function view(page: Page, window: string, customer: string): Promise<void> {
  const before = Number((await page.evaluate(() => document.body.dataset.renders)) ?? 0);
  await page.waitForFunction(
    ([w, c, b]) => document.body.dataset.window === w && document.body.dataset.customer === c && Number(document.body.dataset.renders) > Number(b),
    [window, customer, String(before)] as const,
    { timeout: 15_000 },
  );
}

async function cards(page: Page): Promise<Record<string, { value: string; text: string }>> {
  return page.evaluate((kpis) => {
    const out: Record<string, { value: string; text: string }> = {};
    for (const k of kpis) {
      const e = document.querySelector<HTMLElement>(`[data-testid="kpi-${k}-value"]`)!;
      out[k] = { value: e.dataset.value ?? '', text: e.textContent ?? '' };
    }
    return out;
  }, [...CARD_KPIS, 'PDD_p95', 'AST_p95']);
}

/**
 * Every card equals the MI value of `<KPI><suffix><customer>` in `group`; a KPI without samples
 * (n = 0 by /api/kpis) shows "not enough data" instead. Returns how many cards held a value.
 */
async function assertCardsMatchMi(page: Page, url: string, window: '1m' | '10m', customer: string): Promise<number> {
  const group = window === '1m' ? 'stats' : 'stats_10m';
  const suffix = window === '1m' ? '' : '_10m';
  const values = await mi(url, 'get_statistics', { statistics: [`${group}:`] });
  const api = await kpiApi(url, window);
  const row = customer === '' ? api.windows[window].overall : api.windows[window].customers[customer];
  const shown = await cards(page);
  let withValue = 0;
  for (const k of [...CARD_KPIS, 'PDD_p95', 'AST_p95']) {
    const key = `${group}:${k}${suffix}${customer}`;
    const n = row === undefined ? 0 : row.n[api.kpis.indexOf(k)];
    const where = `${window} ${customer || 'all traffic'} ${k}`;
    if (n === 0 || !(key in values)) {
      assert.match(shown[k].text, /not enough data/, `${where}: no samples, so "not enough data" (MI ${values[key]})`);
      assert.equal(shown[k].value, '', where);
    } else {
      assert.equal(shown[k].value, String(values[key]), `${where}: page ${shown[k].value} vs MI ${key}=${values[key]}`);
      withValue++;
    }
  }
  return withValue;
}

test('the dashboard in chromium shows the MI values, "not enough data" for an empty window, and takes a screenshot', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; .ci/run does) — this test never downloads a browser`);
  const { stats, history } = fixture();
  const http: SipstatsHttpServer = createHttpServer({ token: TOKEN, routes: [miRoute(stats), ...dashboardRoutes(stats, history)] });
  const profileDir = mkdtempSync(join(tmpdir(), 'sipstats-chromium-'));
  let context: BrowserContext | undefined;
  try {
    const url = await http.listen('127.0.0.1', 0);
    // the exact figures of the hand-built traffic, as the MI reads them
    const m1 = await mi(url, 'get_statistics', { statistics: ['stats:', 'stats_10m:'] });
    assert.deepEqual(
      [m1['stats:ASRalpha'], m1['stats:NERalpha'], m1['stats:CCRalpha'], m1['stats:PDDalpha'], m1['stats:ASTalpha'], m1['stats:ACDalpha']],
      [70, 100, 100, 1000, 3000, 20],
    );
    assert.deepEqual([m1['stats:ASRbeta'], m1['stats:NERbeta'], m1['stats:CCRbeta']], [40, 60, 60]);
    assert.equal(m1['stats:ASRstale'], 0, 'the MI reads an empty window as 0 %');
    assert.deepEqual([m1['stats_10m:ASR_10mstale'], m1['stats_10m:PDD_10mstale'], m1['stats_10m:ACD_10mstale']], [100, 800, 5]);

    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 1000 },
      deviceScaleFactor: 1,
      timezoneId: 'UTC',
      locale: 'en-US',
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(url)) problems.push(`request outside the server: ${r.url()}`);
    });

    // the token is taken from ?token= once, kept in sessionStorage and dropped from the address bar
    await page.goto(`${url}/?token=${TOKEN}`);
    await view(page, '1m', '');
    assert.equal(new URL(page.url()).searchParams.get('token'), null);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sipstats.token')), TOKEN);

    // 1 minute, all traffic
    assert.ok((await assertCardsMatchMi(page, url, '1m', '')) >= 7, 'all-traffic cards hold values');
    // the customer table: default order is worst ASR first, rows without data last
    const order = await page.$$eval('[data-testid="customer-row"]', (trs) => trs.map((tr) => [tr.getAttribute('data-customer'), tr.querySelector<HTMLElement>('[data-kpi="ASR"]')!.dataset.value ?? '']));
    const asrs = order.filter(([, v]) => v !== '').map(([, v]) => Number(v));
    assert.deepEqual(asrs, [...asrs].sort((a, b) => a - b), `worst first: ${JSON.stringify(order)}`);
    assert.equal(order[order.length - 1][0], 'stale', 'the customer without 1-minute data is last');
    const names = order.map(([n]) => n).sort();
    assert.deepEqual(names, ['acme', 'alpha', 'beta', 'globex', 'initech', 'stale', 'umbrella']);
    // table cells equal the MI too
    for (const c of ['alpha', 'beta', 'acme']) {
      for (const k of CARD_KPIS) {
        const v = await page.$eval(`[data-testid="customer-row"][data-customer="${c}"] [data-kpi="${k}"]`, (td) => (td as HTMLElement).dataset.value);
        assert.equal(v, String(m1[`stats:${k}${c}`]), `table ${c} ${k}`);
      }
    }
    const staleCell = await page.$eval('[data-testid="customer-row"][data-customer="stale"] [data-kpi="ASR"]', (td) => ({ text: td.textContent, title: td.getAttribute('title') }));
    assert.deepEqual(staleCell, { text: 'n/a', title: 'not enough data' });

    // search narrows the table; sorting by a column header reorders it
    await page.fill('[data-testid="customer-search"]', 'ALP');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="customer-row"]').length === 1);
    assert.equal(await page.getAttribute('[data-testid="customer-row"]', 'data-customer'), 'alpha');
    await page.fill('[data-testid="customer-search"]', '');
    await page.click('[data-testid="sort-PDD"]');
    const pdds = await page.$$eval('[data-testid="customer-row"] [data-kpi="PDD"]', (tds) => tds.map((td) => (td as HTMLElement).dataset.value ?? '').filter((v) => v !== '').map(Number));
    assert.deepEqual(pdds, [...pdds].sort((a, b) => b - a), 'PDD: longest first');

    // a customer: click its row
    await page.click('[data-testid="customer-row"][data-customer="alpha"]');
    await view(page, '1m', 'alpha');
    assert.equal(await assertCardsMatchMi(page, url, '1m', 'alpha'), 8);
    assert.equal(await page.textContent('[data-testid="scope"]'), 'Customer alpha');

    // the customer with no data in this window: "not enough data", not the MI's 0 %
    await page.click('[data-testid="customer-row"][data-customer="stale"]');
    await view(page, '1m', 'stale');
    const staleCards = await cards(page);
    for (const k of CARD_KPIS) assert.equal(staleCards[k].text, 'not enough data', `stale ${k}`);
    assert.equal(await assertCardsMatchMi(page, url, '1m', 'stale'), 0);

    // 10 minutes: the same customer has values now, equal to the MI's
    await page.click('[data-testid="window-10m"]');
    await view(page, '10m', 'stale');
    assert.equal(await assertCardsMatchMi(page, url, '10m', 'stale'), 8);
    assert.equal((await cards(page)).ASR.text, '100 %');
    await page.click('[data-testid="scope-clear"]');
    await view(page, '10m', '');
    assert.ok((await assertCardsMatchMi(page, url, '10m', '')) >= 7);
    await page.click('[data-testid="customer-row"][data-customer="acme"]');
    await view(page, '10m', 'acme');
    assert.ok((await assertCardsMatchMi(page, url, '10m', 'acme')) >= 7);

    // back to the first view for the screenshot (worst ASR first); the charts have drawn data
    await page.click('[data-testid="sort-ASR"]');
    await page.click('[data-testid="scope-clear"]');
    await view(page, '10m', '');
    await page.click('[data-testid="window-1m"]');
    await view(page, '1m', '');
    const firstChart = await page.evaluate(() => performance.getEntriesByName('sipstats:first-chart').length);
    assert.equal(firstChart, 1, 'the first chart with data was drawn');
    assert.equal(await page.locator('[data-testid="chart-perc"] canvas').count(), 1);
    const started = await page.$eval('[data-testid="counter-calls_started"] td', (td) => (td as HTMLElement).dataset.value);
    assert.equal(started, String(stats.getStat('sipstats:calls_started')));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await context?.close();
    await http.close();
    rmSync(profileDir, { recursive: true, force: true });
  }
});
