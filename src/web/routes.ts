import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Route, RouteContext } from '../http/server.ts';
import { acceptsGzip } from '../http/encoding.ts';
import type { StatsEngine } from '../core/engine.ts';
import { StatKind, statKey } from '../core/stat.ts';
import { DIMENSION_VALUE_RE, DIMENSIONS, HEADLINE_KPI, KPIS, NOW, profileOf, seriesName, VIEWS, windowByName, WINDOWS } from '../kpi/catalogue.ts';
import type { DimensionName, KpiDef, Scope } from '../kpi/catalogue.ts';
import { emptyKpiRow, readKpis } from '../kpi/kpi-read.ts';
import type { KpiWindowRead } from '../kpi/kpi-read.ts';
import type { HistoryRecorder } from '../core/history.ts';
import { DEFAULTS } from '../defaults.ts';
import { SELF_GROUP } from '../self-stats.ts';

/**
 * The dashboard's HTTP routes: the page and its assets (no token needed: they hold no data), the
 * catalogue it is built from (`/api/catalogue`) and the JSON it polls (`/api/kpis`, `/api/history`):
 * the bearer token like /metrics. See docs/dashboard.md.
 */

export interface DashboardOptions {
  /** Below this many samples a KPI shows "not enough data" (default 1: an empty window is not 0 %). */
  minSamples?: number;
  /** Below this many samples a KPI is shown in a lower-confidence style (default 5). */
  lowSamples?: number;
  /** Counters and non-KPI series listed in /api/kpis at most (default 1000; the rest are counted). */
  maxCounters?: number;
  /** Where index.html, the page's modules (app.js and those it imports) and app.css are (default: src/web/assets of the package). */
  assetsDir?: string;
  /**
   * The channel and CPS limits in force (the configuration's `limits` section, read at every
   * /api/kpis: a reload shows at the next poll). The page draws them on the CC and CPS charts and
   * cards of a customer or carrier, and marks the table cells over them.
   */
  limits?: () => LimitsInput | null | undefined;
}

/** What a limit bounds: the channels (concurrent calls; a carrier's attempts) or the calls started per second. */
export type LimitName = 'channels' | 'cps';

/** One scope's limits. */
export type Limit = { channels?: number; cps?: number };

/** The limits the page gets in /api/kpis: per customer and per carrier, by name. */
export type Limits = Record<'customer' | 'carrier', Record<string, Limit>>;

/** What the `limits` option may give: Limits, any key left out (the configuration's parsed `limits` section fits). */
export type LimitsInput = Readonly<Partial<Record<string, Readonly<Record<string, Readonly<Limit>>>>>>;

/** The dimensions limits are set on (sold and bought in channels: a customer's calls, a carrier's attempts). */
const LIMITED: readonly (keyof Limits)[] = ['customer', 'carrier'];

/** maxCells: carrier × destination pairs sent per window at most (the busiest; the rest are counted). */
export const DASHBOARD_DEFAULTS = DEFAULTS.dashboard;

/** KPIs in the order of the `v` and `n` arrays of /api/kpis, with their units (from the catalogue). */
export const DASHBOARD_KPIS: readonly string[] = KPIS.map((k) => k.name);
export const KPI_UNITS: Readonly<Record<string, string>> = Object.fromEntries(KPIS.map((k) => [k.name, k.unit]));
/** The kinds whose values are numbers of calls (up now, most or average up, started per second), when their unit says so. */
const CALL_COUNT_KINDS: ReadonlySet<string> = new Set(['level', 'max', 'average', 'rate']);

/**
 * The limit a KPI's values are compared with: the channels for the numbers of calls up (unit '':
 * CC, CC_early, CC_max, CC_avg), the calls per second for the rates ('/s': CPS, CPS_max); none for
 * the rest (ratios, times, utilisation in %).
 */
export function limitOfKpi(k: Pick<KpiDef, 'unit' | 'kind' | 'media'>): LimitName | undefined {
  if (!CALL_COUNT_KINDS.has(k.kind) || k.media === true) return undefined;
  return k.unit === '' ? 'channels' : k.unit === '/s' ? 'cps' : undefined;
}

