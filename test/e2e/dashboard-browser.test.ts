import { historyCommand } from '../../src/mi/history-command.ts';
import { DEFAULTS } from '../../src/config/defaults.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { createHttpServer, sessionRoute } from '../../src/http/server.ts';
import { miRoute } from '../../src/mi/route.ts';
import type { SipstatsHttpServer } from '../../src/http/server.ts';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS, KPIS, NOW, seriesName, WINDOWS } from '../../src/kpi/catalogue.ts';
import type { Scope } from '../../src/kpi/catalogue.ts';
import { PrefixTable } from '../../src/kpi/dimensions.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { planDemoTraffic } from '../../src/demo/traffic.ts';
import { kpiHistory } from '../../src/kpi/kpi-history.ts';
import { dashboardRoutes } from '../../src/web/routes.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

/**
 * The dashboard in a real browser (Debian chromium driven by playwright-core): a server fed with
 * known traffic through the KPI pipeline on a frozen clock; the values on the page must equal
 * what the MI's get_statistics answers, for all traffic and for customers, in two windows; a
 * customer whose 1-minute window is empty shows "not enough data" (where the MI says 0); calls
 * through a platform (kpi.platform) to four carriers and five destinations fill the Carriers and
 * Destinations views (worst first) and the carrier × destination heat map, and a click on a
 * carrier or a cell loads its charts; the
 * screenshot is saved to test-results/dashboard.png (SIPSTATS_UPDATE_SCREENSHOT=1 writes the
 * README's docs/dashboard.png instead).
 */

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'e2e-secret';
const SCREENSHOT = fileURLToPath(new URL(process.env.SIPSTATS_UPDATE_SCREENSHOT === '1' ? '../../docs/dashboard.png' : '../../test-results/dashboard.png', import.meta.url));
const END = Date.UTC(2026, 2, 10, 14, 30, 0);
/** The KPIs shown as cards: the catalogue's (the page takes them from /api/kpis `info`). */
const CARD_KPIS = KPIS.filter((k) => k.card).map((k) => k.name);
/**
 * The KPIs shown under a card: those whose `of` names it (the percentiles of PDD and AST, the
 * average of CC), and a card's `<name>_…` variants in its unit (calls setting up, most calls up, the
 * busiest second).
 */
const EXTRA_KPIS = KPIS.filter((k) => !k.card && CARD_KPIS.some((c) => (k.of !== undefined ? k.of === c : k.name.startsWith(`${c}_`) && k.unit === KPIS.find((d) => d.name === c)!.unit))).map((k) => k.name);
/** The limits the server is given (the configuration's `limits`): acme and carrier_a have some; alpha only calls per second. */
const LIMITS = { customer: { acme: { channels: 10, cps: 1 }, alpha: { cps: 100 }, nobody: { channels: 5 } }, carrier: { carrier_a: { channels: 2, cps: 20 } } };

interface Packet {
  timeMs: number;
  srcIp: string;
  sip: Buffer;
  /** Set: a packet of the platform's traffic (fed to the pipeline with kpi.platform). */
  dstIp?: string;
}

const CUSTOMER_IP = '192.0.2.50';
const PLATFORM_IP = '10.0.0.1';
const CARRIER_IPS: Record<string, string> = { carrier_a: '198.51.100.7', carrier_b: '198.51.100.8', carrier_c: '198.51.100.9', carrier_d: '198.51.100.10' };
/** Carrier, destination, attempts, answered: the platform's traffic of the last minute (one attempt per call). */
const ROUTES: [string, string, number, number][] = [
  ['carrier_a', '44', 4, 1],
  ['carrier_a', '49', 2, 0],
  ['carrier_a', '33', 6, 2],
  ['carrier_b', '44', 8, 8],
  ['carrier_b', '1', 3, 2],
  ['carrier_b', '33', 5, 4],
  ['carrier_c', '49', 6, 3],
  ['carrier_c', '1', 7, 5],
  ['carrier_d', '34', 9, 6],
  ['carrier_d', '44', 5, 3],
];
const DESTINATIONS = ['1', '33', '34', '44', '49'];
/** Hand-computed carrier ASR, floor(100 × answered / attempts) as the percentage algorithm has it: worst first a, c, d, b. */
const CARRIER_ASR: Record<string, number> = { carrier_a: 25, carrier_b: 87, carrier_c: 61, carrier_d: 64 };

