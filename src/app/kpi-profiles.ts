import type { EngineConfig, ProfileDef } from '../core/types.ts';
import { defaultProfiles } from '../config/default-profiles.ts';
import { requiredProfiles } from '../kpi/catalogue.ts';
import { SipstatsError } from '../errors.ts';

/**
 * The profiles the KPI feature feeds, checked at start: a configuration that lacks some of them
 * (an `opensips.cfg` with only `perc`, a native file with a short `profiles` list) gets them
 * declared with the catalogue's definitions, and the caller says so, instead of losing those KPIs
 * to `sipstats:kpi_update_errors` without a word. Shared by the server and replay.
 */

export interface DeclaredProfile {
  readonly profile: string;
  /** The all-traffic series that need it (the per-customer/carrier/destination ones too). */
  readonly series: readonly string[];
}

let catalogueDefs: Map<string, ProfileDef> | undefined;

/** The catalogue's own profile definitions (its KPI_PROFILES data), by lower-case name. */
function catalogueProfiles(): Map<string, ProfileDef> {
  catalogueDefs ??= new Map(defaultProfiles().map((p) => [p.name.toLowerCase(), p]));
  return catalogueDefs;
}

/**
 * `engine` with every profile the KPIs need (`percentiles`: PDD_p95/AST_p95, `inviteSeries`:
 * INVITE_per_min/INVITE_ratio; both on by default) and the list of those it had to add.
 * Profile names are matched case-insensitively, as the engine does; a profile the configuration
 * defines is kept as it is.
 */
export function withKpiProfiles(engine: EngineConfig, options: { percentiles?: boolean; inviteSeries?: boolean } = {}): { engine: EngineConfig; declared: DeclaredProfile[] } {
  const have = new Set(engine.profiles.map((p) => p.name.toLowerCase()));
  const defs = catalogueProfiles();
  const declared: DeclaredProfile[] = [];
  const added: ProfileDef[] = [];
  const need = requiredProfiles({ percentiles: options.percentiles ?? true, inviteSeries: options.inviteSeries ?? true });
  for (const [profile, series] of need) {
    if (have.has(profile.toLowerCase())) continue;
    const def = defs.get(profile.toLowerCase());
    if (def === undefined) throw new SipstatsError('E_INTERNAL', `KPI profile '${profile}' is not in the catalogue's definitions`);
    added.push(def);
    declared.push({ profile, series });
  }
  if (added.length === 0) return { engine, declared };
  return { engine: { ...engine, profiles: [...engine.profiles, ...added] }, declared };
}

/** One line saying which profiles were declared and for which series. */
export function describeDeclared(declared: readonly DeclaredProfile[]): string {
  return (
    `the configuration lacks ${declared.length} profile(s) the call KPIs need; declared with the defaults of docs/config.md: ` +
    declared.map((d) => `${d.profile} (${d.series.join(', ')})`).join(', ')
  );
}