/**
 * The windowed KPIs that chart a card KPI's history beside it: its maximum and its average over
 * each window (a `max` or `average` KPI of the same unit named `<name>_…` or whose `of` names it:
 * CC → CC_max, CC_avg; CPS → CPS_max). A level (CC) has no history of its own: these are its chart.
 */
export function chartedWith(k: KpiDef): string[] {
  if (!k.card) return [];
  return KPIS.filter((o) => o !== k && (o.kind === 'max' || o.kind === 'average') && o.unit === k.unit && (o.of === k.name || (o.of === undefined && o.name.startsWith(`${k.name}_`)))).map((o) => o.name);
}

/**
 * What the page needs to know of each KPI (title, unit, which way is good, shown as a card), and
 * what it draws from: `kind`; `window` for a level (its value is now, in every window); `limit`
 * (which limit its values are compared with); `magnitude` (a count of calls: coloured and sorted by
 * size, not by good or bad); `chartWith` (the KPIs charted with a card KPI).
 */
const KPI_INFO = KPIS.map((k) => {
  const limit = limitOfKpi(k);
  const chartWith = chartedWith(k);
  return {
    name: k.name,
    unit: k.unit,
    title: k.title,
    better: k.better,
    samples: k.samples,
    card: k.card,
    ...(k.of !== undefined ? { of: k.of } : {}),
    ...(k.media === true ? { media: true } : {}),
    kind: k.kind,
    ...(k.kind === 'level' ? { window: NOW.name } : {}),
    ...(limit !== undefined ? { limit, magnitude: true } : {}),
    ...(chartWith.length > 0 ? { chartWith } : {}),
  };
});
/** The dimensions and whose KPIs they hold (calls or attempts). */
const DIMENSION_INFO = DIMENSIONS.map((d) => ({ name: d.name, title: d.title, of: d.of }));
const WINDOW_NAMES: readonly string[] = WINDOWS.map((w) => w.name);
type WindowName = string;
/** `1m, 10m or 1h`. */
const WINDOW_CHOICES = `${WINDOW_NAMES.slice(0, -1).join(', ')} or ${WINDOW_NAMES[WINDOW_NAMES.length - 1]}`;

/**
 * What `/api/catalogue` answers: the catalogue the page is built from (its window buttons, view tabs
 * and heat map, cards and columns), so that the page's scripts (app.js and its modules) name no window, view, dimension nor KPI.
 */
export const DASHBOARD_CATALOGUE = Object.freeze({
  kpis: KPI_INFO,
  windows: WINDOWS.map((w) => ({ name: w.name, title: w.title, seconds: w.seconds })),
  dimensions: DIMENSION_INFO,
  /** Views: `rows` names their map in /api/kpis windows; `dimensions` by name, in catalogue order. */
  views: VIEWS.map((v) => ({ name: v.name, title: v.title, rows: v.rows, dimensions: v.dimensions.map((d) => d.name), of: v.of })),
});

/** KPI values of one scope (all traffic, or a customer) in one window: `v[i]`, `n[i]` for DASHBOARD_KPIS[i]. */
export interface KpiRow {
  v: (number | null)[];
  n: (number | null)[];
}

/**
 * One window of /api/kpis: all traffic and each view's rows under the view's `rows` name (catalogue
 * VIEWS; carrier × destination keyed `carrier|destination`).
 */
export interface KpiWindowRows {
  overall: KpiRow;
  customers: Record<string, KpiRow>;
  carriers: Record<string, KpiRow>;
  destinations: Record<string, KpiRow>;
  carrierDestinations: Record<string, KpiRow>;
  /** Carrier × destination pairs left out past maxCells (the least busy). */
  carrierDestinationsOmitted: number;
}

export interface KpiSnapshot {
  now: number;
  kpis: readonly string[];
  units: Readonly<Record<string, string>>;
  info: typeof KPI_INFO;
  dimensions: typeof DIMENSION_INFO;
  thresholds: { minSamples: number; lowSamples: number };
  windows: Partial<Record<WindowName, KpiWindowRows>>;
  /** Self-statistics: the counters of group `sipstats`, by name. */
  self: Record<string, number>;
  /** Other counters (`group:name`) and non-KPI series such as INVITE_per_min. */
  counters: Record<string, number | null>;
  /** Counters and series left out past maxCounters. */
  countersOmitted: number;
  /** The limits of the customers and carriers that have a row in `windows` (the `limits` option). */
  limits: Limits;
}

