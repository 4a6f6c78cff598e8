// sipstats dashboard: the navigation built from the catalogue: the window buttons and the view tabs
// (the tablist pattern), selecting a view and the tabs' counts.
import { $, HEAT, VIEWS, actions, cap, el, readCatalogue, state, syncUrl, timed, viewByKey } from './state.js';
import { renderTable } from './table.js';

// ---- tabs ---------------------------------------------------------------------------------
const tabs = () => Array.from(document.querySelectorAll('#tabs [role=tab]'));

export function selectView(key, focus) {
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

export function renderTabCounts() {
  const w = state.kpis.windows[state.window];
  for (const v of VIEWS) {
    const n = w && w[v.key] ? Object.keys(w[v.key]).length : 0;
    const span = document.querySelector('[data-count="' + v.key + '"]');
    const text = '(' + n + ')';
    if (span.textContent !== text) span.textContent = text;
  }
}

// ---- the window buttons and the tabs, from the catalogue ----------------------------------
/**
 * Takes the catalogue (GET /api/catalogue): the window buttons and the view tabs are built from
 * it, and the window, scope and view are read from the URL.
 */
export function useCatalogue(c) {
  readCatalogue(c);

  const nav = $('windows');
  nav.replaceChildren();
  for (const w of c.windows) {
    const b = el('button', { type: 'button', 'data-window': w.name, 'data-testid': 'window-' + w.name }, w.title);
    b.addEventListener('click', () => {
      if (state.window === b.dataset.window) return;
      state.window = b.dataset.window;
      syncUrl();
      actions.poll();
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

actions.selectView = selectView;
