// sipstats dashboard: plain browser JavaScript in native ES modules, no build step. Polls /api/kpis and /api/history
// (and /api/alerts, when the server has alerts) every second and renders the active alerts, the
// KPI cards, the uPlot charts, the customer / carrier / destination tables, the carrier ×
// destination heat map and the counters, with the alerts marked on rows, cells and cards, and the channel and CPS
// limits of a customer or carrier on its cards, charts and table cells. The KPIs (names, units, titles, which way is
// good, which are cards, which limit bounds them, what charts a level) come from /api/kpis `info`, the windows, dimensions and views (the window
// buttons, the tabs, the heat map's rows and columns) from /api/catalogue: none of the page's modules names a KPI, a window or a view.
// Hooks for tests and benchmarks: data-testid attributes, the `sipstats:first-chart` performance
// mark, and window.sipstatsDashboard (render times).
// This is the entry module (index.html loads it after uPlot's classic script): it wires the page's
// own controls and starts polling. The views are modules of their own: state.js (catalogue, state,
// URL, fetching), format.js, render.js (polling, scope, render), nav.js (window buttons, tabs),
// cards.js, charts.js, table.js, heatmap.js, counters.js, alerts.js.
import { $, login, state, syncUrl, timed, urlToken } from './state.js';
import { poll, selectScope, setStatus } from './render.js';
import { renderTable } from './table.js';
import { renderHeat } from './heatmap.js';

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
