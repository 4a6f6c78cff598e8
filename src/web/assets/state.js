// sipstats dashboard: the shared state. The catalogue (GET /api/catalogue: the windows, dimensions
// and views the page is built from), the page's state (window, scope, view, sort, search, the last
// answers), read from and written to the URL, the fetching of the JSON endpoints, and the KPI
// catalogue as /api/kpis describes it. It imports nothing. What several modules change lives in
// the one `state` object; the catalogue's bindings are assigned here only (readCatalogue, catalogue).

// ---- the catalogue (GET /api/catalogue, read once before the first poll) ----------------------
/** The windows' names, in catalogue order (the first is the default). */
export let WINDOWS = [];
/** The dimensions' names, in catalogue order (the order of a scope's values). */
export let DIMS = [];
/** The tabs, one per view of a single dimension: its map in /api/kpis, the scope dimension, and what its sample counts count. */
export let VIEWS = [];
/** The views as the catalogue has them: all traffic (`ALL`), and the crossed view of the heat map (`HEAT`: rows × columns). */
export let CATALOGUE_VIEWS = [];
export let ALL = null;
export let HEAT = null;
/** Dimensions of attempts named in the empty-table note ("Carriers and destinations need kpi.platform"). */
export let PLATFORM_DIMS = '';
/** A dimension's plural in a sentence, from its title (carriers). */
export let plural = (d) => d;

export const $ = (id) => document.getElementById(id);
export const el = (tag, attrs, text) => {
  const e = document.createElement(tag);
  if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
};
export const viewByKey = (k) => VIEWS.find((v) => v.key === k);
export const cap = (t) => t.charAt(0).toUpperCase() + t.slice(1);
/** The catalogue view of exactly these dimensions (names, in catalogue order), or undefined. */
export const viewOfDims = (names) => CATALOGUE_VIEWS.find((v) => v.dimensions.join() === names.join());
/** The view a scope is read in (its non-empty dimensions). */
export const scopeView = (s) => viewOfDims(DIMS.filter((d) => s[d]));
/** A scope with every dimension empty (all traffic). */
export const emptyScope = () => Object.fromEntries(DIMS.map((d) => [d, '']));
/** What a sample count counts in a view: `calls` becomes `attempts` in a view of attempts. */
export const countedIn = (text, view) => (view && view.of !== 'call' ? text.replace(/\bcalls\b/, view.of + 's') : text);

/**
 * Reads the catalogue (GET /api/catalogue): its windows, dimensions and views; then the window,
 * scope and view from the URL (nav.js builds the window buttons and the view tabs from it).
 */
export function readCatalogue(c) {
  const dims = c.dimensions;
  WINDOWS = c.windows.map((w) => w.name);
  DIMS = dims.map((d) => d.name);
  CATALOGUE_VIEWS = c.views;
  ALL = c.views.find((v) => v.dimensions.length === 0);
  HEAT = c.views.find((v) => v.dimensions.length === 2) || null;
  const dimOf = (name) => dims.find((d) => d.name === name);
  plural = (name) => dimOf(name).title.toLowerCase();
  VIEWS = c.views
    .filter((v) => v.dimensions.length === 1)
    .map((v) => {
      const d = dimOf(v.dimensions[0]);
      return { key: v.rows, dim: d.name, title: d.title, one: cap(d.name), volume: cap(v.of + 's'), of: v.of + 's', platform: d.of !== 'call' };
    });
  const needs = dims.filter((d) => d.of !== 'call').map((d, i) => (i === 0 ? d.title : d.title.toLowerCase()));
  PLATFORM_DIMS = needs.length > 1 ? needs.slice(0, -1).join(', ') + ' and ' + needs[needs.length - 1] : needs.join('');

  state.window = WINDOWS.includes(url.searchParams.get('window')) ? url.searchParams.get('window') : WINDOWS[0];
  state.scope = scopeFromUrl(url.searchParams);
  state.view = viewByKey(url.searchParams.get('view')) ? url.searchParams.get('view') : tabOf(state.scope);
  // the heat map's KPI (checked against the KPIs at the first answer of /api/kpis)
  state.heatKpi = url.searchParams.get('heat') || '';
}

// ---- state, from the URL ------------------------------------------------------------------
const url = new URL(location.href);
// a token in the URL (older links) is traded at once for a session cookie and removed from the
// address bar; the token form (app.js) does the same without the token ever being in a URL
export const urlToken = url.searchParams.get('token');
if (urlToken !== null) {
  url.searchParams.delete('token');
  history.replaceState(null, '', url);
}
// window, scope and view are read from the URL once the catalogue is known (readCatalogue)
export const state = {
  window: '',
  scope: {},
  view: '',
  sortKey: '',
  sortDir: 1,
  search: '',
  showAll: false,
  heatKpi: '',
  // a level's values as this page polled them (a level has no server-side history): { key, t, v: { KPI: [] } }
  live: null,
  kpis: null,
  hist: null,
  // the last /api/alerts answer; null: none (no alert service, an old server, or it failed)
  alerts: null,
  alertsMissingAt: 0,
  gen: 0,
  timer: 0,
};
export const perf = { renders: 0, views: 0, lastRenderMs: 0, renderMs: [], firstChart: false };
window.sipstatsDashboard = perf;