/** A call in through the platform and out to `carrier` (one attempt): answered, or refused with 486. */
function routedCall(id: string, carrier: string, dest: string, t0: number, answered: boolean): Packet[] {
  const c = { callId: id, fromTag: `f${id}` }; // no X-Customer: these calls leave the customer table alone
  const bc = newBranch();
  const ba = newBranch();
  const ip = CARRIER_IPS[carrier];
  const number = `${dest}2071234567`;
  const p = (dt: number, from: string, to: string, sip: Buffer): Packet => ({ timeMs: t0 + dt, srcIp: from, dstIp: to, sip });
  const out = [
    p(0, CUSTOMER_IP, PLATFORM_IP, invite(c, { branch: bc, ruri: `+${number}@${PLATFORM_IP}` })),
    p(5, PLATFORM_IP, ip, invite(c, { branch: ba, ruri: `${number}@${ip}` })),
    p(400, ip, PLATFORM_IP, reply(180, 'Ringing', c, { branch: ba, toTag: 'r' })),
    p(401, PLATFORM_IP, CUSTOMER_IP, reply(180, 'Ringing', c, { branch: bc, toTag: 'r' })),
  ];
  if (!answered) return [...out, p(1500, ip, PLATFORM_IP, reply(486, 'Busy', c, { branch: ba, toTag: 'r' })), p(1501, PLATFORM_IP, CUSTOMER_IP, reply(486, 'Busy', c, { branch: bc, toTag: 'r' }))];
  return [
    ...out,
    p(2000, ip, PLATFORM_IP, reply(200, 'OK', c, { branch: ba, toTag: 'r' })),
    p(2001, PLATFORM_IP, CUSTOMER_IP, reply(200, 'OK', c, { branch: bc, toTag: 'r' })),
    p(2010, CUSTOMER_IP, PLATFORM_IP, request('ACK', c, { seq: 1, toTag: 'r' })),
    p(2011, PLATFORM_IP, ip, request('ACK', c, { seq: 1, toTag: 'r' })),
    // hung up after 20 s when that is still before END (later ones are still talking)
    ...(t0 + 22_000 < END ? [p(22_000, CUSTOMER_IP, PLATFORM_IP, request('BYE', c, { seq: 2, toTag: 'r' })), p(22_001, PLATFORM_IP, ip, request('BYE', c, { seq: 2, toTag: 'r' }))] : []),
  ];
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
  const history = kpiHistory(stats.engine);
  stats.addMiCommand(historyCommand(history, stats.engine));
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = t) });
  // a second pipeline sees the platform's traffic: calls in, attempts out to carriers, destinations by prefix
  const platform = new SipPipeline(stats.engine, {
    platform: ['10.0.0.0/24'],
    carrier: { kind: 'cidr', map: Object.fromEntries(Object.entries(CARRIER_IPS).map(([name, ip]) => [`${ip}/32`, name])) },
    destination: { table: PrefixTable.parseCsv(`prefix,name\n${DESTINATIONS.map((d) => `${d},${d}`).join('\n')}\n`).table, strip: ['+', '00'] },
    onPacketTime: (t) => (now = t),
  });
  const packets: Packet[] = [];
  // alpha, in the last minute: 7 answered (PDD 1000 ms, AST 3000 ms, 20 s calls), 3 busy → ASR 70, NER 100, CCR 100
  for (let i = 0; i < 10; i++) packets.push(...knownCall(`alpha${i}`, 'alpha', END - 50_000 + i * 2000, i < 7 ? { code: 200, pdd: 1000, ast: 3000, acdS: 20 } : { code: 486, pdd: 1000 }));
  // beta, in the last minute: 2 answered, 2 × 503, 1 × 486 → ASR 40, NER 60, CCR 60
  for (let i = 0; i < 5; i++) packets.push(...knownCall(`beta${i}`, 'beta', END - 40_000 + i * 1000, i < 2 ? { code: 200, pdd: 2000, ast: 5000, acdS: 10 } : { code: i < 4 ? 503 : 486, pdd: 1500 }));
  // stale: 4 answered calls five minutes ago; nothing since → its 1-minute window is empty
  for (let i = 0; i < 4; i++) packets.push(...knownCall(`stale${i}`, 'stale', END - 300_000 + i * 1000, { code: 200, pdd: 800, ast: 1800, acdS: 5 }));
  // the demo's customers (seeded), for four minutes: moving charts for the screenshot
  for (const m of planDemoTraffic({ from: END - 240_000, to: END - 3_000, until: END, callsPerSecond: 6, seed: 7 })) packets.push({ timeMs: m.timeMs, srcIp: m.srcIp, sip: Buffer.from(m.sip) });
  // the platform's calls, spread over the last minute (END-55 s .. END-5 s), answered ones first on each route
  const routed = ROUTES.flatMap(([carrier, dest, attempts, answered]) => Array.from({ length: attempts }, (_, i) => [carrier, dest, i < answered] as const));
  routed.forEach(([carrier, dest, answered], i) => packets.push(...routedCall(`r${i}`, carrier, dest, END - 55_000 + Math.floor((i * 50_000) / routed.length), answered)));
  packets.sort((a, b) => a.timeMs - b.timeMs);
  let nextSecond = Math.ceil((END - 300_000) / 1000) * 1000;
  const second = (t: number) => {
    now = t;
    pipe.tick(t);
    platform.tick(t);
    history.sample(t);
  };
  for (const p of packets) {
    while (nextSecond <= p.timeMs) second((nextSecond += 1000) - 1000);
    if (p.dstIp === undefined) pipe.onSip(p.sip, { timeMs: p.timeMs, srcIp: p.srcIp });
    else platform.onSip(p.sip, { timeMs: p.timeMs, srcIp: p.srcIp, dstIp: p.dstIp });
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
  type Row = { v: (number | null)[]; n: number[] };
  return (await r.json()) as { kpis: string[]; windows: Record<string, Record<'customers' | 'carriers' | 'destinations' | 'carrierDestinations', Record<string, Row>> & { overall: Row }> };
}