const HEADLINE = KPIS.indexOf(HEADLINE_KPI);
const emptyRow = (): KpiRow => {
  const r = emptyKpiRow();
  return { v: r.v, n: r.n };
};

/**
 * Everything /api/kpis answers, read at the engine's clock in one pass over the statistics (the
 * KPI read model, src/kpi/kpi-read.ts, and the counters beside it). Values are those of
 * get_statistics at the same instant; `n` is the number of samples behind each.
 */
export function kpiSnapshot(engine: StatsEngine, options: { window?: WindowName; minSamples?: number; lowSamples?: number; maxCounters?: number; maxCells?: number; limits?: LimitsInput | null } = {}): KpiSnapshot {
  const maxCounters = options.maxCounters ?? DASHBOARD_DEFAULTS.maxCounters;
  const maxCells = options.maxCells ?? DASHBOARD_DEFAULTS.maxCells;
  const snap: KpiSnapshot = {
    now: 0,
    kpis: DASHBOARD_KPIS,
    units: KPI_UNITS,
    info: KPI_INFO,
    dimensions: DIMENSION_INFO,
    thresholds: { minSamples: options.minSamples ?? DASHBOARD_DEFAULTS.minSamples, lowSamples: options.lowSamples ?? DASHBOARD_DEFAULTS.lowSamples },
    windows: {},
    self: {},
    counters: {},
    countersOmitted: 0,
    limits: { customer: {}, carrier: {} },
  };
  let listed = 0;
  const read = readKpis(engine, {
    windows: options.window === undefined ? WINDOWS : WINDOWS.filter((w) => w.name === options.window),
    other(s, t) {
      if (s.kind === StatKind.Counter) {
        if (s.group.name === SELF_GROUP) snap.self[s.name] = s.value;
        else if (listed++ < maxCounters) snap.counters[statKey(s)] = s.value;
        else snap.countersOmitted++;
      } else if (listed++ < maxCounters) snap.counters[statKey(s)] = s.profile.read(s, t);
      else snap.countersOmitted++;
    },
  });
  snap.now = read.now;
  for (const [w, views] of read.windows) snap.windows[w.name] = windowRows(views, maxCells);
  if (options.limits) snap.limits = limitsShown(options.limits, snap.windows);
  return snap;
}

/** A limit is a positive finite number; anything else is none. */
const limitValue = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);

/**
 * The limits of the customers and carriers that have a row in one of `windows` (the page shows
 * no other), each with its positive limits only: a thousand configured accounts cost nothing
 * while they have no calls.
 */
function limitsShown(input: LimitsInput, windows: KpiSnapshot['windows']): Limits {
  const out: Limits = { customer: {}, carrier: {} };
  for (const dim of LIMITED) {
    const byName = input[dim];
    if (!byName) continue;
    const rowsOf = VIEWS.find((v) => v.dimensions.length === 1 && v.dimensions[0].name === dim)!.rows as keyof KpiWindowRows;
    const shown = Object.values(windows).map((w) => w![rowsOf] as Record<string, KpiRow>);
    for (const name of Object.keys(byName)) {
      if (!shown.some((rows) => Object.hasOwn(rows, name))) continue;
      const l = byName[name];
      const channels = limitValue(l?.channels);
      const cps = limitValue(l?.cps);
      if (channels === undefined && cps === undefined) continue;
      out[dim][name] = { ...(channels !== undefined ? { channels } : {}), ...(cps !== undefined ? { cps } : {}) };
    }
  }
  return out;
}

