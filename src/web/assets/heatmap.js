// sipstats dashboard: the heat map of the crossed view (two dimensions: the first in rows, the
// second in columns), coloured by one KPI, its cells and headings opening their charts.
import { $, HEAT, actions, cap, cat, countedIn, dimKey, el, plural, sameScope, state, unitText } from './state.js';
import { NOT_ENOUGH, kpiOf, nf, quality } from './format.js';
import { alertLine, alertMark, alertsOf, markSig, worstState } from './alerts.js';

// ---- carrier × destination heat map -------------------------------------------------------
const HEAT_ROWS = 30;
const HEAT_COLS = 30;
const HEAT_BUCKETS = 10;
const heat = { sig: '', cells: new Map(), heads: [] };

export function buildHeatKpis() {
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
export function renderHeat() {
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
  b.addEventListener('click', () => actions.selectScope({ [dim]: value }));
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
    b.addEventListener('click', () => actions.selectScope(cell.scope));
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

export function markHeatHeads() {
  for (const h of heat.heads) h.node.classList.toggle('selected', sameScope(h.scope, state.scope));
}

/** Marks the cell of the shown scope. */
export function markHeatCells() {
  for (const c of heat.cells.values()) if (c.button) c.button.setAttribute('aria-current', String(sameScope(c.scope, state.scope)));
}
