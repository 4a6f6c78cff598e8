// sipstats dashboard: plain browser JavaScript, no build step. Polls /api/kpis and /api/history
// (and /api/alerts, when the server has alerts) every second and renders the active alerts, the
// KPI cards, the uPlot charts, the customer / carrier / destination tables, the carrier ×
// destination heat map and the counters, with the alerts marked on rows, cells and cards, and the channel and CPS
// limits of a customer or carrier on its cards, charts and table cells. The KPIs (names, units, titles, which way is
// good, which are cards, which limit bounds them, what charts a level) come from /api/kpis `info`, the windows, dimensions and views (the window
// buttons, the tabs, the heat map's rows and columns) from /api/catalogue: nothing here names a KPI, a window or a view.
// Hooks for tests and benchmarks: data-testid attributes, the `sipstats:first-chart` performance
// mark, and window.sipstatsDashboard (render times).
'use strict';
(function () {
  // ---- the catalogue (GET /api/catalogue, read once before the first poll) ----------------------
  /** The windows' names, in catalogue order (the first is the default). */
  let WINDOWS = [];
  /** The dimensions' names, in catalogue order (the order of a scope's values). */
  let DIMS = [];
  /** The tabs, one per view of a single dimension: its map in /api/kpis, the scope dimension, and what its sample counts count. */
  let VIEWS = [];
  /** The views as the catalogue has them: all traffic (`ALL`), and the crossed view of the heat map (`HEAT`: rows × columns). */
  let CATALOGUE_VIEWS = [];
  let ALL = null;
  let HEAT = null;
  const POLL_MS = 1000;
  const ROW_LIMIT = 200;
  const HEAT_ROWS = 30;
  const HEAT_COLS = 30;
  const HEAT_BUCKETS = 10;
  const NOT_ENOUGH = 'not enough data';
  const PALETTE = ['#2563eb', '#16a34a', '#ea580c', '#7c3aed', '#dc2626', '#0d9488', '#ca8a04', '#db2777', '#4b5563'];
  // stable element ids (and test ids) of the charts of the usual units (calls up, calls per second); other units get chart-N
  const CHART_IDS = { '%': 'chart-perc', ms: 'chart-delay', s: 'chart-acd', '': 'chart-calls', '/s': 'chart-rate' };
  const MEDIA_CHART_IDS = { '%': 'chart-loss', '': 'chart-mos', ms: 'chart-jitter' };
  /** Values of a level (calls up now) the page records itself, per scope, while it is open (1 a poll). */
  const LIVE_POINTS = 600;
  const LIMIT_COLOR = '#b91c1c';
  /** Resolved alerts listed at most (the server keeps 50 by default). */
  const RECENT_LIMIT = 20;
  /** After a 404 from /api/alerts (a server without the route), asked again only this much later. */
  const ALERTS_RETRY_MS = 60_000;
  /** The marks of an alert's state: a shape as well as a colour (filled: firing, hollow: pending). */
  const ALERT_ICON = { firing: '\u25b2', pending: '\u25b3' };

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const viewByKey = (k) => VIEWS.find((v) => v.key === k);
  const cap = (t) => t.charAt(0).toUpperCase() + t.slice(1);
  /** The catalogue view of exactly these dimensions (names, in catalogue order), or undefined. */
  const viewOfDims = (names) => CATALOGUE_VIEWS.find((v) => v.dimensions.join() === names.join());
  /** The view a scope is read in (its non-empty dimensions). */
  const scopeView = (s) => viewOfDims(DIMS.filter((d) => s[d]));
  /** A scope with every dimension empty (all traffic). */
  const emptyScope = () => Object.fromEntries(DIMS.map((d) => [d, '']));
  /** What a sample count counts in a view: `calls` becomes `attempts` in a view of attempts. */
  const countedIn = (text, view) => (view && view.of !== 'call' ? text.replace(/\bcalls\b/, view.of + 's') : text);

  // ---- state, from the URL ------------------------------------------------------------------
  const url = new URL(location.href);
  // a token in the URL (older links) is traded at once for a session cookie and removed from the
  // address bar; the form below does the same without the token ever being in a URL
  const urlToken = url.searchParams.get('token');
  if (urlToken !== null) {
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  // window, scope and view are read from the URL once the catalogue is known (useCatalogue)
  const state = {
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
  const perf = { renders: 0, views: 0, lastRenderMs: 0, renderMs: [], firstChart: false };
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
  const tabOf = (s) => (VIEWS.find((v) => s[v.dim]) || VIEWS[0]).key;
  const sameScope = (a, b) => DIMS.every((d) => (a[d] || '') === (b[d] || ''));

  function syncUrl() {
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

  // ---- fetching -----------------------------------------------------------------------------
  /** Trades a token for an HttpOnly session cookie (POST body: the token never appears in a URL). */
  async function login(token) {
    const r = await fetch('api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), cache: 'no-store', credentials: 'same-origin' });
    return r.ok;
  }

  async function api(path) {
    const r = await fetch(path, { cache: 'no-store', credentials: 'same-origin' });
    if (r.status === 401) {
      const e = new Error('this server needs a token');
      e.status = 401;
      throw e;
    }
    if (!r.ok) throw new Error(path.split('?')[0] + ': HTTP ' + r.status);
    return r.json();
  }

  function historyPath() {
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

  /**
   * Whether to ask /api/alerts: a server with an alert service exports its gauges in group
   * `sipstats` from the start (docs/alerts.md), so a server without one (or an older server) is
   * never asked, and its 404 never shows. A 404 all the same pauses the questions for a minute.
   */
  function alertsWanted(k) {
    if (!k || !k.self || !('alerts_firing' in k.self)) return false;
    return state.alertsMissingAt === 0 || Date.now() - state.alertsMissingAt > ALERTS_RETRY_MS;
  }

  /** GET /api/alerts; never rejects: null when it cannot be read (the page then shows no alerts). */
  async function fetchAlerts() {
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

  async function poll() {
    clearTimeout(state.timer);
    const gen = ++state.gen;
    try {
      if (!WINDOWS.length) {
        const c = await api('api/catalogue');
        if (gen !== state.gen) return; // a newer poll reads it
        useCatalogue(c);
      }
      let alerts = alertsWanted(state.kpis) ? fetchAlerts() : null;
      const [kpis, hist] = await Promise.all([api('api/kpis?window=' + state.window), api(historyPath())]);
      // the first answer tells whether the server has alerts: ask at once rather than a second later
      if (alerts === null && alertsWanted(kpis)) alerts = fetchAlerts();
      const al = alerts === null ? null : await alerts;
      if (gen !== state.gen) return; // the view changed meanwhile: a newer poll is on its way
      $('auth').hidden = true;
      state.kpis = kpis;
      state.hist = hist;
      state.alerts = al;
      render();
      setStatus('updated ' + new Date(kpis.now).toLocaleTimeString(), false);
    } catch (e) {
      if (gen !== state.gen) return;
      if (e.status === 401) $('auth').hidden = false;
      setStatus(e.status === 401 ? 'token needed' : 'connection lost, retrying (' + e.message + ')', true);
    }
    if (gen === state.gen) state.timer = setTimeout(poll, POLL_MS);
  }

  function setStatus(text, bad) {
    const s = document.querySelector('[data-testid=status]');
    s.textContent = text;
    s.classList.toggle('bad', bad);
  }

  // ---- the KPI catalogue, as /api/kpis describes it -------------------------------------------
  let cat = null; // { sig, info, byName, index, cards, volume, extras, charts }

  /** (Re)derives everything KPI-specific from `info`; true when it changed (the page is rebuilt). */
  function catalogue(k) {
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

  const unitText = (kpi) => {
    const u = cat.byName[kpi] ? cat.byName[kpi].unit : '';
    return u ? ' ' + u : '';
  };
  /**
   * The sort direction of a column's first click: the worst first (low where higher is better, high
   * where lower is); for a count of calls (calls up, calls per second), the busiest first.
   */
  function worstDir(key) {
    if (key === 'name') return 1;
    if (key === 'calls') return -1;
    const i = cat.byName[key];
    if (i && i.magnitude) return -1;
    return i && i.better === 'lower' ? -1 : 1;
  }
  /** What a KPI's samples count in the current scope: a carrier's KPIs count attempts, not calls. */
  function samplesText(kpi) {
    const s = cat.byName[kpi] ? cat.byName[kpi].samples : 'samples';
    return countedIn(s, scopeView(state.scope));
  }

  // ---- formatting ---------------------------------------------------------------------------
  const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

  /** 'none' (not enough data), 'low' (few samples) or 'ok'. */
  function quality(v, n) {
    const t = state.kpis.thresholds;
    if (v === null || v === undefined) return 'none';
    if (n === null || n === undefined) return 'ok'; // the algorithm does not tell how many
    if (n < t.minSamples) return 'none';
    return n < t.lowSamples ? 'low' : 'ok';
  }

  function kpiOf(row, kpi) {
    const i = cat.index.get(kpi);
    return row && i !== undefined ? { v: row.v[i], n: row.n[i] } : { v: null, n: 0 };
  }

  /** The limit (a number, or null) of one dimension value (a customer named acme) by its name (channels, cps), from /api/kpis `limits`. */
  function limitOf(dim, name, which) {
    const l = state.kpis && state.kpis.limits && state.kpis.limits[dim];
    const v = l && Object.prototype.hasOwnProperty.call(l, name) ? l[name][which] : undefined;
    return typeof v === 'number' ? v : null;
  }
  /** The limit of the shown scope (a customer or a carrier alone has limits; all traffic and the others none). */
  function scopeLimit(which) {
    if (!which) return null;
    const has = DIMS.filter((d) => state.scope[d]);
    return has.length === 1 ? limitOf(has[0], state.scope[has[0]], which) : null;
  }

  // ---- cards --------------------------------------------------------------------------------
  let cards = {};
  function buildCards() {
    const box = $('cards');
    box.replaceChildren();
    cards = {};
    for (const i of cat.cards) {
      const k = i.name;
      const card = el('div', { class: 'card', 'data-kpi': k, 'data-testid': 'kpi-' + k });
      card.append(el('div', { class: 'label', title: i.title }, k));
      const value = el('div', { class: 'value', 'data-testid': 'kpi-' + k + '-value' }, '…');
      const sub = el('div', { class: 'sub', 'data-testid': 'kpi-' + k + '-samples' });
      card.append(value, sub);
      // the KPIs under it (PDD_p95 under PDD; calls setting up, most and average up under the calls up)
      const extras = cat.extras[k].map((x) => ({ def: x, node: el('span', { class: 'p95', title: x.title, 'data-testid': 'kpi-' + x.name + '-value' }) }));
      if (extras.length > 0) {
        const line = el('div', { class: 'extras' });
        for (const x of extras) line.append(x.node);
        card.append(line);
      }
      // its limit, when the scope shown has one (a customer's or carrier's channels or calls per second)
      const limit = i.limit ? el('div', { class: 'limit', 'data-testid': 'kpi-' + k + '-limit', hidden: '' }) : null;
      if (limit) card.append(limit);
      box.append(card);
      cards[k] = { card, value, sub, extras, limit, def: i };
    }
  }

  function setValue(node, kpi, v, n, prefix) {
    const q = quality(v, n);
    const raw = q === 'none' ? '' : String(v);
    if (node.dataset.value === raw && node.dataset.state === q && node.dataset.samples === String(n)) return;
    node.dataset.value = raw;
    node.dataset.state = q;
    node.dataset.samples = String(n);
    node.textContent = (prefix || '') + (q === 'none' ? NOT_ENOUGH : nf.format(v) + unitText(kpi));
    node.title = n === null ? '' : n + ' samples';
  }

  function renderCards(row) {
    for (const k of Object.keys(cards)) {
      const c = cards[k];
      const { v, n } = kpiOf(row, k);
      setValue(c.value, k, v, n);
      c.card.dataset.state = quality(v, n);
      const counted = samplesText(k);
      c.sub.textContent = n === null || !counted ? '' : nf.format(n) + ' ' + counted;
      for (const x of c.extras) {
        const p = kpiOf(row, x.def.name);
        const label = x.def.name.startsWith(k + '_') ? x.def.name.slice(k.length + 1) + ' ' : x.def.name + ' ';
        setValue(x.node, x.def.name, p.v, p.n, label);
      }
      if (c.limit) renderCardLimit(c, v, quality(v, n) !== 'none');
    }
  }

  /** `limit 30 · 40 %` under a card whose scope has a limit; data-over when the value is past it. */
  function renderCardLimit(c, v, known) {
    const lim = scopeLimit(c.def.limit);
    const node = c.limit;
    node.hidden = lim === null;
    const text = lim === null ? '' : 'limit ' + nf.format(lim) + unitText(c.def.name) + (known ? ' \u00b7 ' + nf.format(Math.round((100 * v) / lim)) + ' %' : '');
    if (node.textContent !== text) node.textContent = text;
    node.dataset.value = lim === null ? '' : String(lim);
    node.dataset.limit = c.def.limit;
    const over = lim !== null && known && v > lim;
    node.dataset.over = String(over);
    c.card.classList.toggle('over', over);
  }

  // ---- charts -------------------------------------------------------------------------------
  let plots = [];

  function chartWidth(node) {
    return Math.max(240, node.clientWidth || 320);
  }

  function buildCharts() {
    for (const p of plots) p.plot.destroy();
    plots = [];
    const box = $('charts');
    box.replaceChildren();
    // every figure first, then the plots: each measures its width in the final grid
    const nodes = cat.charts.map((c) => {
      const fig = el('figure');
      const cap = el('figcaption', null, c.kpis.join(' \u00b7 ') + (c.unit ? ' (' + c.unit + ')' : ''));
      // the limit drawn on this chart (a dashed line), named in words too
      const limit = c.limit ? el('span', { class: 'limit', 'data-testid': c.id + '-limit', 'data-limit': c.limit, hidden: '' }) : null;
      if (limit) cap.append(limit);
      fig.append(cap);
      const node = el('div', { class: 'chart', id: c.id, 'data-testid': c.id, 'data-unit': c.unit, 'data-points': '0', 'data-kpis': c.kpis.join(',') });
      fig.append(node);
      box.append(fig);
      return { node, limit };
    });
    if (typeof uPlot !== 'function') return;
    cat.charts.forEach((c, at) => {
      const { node, limit } = nodes[at];
      const opts = {
        width: chartWidth(node),
        height: 180,
        ms: 1,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        // percentages 0-100; counts of calls from 0 (up to their limit, when one is drawn); the rest as the data goes
        scales: { x: { time: true }, y: c.unit === '%' && !c.media ? { range: [0, 100] } : c.magnitude ? { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } : { auto: true } },
        // a level's line (recorded by the page) ends in a dot: its value now, seen from the first poll
        series: [{}].concat(c.kpis.map((k, i) => ({ label: k, stroke: c.colors[i], width: 2, spanGaps: false, points: cat.byName[k].window ? { show: false, size: 8, fill: c.colors[i], filter: lastPoint } : { show: false } }))),
        axes: [{ stroke: '#64748b', grid: { stroke: '#e2e8f0' } }, { stroke: '#64748b', grid: { stroke: '#e2e8f0' }, size: 56 }],
        hooks: {
          draw: [
            (u) => {
              if (!perf.firstChart && u.data[0].length > 0) {
                perf.firstChart = true;
                performance.mark('sipstats:first-chart');
              }
            },
          ],
        },
      };
      plots.push({ def: c, node, limitTag: limit, limitShown: null, plot: new uPlot(opts, [[]].concat(c.kpis.map(() => [])), node) });
    });
  }

  /** The index of a series' last value (uPlot points.filter): where a level's dot goes. */
  function lastPoint(u, si) {
    const ys = u.data[si];
    for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null && ys[i] !== undefined) return [i];
    return null;
  }

  let resizePending = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(resizePending);
    resizePending = requestAnimationFrame(() => {
      for (const p of plots) p.plot.setSize({ width: chartWidth(p.node), height: 180 });
    });
  });

  /**
   * Records the levels of the shown scope (calls up now) as this page polls them: a level is a value
   * now, with no server-side history (its chart also draws its maximum and average per window, which
   * have one). Starts again when the scope changes; the same in every window.
   */
  function recordLive(row) {
    const key = dimKey(state.scope);
    if (!state.live || state.live.key !== key) state.live = { key, t: [], v: {} };
    const live = state.live;
    const t = state.kpis.now;
    if (live.t.length > 0 && t <= live.t[live.t.length - 1]) return;
    live.t.push(t);
    for (const i of cat.info) {
      if (!i.window) continue;
      if (!live.v[i.name]) live.v[i.name] = live.t.slice(0, -1).map(() => null);
      const { v, n } = kpiOf(row, i.name);
      live.v[i.name].push(quality(v, n) === 'none' ? null : v);
    }
    if (live.t.length > LIVE_POINTS) {
      live.t.shift();
      for (const k in live.v) live.v[k].shift();
    }
  }

  /** The points of one KPI of a chart: its history from /api/history, or for a level the values this page recorded. */
  function chartSeries(k) {
    const s = state.hist.series[k];
    const info = cat.byName[k];
    if (info && info.window && (!s || s.t.length === 0) && state.live) return { t: state.live.t, v: state.live.v[k] || [], n: null };
    return s || { t: [], v: [], n: [] };
  }

  function renderCharts() {
    const h = state.hist;
    if (!h) return;
    for (const p of plots) {
      // one time axis for the chart: the times of all its KPIs (their profiles may differ, and a level's are the page's polls)
      const cols = p.def.kpis.map(chartSeries);
      let xs = cols[0].t;
      if (cols.some((c) => c.t !== xs && (c.t.length !== xs.length || c.t.some((x, i) => x !== xs[i])))) {
        const all = new Set();
        for (const c of cols) for (const x of c.t) all.add(x);
        xs = Array.from(all).sort((a, b) => a - b);
      }
      const at = new Map(xs.map((x, i) => [x, i]));
      const data = [xs];
      let points = 0;
      const counts = {};
      p.def.kpis.forEach((k, j) => {
        const c = cols[j];
        // undefined: no point of this KPI at that time (the line goes on); null: not enough samples (a gap, not a zero)
        const ys = new Array(xs.length);
        let mine = 0;
        let last = null;
        for (let i = 0; i < c.t.length; i++) {
          const v = c.v[i];
          const y = v !== undefined && quality(v, c.n ? c.n[i] : null) !== 'none' ? v : null;
          ys[at.get(c.t[i])] = y;
          if (y !== null) {
            mine++;
            last = y;
          }
        }
        points += mine;
        counts[k] = { points: mine, last };
        data.push(ys);
      });
      // the limit of the shown scope, a dashed line across the chart
      const lim = scopeLimit(p.def.limit);
      if (lim !== p.limitShown) {
        if (p.limitShown !== null) p.plot.delSeries(p.def.kpis.length + 1);
        if (lim !== null) p.plot.addSeries({ label: 'limit', stroke: LIMIT_COLOR, width: 1.5, dash: [6, 4], spanGaps: true, points: { show: false } }, p.def.kpis.length + 1);
        p.limitShown = lim;
      }
      if (lim !== null) data.push(xs.map(() => lim));
      p.plot.setData(data);
      p.node.dataset.points = String(points);
      p.node.dataset.series = JSON.stringify(counts);
      p.node.dataset.limit = lim === null ? '' : String(lim);
      if (p.limitTag) {
        p.limitTag.hidden = lim === null;
        const text = lim === null ? '' : ' \u2014 limit ' + nf.format(lim) + (p.def.unit ? ' ' + p.def.unit : '');
        if (p.limitTag.textContent !== text) p.limitTag.textContent = text;
        p.limitTag.dataset.value = lim === null ? '' : String(lim);
      }
    }
  }

  // ---- the breakdown table (customers, carriers or destinations) ------------------------------
  let rows = new Map(); // name → { tr, cells: {key: td} }
  let columns = []; // { key, label, title }
  let columnsSig = '';

  /** Name, volume, the card KPIs, and the other KPIs that have a value in some row of the view. */
  function viewColumns(all) {
    const v = viewByKey(state.view);
    const cols = [
      { key: 'name', label: v.one, title: '' },
      { key: 'calls', label: v.volume, title: 'the ' + v.of + ' behind ' + cat.volume },
    ];
    for (const i of cat.info) {
      if (!i.card) {
        const at = cat.index.get(i.name);
        let any = false;
        for (const name in all)
          if (all[name].v[at] !== null) {
            any = true;
            break;
          }
        if (!any) continue;
      }
      // a count of calls that is a level is the number now, in every window (`CC now`)
      cols.push({ key: i.name, label: i.name + (i.window && i.magnitude ? ' ' + i.window : '') + (i.unit ? ' ' + i.unit : ''), title: i.title });
    }
    return cols;
  }

  function buildTableHead() {
    const head = $('view-head');
    head.replaceChildren();
    for (const c of columns) {
      const th = el('th', { 'data-sort': c.key, 'data-testid': 'sort-' + c.key, scope: 'col', tabindex: '0' }, c.label);
      if (c.title) th.title = c.title;
      th.addEventListener('click', () => sortBy(c.key));
      th.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sortBy(c.key);
        }
      });
      head.append(th);
    }
    markSort();
  }

  function sortBy(key) {
    if (state.sortKey === key) state.sortDir = -state.sortDir;
    else {
      state.sortKey = key;
      state.sortDir = worstDir(key);
    }
    markSort();
    if (state.kpis) timed(renderTable);
  }

  function markSort() {
    for (const th of $('view-head').children) {
      const on = th.dataset.sort === state.sortKey;
      th.setAttribute('aria-sort', on ? (state.sortDir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  function sortValue(name, row, key) {
    if (key === 'name') return name;
    if (key === 'calls') return kpiOf(row, cat.volume).n || 0;
    const { v, n } = kpiOf(row, key);
    return quality(v, n) === 'none' ? null : v;
  }

  function viewRows() {
    const w = state.kpis.windows[state.window];
    return (w && w[state.view]) || {};
  }

  function renderTable() {
    const v = viewByKey(state.view);
    const all = viewRows();
    const cols = viewColumns(all);
    const sig = state.view + '|' + cols.map((c) => c.key + ':' + c.label).join(',');
    if (sig !== columnsSig) {
      columns = cols;
      columnsSig = sig;
      rows = new Map();
      $('view-body').replaceChildren();
      if (!columns.some((c) => c.key === state.sortKey)) {
        state.sortKey = cat.volume;
        state.sortDir = worstDir(cat.volume);
      }
      buildTableHead();
    }
    const names = Object.keys(all);
    const q = state.search.trim().toLowerCase();
    const shown = q ? names.filter((n) => n.toLowerCase().includes(q)) : names;
    const key = state.sortKey;
    const dir = state.sortDir;
    const keyed = shown.map((n) => ({ n, s: sortValue(n, all[n], key) }));
    keyed.sort((a, b) => {
      // rows without enough data go last, whatever the direction
      if (a.s === null || b.s === null) return a.s === b.s ? (a.n < b.n ? -1 : 1) : a.s === null ? 1 : -1;
      if (a.s !== b.s) return (a.s < b.s ? -1 : 1) * dir;
      return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
    });
    const limit = state.showAll ? keyed.length : Math.min(ROW_LIMIT, keyed.length);
    const body = $('view-body');
    for (let i = 0; i < limit; i++) {
      const name = keyed[i].n;
      const r = rowFor(v, name);
      updateRow(r, all[name]);
      const at = body.children[i];
      if (at !== r.tr) body.insertBefore(r.tr, at || null);
    }
    while (body.children.length > limit) body.lastChild.remove();
    for (const name of rows.keys()) if (!(name in all)) rows.delete(name);
    $('view-count').textContent = q ? shown.length + ' of ' + names.length : '';
    const empty = $('view-empty');
    empty.hidden = names.length > 0;
    if (!empty.hidden) empty.textContent = 'No ' + v.key + ' in this window.' + (v.platform ? ' ' + PLATFORM_DIMS + ' need kpi.platform (the platform\u2019s own addresses).' : '');
    const more = $('more');
    more.hidden = limit >= keyed.length;
    if (!more.hidden) more.firstChild.textContent = 'show all ' + keyed.length + ' (' + (keyed.length - limit) + ' more)';
  }

  function rowFor(v, name) {
    let r = rows.get(name);
    if (r) return r;
    const tr = el('tr', { 'data-testid': v.dim + '-row', 'data-name': name, tabindex: '0' });
    tr.dataset[v.dim] = name;
    const cells = {};
    for (const c of columns) {
      const td = el(c.key === 'name' ? 'th' : 'td', c.key === 'name' ? { scope: 'row' } : { 'data-kpi': c.key });
      if (c.key === 'name') td.textContent = name;
      tr.append(td);
      cells[c.key] = td;
    }
    const scope = emptyScope();
    scope[v.dim] = name;
    tr.addEventListener('click', () => selectScope(scope));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') selectScope(scope);
    });
    r = { tr, cells, scope, dim: v.dim, name, key: rowKey(v.dim, name), alertSig: undefined };
    rows.set(name, r);
    return r;
  }

  function updateRow(r, row) {
    r.tr.classList.toggle('selected', sameScope(r.scope, state.scope));
    const calls = kpiOf(row, cat.volume).n;
    const ct = calls === null ? '' : nf.format(calls);
    if (r.cells.calls.textContent !== ct) r.cells.calls.textContent = ct;
    const dim = r.dim;
    for (const c of columns) {
      if (c.key === 'name' || c.key === 'calls') continue;
      const td = r.cells[c.key];
      const { v, n } = kpiOf(row, c.key);
      const qy = quality(v, n);
      const raw = qy === 'none' ? '' : String(v);
      // the row's limit on this KPI (its channels, its calls per second), if it has one
      const which = cat.byName[c.key] && cat.byName[c.key].limit;
      const lim = which ? limitOf(dim, r.name, which) : null;
      const limText = lim === null ? '' : String(lim);
      if (td.dataset.value === raw && td.dataset.state === qy && (td.dataset.limit || '') === limText) continue;
      td.dataset.value = raw;
      td.dataset.state = qy;
      td.textContent = qy === 'none' ? 'n/a' : nf.format(v);
      td.title = [qy === 'none' ? NOT_ENOUGH : n === null ? '' : n + ' samples', lim === null ? '' : 'limit ' + nf.format(lim) + unitText(c.key)].filter(Boolean).join(', ');
      if (lim === null) {
        delete td.dataset.limit;
        delete td.dataset.over;
      } else {
        td.dataset.limit = limText;
        td.dataset.over = String(qy !== 'none' && v > lim);
      }
    }
    markRow(r);
  }

  /** The active alerts of a row on a KPI of the table: a mark before its name, the row and the KPI's cell flagged. */
  function markRow(r) {
    const list = alertsOf(r.key, (kpi) => kpi in r.cells && kpi !== 'name' && kpi !== 'calls');
    if (!setMark(r, r.cells.name, list)) return;
    const st = worstState(list);
    if (st) r.tr.dataset.alert = st;
    else delete r.tr.dataset.alert;
    r.cells.name.title = list.map(alertLine).join('\n');
    for (const c of columns) {
      if (c.key === 'name' || c.key === 'calls') continue;
      const s = worstState(list.filter((a) => a.kpi === c.key));
      if (s) r.cells[c.key].dataset.alert = s;
      else delete r.cells[c.key].dataset.alert;
    }
  }

  // ---- tabs ---------------------------------------------------------------------------------
  const tabs = () => Array.from(document.querySelectorAll('#tabs [role=tab]'));

  function selectView(key, focus) {
    if (!viewByKey(key)) return;
    if (state.view !== key) {
      state.view = key;
      state.search = '';
      state.showAll = false;
      $('search').value = '';
      syncUrl();
    }
    markTabs();
    if (focus) $('tab-' + key).focus();
    if (state.kpis) timed(renderTable);
    document.body.dataset.view = state.view;
  }

  function markTabs() {
    for (const t of tabs()) {
      const on = t.dataset.view === state.view;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
    }
    $('view-panel').setAttribute('aria-labelledby', 'tab-' + state.view);
    const s = 'Search ' + state.view;
    $('search').placeholder = s;
    $('search').setAttribute('aria-label', s);
  }

  function renderTabCounts() {
    const w = state.kpis.windows[state.window];
    for (const v of VIEWS) {
      const n = w && w[v.key] ? Object.keys(w[v.key]).length : 0;
      const span = document.querySelector('[data-count="' + v.key + '"]');
      const text = '(' + n + ')';
      if (span.textContent !== text) span.textContent = text;
    }
  }

  // ---- carrier × destination heat map -------------------------------------------------------
  const heat = { sig: '', cells: new Map(), heads: [] };

  function buildHeatKpis() {
    const sel = $('heat-kpi');
    sel.replaceChildren();
    for (const i of cat.info) {
      const o = el('option', { value: i.name }, i.name + (i.unit ? ' (' + i.unit + ')' : ''));
      o.title = i.title;
      sel.append(o);
    }
    sel.value = state.heatKpi;
    const scale = $('heat-scale');
    delete $('heat-table').dataset.scale; // its ends are named at the next render
    scale.replaceChildren(el('span', { 'data-end': 'low' }));
    for (let b = 0; b < HEAT_BUCKETS; b++) scale.append(el('i', { 'data-heat': String(b) }));
    scale.append(el('span', { 'data-end': 'high' }));
  }

  /**
   * How the heat map colours a KPI: a count of calls (calls up, calls per second) by its size, from
   * 0 to the largest cell shown (`magnitude`: light to dark); the others from worst to best by their
   * `better` direction (`better`: red to blue), 0-100 for percentages, the range of the cells shown
   * for the others.
   */
  const heatScaleOf = (info) => (info.magnitude ? 'magnitude' : 'better');

  /** The busiest `max` names (by samples of the volume KPI), shown in name order. */
  function busiest(totals, max) {
    const names = Array.from(totals.keys());
    if (names.length > max) {
      names.sort((a, b) => totals.get(b) - totals.get(a) || (a < b ? -1 : 1));
      names.length = max;
    }
    return names.sort(collate);
  }
  const collator = new Intl.Collator('en', { numeric: true });
  const collate = (a, b) => collator.compare(a, b);

  /** The heat map: the crossed view (carrier × destination), its first dimension in rows, its second in columns. */
  function renderHeat() {
    const w = state.kpis.windows[state.window];
    const cd = (HEAT && w && w[HEAT.rows]) || {};
    const keys = Object.keys(cd);
    const box = $('heat');
    box.hidden = keys.length === 0;
    if (box.hidden) return;
    const [rd, colD] = HEAT.dimensions;
    const vi = cat.index.get(cat.volume);
    const byRow = new Map();
    const byCol = new Map();
    for (const k of keys) {
      const bar = k.indexOf('|');
      const r = k.slice(0, bar);
      const c = k.slice(bar + 1);
      const n = cd[k].n[vi] || 0;
      byRow.set(r, (byRow.get(r) || 0) + n);
      byCol.set(c, (byCol.get(c) || 0) + n);
    }
    const rows = busiest(byRow, HEAT_ROWS);
    const cols = busiest(byCol, HEAT_COLS);
    const sig = rows.join('\u0000') + '\u0001' + cols.join('\u0000');
    if (sig !== heat.sig) buildHeat(rows, cols, sig);
    const kpi = state.heatKpi;
    const info = cat.byName[kpi];
    const mode = heatScaleOf(info);
    // the colour scale: 0-100 for percentages; 0 to the largest cell for a count of calls; else the range of the cells shown
    let lo = 0;
    let hi = 100;
    if (mode === 'magnitude' || info.unit !== '%') {
      lo = mode === 'magnitude' ? 0 : Infinity;
      hi = -Infinity;
      for (const [key] of heat.cells) {
        const { v, n } = kpiOf(cd[key], kpi);
        if (quality(v, n) === 'none') continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    const table = $('heat-table');
    if (table.dataset.scale !== mode) {
      table.dataset.scale = mode;
      const scale = $('heat-scale');
      scale.dataset.scale = mode;
      scale.firstChild.textContent = mode === 'magnitude' ? '0' : 'worst';
      scale.lastChild.textContent = mode === 'magnitude' ? 'most' : 'best';
    }
    for (const [key, cell] of heat.cells) updateHeatCell(cell, cd[key], kpi, info, lo, hi, mode);
    const more = byRow.size > rows.length || byCol.size > cols.length;
    const [rp, cp] = [plural(rd), plural(colD)];
    const of = HEAT.of + 's';
    $('heat-note').textContent =
      'Rows: ' + rp + ', columns: ' + cp + ', colour and value: ' + kpi + ' (' + info.title + ') of the ' + of + (mode === 'magnitude' ? ', darker: more (0 to the largest cell)' : '') + '. Empty: no ' + of + '.' +
      (more ? ' Showing the busiest ' + rows.length + ' of ' + byRow.size + ' ' + rp + ' and ' + cols.length + ' of ' + byCol.size + ' ' + cp + '.' : '') +
      ' Click a cell for its charts.';
  }

  /** A heading button of the heat map: the charts of one row's or one column's value alone. */
  function heatHead(tag, attrs, dim, value) {
    const th = el(tag, attrs);
    const b = el('button', { type: 'button', ['data-' + dim]: value, 'data-testid': 'heat-' + dim, title: cap(dim) + ' ' + value + ': charts' }, value);
    b.addEventListener('click', () => selectScope({ [dim]: value }));
    th.append(b);
    heat.heads.push({ node: th, scope: { [dim]: value } });
    return th;
  }

  function buildHeat(rows, cols, sig) {
    heat.sig = sig;
    heat.cells = new Map();
    heat.heads = [];
    const [rd, colD] = HEAT.dimensions;
    const table = $('heat-table');
    const head = el('tr');
    head.append(el('td', { class: 'corner' }, rd + ' \u2193 ' + colD + ' \u2192'));
    for (const c of cols) head.append(heatHead('th', { scope: 'col' }, colD, c));
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const r of rows) {
      const tr = el('tr');
      tr.append(heatHead('th', { scope: 'row' }, rd, r));
      for (const c of cols) {
        const td = el('td');
        tr.append(td);
        heat.cells.set(r + '|' + c, { td, button: null, scope: { [rd]: r, [colD]: c }, values: [r, c] });
      }
      tbody.append(tr);
    }
    table.replaceChildren(thead, tbody);
  }

  function updateHeatCell(cell, row, kpi, info, lo, hi, mode) {
    const td = cell.td;
    if (!row) {
      if (cell.button) {
        cell.button.remove();
        cell.button = null;
        td.removeAttribute('data-heat');
        td.removeAttribute('data-state');
      }
      return;
    }
    if (!cell.button) {
      const attrs = { type: 'button', 'data-testid': 'heat-cell' };
      for (const d of Object.keys(cell.scope)) attrs['data-' + d] = cell.scope[d];
      const b = el('button', attrs);
      b.addEventListener('click', () => selectScope(cell.scope));
      td.append(b);
      cell.button = b;
    }
    const b = cell.button;
    const { v, n } = kpiOf(row, kpi);
    const q = quality(v, n);
    const raw = q === 'none' ? '' : String(v);
    let bucket = '';
    if (q !== 'none') {
      let t = hi > lo ? (v - lo) / (hi - lo) : mode === 'magnitude' ? 0 : 0.5;
      if (mode !== 'magnitude' && info.better === 'lower') t = 1 - t;
      bucket = String(Math.max(0, Math.min(HEAT_BUCKETS - 1, Math.floor(t * HEAT_BUCKETS))));
    }
    const vol = kpiOf(row, cat.volume).n;
    const text = q === 'none' ? '\u2013' : nf.format(v);
    const label =
      cell.values.join(' \u2192 ') + ': ' + kpi + ' ' + (q === 'none' ? NOT_ENOUGH : nf.format(v) + unitText(kpi)) + (n === null || !info.samples ? '' : ', ' + nf.format(n) + ' ' + countedIn(info.samples, HEAT)) + (q === 'low' ? ' (few samples)' : '');
    const selected = String(sameScope(cell.scope, state.scope));
    // the alerts of this carrier on this destination, on the KPI the map shows
    const alerts = alertsOf(dimKey(cell.scope), (k) => k === kpi);
    const asig = markSig(alerts);
    if (b.dataset.value === raw && b.dataset.samples === String(n) && b.dataset.kpi === kpi && td.dataset.heat === (bucket || undefined) && b.getAttribute('aria-current') === selected && cell.alertSig === asig) return;
    cell.alertSig = asig;
    b.dataset.value = raw;
    b.dataset.samples = String(n);
    b.dataset.volume = String(vol);
    b.dataset.kpi = kpi;
    b.textContent = text;
    const full = alerts.length === 0 ? label : label + '; ' + alerts.map(alertLine).join('; ');
    if (alerts.length > 0) {
      b.prepend(alertMark(alerts));
      td.dataset.alert = worstState(alerts);
    } else delete td.dataset.alert;
    b.title = full;
    b.setAttribute('aria-label', full);
    b.setAttribute('aria-current', selected);
    td.dataset.state = q;
    if (bucket) td.dataset.heat = bucket;
    else td.removeAttribute('data-heat');
  }

  function markHeatHeads() {
    for (const h of heat.heads) h.node.classList.toggle('selected', sameScope(h.scope, state.scope));
  }

  // ---- counters -----------------------------------------------------------------------------
  function renderCounters(body, entries) {
    let i = 0;
    for (const [name, value] of entries) {
      let tr = body.children[i];
      if (!tr || tr.dataset.name !== name) {
        tr = el('tr', { 'data-name': name, 'data-testid': 'counter-' + name });
        tr.append(el('th', { scope: 'row' }, name), el('td'));
        body.insertBefore(tr, body.children[i] || null);
      }
      const text = value === null ? 'n/a' : nf.format(value);
      if (tr.lastChild.textContent !== text) {
        tr.lastChild.textContent = text;
        tr.lastChild.dataset.value = value === null ? '' : String(value);
      }
      i++;
    }
    while (body.children.length > i) body.lastChild.remove();
  }

  // ---- alerts (/api/alerts: list_alerts) ----------------------------------------------------
  /** Active alerts of the shown window by dimension key (see dimKey); rebuilt at each render. */
  let alertIdx = new Map();

  /** `customer=acme`, `carrier=x|destination=44`, '' for all traffic; null for a non-KPI dimension (`stat`). */
  function dimKey(dim) {
    const d = dim || {};
    if (Object.keys(d).some((k) => !DIMS.includes(k))) return null;
    return DIMS.filter((k) => d[k]).map((k) => k + '=' + d[k]).join('|');
  }
  const rowKey = (dim, name) => dim + '=' + name;

  function indexAlerts() {
    const idx = new Map();
    const a = state.alerts;
    if (a)
      for (const x of a.active) {
        // a mark means "this value is past the rule": only where the page shows that KPI in that window
        if (!x.kpi || x.window !== state.window || !cat.byName[x.kpi]) continue;
        const k = dimKey(x.dimension);
        if (k === null) continue;
        if (!idx.has(k)) idx.set(k, []);
        idx.get(k).push(x);
      }
    return idx;
  }

  /** The active alerts of one key, restricted to some KPIs (a function), firing first. */
  function alertsOf(key, kpiShown) {
    const l = alertIdx.get(key);
    if (!l) return [];
    const out = l.filter((a) => kpiShown(a.kpi));
    out.sort((a, b) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1));
    return out;
  }
  const worstState = (l) => (l.length === 0 ? '' : l[0].state);

  /** The dimension of an alert in words: customer acme, carrier x \u2192 destination 44, all traffic, statistic NAME. */
  function dimText(dim) {
    const d = dim || {};
    if (d.stat) return 'statistic ' + d.stat;
    const has = DIMS.filter((k) => d[k]);
    return has.length === 0 ? ALL.title : has.map((k) => k + ' ' + d[k]).join(' \u2192 ');
  }
  const valueText = (a) => (a.value === null || a.value === undefined ? 'n/a' : nf.format(a.value) + (a.kpi && cat.byName[a.kpi] ? unitText(a.kpi) : ''));
  /** One line for a title or an accessible name: `firing alert asr_low: ASR (1m) is 20 %, threshold < 50 (clears at 60)`. */
  const alertLine = (a) => a.state + ' alert ' + a.alertname + ': ' + (a.kpi ? a.kpi + ' (' + a.window + ')' : dimText(a.dimension)) + ' is ' + valueText(a) + (a.threshold ? ', threshold ' + a.threshold : '');

  function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h + ' h' + (m ? ' ' + m + ' min' : '');
  }
  const clock = (iso) => new Date(iso).toLocaleTimeString();

  /** A state mark for a row, cell or card: icon and hidden-from-nobody text (role img + aria-label), the alert names in its title. */
  function alertMark(list) {
    const st = worstState(list);
    const text = list.map(alertLine).join('; ');
    const m = el('span', { class: 'alert-mark', 'data-testid': 'alert-mark', 'data-state': st, role: 'img', 'aria-label': text, title: text }, ALERT_ICON[st]);
    m.dataset.alertnames = list.map((a) => a.alertname).join(' ');
    return m;
  }
  const markSig = (list) => list.map((a) => a.state + ':' + a.alertname + ':' + a.kpi + ':' + a.value).join(',');

  /** Marks a node (a row's name cell, a card's label) with the alerts of `list`; nothing when empty. */
  function setMark(holder, node, list) {
    const sig = markSig(list);
    if (holder.alertSig === sig) return false;
    holder.alertSig = sig;
    const old = node.querySelector(':scope > .alert-mark');
    if (old) old.remove();
    if (list.length > 0) node.prepend(alertMark(list));
    return true;
  }

  const alertItems = new Map(); // alert key → li

  function alertKeyOf(a) {
    return a.alertname + '|' + JSON.stringify(a.dimension || {});
  }

  /** What a click on an alert opens: its window, the view of its dimension, its scope (as a click on the row or cell). */
  function openAlert(a) {
    const d = a.dimension || {};
    const scope = emptyScope();
    for (const k of DIMS) scope[k] = d[k] || '';
    const windowChanged = WINDOWS.includes(a.window) && a.window !== state.window;
    if (windowChanged) state.window = a.window;
    if (HEAT && scopeView(scope) === HEAT && cat.byName[a.kpi] && state.heatKpi !== a.kpi) {
      state.heatKpi = a.kpi;
      $('heat-kpi').value = a.kpi;
    }
    const view = DIMS.some((k) => scope[k]) ? tabOf(scope) : state.view;
    selectView(view, false);
    if (sameScope(scope, state.scope)) {
      syncUrl();
      if (windowChanged) poll();
    } else selectScope(scope);
  }

  function buildAlertItem(a) {
    const li = el('li', { class: 'alert', 'data-testid': 'alert-item' });
    const openable = !!a.kpi && dimKey(a.dimension) !== null;
    const box = el(openable ? 'button' : 'div', openable ? { type: 'button', class: 'alert-open' } : { class: 'alert-open' });
    const parts = {};
    for (const [k, cls] of [
      ['state', 'alert-state'],
      ['severity', 'alert-severity'],
      ['name', 'alert-name'],
      ['dim', 'alert-dim'],
      ['kpi', 'alert-kpi'],
      ['value', 'alert-value'],
      ['since', 'alert-since'],
    ]) {
      parts[k] = el(k === 'name' ? 'strong' : 'span', { class: cls, 'data-testid': cls });
      box.append(parts[k]);
    }
    if (openable) box.addEventListener('click', () => openAlert(li.alert));
    li.append(box);
    li.parts = parts;
    li.box = box;
    return li;
  }

  function updateAlertItem(li, a, now) {
    li.alert = a;
    const p = li.parts;
    const set = (node, text) => {
      if (node.textContent !== text) node.textContent = text;
    };
    li.dataset.state = a.state;
    li.dataset.alertname = a.alertname;
    li.dataset.severity = a.severity;
    const d = a.dimension || {};
    for (const k of DIMS) {
      if (d[k]) li.dataset[k] = d[k];
      else delete li.dataset[k];
    }
    set(p.state, ALERT_ICON[a.state] + ' ' + a.state);
    set(p.severity, a.severity);
    set(p.name, a.alertname);
    set(p.dim, dimText(d));
    set(p.kpi, a.kpi ? a.kpi + ' ' + a.window : '');
    p.value.dataset.value = a.value === null || a.value === undefined ? '' : String(a.value);
    set(p.value, valueText(a) + (a.threshold ? ' vs ' + a.threshold : ''));
    const since = a.state === 'firing' && a.firedAt ? a.firedAt : a.since;
    set(p.since, (a.state === 'firing' ? 'firing since ' : 'pending since ') + clock(since) + ' (' + duration(now - Date.parse(since)) + ')');
    const label = alertLine(a) + ', ' + a.severity + ', ' + dimText(d) + ', since ' + clock(a.since) + (li.box.tagName === 'BUTTON' ? '. Opens its charts' : '');
    if (li.box.getAttribute('aria-label') !== label) li.box.setAttribute('aria-label', label);
  }

  function notifyFailing(n, prev) {
    if (!n.lastError) return false;
    if (n.lastSuccess === null || n.queued > 0) return true;
    // a refused payload is dropped at once (nothing queued): failing if that happened since the last poll
    return !!prev && n.failed > prev.failed;
  }
  let prevNotify = new Map();

  /** A notification target as the page names it: its URL without credentials, query or fragment. */
  function targetName(u) {
    try {
      const x = new URL(u);
      return x.protocol + '//' + x.host + x.pathname;
    } catch (e) {
      return '?';
    }
  }

  function renderAlerts() {
    const a = state.alerts;
    const box = $('alerts');
    if (!a) {
      box.hidden = true;
      alertItems.clear();
      $('alerts-active').replaceChildren();
      prevNotify = new Map();
      return;
    }
    const active = a.active.slice().sort((x, y) => (x.state === y.state ? 0 : x.state === 'firing' ? -1 : 1));
    const recent = (a.recent || []).slice(0, RECENT_LIMIT);
    const notify = a.notify || [];
    const failing = notify.filter((n) => notifyFailing(n, prevNotify.get(n.format + ' ' + n.url)));
    prevNotify = new Map(notify.map((n) => [n.format + ' ' + n.url, n]));
    box.hidden = active.length === 0 && recent.length === 0 && failing.length === 0;
    if (box.hidden) {
      alertItems.clear();
      $('alerts-active').replaceChildren();
      return;
    }
    const now = Date.parse(a.now) || Date.now();
    const firing = active.filter((x) => x.state === 'firing').length;
    const summary = firing + ' firing, ' + (active.length - firing) + ' pending';
    if ($('alerts-summary').textContent !== summary) $('alerts-summary').textContent = summary;
    box.dataset.firing = String(firing);
    box.dataset.pending = String(active.length - firing);

    // active: keyed items updated in place (a button keeps its focus across polls)
    const list = $('alerts-active');
    const seen = new Set();
    active.forEach((x, i) => {
      const k = alertKeyOf(x);
      seen.add(k);
      let li = alertItems.get(k);
      if (!li) alertItems.set(k, (li = buildAlertItem(x)));
      updateAlertItem(li, x, now);
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    for (const [k, li] of alertItems)
      if (!seen.has(k)) {
        li.remove();
        alertItems.delete(k);
      }
    $('alerts-none').hidden = active.length > 0;

    // recently resolved: a collapsed list (its open state is the user's)
    const det = $('alerts-recent');
    det.hidden = recent.length === 0;
    const sig = JSON.stringify(recent.map((r) => [r.alertname, r.dimension, r.resolvedAt]));
    if (det.dataset.sig !== sig) {
      det.dataset.sig = sig;
      $('alerts-recent-title').textContent = 'Recently resolved (' + recent.length + ((a.recent || []).length > recent.length ? ' of ' + a.recent.length : '') + ')';
      const ul = $('alerts-recent-list');
      ul.replaceChildren();
      for (const r of recent) {
        const li = el('li', { 'data-testid': 'alert-resolved', 'data-alertname': r.alertname, 'data-state': 'resolved' });
        const d = r.dimension || {};
        for (const k of DIMS) if (d[k]) li.dataset[k] = d[k];
        li.append(
          el('strong', null, r.alertname),
          el('span', null, dimText(d)),
          el('span', null, r.kpi ? r.kpi + ' ' + r.window : ''),
          el('span', { class: 'alert-value', 'data-value': r.value === null || r.value === undefined ? '' : String(r.value) }, 'last ' + valueText(r)),
          el('span', null, (r.firedAt ? 'fired ' + clock(r.firedAt) + ', ' : '') + 'resolved ' + clock(r.resolvedAt) + (r.reason ? ' (' + r.reason + ')' : '')),
        );
        ul.append(li);
      }
    }

    // a notification target that fails: the alerts above may not have reached anyone
    const ind = $('alerts-notify');
    ind.hidden = failing.length === 0;
    if (!ind.hidden) {
      const text = '\u26a0 notifications failing: ' + failing.length + ' of ' + notify.length + (notify.length === 1 ? ' target' : ' targets');
      const title = failing.map((n) => targetName(n.url) + ' (' + n.format + '): ' + n.lastError + ', ' + n.failed + ' failed, ' + n.queued + ' waiting').join('\n');
      if (ind.textContent !== text) ind.textContent = text;
      if (ind.title !== title) ind.title = title;
    }
  }

  /** Cards: the alerts of the shown scope (an all-traffic alert when all traffic is shown) on each card's KPI or the one under it. */
  function markCards() {
    const key = dimKey(state.scope);
    for (const k of Object.keys(cards)) {
      const c = cards[k];
      const list = alertsOf(key, (kpi) => kpi === k || c.extras.some((x) => x.def.name === kpi));
      if (!setMark(c, c.card.querySelector('.label'), list)) continue;
      const st = worstState(list);
      if (st) c.card.dataset.alert = st;
      else delete c.card.dataset.alert;
    }
  }

  // ---- scope and render ---------------------------------------------------------------------
  function selectScope(s) {
    const next = emptyScope();
    for (const d of DIMS) next[d] = s[d] || '';
    if (sameScope(next, state.scope)) return;
    state.scope = next;
    syncUrl();
    if (state.kpis) timed(renderScope);
    poll();
  }

  /** The row of the shown scope in a window of /api/kpis: its view's map, keyed by its values joined by '|'. */
  function scopeRow(w) {
    const s = state.scope;
    const v = scopeView(s);
    if (!w || !v) return null;
    if (v.dimensions.length === 0) return w[v.rows];
    return (w[v.rows] || {})[v.dimensions.map((d) => s[d]).join('|')] || null;
  }

  /** `Customer acme`, `Carrier x \u2192 destination 44`, `All traffic`. */
  const scopeLabel = () => cap(dimText(state.scope));

  function renderScope() {
    const w = state.kpis.windows[state.window];
    $('scope').textContent = scopeLabel();
    $('scope-clear').hidden = !DIMS.some((d) => state.scope[d]);
    renderCards(scopeRow(w));
    markCards();
    for (const r of rows.values()) r.tr.classList.toggle('selected', sameScope(r.scope, state.scope));
    for (const c of heat.cells.values()) if (c.button) c.button.setAttribute('aria-current', String(sameScope(c.scope, state.scope)));
    markHeatHeads();
  }

  function render() {
    timed(() => {
      if (catalogue(state.kpis)) {
        buildCards();
        buildCharts();
        buildHeatKpis();
        columnsSig = '';
      }
      alertIdx = indexAlerts();
      renderAlerts();
      renderScope();
      recordLive(scopeRow(state.kpis.windows[state.window]));
      renderCharts();
      renderTabCounts();
      renderTable();
      renderHeat();
      markHeatHeads();
      const k = state.kpis;
      renderCounters($('self-body'), Object.entries(k.self).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
      const other = Object.entries(k.counters);
      if (k.countersOmitted > 0) other.push(['(' + k.countersOmitted + ' more not listed)', null]);
      renderCounters($('other-body'), other);
      for (const b of document.querySelectorAll('[data-window]')) b.setAttribute('aria-pressed', String(b.dataset.window === state.window));
    });
    // what tests wait for: which view the page shows, and how many times it was drawn
    const b = document.body.dataset;
    b.window = state.window;
    b.view = state.view;
    for (const d of DIMS) b[d] = state.scope[d];
    b.renders = String(++perf.views);
  }

  /** Runs a render step and records its cost: script time plus the style and layout it forces. */
  function timed(fn) {
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

  // ---- wiring -------------------------------------------------------------------------------
  /** Dimensions of attempts named in the empty-table note ("Carriers and destinations need kpi.platform"). */
  let PLATFORM_DIMS = '';
  /** A dimension's plural in a sentence, from its title (carriers). */
  let plural = (d) => d;

  /**
   * Takes the catalogue (GET /api/catalogue): the window buttons and the view tabs are built from
   * it, and the window, scope and view are read from the URL.
   */
  function useCatalogue(c) {
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

    const nav = $('windows');
    nav.replaceChildren();
    for (const w of c.windows) {
      const b = el('button', { type: 'button', 'data-window': w.name, 'data-testid': 'window-' + w.name }, w.title);
      b.addEventListener('click', () => {
        if (state.window === b.dataset.window) return;
        state.window = b.dataset.window;
        syncUrl();
        poll();
      });
      nav.append(b);
    }
    const list = $('tabs');
    list.replaceChildren();
    for (const v of VIEWS) {
      const t = el('button', { type: 'button', role: 'tab', id: 'tab-' + v.key, 'data-view': v.key, 'data-testid': 'view-' + v.key, 'aria-controls': 'view-panel' }, v.title + ' ');
      t.append(el('span', { class: 'count', 'data-count': v.key }));
      t.addEventListener('click', () => selectView(t.dataset.view, false));
      t.addEventListener('keydown', (e) => {
        // the tablist pattern: arrows move between tabs (and select), Home / End to the ends
        const all = tabs();
        const at = all.indexOf(t);
        const to = e.key === 'ArrowRight' ? (at + 1) % all.length : e.key === 'ArrowLeft' ? (at + all.length - 1) % all.length : e.key === 'Home' ? 0 : e.key === 'End' ? all.length - 1 : -1;
        if (to < 0) return;
        e.preventDefault();
        selectView(all[to].dataset.view, true);
      });
      list.append(t);
    }
    if (HEAT) $('heat-title').textContent = cap(HEAT.title);
    markTabs();
    document.body.dataset.view = state.view;
    syncUrl();
  }

  function init() {
    $('scope-clear').addEventListener('click', () => selectScope({}));
    $('search').addEventListener('input', (e) => {
      state.search = e.target.value;
      if (state.kpis) timed(renderTable);
    });
    $('more').firstChild.addEventListener('click', () => {
      state.showAll = true;
      if (state.kpis) timed(renderTable);
    });
    $('heat-kpi').addEventListener('change', (e) => {
      state.heatKpi = e.target.value;
      syncUrl();
      if (state.kpis) timed(renderHeat);
    });
    $('auth-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = e.target.elements.token;
      const token = input.value;
      input.value = '';
      login(token).then((ok) => {
        if (!ok) setStatus('token refused', true);
        poll();
      });
    });
    if (urlToken !== null) login(urlToken).then(() => poll());
    else poll();
  }

  init();
})();