/**
 * The scopes /api/history knows: those of a view (all traffic, a customer, a carrier, a
 * destination, a carrier and a destination). Of dimensions no view has together, the first win.
 */
function scopeFromUrl(p) {
  const s = emptyScope();
  let has = DIMS.filter((d) => p.get(d));
  while (has.length > 0 && !viewOfDims(has)) has = has.slice(0, -1);
  for (const d of has) s[d] = p.get(d);
  return s;
}
/** The tab a scope opens: the first whose dimension the scope has, else the first. */
export const tabOf = (s) => (VIEWS.find((v) => s[v.dim]) || VIEWS[0]).key;
export const sameScope = (a, b) => DIMS.every((d) => (a[d] || '') === (b[d] || ''));

export function syncUrl() {
  const u = new URL(location.href);
  u.searchParams.set('window', state.window);
  if (state.view !== VIEWS[0].key) u.searchParams.set('view', state.view);
  else u.searchParams.delete('view');
  for (const d of DIMS) {
    if (state.scope[d]) u.searchParams.set(d, state.scope[d]);
    else u.searchParams.delete(d);
  }
  // the heat map's KPI, when not the default one
  if (state.heatKpi && (!cat || state.heatKpi !== cat.volume)) u.searchParams.set('heat', state.heatKpi);
  else u.searchParams.delete('heat');
  history.replaceState(null, '', u);
}

// a scope as a key (the alerts' index, the levels recorded) and in words (the scope's label, an alert)
/** `customer=acme`, `carrier=x|destination=44`, '' for all traffic; null for a non-KPI dimension (`stat`). */
export function dimKey(dim) {
  const d = dim || {};
  if (Object.keys(d).some((k) => !DIMS.includes(k))) return null;
  return DIMS.filter((k) => d[k]).map((k) => k + '=' + d[k]).join('|');
}
export const rowKey = (dim, name) => dim + '=' + name;

/** The dimension of an alert in words: customer acme, carrier x \u2192 destination 44, all traffic, statistic NAME. */
export function dimText(dim) {
  const d = dim || {};
  if (d.stat) return 'statistic ' + d.stat;
  const has = DIMS.filter((k) => d[k]);
  return has.length === 0 ? ALL.title : has.map((k) => k + ' ' + d[k]).join(' \u2192 ');
}

