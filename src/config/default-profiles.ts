import type { EngineConfig, ProfileDef } from '../core/types.ts';
import { KPI_PROFILES } from '../kpi/catalogue.ts';
import { buildProfile } from './opensips.ts';
import { SipstatsError } from '../errors.ts';

/**
 * The embedded default configuration's statistics, built from the KPI catalogue's profile data
 * (KPI_PROFILES) with OpenSIPS' defaults filled in by the same code that reads a
 * `stat_series_profile` line. DEFAULT_MODPARAMS (src/config/defaults.ts) is the same profiles
 * written as text (a test holds the two equal); nothing parses that text back.
 */

let defs: readonly ProfileDef[] | undefined;

/** The catalogue's profiles as the engine takes them (built once). */
export function defaultProfiles(): readonly ProfileDef[] {
  if (defs !== undefined) return defs;
  const out: ProfileDef[] = [];
  for (const p of KPI_PROFILES) {
    const { quantile, ...rest } = p;
    const r = buildProfile({ ...rest, ...(quantile !== undefined ? { options: { quantile } } : {}) });
    if (r.value === undefined) throw new SipstatsError('E_INTERNAL', `KPI catalogue profile '${p.name}' refused: ${r.problems.join('; ')}`);
    out.push(r.value);
  }
  defs = Object.freeze(out);
  return defs;
}

/** The embedded default configuration's engine: the catalogue's profiles, no counter, no group. */
export function defaultEngineConfig(): EngineConfig {
  return Object.freeze({ counters: Object.freeze([]), groups: Object.freeze([]), profiles: defaultProfiles() });
}
