import type { HistoryRecorder } from '../../src/core/history.ts';
import { DEFAULTS } from '../../src/config/defaults.ts';
import { historyCommand } from '../../src/mi/history-command.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHttpServer } from '../../src/http/server.ts';
import { miRoute } from '../../src/mi/route.ts';
import type { SipstatsHttpServer } from '../../src/http/server.ts';
import { createStats } from '../../src/index.ts';
import type { Stats } from '../../src/index.ts';
import { listenHep } from '../../src/ingest/ingest.ts';
import { DIMENSIONS, KPI_MODPARAMS, KPIS, VIEWS, WINDOWS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { DEMO_CARRIERS, DEMO_CUSTOMERS, DEMO_DESTINATIONS, DEMO_KPI, DEMO_LIMITS, planCall, planDemoTraffic, seededRandom, startDemoTraffic } from '../../src/demo/traffic.ts';
import { completeTracker } from '../../src/config/ingest-config.ts';
import { kpiHistory } from '../../src/kpi/kpi-history.ts';
import { dashboardRoutes, kpiSnapshot } from '../../src/web/routes.ts';
import type { Limits, LimitsInput } from '../../src/web/routes.ts';

const TOKEN = 'api-secret';
const T0 = 1_800_000_000_000;

/** One raw HTTP exchange (the path goes out exactly as written: no URL normalisation). */
function http(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
const auth = { authorization: `Bearer ${TOKEN}` };
const json = (r: { body: Buffer }) => JSON.parse(r.body.toString('utf8'));

/** The page's script as the browser loads it: app.js (the entry) and every module it imports, directly or not, by path. */
async function pageModules(base: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const todo = ['/assets/app.js'];
  for (let path = todo.pop(); path !== undefined; path = todo.pop()) {
    if (out.has(path)) continue;
    const r = await http(base, path);
    assert.equal(r.status, 200, path);
    const text = r.body.toString('utf8');
    out.set(path, text);
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]\.\/([\w-]+\.js)['"]/gm)) todo.push(`/assets/${m[1]}`);
  }
  return out;
}

describe('dashboard routes on a server with a token', () => {
  const clock = { now: T0 };
  let stats: Stats;
  let history: HistoryRecorder;
  let server: SipstatsHttpServer;
  let url: string;
  before(async () => {
    stats = createStats({ config: KPI_MODPARAMS, clock: () => clock.now });
    history = kpiHistory(stats.engine, { points: 30 });
    stats.addMiCommand(historyCommand(history, stats.engine));
    server = createHttpServer({ limits: DEFAULTS.http, token: TOKEN, routes: [miRoute(stats), ...dashboardRoutes(stats, history, { minSamples: 2, lowSamples: 10, maxCounters: 3 })] });
    url = await server.listen('127.0.0.1', 0);
  });
  after(() => server.close());

  test('the page and its assets need no token, carry content types, cache headers and ETags, and are gzipped on request', async () => {
    const page = await http(url, '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const html = page.body.toString('utf8');
    assert.match(html, /assets\/uPlot\.iife\.min\.js[^]*<script type="module" src="assets\/app\.js"><\/script>/, 'uPlot (a classic script) before the entry module');
    assert.doesNotMatch(html, /https?:\/\//, 'no external resource: works offline');

    const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
    const modules = [...(await pageModules(url)).keys()];
    assert.ok(modules.length > 1, 'app.js imports the page\'s other modules');
    const cases: [string, string, Buffer | null][] = [
      ...modules.map((m): [string, string, null] => [m, 'text/javascript; charset=utf-8', null]),
      ['/assets/app.css', 'text/css; charset=utf-8', null],
      ['/assets/uPlot.iife.min.js', 'text/javascript; charset=utf-8', readFileSync(join(uplotDir, 'uPlot.iife.min.js'))],
      ['/assets/uPlot.min.css', 'text/css; charset=utf-8', readFileSync(join(uplotDir, 'uPlot.min.css'))],
    ];
    for (const [path, type, expected] of cases) {
      const plain = await http(url, path);
      assert.equal(plain.status, 200, path);
      assert.equal(plain.headers['content-type'], type, path);
      assert.equal(plain.headers['content-encoding'], undefined);
      if (expected) {
        assert.deepEqual(plain.body, expected, `${path} is uPlot's own file`);
        assert.equal(plain.headers['cache-control'], 'public, max-age=86400');
      } else assert.equal(plain.headers['cache-control'], 'no-cache');
      const gz = await http(url, path, { 'accept-encoding': 'gzip, deflate' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.ok(gz.body.length < plain.body.length, `${path} smaller gzipped`);
      assert.deepEqual(gunzipSync(gz.body), plain.body);
      const again = await http(url, path, { 'if-none-match': String(plain.headers.etag) });
      assert.equal(again.status, 304, `${path} revalidates`);
      assert.equal(again.body.length, 0);
    }
    const head = await http(url, '/assets/app.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  test('the page: a tab list, window buttons and a heat map built from /api/catalogue, no inline script or style (CSP), no KPI, window or view named in app.js or its modules', async () => {
    const html = (await http(url, '/')).body.toString('utf8');
    assert.match(html, /role="tablist"[^>]*id="tabs"><\/div>/, 'the tabs are built from the catalogue');
    assert.match(html, /<nav class="windows" id="windows"[^>]*><\/nav>/, 'the window buttons are built from the catalogue');
    assert.doesNotMatch(html, /data-window=|data-view=/);
    assert.match(html, /role="tabpanel" id="view-panel"/);
    assert.match(html, /data-testid="heatmap"/);
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'every script has a src');
    assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline style');
    for (const [path, js] of await pageModules(url)) {
      // the KPI list, units and titles come from /api/kpis `info`: none is written in the page's code
      for (const k of KPIS) {
        assert.doesNotMatch(js, new RegExp(`['"\`]${k.name}['"\`]|\\b${k.name}\\s*:`), `${path} names ${k.name}`);
        assert.ok(!js.includes(k.title), `${path} holds the title of ${k.name}`);
      }
      // nor the windows, dimensions and views: /api/catalogue has them
      for (const name of [...WINDOWS.map((w) => w.name), ...DIMENSIONS.map((d) => d.name), ...VIEWS.flatMap((v) => [v.name, v.rows, v.title])])
        assert.doesNotMatch(js, new RegExp(`['"\`]${name}['"\`]`), `${path} names ${name}`);
    }
  });

  test('/api/catalogue: the windows, dimensions, views and KPIs the page is built from, from the catalogue', async () => {
    assert.equal((await http(url, '/api/catalogue')).status, 401);
    const r = await http(url, '/api/catalogue', auth);
    assert.equal(r.status, 200);
    assert.equal(r.headers['cache-control'], 'no-store');
    const c = json(r);
    assert.deepEqual(c.windows, WINDOWS.map((w) => ({ name: w.name, title: w.title, seconds: w.seconds })));
    assert.deepEqual(c.dimensions, DIMENSIONS.map((d) => ({ name: d.name, title: d.title, of: d.of })));
    assert.deepEqual(
      c.views.map((v: { name: string; rows: string; dimensions: string[]; of: string; title: string }) => [v.name, v.rows, v.dimensions.join(','), v.of, v.title]),
      [
        ['all', 'overall', '', 'call', 'all traffic'],
        ['customer', 'customers', 'customer', 'call', 'customer'],
        ['carrier', 'carriers', 'carrier', 'attempt', 'carrier'],
        ['destination', 'destinations', 'destination', 'call', 'destination'],
        ['carrier,destination', 'carrierDestinations', 'carrier,destination', 'attempt', 'carrier × destination'],
      ],
    );
    assert.deepEqual(c.kpis.map((k: { name: string }) => k.name), KPIS.map((k) => k.name));
    // every view's rows are a map of /api/kpis (all traffic: one row)
    const k = json(await http(url, '/api/kpis?window=1m', auth));
    for (const v of c.views) assert.ok(v.rows in k.windows['1m'], v.rows);
  });

  test('no path reaches the file system: only the files of the table are served', async () => {
    for (const p of ['/assets/../package.json', '/assets/..%2f..%2fpackage.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets//etc/passwd', '/assets/', '/assets/index.html', '/assets/APP.JS', '/assets/app.js/']) {
      const r = await http(url, p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.body.toString('utf8'), /"name"\s*:\s*"sipstats"|root:/, p);
    }
    assert.equal((await http(url, '/assets/app.js', {}, 'POST')).status, 405);
  });

  test('/api/* honour the bearer token; bad parameters are 400', async () => {
    for (const p of ['/api/catalogue', '/api/kpis', '/api/history?window=1m']) {
      assert.equal((await http(url, p)).status, 401, p);
      assert.equal((await http(url, p, { authorization: 'Bearer wrong' })).status, 401, p);
      assert.equal((await http(url, p, auth)).status, 200, p);
    }
    for (const p of ['/api/kpis?window=5m', '/api/history?window=2h', '/api/history?customer=a%20b', '/api/history?customer=../x', '/api/history?points=0', '/api/history?points=x']) {
      assert.equal((await http(url, p, auth)).status, 400, p);
    }
  });

  test('/api/kpis: the values of get_statistics with their sample counts, per window and customer; counters', async () => {
    clock.now = T0;
    const w = (p: string, n: string, v: number) => stats.updateStatSeries(p, n, v);
    for (const [suffix, perc, avg] of [['', 'perc', 'avg'], ['_10m', '10m-perc', '10m-avg'], ['_1h', '1h-perc', '1h-avg']]) {
      for (const c of ['', 'acme']) {
        for (const v of [1, 1, 1, -1]) w(perc, `ASR${suffix}${c}`, v);
        w(avg, `PDD${suffix}${c}`, 1000);
        w(avg, `PDD${suffix}${c}`, 2000);
      }
      w(perc, `ASR${suffix}lonely`, 1); // one sample: under minSamples=2
    }
    stats.updateStat('script:x', 1);
    for (const n of ['a', 'b', 'c', 'd']) stats.updateStat(n, 2);
    stats.engine.selfStat('hep_packets', 42);
    const r = await http(url, '/api/kpis', auth);
    assert.equal(r.headers['cache-control'], 'no-store');
    const k = json(r);
    assert.equal(k.now, T0);
    assert.deepEqual(k.kpis, KPIS.map((x) => x.name), 'every KPI of the catalogue, in its order');
    assert.deepEqual(k.thresholds, { minSamples: 2, lowSamples: 10 });
    assert.deepEqual(Object.keys(k.windows), ['1m', '10m', '1h']);
    const mi = await stats.mi('get_statistics', { statistics: ['stats:', 'stats_10m:', 'stats_1h:'] });
    assert.ok('result' in mi);
    const values = mi.result as Record<string, number>;
    const groups: Record<string, [string, string]> = { '1m': ['stats', ''], '10m': ['stats_10m', '_10m'], '1h': ['stats_1h', '_1h'] };
    let compared = 0;
    for (const [win, [group, suffix]] of Object.entries(groups)) {
      const rows: Record<string, { v: (number | null)[]; n: number[] }> = { '': k.windows[win].overall, ...k.windows[win].customers };
      assert.deepEqual(Object.keys(k.windows[win].customers), ['acme', 'lonely']);
      for (const [c, row] of Object.entries(rows)) {
        k.kpis.forEach((kpi: string, i: number) => {
          const key = `${group}:${kpi}${suffix}${c}`;
          if (key in values) {
            assert.equal(row.v[i], values[key], key);
            compared++;
          } else assert.deepEqual([row.v[i], row.n[i]], [null, 0], `${key} does not exist`);
        });
      }
      assert.deepEqual(k.windows[win].overall.n.slice(0, 4), [4, 0, 0, 2]);
      assert.deepEqual(k.windows[win].overall.v.slice(0, 4), [75, null, null, 1500]);
      assert.deepEqual(k.windows[win].customers.lonely.n[0], 1);
    }
    assert.equal(compared, 15);
    assert.equal(k.self.hep_packets, 42);
    assert.equal(Object.keys(k.counters).length, 3, 'maxCounters');
    assert.equal(k.countersOmitted, 2, 'five counters, three listed');

    const one = json(await http(url, '/api/kpis?window=10m', auth));
    assert.deepEqual(Object.keys(one.windows), ['10m']);
    assert.deepEqual(one.windows['10m'], k.windows['10m']);
  });

  test('/api/kpis: an emptied window reads as 0 in the MI but has 0 samples (the page shows "not enough data")', async () => {
    clock.now = T0 + 120_000;
    const snap = kpiSnapshot(stats.engine, { window: '1m' });
    assert.equal(stats.getStat('ASRacme'), 0);
    assert.deepEqual([snap.windows['1m']!.customers.acme.v[0], snap.windows['1m']!.customers.acme.n[0]], [0, 0]);
    assert.equal(kpiSnapshot(stats.engine, { window: '10m' }).windows['10m']!.customers.acme.n[0], 4);
    clock.now = T0;
  });

  test('/api/history: the KPI series of a window and customer, aligned per profile, from the recorder', async () => {
    const h0 = json(await http(url, '/api/history?window=1m&customer=nobody', auth));
    assert.equal(h0.customer, 'nobody');
    assert.deepEqual(Object.keys(h0.series), KPIS.map((x) => x.name));
    for (let i = 0; i < 5; i++) {
      clock.now = T0 + i * 1000;
      stats.updateStatSeries('perc', 'ASRacme', i % 2 === 0 ? 1 : -1);
      history.sample(clock.now);
    }
    const h = json(await http(url, '/api/history?window=1m&customer=acme&points=3', auth));
    assert.equal(h.window, '1m');
    assert.deepEqual(h.series.ASR.t, [T0 + 2000, T0 + 3000, T0 + 4000]);
    assert.deepEqual(h.series.ASR, history.get('stats:ASRacme', 3));
    assert.deepEqual(h.series.NER, { t: h.series.ASR.t, v: [null, null, null], n: [null, null, null] }, 'no NERacme: times with no values');
    const p95 = json(await http(url, '/api/history?window=1m&customer=acme', auth)).series.PDD_p95;
    assert.ok(p95.t.length >= 1 && p95.t.length < 5, 'PDD_p95 is sampled every 10 s (p95 profile: 6 slots)');
    const all = json(await http(url, '/api/history', auth));
    assert.deepEqual([all.window, all.customer], ['1m', '']);
    assert.deepEqual(all.series.ASR, history.get('stats:ASR', 30, true));
    const mi = await stats.mi('get_history', { statistics: ['ASRacme'], points: 3 });
    assert.deepEqual(mi, { result: { 'stats:ASRacme': h.series.ASR } });
  });
});

describe('dashboard API: catalogue info, carriers and destinations', () => {
  test('/api/kpis info is the catalogue; carriers, destinations and carrier × destination rows; /api/history takes carrier and destination', async () => {
    let now = T0;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
    const history = kpiHistory(stats.engine, { points: 10 });
    const server = createHttpServer({ limits: DEFAULTS.http, token: TOKEN, routes: dashboardRoutes(stats, history) });
    const url = await server.listen('127.0.0.1', 0);
    try {
      const w = (p: string, n: string, v: number) => stats.updateStatSeries(p, n, v);
      for (const v of [1, 1, -1, -1]) w('perc', 'ASR~carrier=carrier_a', v);
      for (const v of [1, -1]) w('perc', 'ASR~dest=44', v);
      for (const v of [1, -1, -1, -1]) w('perc', 'ASR~carrier=carrier_a~dest=44', v);
      w('avg', 'PDD~carrier=carrier_a', 900);
      history.sample(now);
      now += 1000;
      history.sample(now);
      const k = json(await http(url, '/api/kpis?window=1m', auth));
      const base = ['name', 'unit', 'title', 'better', 'samples', 'card', 'of', 'kind'];
      assert.deepEqual(
        k.info.map((i: Record<string, unknown>) => Object.fromEntries(Object.entries(i).filter(([key]) => base.includes(key)))),
        KPIS.map((d) => ({ name: d.name, unit: d.unit, title: d.title, better: d.better, samples: d.samples, card: d.card, ...(d.of !== undefined ? { of: d.of } : {}), kind: d.kind })),
      );
      assert.deepEqual(k.info.find((i: { name: string }) => i.name === 'PDD_p95').of, 'PDD');
      // what the page draws from: a level's window (now), the limit a count of calls is compared with, what charts a card
      const info = (n: string) => k.info.find((i: { name: string }) => i.name === n);
      const extra = (n: string) => Object.fromEntries(Object.entries(info(n)).filter(([key]) => !base.includes(key)));
      assert.deepEqual(extra('CC'), { window: 'now', limit: 'channels', magnitude: true, chartWith: ['CC_max', 'CC_avg'] });
      assert.deepEqual(extra('CC_max'), { limit: 'channels', magnitude: true });
      assert.deepEqual(extra('CPS'), { limit: 'cps', magnitude: true, chartWith: ['CPS_max'] });
      assert.deepEqual(extra('CPS_max'), { limit: 'cps', magnitude: true });
      assert.deepEqual(extra('CC_util'), { window: 'now' }, 'a utilisation is a % (0-100, lower is better), not a count of calls');
      assert.deepEqual(extra('ASR'), {});
      assert.deepEqual(extra('PDD'), {}, 'no chartWith: the percentile is shown under the card, not charted');
      assert.deepEqual(k.limits, { customer: {}, carrier: {} }, 'no limits option: none');
      assert.deepEqual(k.dimensions, [
        { name: 'customer', title: 'Customers', of: 'call' },
        { name: 'carrier', title: 'Carriers', of: 'attempt' },
        { name: 'destination', title: 'Destinations', of: 'both' },
      ]);
      assert.deepEqual(k.info.map((i: { name: string }) => i.name), k.kpis, 'info in the order of v and n');
      assert.deepEqual(k.info.filter((i: { card: boolean }) => i.card).map((i: { name: string }) => i.name), KPIS.filter((x) => x.card).map((x) => x.name));
      const win = k.windows['1m'];
      const asr = k.kpis.indexOf('ASR');
      assert.deepEqual(Object.keys(win.customers), []);
      assert.deepEqual([win.carriers.carrier_a.v[asr], win.carriers.carrier_a.n[asr]], [50, 4]);
      assert.equal(win.carriers.carrier_a.v[k.kpis.indexOf('PDD')], 900);
      assert.deepEqual([win.destinations['44'].v[asr], win.destinations['44'].n[asr]], [50, 2]);
      assert.deepEqual([win.carrierDestinations['carrier_a|44'].v[asr], win.carrierDestinations['carrier_a|44'].n[asr]], [25, 4]);
      assert.deepEqual([win.overall.v[asr], win.overall.n[asr]], [null, 0], 'no all-traffic series: not summed from the carriers');

      const h = json(await http(url, '/api/history?window=1m&carrier=carrier_a&points=2', auth));
      assert.deepEqual([h.carrier, h.destination, h.customer], ['carrier_a', undefined, '']);
      assert.deepEqual(h.series.ASR, history.get('stats:ASR~carrier=carrier_a', 2));
      const hc = json(await http(url, '/api/history?window=1m&carrier=carrier_a&destination=44&points=2', auth));
      assert.deepEqual(hc.series.ASR.v, [25, 25]);
      const hd = json(await http(url, '/api/history?window=1m&destination=44&points=2', auth));
      assert.deepEqual(hd.series.ASR.v, [50, 50]);
      for (const p of ['/api/history?carrier=a%20b', '/api/history?destination=_x', '/api/history?carrier=' + 'x'.repeat(65)]) assert.equal((await http(url, p, auth)).status, 400, p);
    } finally {
      await server.close();
    }
  });
});

describe('dashboard API: limits', () => {
  test('/api/kpis limits: from the limits option at every request, for the customers and carriers that have rows, positive numbers only', async () => {
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => T0 });
    const history = kpiHistory(stats.engine, { points: 10 });
    let limits: LimitsInput | undefined = {
      customer: { acme: { channels: 30, cps: 5 }, idle: { channels: 10 }, globex: { channels: 0, cps: -1 } },
      carrier: { carrier_a: { channels: 120, cps: 20 }, carrier_b: { cps: Number.NaN } },
      destination: { 44: { channels: 5 } },
    };
    const server = createHttpServer({ limits: DEFAULTS.http, token: TOKEN, routes: dashboardRoutes(stats, history, { limits: () => limits }) });
    const url = await server.listen('127.0.0.1', 0);
    try {
      for (const n of ['ASRacme', 'ASRglobex', 'ASR~carrier=carrier_a', 'ASR~carrier=carrier_b', 'ASR~dest=44']) stats.updateStatSeries('perc', n, 1);
      const k = json(await http(url, '/api/kpis?window=1m', auth));
      assert.deepEqual(k.limits, { customer: { acme: { channels: 30, cps: 5 } }, carrier: { carrier_a: { channels: 120, cps: 20 } } }, 'idle has no row; 0, -1 and NaN are no limit; destinations have none');
      // a reload of the configuration shows at the next poll
      limits = { customer: { acme: { cps: 8 } } };
      assert.deepEqual(json(await http(url, '/api/kpis', auth)).limits, { customer: { acme: { cps: 8 } }, carrier: {} });
      limits = undefined;
      assert.deepEqual(json(await http(url, '/api/kpis', auth)).limits, { customer: {}, carrier: {} });
      // the type the page is given: every key there
      const typed: Limits = json(await http(url, '/api/kpis', auth)).limits;
      assert.deepEqual(Object.keys(typed), ['customer', 'carrier']);
    } finally {
      await server.close();
    }
  });
});

describe('demo traffic', () => {
  test('planned calls of each customer through the KPI pipeline give each its quality', () => {
    let now = T0;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
    const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = t) });
    const packets = planDemoTraffic({ from: T0, to: T0 + 600_000, until: T0 + 1_200_000, callsPerSecond: 4, seed: 11 });
    for (const p of packets) pipe.onSip(Buffer.from(p.sip), { timeMs: p.timeMs, srcIp: p.srcIp });
    now = T0 + 1_000_000;
    const g = (n: string) => stats.getStat(n)!;
    assert.equal(stats.getStat('sipstats:sip_decode_errors') ?? 0, 0);
    assert.equal(g('sipstats:calls_started'), 2400);
    // each customer near its profile (seeded: deterministic), in the 1-hour window
    const near = (name: string, want: number, tol: number) => assert.ok(Math.abs(g(name) - want) <= tol, `${name}=${g(name)}, want ${want}±${tol}`);
    near('ASR_1hacme', 70, 5);
    near('ASR_1hglobex', 40, 5);
    near('ASR_1hinitech', 75, 6);
    near('ASR_1humbrella', 15, 6);
    near('PDD_1hacme', 1500, 150);
    near('PDD_1hinitech', 4000, 300);
    assert.ok(g('CCR_1hglobex') < g('CCR_1hacme'), '503s lower globex CCR');
    assert.ok(g('NER_1hglobex') > g('ASR_1hglobex'), '486s count for NER');
    assert.ok(g('ACD_1hacme') >= 10 && g('ACD_1hacme') <= 160);
    assert.ok(g('AST_1hacme') > g('PDD_1hacme'));
  });

  test('through the platform (DEMO_KPI): carriers by address, destinations by country code, failover on 503, calls held, the demo limits', () => {
    let now = T0;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
    const pipe = new SipPipeline(stats.engine, { ...completeTracker({ ...DEMO_KPI }), onPacketTime: (t) => (now = t) });
    const packets = planDemoTraffic({ from: T0, to: T0 + 300_000, until: T0 + 300_000, callsPerSecond: 10, seed: 11 });
    let second = T0 + 1000;
    for (const p of packets) {
      for (; second <= p.timeMs; second += 1000) pipe.tick(second);
      pipe.onSip(Buffer.from(p.sip), { timeMs: p.timeMs, srcIp: p.srcIp, dstIp: p.dstIp });
    }
    now = T0 + 300_000;
    const g = (n: string) => stats.getStat(n);
    assert.equal(g('sipstats:sip_decode_errors') ?? 0, 0);
    assert.equal(g('sipstats:sip_outside_platform') ?? 0, 0, 'every message crosses the platform');
    assert.equal(g('sipstats:attempts_uncorrelated') ?? 0, 0, 'each attempt is linked to its call (one Call-ID: a proxy)');
    assert.equal(g('sipstats:calls_started'), 3000);
    const failedOver = g('sipstats:calls_failed_over')!;
    assert.ok(failedOver > 300 && failedOver < 1200, `some calls fail over: ${failedOver}`);
    assert.equal(g('sipstats:attempts_started'), 3000 + failedOver, 'one attempt per call, one more per failover (routes of two carriers)');
    // every carrier, every destination, and the congested carrier_c worse than carrier_a
    const snap = kpiSnapshot(stats.engine, { window: '10m', limits: DEMO_LIMITS });
    const w = snap.windows['10m']!;
    assert.deepEqual(Object.keys(w.carriers).sort(), DEMO_CARRIERS.map((c) => c.name).sort());
    assert.deepEqual(Object.keys(w.destinations).sort(), DEMO_DESTINATIONS.map((d) => d.code).sort());
    const asr = KPIS.findIndex((k) => k.name === 'ASR');
    assert.ok(w.carriers.carrier_c.v[asr]! < w.carriers.carrier_a.v[asr]!, 'carrier_c refuses 30 % with 503');
    for (const d of DEMO_DESTINATIONS) for (const c of d.route) assert.ok(`${c}|${d.code}` in w.carrierDestinations, `${c} on ${d.code}`);
    assert.ok(g('FOR_10m')! > 0, 'failover ratio');
    // calls held: calls up now, per customer and carrier; the demo's limits give utilisation
    assert.ok(g('CC')! > 100, `calls up: ${g('CC')}`);
    assert.ok(g('CC~carrier=carrier_a')! > 0 && g('CCacme')! > 0);
    assert.ok(g('CC_utilacme')! > 0, 'acme has a channel limit');
    assert.deepEqual(snap.limits, { customer: { acme: { channels: 500, cps: 10 }, globex: { channels: 150, cps: 5 } }, carrier: { carrier_a: { channels: 600, cps: 15 }, carrier_c: { channels: 200, cps: 5 } } });
    // the customers' side is as it was: their outcome does not depend on the carriers
    assert.ok(Math.abs(g('ASR_10macme')! - 70) <= 6, `acme ASR ${g('ASR_10macme')}`);
    // without routing: the customers' side only, as before
    const plain = planDemoTraffic({ from: T0, to: T0 + 10_000, callsPerSecond: 5, seed: 3, routing: null });
    assert.ok(plain.every((p) => p.srcIp !== DEMO_CARRIERS[0].ip && p.dstIp !== DEMO_CARRIERS[0].ip && !/Via:.*\r\nVia:/.test(p.sip)));
  });

  test('a call plan: INVITE first, replies on the INVITE branch, 401 challenges re-sent with credentials, CANCEL → 487', () => {
    const rng = seededRandom(3);
    const acme = DEMO_CUSTOMERS[0];
    const plans = Array.from({ length: 300 }, (_, i) => planCall(rng, acme, `c${i}`));
    for (const p of plans) {
      assert.match(p[0].sip, /^INVITE /);
      assert.ok(p.every((m, i) => i === 0 || m.at >= p[i - 1].at), 'in time order');
    }
    const flat = plans.map((p) => p.map((m) => m.sip.split('\r\n')[0]).join(' | '));
    assert.ok(flat.some((f) => /401 Unauthorized \| ACK .* \| INVITE /.test(f)), 'some challenged');
    assert.ok(flat.some((f) => /CANCEL .*487 Request Terminated/.test(f)), 'some cancelled');
    assert.ok(flat.some((f) => /200 OK .*BYE /.test(f)), 'some answered and hung up');
    const challenged = plans.find((p) => p.some((m) => m.sip.startsWith('SIP/2.0 401')))!;
    assert.match(challenged.filter((m) => m.sip.startsWith('INVITE'))[1].sip, /CSeq: 2 INVITE[\s\S]*Authorization: Digest/);
  });

  test('startDemoTraffic sends HEP over UDP that the listener turns into KPIs of several customers; stop() ends it', async () => {
    const stats = createStats({ config: KPI_MODPARAMS });
    const pipe = new SipPipeline(stats.engine);
    const hep = await listenHep({ host: '127.0.0.1', port: 0 }, pipe, stats.engine);
    const demo = startDemoTraffic({ host: '127.0.0.1', port: hep.udp.port, callsPerSecond: 400, seed: 5 });
    try {
      const customers = () => DEMO_CUSTOMERS.filter((c) => stats.getStat(`PDD${c.name}`) !== null).length;
      for (let i = 0; i < 1000 && customers() < 4; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(customers(), 4, 'every demo customer has PDD');
      assert.ok((stats.getStat('sipstats:hep_packets') ?? 0) > 0);
      assert.equal(stats.getStat('sipstats:hep_decode_errors') ?? 0, 0);
      assert.equal(stats.getStat('sipstats:sip_decode_errors') ?? 0, 0);
      assert.equal(demo.stats.sendErrors, 0);
    } finally {
      demo.stop();
      demo.stop(); // idempotent
      await hep.close();
    }
    const sent = demo.stats.packets;
    await new Promise((r) => setImmediate(r));
    assert.equal(demo.stats.packets, sent, 'nothing sent after stop()');
    assert.throws(() => startDemoTraffic({ host: '127.0.0.1', port: 9, callsPerSecond: 0 }), RangeError);
  });
});