/** A window of the read model as /api/kpis has it: all traffic as one row, each view as a map of rows. */
function windowRows(views: KpiWindowRead, maxCells: number): KpiWindowRows {
  const out: Record<string, unknown> = {};
  for (const [view, rows] of views) {
    if (view.dimensions.length === 0) {
      const r = rows.get('');
      out[view.rows] = r === undefined ? emptyRow() : { v: r.v, n: r.n };
      continue;
    }
    let cells = [...rows];
    let omitted = 0;
    if (view.dimensions.length > 1) {
      // at most maxCells of a crossed view (carrier × destination): the busiest (most samples of the headline KPI)
      if (cells.length > maxCells) {
        cells.sort((a, b) => (b[1].n[HEADLINE] ?? 0) - (a[1].n[HEADLINE] ?? 0));
        omitted = cells.length - maxCells;
        cells = cells.slice(0, maxCells);
      }
    }
    const o: Record<string, KpiRow> = {};
    for (const [k, r] of cells) o[k] = { v: r.v, n: r.n };
    out[view.rows] = o;
    if (view.dimensions.length > 1) out[`${view.rows}Omitted`] = omitted;
  }
  return out as unknown as KpiWindowRows;
}

/** What /api/history answers: per KPI of one window and scope, its points (times shared per profile). */
export function historyFor(engine: StatsEngine, history: HistoryRecorder, window: WindowName, scope: Scope, points: number) {
  const kw = windowByName(window);
  const series: Record<string, { t: number[]; v: (number | null)[]; n: (number | null)[] }> = {};
  for (const kpi of KPIS) {
    const s = kw === undefined ? undefined : engine.lookup(seriesName(kpi, kw, scope));
    const h = s !== undefined && s.kind === StatKind.Series ? history.getStat(s, points, true) : undefined;
    if (h !== undefined) {
      series[kpi.name] = h;
      continue;
    }
    // not recorded (yet): the profile's sample times with no values, so charts stay aligned
    const profileName = kw === undefined ? undefined : profileOf(kpi, kw);
    const p = s !== undefined && s.kind === StatKind.Series ? s.profile : profileName === undefined ? undefined : engine.profile(profileName);
    const t = p === undefined ? [] : history.times(p, points);
    series[kpi.name] = { t, v: t.map(() => null), n: t.map(() => null) };
  }
  return { now: engine.clock(), window, customer: scope.customer ?? '', ...scope, series };
}

// ---- static assets --------------------------------------------------------------------------

interface Asset {
  readonly type: string;
  readonly cache: string;
  readonly path: () => string;
}

interface LoadedAsset {
  readonly raw: Buffer;
  readonly gz: Buffer;
  readonly etag: string;
}

function defaultAssetsDir(): string {
  // src/web/routes.ts → src/web/assets; dist/web/routes.js → the package's src/web/assets
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'assets');
  return existsSync(join(beside, 'index.html')) ? beside : join(here, '../../src/web/assets');
}

function uplotFile(name: string): string {
  const pkg = createRequire(import.meta.url).resolve('uplot/package.json');
  return join(dirname(pkg), 'dist', name);
}

const REVALIDATE = 'no-cache';
const DAY = 'public, max-age=86400';

/** Security headers of the page: everything from this origin only (no CDN, no inline script). */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The page's script: native ES modules served as they are (no bundler), app.js the entry that
 * index.html loads, the others imported by it or by each other: every `.js` file of the assets
 * directory (read once, when the routes are made).
 */
const pageModules = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.js')).sort();

function assetTable(dir: string): Map<string, Asset> {
  const own = (file: string, type: string): [string, Asset] => [`/assets/${file}`, { type, cache: REVALIDATE, path: () => join(dir, file) }];
  return new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', cache: REVALIDATE, path: () => join(dir, 'index.html') }],
    ...pageModules(dir).map((f) => own(f, 'text/javascript; charset=utf-8')),
    own('app.css', 'text/css; charset=utf-8'),
    ['/assets/uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', cache: DAY, path: () => uplotFile('uPlot.iife.min.js') }],
    ['/assets/uPlot.min.css', { type: 'text/css; charset=utf-8', cache: DAY, path: () => uplotFile('uPlot.min.css') }],
  ]);
}

