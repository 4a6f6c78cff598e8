import type { StatsEngine } from '../core/engine.ts';
import { HistoryRecorder } from '../core/history.ts';
import type { HistoryOptions } from '../core/history.ts';
import type { KeptSeries, Series } from '../core/stat.ts';
import { isAllTraffic } from './catalogue.ts';
import { ScopeHandles } from './scopes.ts';

/**
 * The scope that keeps `s`, if a KPI scope does: the history asks every second of every series
 * whether it is a KPI series and an all-traffic one, and its scope answers without spelling labels.
 */
const scopeOf = (s: Series): ScopeHandles | null => (s.kept && (s as KeptSeries).owner instanceof ScopeHandles ? ((s as KeptSeries).owner as ScopeHandles) : null);

/** A series of the KPI catalogue (it carries a `kpi` label). */
export const isKpiSeries = (s: Series): boolean => scopeOf(s) !== null || s.labels?.kpi !== undefined;

/** An all-traffic KPI series (no dimension). */
const isGlobal = (s: Series): boolean => {
  const sc = scopeOf(s);
  if (sc !== null) return sc.isAllTraffic;
  const l = s.labels;
  return l !== null && isAllTraffic(l);
};

/**
 * The chart history of the dashboard: the KPI series, the all-traffic ones always (outside
 * maxSeries), customers, carriers and destinations within it.
 */
export function kpiHistory(engine: StatsEngine, options: Omit<HistoryOptions, 'isGlobal'> = {}): HistoryRecorder {
  return new HistoryRecorder(engine, { select: isKpiSeries, ...options, isGlobal });
}
