// sipstats dashboard: plain browser JavaScript, no build step. Polls /api/kpis and /api/history
// every second and renders the KPI cards, the uPlot charts, the customer table and the counters.
// Hooks for tests and benchmarks: data-testid attributes, the `sipstats:first-chart` performance
// mark, and window.sipstatsDashboard (render times).
'use strict';
(function () {
  const CARD_KPIS = ['ASR', 'NER', 'CCR', 'PDD', 'AST', 'ACD'];
  const TITLES = {
    ASR: 'Answer-seizure ratio',
    NER: 'Network effectiveness ratio',
    CCR: 'Call completion ratio',
    PDD: 'Post-dial delay',
    AST: 'Answer setup time',
    ACD: 'Average call duration',
  };
  const WINDOWS = ['1m', '10m', '1h'];
  const POLL_MS = 1000;
  const ROW_LIMIT = 200;
  const NOT_ENOUGH = 'not enough data';
  const TOKEN_KEY = 'sipstats.token';
  // the worst first, per column: low ratios, long delays, short calls
  const WORST_DIR = { name: 1, calls: -1, ASR: 1, NER: 1, CCR: 1, PDD: -1, AST: -1, ACD: 1 };
  const COLUMNS = [
    { key: 'name', label: 'Customer' },
    { key: 'calls', label: 'Calls' },
    { key: 'ASR', label: 'ASR %' },
    { key: 'NER', label: 'NER %' },
    { key: 'CCR', label: 'CCR %' },
    { key: 'PDD', label: 'PDD ms' },
    { key: 'AST', label: 'AST ms' },
    { key: 'ACD', label: 'ACD s' },
  ];

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // ---- state, from the URL ------------------------------------------------------------------
  const url = new URL(location.href);
  if (url.searchParams.has('token')) {
    // a token in the URL is taken once, kept for this tab only, and removed from the address bar
    sessionStorage.setItem(TOKEN_KEY, url.searchParams.get('token') || '');
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  const state = {
    window: WINDOWS.includes(url.searchParams.get('window')) ? url.searchParams.get('window') : '1m',
    customer: url.searchParams.get('customer') || '',
    sortKey: 'ASR',
    sortDir: 1,
    search: '',
    showAll: false,
    kpis: null,
    hist: null,
    gen: 0,
    timer: 0,
  };
  const perf = { renders: 0, views: 0, lastRenderMs: 0, renderMs: [], firstChart: false };
  window.sipstatsDashboard = perf;

  function syncUrl() {
    const u = new URL(location.href);
    u.searchParams.set('window', state.window);
    if (state.customer) u.searchParams.set('customer', state.customer);
    else u.searchParams.delete('customer');
    history.replaceState(null, '', u);
  }

  // ---- fetching -----------------------------------------------------------------------------
  async function api(path) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const r = await fetch(path, { headers: token ? { authorization: 'Bearer ' + token } : {}, cache: 'no-store' });
    if (r.status === 401) {
      const e = new Error('this server needs a token');
      e.status = 401;
      throw e;
    }
    if (!r.ok) throw new Error(path.split('?')[0] + ': HTTP ' + r.status);
    return r.json();
  }

  async function poll() {
    clearTimeout(state.timer);
    const gen = ++state.gen;
    const w = state.window;
    const c = state.customer;
    try {
      const [kpis, hist] = await Promise.all([
        api('api/kpis?window=' + w),
        api('api/history?window=' + w + '&customer=' + encodeURIComponent(c)),
      ]);
      if (gen !== state.gen) return; // the view changed meanwhile: a newer poll is on its way
      $('auth').hidden = true;
      state.kpis = kpis;
      state.hist = hist;
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

  // ---- formatting ---------------------------------------------------------------------------
  const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
  const UNIT = { ASR: ' %', NER: ' %', CCR: ' %', PDD: ' ms', AST: ' ms', ACD: ' s', PDD_p95: ' ms', AST_p95: ' ms' };

  /** 'none' (not enough data), 'low' (few samples) or 'ok'. */
  function quality(v, n) {
    const t = state.kpis.thresholds;
    if (v === null || v === undefined) return 'none';
    if (n === null || n === undefined) return 'ok'; // the algorithm does not tell how many
    if (n < t.minSamples) return 'none';
    return n < t.lowSamples ? 'low' : 'ok';
  }

  function kpiOf(row, kpi) {
    const i = state.kpis.kpis.indexOf(kpi);
    return row ? { v: row.v[i], n: row.n[i] } : { v: null, n: 0 };
  }

  // ---- cards --------------------------------------------------------------------------------
  const cards = {};
  function buildCards() {
    const box = $('cards');
    for (const k of CARD_KPIS) {
      const card = el('div', { class: 'card', 'data-kpi': k, 'data-testid': 'kpi-' + k });
      card.append(el('div', { class: 'label', title: TITLES[k] }, k));
      const value = el('div', { class: 'value', 'data-testid': 'kpi-' + k + '-value' }, '…');
      const sub = el('div', { class: 'sub', 'data-testid': 'kpi-' + k + '-samples' });
      card.append(value, sub);
      let p95 = null;
      if (k === 'PDD' || k === 'AST') {
        p95 = el('div', { class: 'p95', 'data-testid': 'kpi-' + k + '_p95-value' });
        card.append(p95);
      }
      box.append(card);
      cards[k] = { card, value, sub, p95 };
    }
  }

  function setValue(node, kpi, v, n, prefix) {
    const q = quality(v, n);
    const raw = q === 'none' ? '' : String(v);
    if (node.dataset.value === raw && node.dataset.state === q && node.dataset.samples === String(n)) return;
    node.dataset.value = raw;
    node.dataset.state = q;
    node.dataset.samples = String(n);
    node.textContent = (prefix || '') + (q === 'none' ? NOT_ENOUGH : nf.format(v) + UNIT[kpi]);
    node.title = n === null ? '' : n + ' samples';
  }

  function renderCards(row) {
    for (const k of CARD_KPIS) {
      const c = cards[k];
      const { v, n } = kpiOf(row, k);
      setValue(c.value, k, v, n);
      c.card.dataset.state = quality(v, n);
      const what = k === 'ASR' || k === 'NER' || k === 'CCR' ? ' calls' : k === 'ACD' ? ' ended calls' : ' calls timed';
      c.sub.textContent = n === null ? '' : nf.format(n) + what;
      if (c.p95) {
        const p = kpiOf(row, k + '_p95');
        setValue(c.p95, k + '_p95', p.v, p.n, 'p95 ');
      }
    }
  }

  // ---- charts -------------------------------------------------------------------------------
  const CHARTS = [
    { id: 'chart-perc', kpis: ['ASR', 'NER', 'CCR'], colors: ['#2563eb', '#16a34a', '#ea580c'], range: [0, 100] },
    { id: 'chart-delay', kpis: ['PDD', 'AST'], colors: ['#7c3aed', '#dc2626'] },
    { id: 'chart-acd', kpis: ['ACD'], colors: ['#0d9488'] },
  ];
  const plots = [];

  function chartWidth(node) {
    return Math.max(240, node.clientWidth || 320);
  }

  function buildCharts() {
    if (typeof uPlot !== 'function') return;
    for (const c of CHARTS) {
      const node = $(c.id);
      const opts = {
        width: chartWidth(node),
        height: 180,
        ms: 1,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: c.range ? { range: c.range } : { auto: true } },
        series: [{}].concat(c.kpis.map((k, i) => ({ label: k, stroke: c.colors[i], width: 2, spanGaps: false, points: { show: false } }))),
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
      plots.push({ def: c, node, plot: new uPlot(opts, [[]].concat(c.kpis.map(() => [])), node) });
    }
    let pending = 0;
    window.addEventListener('resize', () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => {
        for (const p of plots) p.plot.setSize({ width: chartWidth(p.node), height: 180 });
      });
    });
  }

  function renderCharts() {
    const h = state.hist;
    if (!h) return;
    for (const p of plots) {
      const first = h.series[p.def.kpis[0]];
      const xs = first ? first.t : [];
      const data = [xs];
      for (const k of p.def.kpis) {
        const s = h.series[k];
        // points under the sample threshold are gaps, not zeros
        data.push(xs.map((_, i) => (s && s.v[i] !== undefined && quality(s.v[i], s.n[i]) !== 'none' ? s.v[i] : null)));
      }
      p.plot.setData(data);
    }
  }

  // ---- customer table -----------------------------------------------------------------------
  const rows = new Map(); // customer → { tr, cells: {key: td} }

  function buildTableHead() {
    const head = $('customer-head');
    for (const c of COLUMNS) {
      const th = el('th', { 'data-sort': c.key, 'data-testid': 'sort-' + c.key, scope: 'col', tabindex: '0' }, c.label);
      th.addEventListener('click', () => sortBy(c.key));
      th.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') sortBy(c.key);
      });
      head.append(th);
    }
    markSort();
  }

  function sortBy(key) {
    if (state.sortKey === key) state.sortDir = -state.sortDir;
    else {
      state.sortKey = key;
      state.sortDir = WORST_DIR[key];
    }
    markSort();
    if (state.kpis) timed(renderTable);
  }

  function markSort() {
    for (const th of $('customer-head').children) {
      const on = th.dataset.sort === state.sortKey;
      th.setAttribute('aria-sort', on ? (state.sortDir > 0 ? 'ascending' : 'descending') : 'none');
    }
  }

  function sortValue(name, row, key) {
    if (key === 'name') return name;
    if (key === 'calls') return kpiOf(row, 'ASR').n || 0;
    const { v, n } = kpiOf(row, key);
    return quality(v, n) === 'none' ? null : v;
  }

  function renderTable() {
    const w = state.kpis.windows[state.window];
    const all = w ? w.customers : {};
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
    const body = $('customer-body');
    for (let i = 0; i < limit; i++) {
      const name = keyed[i].n;
      const r = rowFor(name);
      updateRow(r, all[name]);
      const at = body.children[i];
      if (at !== r.tr) body.insertBefore(r.tr, at || null);
    }
    while (body.children.length > limit) body.lastChild.remove();
    for (const name of rows.keys()) if (!(name in all)) rows.delete(name);
    $('customer-count').textContent = '(' + (q ? shown.length + ' of ' : '') + names.length + ')';
    const more = $('more');
    more.hidden = limit >= keyed.length;
    if (!more.hidden) more.firstChild.textContent = 'show all ' + keyed.length + ' (' + (keyed.length - limit) + ' more)';
  }

  function rowFor(name) {
    let r = rows.get(name);
    if (r) return r;
    const tr = el('tr', { 'data-testid': 'customer-row', 'data-customer': name, tabindex: '0' });
    const cells = {};
    for (const c of COLUMNS) {
      const td = el(c.key === 'name' ? 'th' : 'td', c.key === 'name' ? { scope: 'row' } : { 'data-kpi': c.key });
      if (c.key === 'name') td.textContent = name;
      tr.append(td);
      cells[c.key] = td;
    }
    tr.addEventListener('click', () => selectCustomer(name));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') selectCustomer(name);
    });
    r = { tr, cells };
    rows.set(name, r);
    return r;
  }

  function updateRow(r, row) {
    r.tr.classList.toggle('selected', r.tr.dataset.customer === state.customer);
    const calls = kpiOf(row, 'ASR').n;
    const ct = calls === null ? '' : nf.format(calls);
    if (r.cells.calls.textContent !== ct) r.cells.calls.textContent = ct;
    for (const k of CARD_KPIS) {
      const td = r.cells[k];
      const { v, n } = kpiOf(row, k);
      const qy = quality(v, n);
      const raw = qy === 'none' ? '' : String(v);
      if (td.dataset.value === raw && td.dataset.state === qy) continue;
      td.dataset.value = raw;
      td.dataset.state = qy;
      td.textContent = qy === 'none' ? 'n/a' : nf.format(v);
      td.title = qy === 'none' ? NOT_ENOUGH : (n === null ? '' : n + ' samples');
    }
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

  // ---- scope and render ---------------------------------------------------------------------
  function selectCustomer(name) {
    if (state.customer === name) return;
    state.customer = name;
    syncUrl();
    if (state.kpis) timed(renderScope);
    poll();
  }

  function renderScope() {
    const w = state.kpis.windows[state.window];
    const row = !w ? null : state.customer ? w.customers[state.customer] || null : w.overall;
    $('scope').textContent = state.customer ? 'Customer ' + state.customer : 'All traffic';
    $('scope-clear').hidden = !state.customer;
    renderCards(row);
    for (const r of rows.values()) r.tr.classList.toggle('selected', r.tr.dataset.customer === state.customer);
  }

  function render() {
    timed(() => {
      renderScope();
      renderCharts();
      renderTable();
      const k = state.kpis;
      renderCounters($('self-body'), Object.entries(k.self).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
      const other = Object.entries(k.counters);
      if (k.countersOmitted > 0) other.push(['(' + k.countersOmitted + ' more not listed)', null]);
      renderCounters($('other-body'), other);
      for (const b of document.querySelectorAll('[data-window]')) b.setAttribute('aria-pressed', String(b.dataset.window === state.window));
    });
    // what tests wait for: which view the page shows, and how many times it was drawn
    document.body.dataset.window = state.window;
    document.body.dataset.customer = state.customer;
    document.body.dataset.renders = String(++perf.views);
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
  function init() {
    buildCards();
    buildCharts();
    buildTableHead();
    for (const b of document.querySelectorAll('[data-window]')) {
      b.addEventListener('click', () => {
        if (state.window === b.dataset.window) return;
        state.window = b.dataset.window;
        syncUrl();
        poll();
      });
    }
    $('scope-clear').addEventListener('click', () => selectCustomer(''));
    $('search').addEventListener('input', (e) => {
      state.search = e.target.value;
      if (state.kpis) timed(renderTable);
    });
    $('more').firstChild.addEventListener('click', () => {
      state.showAll = true;
      if (state.kpis) timed(renderTable);
    });
    $('auth-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = e.target.elements.token;
      sessionStorage.setItem(TOKEN_KEY, input.value);
      input.value = '';
      poll();
    });
    syncUrl();
    poll();
  }

  init();
})();
