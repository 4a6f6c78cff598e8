// sipstats dashboard: the breakdown table of the selected tab (one row per value of its dimension):
// its columns, sorting, search, the rows shown, the limits and alerts of each row.
import { $, PLATFORM_DIMS, actions, cat, el, emptyScope, rowKey, sameScope, state, timed, unitText, viewByKey, worstDir } from './state.js';
import { NOT_ENOUGH, kpiOf, limitOf, nf, quality } from './format.js';
import { alertLine, alertsOf, setMark, worstState } from './alerts.js';

// ---- the breakdown table (customers, carriers or destinations) ------------------------------
/** Rows shown at most until "show all". */
const ROW_LIMIT = 200;
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

export function renderTable() {
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
  tr.addEventListener('click', () => actions.selectScope(scope));
  tr.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') actions.selectScope(scope);
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

/** Forgets the columns: the table head is built again at the next render (the KPIs changed). */
export function resetColumns() {
  columnsSig = '';
}

/** Marks the row of the shown scope. */
export function markSelectedRows() {
  for (const r of rows.values()) r.tr.classList.toggle('selected', sameScope(r.scope, state.scope));
}