// ---- fetching -----------------------------------------------------------------------------
/** Trades a token for an HttpOnly session cookie (POST body: the token never appears in a URL). */
export async function login(token) {
  const r = await fetch('api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), cache: 'no-store', credentials: 'same-origin' });
  return r.ok;
}

export async function api(path) {
  const r = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
  if (r.status === 401) {
    const e = new Error('this server needs a token');
    e.status = 401;
    throw e;
  }
  if (!r.ok) throw new Error(path.split('?')[0] + ': HTTP ' + r.status);
  return r.json();
}

export function historyPath() {
  const p = new URLSearchParams({ window: state.window });
  let any = false;
  for (const d of DIMS)
    if (state.scope[d]) {
      p.set(d, state.scope[d]);
      any = true;
    }
  if (!any) p.set(DIMS[0], '');
  return 'api/history?' + p.toString();
}

/** After a 404 from /api/alerts (a server without the route), asked again only this much later. */
const ALERTS_RETRY_MS = 60_000;

/**
 * Whether to ask /api/alerts: a server with an alert service exports its gauges in group
 * `sipstats` from the start (docs/alerts.md), so a server without one (or an older server) is
 * never asked, and its 404 never shows. A 404 all the same pauses the questions for a minute.
 */
export function alertsWanted(k) {
  if (!k || !k.self || !('alerts_firing' in k.self)) return false;
  return state.alertsMissingAt === 0 || Date.now() - state.alertsMissingAt > ALERTS_RETRY_MS;
}

/** GET /api/alerts; never rejects: null when it cannot be read (the page then shows no alerts). */
export async function fetchAlerts() {
  try {
    const r = await fetch('api/alerts', { cache: 'no-store', credentials: 'same-origin' });
    if (r.status === 404) state.alertsMissingAt = Date.now();
    if (!r.ok) return null;
    const a = await r.json();
    return a && Array.isArray(a.active) ? a : null;
  } catch (e) {
    return null;
  }
}

// ---- the KPI catalogue, as /api/kpis describes it -------------------------------------------
export let cat = null; // { sig, info, byName, index, cards, volume, extras, charts }
const PALETTE = ['#2563eb', '#16a34a', '#ea580c', '#7c3aed', '#dc2626', '#0d9488', '#ca8a04', '#db2777', '#4b5563'];
// stable element ids (and test ids) of the charts of the usual units (calls up, calls per second); other units get chart-N
const CHART_IDS = { '%': 'chart-perc', ms: 'chart-delay', s: 'chart-acd', '': 'chart-calls', '/s': 'chart-rate' };
const MEDIA_CHART_IDS = { '%': 'chart-loss', '': 'chart-mos', ms: 'chart-jitter' };

/** (Re)derives everything KPI-specific from `info`; true when it changed (the page is rebuilt). */
export function catalogue(k) {
  const info = k.info || k.kpis.map((name) => ({ name, unit: (k.units && k.units[name]) || '', title: name, better: 'higher', samples: 'samples', card: true }));
  const sig = JSON.stringify([k.kpis, info]);
  if (cat && cat.sig === sig) return false;
  const byName = {};
  for (const i of info) byName[i.name] = i;
  const index = new Map(k.kpis.map((n, i) => [n, i]));
  const cards = info.filter((i) => i.card);
  // the non-card KPIs shown under a card: those whose `of` names it, else its `<name>_…` variants in the same unit
  const extras = {};
  for (const c of cards) extras[c.name] = info.filter((i) => !i.card && (i.of ? i.of === c.name : i.name.startsWith(c.name + '_') && i.unit === c.unit));
  // one chart per unit (media quality apart: MOS is no number of calls, loss no share of calls), the card KPIs,
  // and the KPIs that chart their history with them (a level: its maximum and average per window)
  const charts = [];
  let n = 0;
  for (const c of cards) {
    const media = c.media === true;
    let ch = charts.find((x) => x.unit === c.unit && x.media === media);
    if (!ch) charts.push((ch = { unit: c.unit, media, id: (media ? MEDIA_CHART_IDS[c.unit] : CHART_IDS[c.unit]) || 'chart-' + charts.length, kpis: [], colors: [], limit: '', magnitude: false }));
    for (const k of [c.name].concat(c.chartWith || [])) {
      if (ch.kpis.includes(k) || !byName[k]) continue;
      ch.kpis.push(k);
      ch.colors.push(PALETTE[n++ % PALETTE.length]);
      if (byName[k].limit && !ch.limit) ch.limit = byName[k].limit;
      if (byName[k].magnitude) ch.magnitude = true;
    }
  }
  cat = { sig, info, byName, index, cards, volume: (cards[0] || info[0]).name, extras, charts };
  if (!state.sortKey || (state.sortKey !== 'name' && state.sortKey !== 'calls' && !byName[state.sortKey])) {
    state.sortKey = cat.volume;
    state.sortDir = worstDir(cat.volume);
  }
  if (!byName[state.heatKpi]) state.heatKpi = cat.volume;
  return true;
}

export const unitText = (kpi) => {
  const u = cat.byName[kpi] ? cat.byName[kpi].unit : '';
  return u ? ' ' + u : '';
};
/**
 * The sort direction of a column's first click: the worst first (low where higher is better, high
 * where lower is); for a count of calls (calls up, calls per second), the busiest first.
 */
export function worstDir(key) {
  if (key === 'name') return 1;
  if (key === 'calls') return -1;
  const i = cat.byName[key];
  if (i && i.magnitude) return -1;
  return i && i.better === 'lower' ? -1 : 1;
}
/** What a KPI's samples count in the current scope: a carrier's KPIs count attempts, not calls. */
export function samplesText(kpi) {
  const s = cat.byName[kpi] ? cat.byName[kpi].samples : 'samples';
  return countedIn(s, scopeView(state.scope));
}

/** Runs a render step and records its cost: script time plus the style and layout it forces. */
export function timed(fn) {
  const t0 = performance.now();
  fn();
  queueMicrotask(() => {
    void document.body.offsetHeight; // chart redraws run in a microtask; then force layout
    const dt = performance.now() - t0;
    perf.renders++;
    perf.lastRenderMs = dt;
    perf.renderMs.push(dt);
    if (perf.renderMs.length > 100) perf.renderMs.shift();
  });
}

/**
 * What a view does that another module owns (render.js: poll, selectScope; nav.js: selectView),
 * filled in by those modules when they load: the views call them through here instead of importing
 * their owners, so that the modules import one way (app → render → views → state).
 */
export const actions = {
  poll: () => {},
  selectScope: (_scope) => {},
  selectView: (_key, _focus) => {},
};
