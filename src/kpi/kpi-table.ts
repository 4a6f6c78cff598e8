import type { StatsEngine } from '../core/engine.ts';
import { ALL_TRAFFIC, KPIS, VIEWS, viewByName } from './catalogue.ts';
import type { ViewDef } from './catalogue.ts';
import { readKpis } from './kpi-read.ts';
import type { KpiRow } from './kpi-read.ts';
import { SipstatsError } from '../errors.ts';

/** The views a KPI table can be by (`sipstats replay --by`): every view of the catalogue but all traffic. */
export const TABLE_VIEWS: readonly ViewDef[] = VIEWS.filter((v) => v.dimensions.length > 0);

/** The default table: all traffic and the first dimension's rows (the customers, as OpenSIPS has them). */
export const DEFAULT_TABLE_VIEW: ViewDef = TABLE_VIEWS[0];

/** The table view named `name` (`customer`, `carrier,destination`), or undefined. */
export function tableView(name: string): ViewDef | undefined {
  const v = viewByName(name);
  return v !== undefined && TABLE_VIEWS.includes(v) ? v : undefined;
}

/**
 * A plain-text table per window, from the KPI read model (kpi-read.ts): all traffic first (default
 * view), then rows by name.
 */
export function formatKpiTable(engine: StatsEngine, by: ViewDef | string = DEFAULT_TABLE_VIEW, options: { spanMs?: number } = {}): string {
  const view = typeof by === 'string' ? tableView(by) : by;
  if (view === undefined) throw new SipstatsError('E_BAD_PARAMS', `no KPI table by '${String(by)}' (one of ${TABLE_VIEWS.map((v) => v.name).join(', ')})`);
  const withAll = view === DEFAULT_TABLE_VIEW;
  const read = readKpis(engine, { views: withAll ? [ALL_TRAFFIC, view] : [view] });
  const lines: string[] = [];
  const label = view.title;
  for (const [win, views] of read.windows) {
    // '' = all traffic; a carrier on a destination is `carrier × destination`
    const rows = new Map<string, KpiRow>();
    for (const m of views.values()) for (const r of m.values()) rows.set(r.values.join(' × '), r);
    if (rows.size === 0) continue;
    const cols = KPIS.map((k, i) => ({ k, i })).filter(({ i }) => [...rows.values()].some((r) => r.has[i]));
    const names = [...rows.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
    const head = [label, ...cols.map(({ k }) => (k.unit === '' ? k.name : `${k.name} (${k.unit})`))];
    // a capture shorter than the window: a rate (CPS) is its starts over the capture's duration
    // (its sample count: the rate profiles keep one), not over the window's span
    const over = options.spanMs !== undefined && options.spanMs > 0 && options.spanMs < win.seconds * 1000 ? options.spanMs : undefined;
    const body = names.map((r) => [r === '' ? '(all)' : r, ...cols.map(({ k, i }) => (over !== undefined && k.kind === 'rate' ? overCapture(rows.get(r)!, i, over) : fmt(rows.get(r)!, i)))]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    lines.push(`KPIs over ${win.title}${withAll ? '' : `, by ${label}`}${over !== undefined && cols.some(({ k }) => k.kind === 'rate') ? ` (rates over the capture's ${(over / 1000).toFixed(1)} s)` : ''}`);
    lines.push(head.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : h.padStart(widths[i]))).join('  '));
    for (const b of body) lines.push(b.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  '));
    lines.push('');
  }
  return lines.length ? lines.join('\n') : withAll ? 'no KPI series (no call was seen)\n' : `no KPI series by ${label}\n`;
}

/** `-`: the KPI has no series in this row; `n/a`: its window holds no sample (the MI says 0, as OpenSIPS does). */
function fmt(r: KpiRow, i: number): string {
  if (!r.has[i]) return '-';
  const v = r.v[i];
  if (v === null || r.n[i] === 0) return 'n/a';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A rate over `spanMs` from its sample count (the starts behind CPS). */
function overCapture(r: KpiRow, i: number, spanMs: number): string {
  if (!r.has[i]) return '-';
  const n = r.n[i];
  if (n === null || n === 0) return 'n/a';
  const v = (n * 1000) / spanMs;
  return v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
