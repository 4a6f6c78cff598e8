// sipstats dashboard: polling and rendering: the poll loop (every second), the render of one answer
// in every view, the shown scope (selecting one, its label, its cards) and the cost of each render
// step (window.sipstatsDashboard).
import { $, DIMS, WINDOWS, actions, alertsWanted, api, cap, catalogue, dimText, emptyScope, fetchAlerts, historyPath, perf, sameScope, scopeView, state, syncUrl, timed } from './state.js';
import { renderTabCounts, useCatalogue } from './nav.js';
import { buildCards, markCards, renderCards } from './cards.js';
import { buildCharts, recordLive, renderCharts } from './charts.js';
import { markSelectedRows, renderTable, resetColumns } from './table.js';
import { buildHeatKpis, markHeatCells, markHeatHeads, renderHeat } from './heatmap.js';
import { renderCounters } from './counters.js';
import { indexAlerts, renderAlerts } from './alerts.js';

// ---- polling ----------------------------------------------------------------------------
/** How often /api/kpis and /api/history (and /api/alerts) are polled. */
const POLL_MS = 1000;

export async function poll() {
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

export function setStatus(text, bad) {
  const s = document.querySelector('[data-testid=status]');
  s.textContent = text;
  s.classList.toggle('bad', bad);
}

// ---- scope and render ---------------------------------------------------------------------
export function selectScope(s) {
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
  markSelectedRows();
  markHeatCells();
  markHeatHeads();
}

function render() {
  timed(() => {
    if (catalogue(state.kpis)) {
      buildCards();
      buildCharts();
      buildHeatKpis();
      resetColumns();
    }
    indexAlerts();
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

// the views call these through `actions` (they do not import this module: no import cycle)
actions.poll = poll;
actions.selectScope = selectScope;
