import { DIMENSIONS, DURATION_BUCKETS } from '../kpi/catalogue.ts';
import type { Scope } from '../kpi/catalogue.ts';
import { escapeLabelValue, formatValue } from './prometheus.ts';

/**
 * The call-duration histograms as Prometheus text (pure): `sipstats_call_duration_seconds_bucket`
 * (cumulative, `le` the catalogue's DURATION_BUCKETS and +Inf), `_sum` and `_count`, one histogram
 * per scope that keeps one — all traffic (customer="") and each customer, carrier and destination
 * (ScopeHandles.timed: carrier × destination scopes keep none). `forEach` yields the scopes' dimension
 * values and their per-bucket counts, sum and count.
 */
export function durationHistogramText(forEach: (cb: (scope: Scope, h: Float64Array) => void) => void, namespace = 'sipstats'): string {
  const name = `${namespace}_call_duration_seconds`;
  const out: string[] = [];
  const n = DURATION_BUCKETS.length;
  forEach((scope, h) => {
    let dims = '';
    for (const d of DIMENSIONS) {
      const v = scope[d.name];
      if (v !== undefined) dims += `${d.name}="${escapeLabelValue(v)}",`;
    }
    if (dims === '') dims = 'customer="",';
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += h[i];
      out.push(`${name}_bucket{${dims}le="${DURATION_BUCKETS[i]}"} ${cum}`);
    }
    cum += h[n];
    out.push(`${name}_bucket{${dims}le="+Inf"} ${cum}`);
    out.push(`${name}_sum{${dims.slice(0, -1)}} ${formatValue(h[n + 1])}`);
    out.push(`${name}_count{${dims.slice(0, -1)}} ${h[n + 2]}`);
  });
  if (out.length === 0) return '';
  return `# HELP ${name} Answered calls (attempts, for carriers) that ended, by duration from the answer to the BYE, since the server started; by customer, carrier or destination (customer="" alone: all traffic)\n# TYPE ${name} histogram\n${out.join('\n')}\n`;
}
