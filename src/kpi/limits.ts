/**
 * Channel and CPS limits per customer and carrier (the `limits` section of the native
 * configuration; reloadable): what a trunk or a customer account was sold. With a limit, a scope's
 * capacity KPIs gain its utilisation (CC_util: % of the channels up now; CPS_util: the busiest
 * second of the window as % of the CPS limit) and the time spent over it (CC_over, CPS_over).
 * Pure: checks the section and answers lookups.
 *
 *   limits:
 *     customer: { acme: { channels: 30, cps: 5 } }
 *     carrier:  { carrier_a: { channels: 120, cps: 20 } }
 */
import type { ErrorCode } from '../errors.ts';
import { DIMENSION_VALUE_RE, DIMENSIONS } from './catalogue.ts';
import type { DimensionName, Scope } from './catalogue.ts';

export interface Limit {
  /** Concurrent calls (attempts, for a carrier) the scope may have up. */
  readonly channels?: number;
  /** Calls (attempts) the scope may start in one second. */
  readonly cps?: number;
}

/** The dimensions a limit is set on: whose calls are sold and bought in channels (a customer's calls, a carrier's attempts). */
export const LIMITED_DIMENSIONS: readonly DimensionName[] = DIMENSIONS.filter((d) => d.of !== 'both').map((d) => d.name);

export type Limits = Readonly<Partial<Record<DimensionName, Readonly<Record<string, Limit>>>>>;

const LIMIT_KEYS = ['channels', 'cps'] as const;

/** The limit of a scope of one limited dimension (`{ customer: 'acme' }`), if any. */
export function limitOf(limits: Limits, scope: Scope): Limit | undefined {
  let dim: DimensionName | undefined;
  for (const d of DIMENSIONS) {
    if (scope[d.name] === undefined) continue;
    if (dim !== undefined) return undefined; // (a carrier × destination has no limit of its own)
    dim = d.name;
  }
  return dim === undefined ? undefined : limits[dim]?.[scope[dim]!];
}

/** Checks the `limits` section; every problem with its path. */
export function parseLimits(raw: unknown): { value: Limits; problems: [path: string, message: string, code: ErrorCode][] } {
  const problems: [string, string, ErrorCode][] = [];
  const out: Partial<Record<DimensionName, Record<string, Limit>>> = {};
  if (raw === undefined || raw === null) return { value: out, problems };
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(raw)) {
    problems.push(['limits', `must be a mapping { ${LIMITED_DIMENSIONS.join(', ')} }, got ${JSON.stringify(raw)}`, 'E_CFG_SYNTAX']);
    return { value: out, problems };
  }
  for (const [dim, byValue] of Object.entries(raw)) {
    const path = `limits.${dim}`;
    if (!(LIMITED_DIMENSIONS as readonly string[]).includes(dim)) {
      problems.push([path, `unknown key (allowed: ${LIMITED_DIMENSIONS.join(', ')})`, 'E_CFG_UNKNOWN_PARAM']);
      continue;
    }
    if (!isObj(byValue)) {
      problems.push([path, `must be a mapping of ${dim} names to { ${LIMIT_KEYS.join(', ')} }`, 'E_CFG_SYNTAX']);
      continue;
    }
    const table: Record<string, Limit> = {};
    for (const [name, l] of Object.entries(byValue)) {
      const p = `${path}.${name}`;
      if (!DIMENSION_VALUE_RE.test(name)) {
        problems.push([p, `'${name}' is not a ${dim} name sipstats can have ([A-Za-z0-9_.@+-], up to 64)`, 'E_CFG_SYNTAX']);
        continue;
      }
      if (!isObj(l)) {
        problems.push([p, `must be { ${LIMIT_KEYS.join(', ')} }, got ${JSON.stringify(l)}`, 'E_CFG_SYNTAX']);
        continue;
      }
      const lim: { channels?: number; cps?: number } = {};
      for (const [k, v] of Object.entries(l)) {
        if (!(LIMIT_KEYS as readonly string[]).includes(k)) problems.push([`${p}.${k}`, `unknown key (allowed: ${LIMIT_KEYS.join(', ')})`, 'E_CFG_UNKNOWN_PARAM']);
        else if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (k === 'channels' && !Number.isInteger(v)) || v > 1e7)
          problems.push([`${p}.${k}`, `must be a ${k === 'channels' ? 'whole number' : 'number'} above 0, got ${JSON.stringify(v)}`, 'E_CFG_SYNTAX']);
        else lim[k as 'channels' | 'cps'] = v;
      }
      if (lim.channels !== undefined || lim.cps !== undefined) table[name] = lim;
    }
    out[dim as DimensionName] = table;
  }
  return { value: out, problems };
}