/** Serves only the files named in the table (no path from the URL ever reaches the file system). */
function serveAsset(table: Map<string, Asset>, loaded: Map<string, LoadedAsset>, path: string, req: IncomingMessage, res: ServerResponse, fail: RouteContext['fail']): void {
  const a = table.get(path);
  if (a === undefined) return fail('E_HTTP_NOT_FOUND');
  let l = loaded.get(path);
  if (l === undefined) {
    let raw: Buffer;
    try {
      raw = readFileSync(a.path());
    } catch (e) {
      return fail('E_HTTP_NOT_FOUND', `asset missing: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    l = { raw, gz: gzipSync(raw, { level: 9 }), etag: `"${createHash('sha1').update(raw).digest('base64url').slice(0, 20)}"` };
    loaded.set(path, l);
  }
  const headers: Record<string, string | number> = { 'content-type': a.type, 'cache-control': a.cache, etag: l.etag, vary: 'accept-encoding', 'x-content-type-options': 'nosniff' };
  if (path === '/') Object.assign(headers, PAGE_HEADERS);
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(/\s*,\s*/).includes(l.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const body = gzip ? l.gz : l.raw;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(body);
}

function windowParam(url: URL): WindowName | null | undefined {
  const w = url.searchParams.get('window');
  if (w === null) return undefined;
  return (WINDOW_NAMES as readonly string[]).includes(w) ? (w as WindowName) : null;
}

/**
 * The dashboard routes: `GET /`, `GET /assets/...`, `GET /api/catalogue`, `GET /api/kpis[?window=1m]`,
 * `GET /api/history?window=1m[&customer=NAME|&carrier=NAME[&destination=NAME]|&destination=NAME][&points=N]`. Add them to the HTTP listener's routes.
 */
export function dashboardRoutes(stats: { readonly engine: StatsEngine }, history: HistoryRecorder, options: DashboardOptions = {}): Route[] {
  const engine = stats.engine;
  const table = assetTable(options.assetsDir ?? defaultAssetsDir());
  const loaded = new Map<string, LoadedAsset>();
  const minSamples = options.minSamples ?? DASHBOARD_DEFAULTS.minSamples;
  const lowSamples = options.lowSamples ?? DASHBOARD_DEFAULTS.lowSamples;
  const maxCounters = options.maxCounters ?? DASHBOARD_DEFAULTS.maxCounters;
  const limits = options.limits;
  const noStore = { 'cache-control': 'no-store' };
  return [
    {
      methods: ['GET'],
      path: '/',
      auth: false,
      handle: (req, res, ctx) => serveAsset(table, loaded, '/', req, res, ctx.fail),
    },
    {
      methods: ['GET'],
      path: '/assets',
      prefix: true,
      auth: false,
      handle: (req, res, ctx) => serveAsset(table, loaded, ctx.url.pathname, req, res, ctx.fail),
    },
    {
      methods: ['GET'],
      path: '/api/catalogue',
      auth: true,
      handle(_req, _res, ctx) {
        ctx.json(200, DASHBOARD_CATALOGUE, noStore);
      },
    },
    {
      methods: ['GET'],
      path: '/api/kpis',
      auth: true,
      handle(_req, _res, ctx) {
        const window = windowParam(ctx.url);
        if (window === null) return ctx.fail('E_HTTP_BAD_REQUEST', `window must be ${WINDOW_CHOICES}`);
        ctx.json(200, kpiSnapshot(engine, { window, minSamples, lowSamples, maxCounters, limits: limits?.() }), noStore);
      },
    },
    {
      methods: ['GET'],
      path: '/api/history',
      auth: true,
      handle(_req, _res, ctx) {
        const w = windowParam(ctx.url);
        if (w === null) return ctx.fail('E_HTTP_BAD_REQUEST', `window must be ${WINDOW_CHOICES}`);
        const window = w ?? WINDOW_NAMES[0];
        const scope: { [K in DimensionName]?: string } = {};
        for (const { name: d } of DIMENSIONS) {
          const v = ctx.url.searchParams.get(d);
          if (v === null || v === '') continue;
          if (!DIMENSION_VALUE_RE.test(v)) return ctx.fail('E_HTTP_BAD_REQUEST', `${d} must be 1-64 characters of [A-Za-z0-9_.@+-], not starting with '_'`);
          scope[d] = v;
        }
        const p = ctx.url.searchParams.get('points');
        const points = p === null ? history.points : Number(p);
        if (!Number.isInteger(points) || points < 1) return ctx.fail('E_HTTP_BAD_REQUEST', 'points must be a positive integer');
        ctx.json(200, historyFor(engine, history, window, scope, Math.min(points, history.points)), noStore);
      },
    },
  ];
}
