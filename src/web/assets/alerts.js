// sipstats dashboard: the alerts (/api/alerts): the list of active and recently resolved alerts, the
// failing notification targets, and the marks rows, heat-map cells and cards carry (their index by
// dimension key).
import { $, DIMS, HEAT, WINDOWS, actions, cat, dimKey, dimText, el, emptyScope, sameScope, scopeView, state, syncUrl, tabOf, unitText } from './state.js';
import { nf } from './format.js';

// ---- alerts (/api/alerts: list_alerts) ----------------------------------------------------
/** Resolved alerts listed at most (the server keeps 50 by default). */
const RECENT_LIMIT = 20;
/** The marks of an alert's state: a shape as well as a colour (filled: firing, hollow: pending). */
const ALERT_ICON = { firing: '\u25b2', pending: '\u25b3' };
/** Active alerts of the shown window by dimension key (see dimKey); rebuilt at each render. */
let alertIdx = new Map();

/** Rebuilds alertIdx from the last /api/alerts answer. */
export function indexAlerts() {
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
  alertIdx = idx;
}

/** The active alerts of one key, restricted to some KPIs (a function), firing first. */
export function alertsOf(key, kpiShown) {
  const l = alertIdx.get(key);
  if (!l) return [];
  const out = l.filter((a) => kpiShown(a.kpi));
  out.sort((a, b) => (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1));
  return out;
}
export const worstState = (l) => (l.length === 0 ? '' : l[0].state);

const valueText = (a) => (a.value === null || a.value === undefined ? 'n/a' : nf.format(a.value) + (a.kpi && cat.byName[a.kpi] ? unitText(a.kpi) : ''));
/** One line for a title or an accessible name: `firing alert asr_low: ASR (1m) is 20 %, threshold < 50 (clears at 60)`. */
export const alertLine = (a) => a.state + ' alert ' + a.alertname + ': ' + (a.kpi ? a.kpi + ' (' + a.window + ')' : dimText(a.dimension)) + ' is ' + valueText(a) + (a.threshold ? ', threshold ' + a.threshold : '');

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
export function alertMark(list) {
  const st = worstState(list);
  const text = list.map(alertLine).join('; ');
  const m = el('span', { class: 'alert-mark', 'data-testid': 'alert-mark', 'data-state': st, role: 'img', 'aria-label': text, title: text }, ALERT_ICON[st]);
  m.dataset.alertnames = list.map((a) => a.alertname).join(' ');
  return m;
}
export const markSig = (list) => list.map((a) => a.state + ':' + a.alertname + ':' + a.kpi + ':' + a.value).join(',');

/** Marks a node (a row's name cell, a card's label) with the alerts of `list`; nothing when empty. */
export function setMark(holder, node, list) {
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
  actions.selectView(view, false);
  if (sameScope(scope, state.scope)) {
    syncUrl();
    if (windowChanged) actions.poll();
  } else actions.selectScope(scope);
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

export function renderAlerts() {
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
