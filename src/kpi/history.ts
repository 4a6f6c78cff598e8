import type { StatsEngine } from '../core/engine.ts';
import { HistoryRecorder } from '../core/history.ts';
import type { HistoryOptions } from '../core/history.ts';
import type { Series } from '../core/stat.ts';
import { isAllTraffic } from './catalogue.ts';

/** A series of the KPI catalogue (it carries a `kpi` label). */
export const isKpiSeries = (s: Series): boolean => s.labels?.kpi !== undefined;

/**
 * The chart history of the dashboard: the KPI series, the all-traffic ones always (outside
 * maxSeries), customers, carriers and destinations within it.
 */
export function kpiHistory(engine: StatsEngine, options: Omit<HistoryOptions, 'isGlobal'> = {}): HistoryRecorder {
  const isGlobal = (s: Series): boolean => {
    const l = s.labels; // read once: a kept series' labels are spelled when asked
    return l !== null && isAllTraffic(l);
  };
  return new HistoryRecorder(engine, { select: isKpiSeries, ...options, isGlobal });
}
