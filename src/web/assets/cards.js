// sipstats dashboard: the KPI cards of the shown scope: value, samples, the KPIs under a card, its
// limit and its alerts.
import { $, cat, dimKey, el, samplesText, state, unitText } from './state.js';
import { NOT_ENOUGH, kpiOf, nf, quality, scopeLimit } from './format.js';
import { alertsOf, setMark, worstState } from './alerts.js';

// ---- cards --------------------------------------------------------------------------------
let cards = {};
export function buildCards() {
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

export function renderCards(row) {
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

/** Cards: the alerts of the shown scope (an all-traffic alert when all traffic is shown) on each card's KPI or the one under it. */
export function markCards() {
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
