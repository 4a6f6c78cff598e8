// sipstats dashboard: the counter tables (the server's own statistics and the others).
import { el } from './state.js';
import { nf } from './format.js';

// ---- counters -----------------------------------------------------------------------------
export function renderCounters(body, entries) {
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
