// sipstats dashboard: the uPlot charts of the shown scope's history (one per unit), the levels this
// page records itself as it polls, the scope's limit as a dashed line, and the `sipstats:first-chart`
// performance mark. uPlot is the global of the classic script loaded before the page's modules.
import { $, cat, dimKey, el, perf, state } from './state.js';
import { kpiOf, nf, quality, scopeLimit } from './format.js';

// ---- charts -------------------------------------------------------------------------------
/** Values of a level (calls up now) the page records itself, per scope, while it is open (1 a poll). */
const LIVE_POINTS = 600;
const LIMIT_COLOR = '#b91c1c';
let plots = [];

function chartWidth(node) {
  return Math.max(240, node.clientWidth || 320);
}

export function buildCharts() {
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
export function recordLive(row) {
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

export function renderCharts() {
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
