import type { StatView } from '../core/types.ts';
import { parseKpiName } from './kpi-profiles.ts';

const COLS = ['ASR', 'NER', 'CCR', 'PDD', 'AST', 'ACD', 'PDD_p95', 'AST_p95'] as const;
const UNITS: Record<string, string> = { ASR: '%', NER: '%', CCR: '%', PDD: 'ms', AST: 'ms', ACD: 's', PDD_p95: 'ms', AST_p95: 'ms' };

/** KPI values by window → customer → KPI, from a stat stream. */
export function collectKpis(forEach: (cb: (v: StatView) => void) => void): Map<string, Map<string, Map<string, number | null>>> {
  const out = new Map<string, Map<string, Map<string, number | null>>>();
  forEach((v) => {
    if (v.kind !== 'series') return;
    const k = parseKpiName(v.name);
    if (k === null) return;
    let w = out.get(k.window);
    if (w === undefined) out.set(k.window, (w = new Map()));
    let c = w.get(k.customer);
    if (c === undefined) w.set(k.customer, (c = new Map()));
    c.set(k.kpi, v.value);
  });
  return out;
}

/** A plain-text table per window: all traffic first, then customers by name. */
export function formatKpiTable(forEach: (cb: (v: StatView) => void) => void): string {
  const data = collectKpis(forEach);
  const lines: string[] = [];
  for (const win of ['1m', '10m', '1h']) {
    const w = data.get(win);
    if (w === undefined) continue;
    const rows = [...w.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
    const head = ['customer', ...COLS.map((c) => `${c} (${UNITS[c]})`)];
    const body = rows.map((r) => [r === '' ? '(all)' : r, ...COLS.map((c) => fmt(w.get(r)!.get(c)))]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    lines.push(`KPIs over ${win === '1m' ? '1 minute' : win === '10m' ? '10 minutes' : '1 hour'}`);
    lines.push(head.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : h.padStart(widths[i]))).join('  '));
    for (const b of body) lines.push(b.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  '));
    lines.push('');
  }
  return lines.length ? lines.join('\n') : 'no KPI series (no call was seen)\n';
}

function fmt(v: number | null | undefined): string {
  if (v === undefined) return '-';
  if (v === null) return 'n/a';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
