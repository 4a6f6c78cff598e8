import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

/**
 * The dashboard's alerts in a real browser (Debian chromium driven by playwright-core), against a
 * server started with alert rules and fed SIP traffic on a clock the test drives: acme's ASR
 * collapses (firing, by customer) while globex stays healthy, and the ASR of all traffic dips
 * under a watch rule that only goes pending. The banner lists both (firing first), with value and
 * threshold; the acme row (and its ASR cell) is marked firing, globex is not, the ASR card of all
 * traffic is marked pending; a notification target that refuses connections shows as failing; a
 * click on the acme alert opens acme's cards and charts. Then acme recovers past `clear`: the
 * banner has no active alert, the resolved list holds it, and every mark is gone. Finally an
 * /api/alerts answering 404 (an older server) hides the banner and breaks nothing. The page with
 * the alerts firing is saved to test-results/dashboard-alerts.png.
 */

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'alerts-e2e-secret';
const SCREENSHOT = fileURLToPath(new URL('../../test-results/dashboard-alerts.png', import.meta.url));

/** A port nothing listens on (bound, then released): the failing notification target. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('active alerts: banner, row and card marks, resolved list, in chromium', { timeout: 90_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) — this test never downloads a browser`);
  const deadPort = await closedPort();
  const cfg = parseNativeText(`
alerts:
  - { name: asr_low, kpi: ASR, window: 1m, by: customer, below: 50, clear: 60, min_samples: 5, for: 0s, severity: critical }
  - { name: asr_watch, kpi: ASR, window: 1m, below: 90, min_samples: 5, for: 1h, severity: info }
notify:
  - { url: "http://127.0.0.1:${deadPort}/hook", format: json, timeout: 1s, max_backoff: 1s }
`);
  assert.ok(cfg.ok, JSON.stringify(!cfg.ok && cfg.issues));
  // the server's clock is the test's: the 1-minute windows never slide while the test runs
  let now = Date.now();
  const srv: Running = await start({ config: cfg.value, listen: '127.0.0.1:0', token: TOKEN, hepListen: null, dataDir: null, clock: () => now, print: () => {}, log: () => {}, env: {} });
  const profileDir = mkdtempSync(join(tmpdir(), 'sipstats-chromium-alerts-'));
  let context: BrowserContext | undefined;
  let n = 0;
  /** One call of `customer`, answered (200) or refused (486), 10 ms of server time. */
  const call = (customer: string, code: 200 | 486) => {
    const c = { callId: `ui-${++n}@test`, fromTag: `f${n}`, customer };
    const b = newBranch();
    const meta = (fromUac: boolean) => ({ timeMs: (now += 2), srcIp: fromUac ? '127.0.0.1' : '127.0.0.2', dstIp: fromUac ? '127.0.0.2' : '127.0.0.1' });
    srv.pipeline.onSip(invite(c, { branch: b }), meta(true));
    srv.pipeline.onSip(reply(180, 'Ringing', c, { branch: b, toTag: 't' }), meta(false));
    srv.pipeline.onSip(reply(code, code === 200 ? 'OK' : 'Busy Here', c, { branch: b, toTag: 't' }), meta(false));
    if (code !== 200) srv.pipeline.onSip(request('ACK', c, { seq: 1, branch: b, toTag: 't' }), meta(true));
  };
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 1000 },
      deviceScaleFactor: 1,
      timezoneId: 'UTC',
      locale: 'en-US',
    });
    const page: Page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // the 404 of the last step is the one expected
      if (m.type() === 'error' && !m.text().includes('status of 404')) problems.push(`console: ${m.text()}`);
    });
    const alertRequests: { auth: string | undefined }[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/alerts') alertRequests.push({ auth: r.headers().authorization });
    });
    const renders = async () => Number((await page.evaluate(() => document.body.dataset.renders)) ?? 0);
    /** Waits for two renders after now: whatever the server had is on the page. */
    const settle = async () => {
      const b = await renders();
      await page.waitForFunction((x) => Number(document.body.dataset.renders) >= x + 2, b, { timeout: 10_000 });
    };

    // healthy traffic first: nothing to show
    for (let i = 0; i < 10; i++) call('globex', 200);
    for (let i = 0; i < 5; i++) call('acme', 200);
    // the older ?token= link: traded for the session cookie, which /api/alerts accepts too
    await page.goto(`${srv.url}/?token=${TOKEN}`);
    await page.waitForSelector('[data-testid="customer-row"][data-customer="acme"]');
    await settle();
    assert.ok(alertRequests.length > 0, 'the page asks /api/alerts');
    assert.ok(alertRequests.every((r) => r.auth === undefined), 'with the session cookie, no token in a header');
    assert.equal(await page.isHidden('[data-testid="alerts"]'), true, 'no alert: no banner');
    assert.equal(await page.locator('[data-testid="alert-mark"]').count(), 0);

    // acme collapses: 5 of 20 answered (25 %), globex stays at 100 %; all traffic 15 of 30 (50 %)
    for (let i = 0; i < 15; i++) call('acme', 486);
    assert.equal(srv.stats.getStat('ASRacme'), 25);
    assert.equal(srv.stats.getStat('ASRglobex'), 100);
    assert.equal(srv.stats.getStat('ASR'), 50);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="alert-item"]').length === 2, undefined, { timeout: 10_000 });
    await settle();
    const items = await page.$$eval('[data-testid="alert-item"]', (lis) =>
      lis.map((li) => ({
        state: li.getAttribute('data-state'),
        name: li.getAttribute('data-alertname'),
        customer: li.getAttribute('data-customer'),
        severity: li.querySelector('.alert-severity')!.textContent,
        dim: li.querySelector('.alert-dim')!.textContent,
        kpi: li.querySelector('.alert-kpi')!.textContent,
        value: (li.querySelector('.alert-value') as HTMLElement).dataset.value,
        valueText: li.querySelector('.alert-value')!.textContent,
        since: li.querySelector('.alert-since')!.textContent,
        label: li.querySelector('button')?.getAttribute('aria-label') ?? '',
      })),
    );
    assert.deepEqual(
      items.map((i) => [i.state, i.name, i.customer, i.severity, i.dim, i.kpi, i.value]),
      [
        ['firing', 'asr_low', 'acme', 'critical', 'customer acme', 'ASR 1m', '25'],
        ['pending', 'asr_watch', null, 'info', 'all traffic', 'ASR 1m', '50'],
      ],
      'firing first, then pending',
    );
    assert.equal(items[0].valueText, '25 % vs < 50 (clears at 60)');
    assert.equal(items[1].valueText, '50 % vs < 90');
    assert.match(items[0].since, /^firing since \d{1,2}:\d{2}:\d{2}/);
    assert.match(items[1].since, /^pending since /);
    assert.match(items[0].label, /firing alert asr_low: ASR \(1m\) is 25 %/);
    assert.equal(await page.textContent('[data-testid="alerts-summary"]'), '1 firing, 1 pending');

    // the rows: acme marked firing (an icon with an accessible name, and its ASR cell), globex not
    const acme = '[data-testid="customer-row"][data-customer="acme"]';
    const globex = '[data-testid="customer-row"][data-customer="globex"]';
    assert.equal(await page.getAttribute(acme, 'data-alert'), 'firing');
    assert.equal(await page.getAttribute(`${acme} [data-testid="alert-mark"]`, 'data-state'), 'firing');
    assert.equal(await page.getAttribute(`${acme} [data-testid="alert-mark"]`, 'role'), 'img');
    assert.match((await page.getAttribute(`${acme} [data-testid="alert-mark"]`, 'aria-label')) ?? '', /^firing alert asr_low: ASR \(1m\) is 25 %, threshold < 50/);
    assert.match((await page.getAttribute(`${acme} th`, 'title')) ?? '', /asr_low/);
    assert.equal(await page.getAttribute(`${acme} [data-kpi="ASR"]`, 'data-alert'), 'firing');
    assert.equal(await page.getAttribute(`${acme} [data-kpi="PDD"]`, 'data-alert'), null);
    assert.equal(await page.getAttribute(globex, 'data-alert'), null);
    assert.equal(await page.locator(`${globex} [data-testid="alert-mark"]`).count(), 0);
    // all traffic is shown: the pending all-traffic alert marks the ASR card
    assert.equal(await page.getAttribute('[data-testid="kpi-ASR"]', 'data-alert'), 'pending');
    assert.match((await page.getAttribute('[data-testid="kpi-ASR"] [data-testid="alert-mark"]', 'aria-label')) ?? '', /^pending alert asr_watch/);
    assert.equal(await page.getAttribute('[data-testid="kpi-PDD"]', 'data-alert'), null);
    // the webhook target refuses connections: the indicator says so
    await page.waitForSelector('[data-testid="alerts-notify"]', { state: 'visible', timeout: 10_000 });
    assert.match((await page.textContent('[data-testid="alerts-notify"]')) ?? '', /notifications failing: 1 of 1 target/);
    assert.match((await page.getAttribute('[data-testid="alerts-notify"]', 'title')) ?? '', new RegExp(`127\\.0\\.0\\.1:${deadPort}/hook \\(json\\)`));

    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // a click on the alert opens acme (as a click on its row): cards, charts, the address
    const history = page.waitForRequest((r) => r.url().includes('/api/history?') && new URL(r.url()).searchParams.get('customer') === 'acme');
    await page.click('[data-testid="alert-item"][data-alertname="asr_low"] button');
    await history;
    await page.waitForFunction(() => document.body.dataset.customer === 'acme' && document.body.dataset.view === 'customers');
    await settle();
    assert.equal(await page.textContent('[data-testid="scope"]'), 'Customer acme');
    assert.equal(new URL(page.url()).searchParams.get('customer'), 'acme');
    assert.equal(await page.getAttribute('[data-testid="kpi-ASR-value"]', 'data-value'), '25');
    assert.equal(await page.getAttribute('[data-testid="kpi-ASR"]', 'data-alert'), 'firing', "acme's ASR card carries acme's alert");
    assert.equal(await page.getAttribute(acme, 'class'), 'selected');
    await page.click('[data-testid="scope-clear"]');
    await page.waitForFunction(() => document.body.dataset.customer === '');

    // acme recovers past clear (60): 45 of 60 answered (75 %); all traffic back to 155 of 170 (91 %)
    for (let i = 0; i < 40; i++) call('acme', 200);
    for (let i = 0; i < 100; i++) call('globex', 200);
    assert.equal(srv.stats.getStat('ASRacme'), 75);
    assert.ok(srv.stats.getStat('ASR')! >= 90, `all traffic ${srv.stats.getStat('ASR')}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="alert-item"]').length === 0, undefined, { timeout: 10_000 });
    await settle();
    assert.equal(await page.isVisible('[data-testid="alerts-none"]'), true, 'no active alert');
    assert.equal(await page.textContent('[data-testid="alerts-summary"]'), '0 firing, 0 pending');
    // resolved: collapsed under "Recently resolved"; the pending one never fired, so it is not listed
    assert.equal(await page.isVisible('[data-testid="alerts-recent"]'), true);
    assert.equal(await page.getAttribute('[data-testid="alerts-recent"]', 'open'), null, 'collapsed');
    assert.equal(await page.textContent('#alerts-recent-title'), 'Recently resolved (1)');
    await page.click('#alerts-recent-title');
    const resolved = await page.$$eval('[data-testid="alert-resolved"]', (lis) => lis.map((li) => [li.getAttribute('data-alertname'), li.getAttribute('data-customer'), li.textContent]));
    assert.equal(resolved.length, 1);
    assert.deepEqual(resolved[0].slice(0, 2), ['asr_low', 'acme']);
    assert.match(resolved[0][2]!, /last 75 %.*resolved .*\(recovered\)/);
    // every mark is gone
    assert.equal(await page.getAttribute(acme, 'data-alert'), null);
    assert.equal(await page.locator('[data-testid="alert-mark"]').count(), 0);
    assert.equal(await page.locator('[data-alert]').count(), 0);

    // an older server (no /api/alerts: 404): no banner, and the page keeps polling the KPIs
    await page.route('**/api/alerts', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"Not Found"}' }));
    await page.waitForSelector('[data-testid="alerts"]', { state: 'hidden', timeout: 10_000 });
    await settle();
    assert.match((await page.textContent('[data-testid="status"]')) ?? '', /^updated /);
    assert.equal(await page.locator('[data-testid="customer-row"]').count(), 2);
    assert.deepEqual(problems, []);
  } finally {
    await context?.close();
    await srv.close();
    rmSync(profileDir, { recursive: true, force: true });
  }
});
