// sipstats dashboard: formatting and reading values: numbers, whether a value rests on enough
// samples, a KPI's value and samples in a row, and the limits of a dimension value or of the shown scope.
import { DIMS, cat, state } from './state.js';

// ---- formatting ---------------------------------------------------------------------------
export const NOT_ENOUGH = 'not enough data';
export const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** 'none' (not enough data), 'low' (few samples) or 'ok'. */
export function quality(v, n) {
  const t = state.kpis.thresholds;
  if (v === null || v === undefined) return 'none';
  if (n === null || n === undefined) return 'ok'; // the algorithm does not tell how many
  if (n < t.minSamples) return 'none';
  return n < t.lowSamples ? 'low' : 'ok';
}

export function kpiOf(row, kpi) {
  const i = cat.index.get(kpi);
  return row && i !== undefined ? { v: row.v[i], n: row.n[i] } : { v: null, n: 0 };
}

/** The limit (a number, or null) of one dimension value (a customer named acme) by its name (channels, cps), from /api/kpis `limits`. */
export function limitOf(dim, name, which) {
  const l = state.kpis && state.kpis.limits && state.kpis.limits[dim];
  const v = l && Object.prototype.hasOwnProperty.call(l, name) ? l[name][which] : undefined;
  return typeof v === 'number' ? v : null;
}
/** The limit of the shown scope (a customer or a carrier alone has limits; all traffic and the others none). */
export function scopeLimit(which) {
  if (!which) return null;
  const has = DIMS.filter((d) => state.scope[d]);
  return has.length === 1 ? limitOf(has[0], state.scope[has[0]], which) : null;
}
