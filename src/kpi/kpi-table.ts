import type { StatsEngine } from '../core/engine.ts';
import { StatKind } from '../core/stat.ts';
import { DIMENSIONS, KPIS, WINDOWS } from './catalogue.ts';
import type { KpiIdentity } from './catalogue.ts';

/** Which rows a KPI table has: all traffic and customers (default), or one view. */
export type TableView = 'customer' | 'carrier' | 'destination' | 'carrier,destination';
export const TABLE_VIEWS: readonly TableView[] = ['customer', 'carrier', 'destination', 'carrier,destination'];

/** One cell: the value and the samples behind it (n = 0: an empty window, printed `n/a`). */
export interface Cell {
  v: number | null;
  n: number | null;
}

/** KPI cells by window → row ('' = all traffic; `a|b` for carrier × destination) → KPI. */
export function collectKpis(engine: StatsEngine, view: TableView = 'customer'): Map<string, Map<string, Map<string, Cell>>> {
  const out = new Map<string, Map<string, Map<string, Cell>>>();
  const dims = view.split(',');
  const t = engine.clock();
  for (const s of engine.all()) {
    if (s.kind !== StatKind.Series) continue;
    const id = s.labels as unknown as KpiIdentity | null; // read once: a kept series' labels are spelled when asked
    if (id === null || id.kpi === undefined) continue;
    const present = DIMENSIONS.filter((d) => id[d.name] !== undefined).map((d) => d.name as string);
    // the view's rows, plus all traffic in the default view
    const row = present.length === 0 ? (view === 'customer' ? '' : null) : present.join(',') === view ? dims.map((d) => id[d as keyof KpiIdentity]).join(' × ') : null;
    if (row === null) continue;
    let w = out.get(id.window);
    if (w === undefined) out.set(id.window, (w = new Map()));
    let r = w.get(row);
    if (r === undefined) w.set(row, (r = new Map()));
    const cell: Cell = { v: null, n: null };
    s.profile.readWithCount(s, t, cell);
    r.set(id.kpi, cell);
  }
  return out;
}

/** A plain-text table per window: all traffic first (default view), then rows by name. */
export function formatKpiTable(engine: StatsEngine, view: TableView = 'customer'): string {
  const data = collectKpis(engine, view);
  const lines: string[] = [];
  const label = view === 'carrier,destination' ? 'carrier × destination' : view;
  for (const win of WINDOWS) {
    const w = data.get(win.name);
    if (w === undefined) continue;
    const cols = KPIS.filter((k) => [...w.values()].some((r) => r.has(k.name)));
    const rows = [...w.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
    const head = [label, ...cols.map((c) => (c.unit === '' ? c.name : `${c.name} (${c.unit})`))];
    const body = rows.map((r) => [r === '' ? '(all)' : r, ...cols.map((c) => fmt(w.get(r)!.get(c.name)))]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    lines.push(`KPIs over ${win.title}${view === 'customer' ? '' : `, by ${label}`}`);
    lines.push(head.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : h.padStart(widths[i]))).join('  '));
    for (const b of body) lines.push(b.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  '));
    lines.push('');
  }
  return lines.length ? lines.join('\n') : view === 'customer' ? 'no KPI series (no call was seen)\n' : `no KPI series by ${label}\n`;
}

/** `-`: the KPI has no series in this row; `n/a`: its window holds no sample (the MI says 0, as OpenSIPS does). */
function fmt(c: Cell | undefined): string {
  if (c === undefined) return '-';
  if (c.v === null || c.n === 0) return 'n/a';
  return Number.isInteger(c.v) ? String(c.v) : c.v.toFixed(1);
}
