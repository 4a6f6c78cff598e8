import type { StatsEngine } from './engine.ts';
import { StatKind } from './stat.ts';
import type { ProfileDef } from './types.ts';
import { SipstatsError } from '../errors.ts';

/**
 * The engine's recorded data as a plain object: counters and the live slots of every series, with
 * the profile definitions they were kept under. Snapshots (persistence) and cluster sync build on
 * it; parts are kept as they are (sums, counts, weights), never finished values.
 */
export interface EngineState {
  /** Unix ms at which the state was taken. */
  readonly at: number;
  readonly profiles: readonly ProfileDef[];
  readonly counters: readonly { group: string; name: string; value: number }[];
  /** slots: [absolute slot number, ...parts] per live slot, in slot order. */
  readonly series: readonly { profile: string; name: string; slots: number[][] }[];
}

export interface RestoreReport {
  counters: number;
  series: number;
  /** Slots dropped because the clock had already left them behind (window expiry while down). */
  expiredSlots: number;
  skipped: { name: string; reason: string }[];
}

/** Takes the state of `engine` at its clock's time (expired slots are dropped first). */
export function exportState(engine: StatsEngine): EngineState {
  const at = engine.clock();
  const counters: { group: string; name: string; value: number }[] = [];
  const series: { profile: string; name: string; slots: number[][] }[] = [];
  for (const s of engine.all()) {
    if (s.kind === StatKind.Counter) {
      // (a level is its feeder's state, set again by it: not kept)
      if (s.labels === null) counters.push({ group: s.group.name, name: s.name, value: s.value });
      continue;
    }
    const p = s.profile;
    p.expireAt(s, at);
    const slots: number[][] = [];
    p.exportSlots(s, (slot, f, o) => {
      const row = [slot];
      for (let i = 0; i < p.w; i++) row.push(f[o + i]);
      slots.push(row);
    });
    series.push({ profile: p.def.name, name: s.name, slots });
  }
  return { at, profiles: engine.profileDefs(), counters, series };
}

const sameKeeping = (a: ProfileDef, b: ProfileDef) =>
  a.algorithm === b.algorithm && a.window === b.window && a.slots === b.slots && a.minSamples > 0 === b.minSamples > 0 && JSON.stringify(a.options) === JSON.stringify(b.options);

/**
 * Restores a state into `engine` at its clock's time: counters take the saved values, series slots
 * are merged (so restoring into a fresh engine reproduces the saved one, and slots that expired
 * meanwhile are dropped by the clock). Series whose profile is gone or now keeps data differently,
 * or whose feeder keeps them under another profile now, are skipped and reported.
 */
export function restoreState(engine: StatsEngine, state: EngineState): RestoreReport {
  const t = engine.clock();
  const report: RestoreReport = { counters: 0, series: 0, expiredSlots: 0, skipped: [] };
  for (const c of state.counters) {
    const g = engine.group(c.group);
    if (g === undefined) {
      report.skipped.push({ name: `${c.group}:${c.name}`, reason: `group '${c.group}' is no longer declared` });
      continue;
    }
    try {
      const existing = engine.find(g, c.name);
      if (existing !== undefined && existing.kind === StatKind.Counter) existing.value = c.value;
      else if (existing === undefined) engine.updateStat(`${c.group}:${c.name}`, c.value);
      else throw new SipstatsError('E_NAME_TAKEN', 'name is now a series');
      report.counters++;
    } catch (e) {
      report.skipped.push({ name: `${c.group}:${c.name}`, reason: (e as Error).message });
    }
  }
  const saved = new Map(state.profiles.map((p) => [p.name.toLowerCase(), p]));
  for (const s of state.series) {
    const p = engine.profile(s.profile);
    const before = saved.get(s.profile.toLowerCase());
    if (p === undefined || before === undefined || !sameKeeping(p.def, before)) {
      report.skipped.push({ name: s.name, reason: `profile '${s.profile}' is gone or keeps its data differently now` });
      continue;
    }
    const kept = engine.keptProfileOf(s.name);
    if (kept !== undefined && kept.toLowerCase() !== p.def.name.toLowerCase()) {
      // (a KPI whose profile changed between versions: CC_avg from `avg` to `tavg` on 2026-12-07)
      report.skipped.push({ name: s.name, reason: `its feeder keeps it under profile '${kept}' now` });
      continue;
    }
    let series = engine.lookup(s.name);
    if (series !== undefined && series.profile !== p) {
      report.skipped.push({ name: s.name, reason: 'name is used by another statistic' });
      continue;
    }
    if (series === undefined) {
      try {
        series = engine.createSeriesFor(p, s.name);
      } catch (e) {
        report.skipped.push({ name: s.name, reason: (e as Error).message });
        continue;
      }
    }
    if (series.kind !== StatKind.Series) continue;
    report.expiredSlots += p.importSlots(series, s.slots.map((row) => ({ slot: row[0], parts: row, offset: 1 })), t);
    report.series++;
  }
  return report;
}