/** Waits until the page shows `window` and the scope (a customer, or `{ carrier, destination }`) and has rendered after the change. */
async function view(page: Page, window: string, scope: string | Scope): Promise<void> {
  const s: Scope = typeof scope === 'string' ? { customer: scope } : scope;
  const want = { window, customer: s.customer ?? '', carrier: s.carrier ?? '', destination: s.destination ?? '' };
  const before = Number((await page.evaluate(() => document.body.dataset.renders)) ?? 0);
  await page.waitForFunction(
    ([w, b]) => Object.entries(w).every(([k, v]) => document.body.dataset[k] === v) && Number(document.body.dataset.renders) > Number(b),
    [want, String(before)] as const,
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
  }, [...CARD_KPIS, ...EXTRA_KPIS]);
}

/**
 * Every card equals the MI value of the scope's series (`ASR_10macme`, `ASR~carrier=carrier_a`…) in
 * the window's group; a KPI without samples (n = 0 by /api/kpis) shows "not enough data" instead.
 * Returns how many cards held a value.
 */
async function assertCardsMatchMi(page: Page, url: string, window: '1m' | '10m', scope: string | Scope): Promise<number> {
  const sc: Scope = typeof scope === 'string' ? (scope === '' ? {} : { customer: scope }) : scope;
  const group = window === '1m' ? 'stats' : 'stats_10m';
  const wdef = WINDOWS.find((w) => w.name === window)!;
  const values = { ...(await mi(url, 'get_statistics', { statistics: [`${NOW.group}:`] })), ...(await mi(url, 'get_statistics', { statistics: [`${group}:`] })) };
  const api = await kpiApi(url, window);
  const w = api.windows[window];
  const row = sc.customer
    ? w.customers[sc.customer]
    : sc.carrier && sc.destination
      ? w.carrierDestinations[`${sc.carrier}|${sc.destination}`]
      : sc.carrier
        ? w.carriers[sc.carrier]
        : sc.destination
          ? w.destinations[sc.destination]
          : w.overall;
  const shown = await cards(page);
  let withValue = 0;
  for (const k of [...CARD_KPIS, ...EXTRA_KPIS]) {
    const kpi = KPIS.find((d) => d.name === k)!;
    // a level (CC: calls up now) is one statistic for every window, in its own group
    const key = kpi.kind === 'level' ? `${NOW.group}:${seriesName(kpi, NOW, sc)}` : `${group}:${seriesName(kpi, wdef, sc)}`;
    const n = row === undefined ? 0 : row.n[api.kpis.indexOf(k)];
    const where = `${window} ${JSON.stringify(sc)} ${k}`;
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

/** A chart's KPIs, the points drawn of each and its last value, and the limit drawn on it ('' for none). */
async function chart(page: Page, id: string) {
  return page.$eval(`[data-testid="${id}"]`, (n) => {
    const d = (n as HTMLElement).dataset;
    return { kpis: d.kpis ?? '', points: Number(d.points), series: JSON.parse(d.series ?? '{}') as Record<string, { points: number; last: number | null }>, limit: d.limit ?? '', legend: n.querySelector('.u-legend')?.textContent ?? '' };
  });
}

/** What a table cell or heat-map cell must hold for a KPI of a scope: the MI's value, or '' when /api/kpis has no samples behind it. */
function expected(values: Record<string, number | null>, api: { kpis: string[] }, row: { v: (number | null)[]; n: (number | null)[] } | undefined, k: string, sc: Scope): string {
  const kpi = KPIS.find((d) => d.name === k)!;
  const key = kpi.kind === 'level' ? `${NOW.group}:${seriesName(kpi, NOW, sc)}` : `stats:${seriesName(kpi, WINDOWS[0], sc)}`;
  const n = row === undefined ? 0 : row.n[api.kpis.indexOf(k)];
  return n === 0 || !(key in values) || values[key] === null ? '' : String(values[key]);
}

test('the dashboard in chromium shows the MI values, "not enough data" for an empty window, and takes a screenshot', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium; .ci/run does) — this test never downloads a browser`);
  const { stats, history } = fixture();
  const http: SipstatsHttpServer = createHttpServer({ limits: DEFAULTS.http, token: TOKEN, routes: [miRoute(stats), ...dashboardRoutes(stats, history, { limits: () => LIMITS })] });
  http.addRoute(sessionRoute(http));
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

    // without a session the page asks for the token; typed into the form, it is traded for an
    // HttpOnly session cookie (POST body): it never appears in a URL, nor in the page's storage
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${url}/`);
    await page.waitForSelector('#auth-form', { state: 'visible' });
    await page.fill('#auth-form input[name="token"]', TOKEN);
    await page.press('#auth-form input[name="token"]', 'Enter');
    await view(page, '1m', '');
    // the 401s the page got before the token was typed are the expected ones (that is how it knew to ask)
    for (let i = problems.length - 1; i >= 0; i--) if (problems[i].includes('status of 401')) problems.splice(i, 1);
    assert.ok(!requested.some((u) => u.includes(TOKEN)), 'the token is in no URL');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
    assert.equal(await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage)).then((s) => s.includes(TOKEN)), false);
    const cookies = await context.cookies(url);
    assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.sameSite]), [['sipstats_session', true, 'Strict']]);
    // an older link with ?token= still works: traded for a session at once and dropped from the address bar
    await context.clearCookies();
    await page.goto(`${url}/?token=${TOKEN}`);
    await view(page, '1m', '');
    assert.equal(new URL(page.url()).searchParams.get('token'), null);

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
        // (a KPI the customer has no series of, media quality without RTP, shows no value)
        assert.equal(v, String(m1[`stats:${k}${c}`] ?? ''), `table ${c} ${k}`);
      }
    }
    const staleCell = await page.$eval('[data-testid="customer-row"][data-customer="stale"] [data-kpi="ASR"]', (td) => ({ text: td.textContent, title: td.getAttribute('title') }));
    assert.deepEqual(staleCell, { text: 'n/a', title: 'not enough data' });

    // ---- capacity: the CC and CPS cards, charts and columns, and the limits of a customer ----
    {
      // the chart of calls up: CC as the page polled it (a level has no server history), CC_max and CC_avg from the server's; calls per second likewise
      const all = await mi(url, 'get_statistics', { statistics: ['stats:'] });
      const calls = await chart(page, 'chart-calls');
      assert.equal(calls.kpis, 'CC,CC_max,CC_avg');
      assert.ok(calls.series.CC.points >= 1, `CC charted from the polls: ${JSON.stringify(calls.series)}`);
      assert.equal(calls.series.CC.last, all['stats:CC'], 'the last CC point is the value now');
      assert.equal(String(calls.series.CC.last), (await cards(page)).CC.value, 'the chart ends at the card');
      assert.ok(calls.series.CC_max.points > 10 && calls.series.CC_avg.points > 10, `history of CC_max and CC_avg: ${JSON.stringify(calls.series)}`);
      assert.equal(calls.series.CC_max.last, all['stats:CC_max']);
      assert.match(calls.legend, /CC.*CC_max.*CC_avg/);
      assert.doesNotMatch(calls.legend, /limit/, 'all traffic has no limit');
      assert.equal(calls.limit, '');
      const rate = await chart(page, 'chart-rate');
      assert.equal(rate.kpis, 'CPS,CPS_max');
      assert.ok(rate.series.CPS.points > 10 && rate.series.CPS_max.points > 10, JSON.stringify(rate.series));
      assert.equal(rate.series.CPS.last, all['stats:CPS']);
      for (const t of ['kpi-CC-limit', 'kpi-CPS-limit', 'chart-calls-limit', 'chart-rate-limit']) assert.equal(await page.isVisible(`[data-testid="${t}"]`), false, `${t} hidden for all traffic`);
      // the capacity columns of the customer table: labelled, the MI's values, sortable with the busiest first
      assert.equal(await page.textContent('[data-testid="sort-CC"]'), 'CC now');
      assert.equal(await page.textContent('[data-testid="sort-CC_max"]'), 'CC_max');
      assert.equal(await page.textContent('[data-testid="sort-CPS"]'), 'CPS /s');
      const api = await kpiApi(url, '1m');
      for (const c of ['acme', 'globex', 'alpha', 'stale'])
        for (const k of ['CC', 'CC_max', 'CPS', 'CPS_max']) {
          const v = await page.$eval(`[data-testid="customer-row"][data-customer="${c}"] [data-kpi="${k}"]`, (td) => (td as HTMLElement).dataset.value);
          assert.equal(v, expected(all, api, api.windows['1m'].customers[c], k, { customer: c }), `table ${c} ${k}`);
        }
      assert.ok(Number(all['stats:CCacme']) > 0, 'acme has calls up at the end');
      await page.click('[data-testid="sort-CC"]');
      assert.equal(await page.getAttribute('[data-testid="sort-CC"]', 'aria-sort'), 'descending', 'calls up: the busiest first');
      const ccs = await page.$$eval('[data-testid="customer-row"] [data-kpi="CC"]', (tds) => tds.map((td) => Number((td as HTMLElement).dataset.value)));
      assert.deepEqual(ccs, [...ccs].sort((a, b) => b - a), `by CC, most first: ${ccs}`);
      await page.click('[data-testid="sort-CPS"]');
      const cpss = await page.$$eval('[data-testid="customer-row"] [data-kpi="CPS"]', (tds) => tds.map((td) => (td as HTMLElement).dataset.value ?? '').filter((v) => v !== '').map(Number));
      assert.deepEqual(cpss, [...cpss].sort((a, b) => b - a), `by CPS, most first: ${cpss}`);
      // a row's limit on its cells: acme's channels (10) and calls per second (1), alpha's calls per second only
      const limitCell = (c: string, k: string) => page.$eval(`[data-testid="customer-row"][data-customer="${c}"] [data-kpi="${k}"]`, (td) => ({ limit: (td as HTMLElement).dataset.limit ?? null, over: (td as HTMLElement).dataset.over ?? null, title: td.getAttribute('title') }));
      assert.deepEqual(await limitCell('acme', 'CC'), { limit: '10', over: String(Number(all['stats:CCacme']) > 10), title: 'limit 10' });
      assert.deepEqual((await limitCell('acme', 'CPS')).limit, '1');
      assert.equal((await limitCell('acme', 'CPS')).over, String(Number(all['stats:CPSacme']) > 1));
      assert.deepEqual([(await limitCell('alpha', 'CPS')).limit, (await limitCell('alpha', 'CPS')).over, (await limitCell('alpha', 'CC')).limit], ['100', 'false', null]);
      assert.equal((await limitCell('globex', 'CC')).limit, null, 'no limit: no mark');
      assert.equal((await limitCell('acme', 'ASR')).limit, null, 'a ratio has no limit');

      // acme's cards and charts: its limits on the CC and CPS cards, a dashed line on each chart
      await page.click('[data-testid="customer-row"][data-customer="acme"]');
      await view(page, '1m', 'acme');
      await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid="chart-calls"]')?.dataset.limit === '10');
      const ccLimit = await page.$eval('[data-testid="kpi-CC-limit"]', (n) => ({ hidden: (n as HTMLElement).hidden, value: (n as HTMLElement).dataset.value, over: (n as HTMLElement).dataset.over, text: n.textContent }));
      const ccAcme = Number(all['stats:CCacme']);
      assert.deepEqual(ccLimit, { hidden: false, value: '10', over: String(ccAcme > 10), text: `limit 10 · ${Math.round((100 * ccAcme) / 10).toLocaleString('en-US')} %` });
      assert.equal(await page.getAttribute('[data-testid="kpi-CPS-limit"]', 'data-value'), '1');
      const acmeCalls = await chart(page, 'chart-calls');
      assert.equal(acmeCalls.limit, '10');
      assert.match(acmeCalls.legend, /limit/, 'the limit is a series of the chart');
      assert.equal(acmeCalls.series.CC.last, ccAcme, "acme's CC, polled since its row was clicked");
      assert.equal(await page.textContent('[data-testid="chart-calls-limit"]'), ' — limit 10');
      assert.equal(await page.isVisible('[data-testid="chart-calls-limit"]'), true);
      assert.equal((await chart(page, 'chart-rate')).limit, '1');
      assert.equal(await page.getAttribute('[data-testid="chart-rate-limit"]', 'data-value'), '1');
      assert.equal(await page.getAttribute('[data-testid="kpi-CC"]', 'class'), ccAcme > 10 ? 'card over' : 'card');
      // back to all traffic: no limit drawn
      await page.click('[data-testid="scope-clear"]');
      await view(page, '1m', '');
      await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid="chart-calls"]')?.dataset.limit === '');
      assert.doesNotMatch((await chart(page, 'chart-calls')).legend, /limit/);
      await page.click('[data-testid="sort-ASR"]');
    }

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
    // (the media-quality cards say "not enough data": this traffic carries no RTP)
    const media = [...CARD_KPIS, ...EXTRA_KPIS].filter((k) => KPIS.find((d) => d.name === k)!.media === true).length;
    assert.equal(await assertCardsMatchMi(page, url, '1m', 'alpha'), CARD_KPIS.length + EXTRA_KPIS.length - media, 'every card and its percentile have a value');
    assert.equal(await page.textContent('[data-testid="scope"]'), 'Customer alpha');
    // alpha has a limit of calls per second only: on the CPS card, not the CC card
    assert.deepEqual([await page.isVisible('[data-testid="kpi-CC-limit"]'), await page.getAttribute('[data-testid="kpi-CPS-limit"]', 'data-value')], [false, '100']);

    // the customer with no data in this window: "not enough data", not the MI's 0 %
    await page.click('[data-testid="customer-row"][data-customer="stale"]');
    await view(page, '1m', 'stale');
    const staleCards = await cards(page);
    // (but a level is a value now, whatever the window: no call of stale is up, CC 0)
    const COUNTED = KPIS.filter((k) => k.card && k.kind === 'level').map((k) => k.name);
    for (const k of CARD_KPIS) assert.match(staleCards[k].text ?? '', COUNTED.includes(k) ? /^0$/ : /^not enough data$/, `stale ${k}`);
    // (the levels under the cards too, and CC_avg: CC sampled as 0 after its calls ended)
    assert.ok((await assertCardsMatchMi(page, url, '1m', 'stale')) >= KPIS.filter((k) => k.kind === 'level' && [...CARD_KPIS, ...EXTRA_KPIS].includes(k.name)).length);

    // 10 minutes: the same customer has values now, equal to the MI's
    await page.click('[data-testid="window-10m"]');
    await view(page, '10m', 'stale');
    assert.equal(await assertCardsMatchMi(page, url, '10m', 'stale'), CARD_KPIS.length + EXTRA_KPIS.length - media);
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

    // ---- carriers, destinations and the carrier × destination heat map ----
    const m = await mi(url, 'get_statistics', { statistics: ['stats:'] });
    for (const [c, asr] of Object.entries(CARRIER_ASR)) assert.equal(m[`stats:ASR~carrier=${c}`], asr, `MI ASR of ${c}`);
    assert.equal(await page.getAttribute('[data-testid="view-customers"]', 'aria-selected'), 'true');
    assert.match((await page.textContent('[data-testid="view-carriers"]')) ?? '', /Carriers \(4\)/);
    assert.match((await page.textContent('[data-testid="view-destinations"]')) ?? '', /Destinations \(5\)/);
    await page.click('[data-testid="view-carriers"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="carrier-row"]').length === 4 && document.body.dataset.view === 'carriers');
    assert.equal(await page.getAttribute('[data-testid="view-carriers"]', 'aria-selected'), 'true');
    assert.equal(await page.getAttribute('[data-testid="view-customers"]', 'aria-selected'), 'false');
    assert.equal(await page.locator('[data-testid="customer-row"]').count(), 0);
    assert.equal(new URL(page.url()).searchParams.get('view'), 'carriers');
    // worst ASR first, each value the MI's; the volume column counts attempts
    const carriers = await page.$$eval('[data-testid="carrier-row"]', (trs) =>
      trs.map((tr) => ({ name: tr.getAttribute('data-carrier'), asr: tr.querySelector<HTMLElement>('[data-kpi="ASR"]')!.dataset.value, attempts: tr.children[1].textContent })),
    );
    assert.deepEqual(carriers.map((c) => c.name), ['carrier_a', 'carrier_c', 'carrier_d', 'carrier_b'], 'worst ASR first');
    for (const c of carriers) assert.equal(c.asr, String(m[`stats:ASR~carrier=${c.name}`]), `carrier ${c.name} ASR`);
    const attempts = (c: string) => ROUTES.filter((r) => r[0] === c).reduce((a, r) => a + r[2], 0);
    assert.deepEqual(carriers.map((c) => Number(c.attempts)), carriers.map((c) => attempts(c.name!)));
    assert.equal(await page.textContent('[data-testid="sort-calls"]'), 'Attempts');
    assert.equal(await page.getAttribute('[data-testid="sort-ASR"]', 'aria-sort'), 'ascending');

    // the heat map: one cell per route with its ASR (the MI's), nothing where there was no attempt
    assert.equal(await page.isVisible('[data-testid="heatmap"]'), true);
    assert.deepEqual(await page.$$eval('[data-testid="heat-carrier"]', (bs) => bs.map((b) => b.textContent)), ['carrier_a', 'carrier_b', 'carrier_c', 'carrier_d']);
    assert.deepEqual(await page.$$eval('[data-testid="heat-destination"]', (bs) => bs.map((b) => b.textContent)), DESTINATIONS);
    const cells = await page.$$eval('[data-testid="heat-cell"]', (bs) =>
      bs.map((b) => ({ key: `${b.getAttribute('data-carrier')}|${b.getAttribute('data-destination')}`, value: (b as HTMLElement).dataset.value, text: b.textContent, title: b.getAttribute('title'), heat: b.parentElement!.dataset.heat, state: b.parentElement!.dataset.state })),
    );
    assert.equal(cells.length, ROUTES.length, 'a cell per route, none for the other pairs');
    for (const [c, d, n, answered] of ROUTES) {
      const cell = cells.find((x) => x.key === `${c}|${d}`);
      assert.ok(cell, `cell ${c}|${d}`);
      assert.equal(cell.value, String(m[`stats:ASR~carrier=${c}~dest=${d}`]), `heat ${c}|${d}`);
      assert.equal(Number(cell.value), Math.floor((answered * 100) / n), `heat ${c}|${d}`);
      assert.match(cell.title!, new RegExp(`^${c} → ${d}: ASR .* %, ${n} attempts`), cell.title!);
      assert.equal(cell.state, n < 5 ? 'low' : 'ok', `few samples under lowSamples: ${c}|${d}`);
    }
    assert.equal(cells.find((x) => x.key === 'carrier_a|49')!.heat, '0', '0 % is the worst colour');
    assert.equal(cells.find((x) => x.key === 'carrier_b|44')!.heat, '9', '100 % is the best colour');
    assert.equal(await page.locator('[data-testid="heat-cell"][data-carrier="carrier_a"][data-destination="1"]').count(), 0);

    // the carriers' capacity columns: each value the MI's, carrier_a's channel limit (2) on its cells
    {
      const all = await mi(url, 'get_statistics', { statistics: ['stats:'] });
      const api = await kpiApi(url, '1m');
      for (const c of Object.keys(CARRIER_ASR))
        for (const k of ['CC', 'CC_max', 'CPS'])
          assert.equal(
            await page.$eval(`[data-testid="carrier-row"][data-carrier="${c}"] [data-kpi="${k}"]`, (td) => (td as HTMLElement).dataset.value),
            expected(all, api, api.windows['1m'].carriers[c], k, { carrier: c }),
            `carrier ${c} ${k}`,
          );
      const a = await page.$eval('[data-testid="carrier-row"][data-carrier="carrier_a"] [data-kpi="CC_max"]', (td) => ({ limit: (td as HTMLElement).dataset.limit, over: (td as HTMLElement).dataset.over, value: Number((td as HTMLElement).dataset.value) }));
      assert.deepEqual([a.limit, a.over], ['2', String(a.value > 2)]);
      assert.ok(a.value > 2, 'carrier_a had more than 2 attempts up at once: past its limit');

      // the heat map coloured by any KPI of the catalogue: a count of calls by its size (0 to the largest cell), the others worst to best
      assert.deepEqual(await page.$$eval('[data-testid="heat-kpi"] option', (os) => os.map((o) => (o as HTMLOptionElement).value)), KPIS.map((k) => k.name));
      const heatCells = () =>
        page.$$eval('[data-testid="heat-cell"]', (bs) =>
          bs.map((b) => ({ carrier: b.getAttribute('data-carrier')!, destination: b.getAttribute('data-destination')!, kpi: (b as HTMLElement).dataset.kpi, value: (b as HTMLElement).dataset.value ?? '', heat: b.parentElement!.dataset.heat ?? '' })),
        );
      const colourBy = async (k: string) => {
        await page.selectOption('[data-testid="heat-kpi"]', k);
        await page.waitForFunction((kpi) => Array.from(document.querySelectorAll<HTMLElement>('[data-testid="heat-cell"]')).every((b) => b.dataset.kpi === kpi), k);
        return heatCells();
      };
      for (const k of ['CC', 'CC_max', 'CPS']) {
        const hc = await colourBy(k);
        assert.equal(await page.getAttribute('[data-testid="heatmap"]', 'data-scale'), 'magnitude', `${k}: by size`);
        assert.equal(await page.getAttribute('[data-testid="heat-scale"]', 'data-scale'), 'magnitude');
        assert.equal(new URL(page.url()).searchParams.get('heat'), k, 'the KPI of the map is in the address');
        for (const c of hc) assert.equal(c.value, expected(all, api, api.windows['1m'].carrierDestinations[`${c.carrier}|${c.destination}`], k, { carrier: c.carrier, destination: c.destination }), `heat ${k} ${c.carrier}|${c.destination}`);
        const shown = hc.filter((c) => c.value !== '');
        const top = Math.max(...shown.map((c) => Number(c.value)));
        for (const c of shown) assert.equal(c.heat, top > 0 ? String(Math.min(9, Math.floor((Number(c.value) / top) * 10))) : '0', `${k} ${c.carrier}|${c.destination}: ${c.value} of ${top}`);
        if (top > 0) assert.ok(shown.some((c) => c.heat === '9'), `${k}: the largest cell is the darkest`);
      }
      // PDD: lower is better, the range of the cells shown: the longest is the worst colour
      const pdd = (await colourBy('PDD')).filter((c) => c.value !== '');
      assert.equal(await page.getAttribute('[data-testid="heatmap"]', 'data-scale'), 'better');
      const longest = pdd.reduce((a, b) => (Number(b.value) > Number(a.value) ? b : a));
      const shortest = pdd.reduce((a, b) => (Number(b.value) < Number(a.value) ? b : a));
      if (Number(longest.value) > Number(shortest.value)) assert.deepEqual([longest.heat, shortest.heat], ['0', '9']);
      for (const c of pdd) assert.equal(c.value, String(all[`stats:PDD~carrier=${c.carrier}~dest=${c.destination}`]));
      await colourBy('ASR');
      assert.equal(new URL(page.url()).searchParams.get('heat'), null, 'the default KPI leaves the address alone');
    }

    // a click on a carrier loads its charts: /api/history with carrier=, cards equal to the MI
    const carrierHistory = page.waitForResponse((r) => r.url().includes('/api/history?') && new URL(r.url()).searchParams.get('carrier') === 'carrier_a');
    await page.click('[data-testid="carrier-row"][data-carrier="carrier_a"]');
    const hist = (await (await carrierHistory).json()) as { carrier: string; series: Record<string, { v: (number | null)[] }> };
    await view(page, '1m', { carrier: 'carrier_a' });
    assert.equal(hist.carrier, 'carrier_a');
    assert.equal(hist.series.ASR.v.filter((v) => v !== null).at(-1), 25, 'the carrier\'s ASR history ends at its ASR');
    assert.equal(await page.textContent('[data-testid="scope"]'), 'Carrier carrier_a');
    assert.ok((await assertCardsMatchMi(page, url, '1m', { carrier: 'carrier_a' })) >= 5);
    assert.equal((await cards(page)).ASR.text, '25 %');
    assert.match((await page.textContent('[data-testid="kpi-ASR-samples"]')) ?? '', /^12 attempts$/);
    assert.ok(Number(await page.getAttribute('[data-testid="chart-perc"]', 'data-points')) > 0, 'the carrier\'s chart has points');
    assert.match((await page.textContent('[data-testid="chart-perc"] .u-legend')) ?? '', /ASR.*NER.*CCR/);
    assert.equal(await page.getAttribute('[data-testid="carrier-row"][data-carrier="carrier_a"]', 'class'), 'selected');

    // a heat-map cell: the carrier on that destination
    const cellHistory = page.waitForRequest((r) => {
      const q = new URL(r.url()).searchParams;
      return r.url().includes('/api/history?') && q.get('carrier') === 'carrier_c' && q.get('destination') === '1';
    });
    await page.click('[data-testid="heat-cell"][data-carrier="carrier_c"][data-destination="1"]');
    await cellHistory;
    await view(page, '1m', { carrier: 'carrier_c', destination: '1' });
    assert.equal(await page.textContent('[data-testid="scope"]'), 'Carrier carrier_c → destination 1');
    assert.ok((await assertCardsMatchMi(page, url, '1m', { carrier: 'carrier_c', destination: '1' })) >= 5);
    assert.equal(await page.getAttribute('[data-testid="heat-cell"][data-carrier="carrier_c"][data-destination="1"]', 'aria-current'), 'true');
    assert.deepEqual(
      [new URL(page.url()).searchParams.get('carrier'), new URL(page.url()).searchParams.get('destination')],
      ['carrier_c', '1'],
      'the scope is in the address (bookmarkable)',
    );

    // destinations (calls), by keyboard: arrow right from the selected tab
    await page.focus('[data-testid="view-carriers"]');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="destination-row"]').length === 5);
    assert.equal(await page.getAttribute('[data-testid="view-destinations"]', 'aria-selected'), 'true');
    const dests = await page.$$eval('[data-testid="destination-row"]', (trs) => trs.map((tr) => [tr.getAttribute('data-destination'), tr.querySelector<HTMLElement>('[data-kpi="ASR"]')!.dataset.value]));
    const destAsrs = dests.map(([, v]) => Number(v));
    assert.deepEqual(destAsrs, [...destAsrs].sort((a, b) => a - b), `destinations worst first: ${JSON.stringify(dests)}`);
    for (const [d, v] of dests) assert.equal(v, String(m[`stats:ASR~dest=${d}`]), `destination ${d}`);
    await page.click('[data-testid="destination-row"][data-destination="49"]');
    await view(page, '1m', { destination: '49' });
    assert.equal(await page.textContent('[data-testid="scope"]'), 'Destination 49');
    assert.ok((await assertCardsMatchMi(page, url, '1m', { destination: '49' })) >= 5);

    // the screenshot: the carriers view and the heat map, for all traffic
    await page.click('[data-testid="view-carriers"]');
    await page.click('[data-testid="scope-clear"]');
    await view(page, '1m', '');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="carrier-row"]').length === 4);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await context?.close();
    await http.close();
    rmSync(profileDir, { recursive: true, force: true });
  }
});
