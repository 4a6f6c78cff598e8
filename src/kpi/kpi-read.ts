import type { StatsEngine } from '../core/engine.ts';
import { KPI_INDEX } from './scopes.ts';
import { StatKind } from '../core/stat.ts';
import type { Stat } from '../core/stat.ts';
import { KPIS, VIEWS, viewOf, WINDOWS } from './catalogue.ts';
import type { KpiIdentity, ViewDef, WindowDef } from './catalogue.ts';

/**
 * The KPI read model: every KPI series of the engine read once, at the engine's clock, and put in
 * its window, view and row. The dashboard's /api/kpis (src/web/routes.ts `kpiSnapshot`) and the
 * replay table (kpi-table.ts) are both made from it. Pure: it reads the engine and nothing else.
 */

/** The KPIs of one row (all traffic, a customer, a carrier on a destination…) in one window, in KPIS order. */
export interface KpiRow {
  /** The row's dimension values, in the order of its view's dimensions ([] for all traffic). */
  readonly values: readonly string[];
  /** `v[i]`: the value of KPIS[i]; null when it has no series here (or reads null: under min_samples). */
  readonly v: (number | null)[];
  /** `n[i]`: the samples behind `v[i]`; 0 when it has no series here, null when the algorithm does not tell. */
  readonly n: (number | null)[];
  /** `has[i]`: KPIS[i] has a series in this row. */
  readonly has: boolean[];
}

/**
 * One window's rows: per view, its rows keyed by their values joined by '|' ('' for all traffic,
 * `carrier_a|44` for a carrier on a destination), in the order the engine lists their series.
 */
export type KpiWindowRead = Map<ViewDef, Map<string, KpiRow>>;

export interface KpiRead {
  /** The engine's clock when the values were read. */
  readonly now: number;
  /** The windows asked for (catalogue order), each with every view asked for (views without rows included). */
  readonly windows: Map<WindowDef, KpiWindowRead>;
}

export interface ReadKpisOptions {
  /** The windows to read (default: every window of the catalogue). */
  readonly windows?: readonly WindowDef[];
  /** The views to read (default: every view of the catalogue). */
  readonly views?: readonly ViewDef[];
  /**
   * Called in the same pass with every statistic that is not a KPI series (counters, KPI levels,
   * series outside the catalogue), and the clock the KPIs were read at.
   */
  readonly other?: (s: Stat, t: number) => void;
}


/** A row whose KPIs have no series (v null, n 0). */
export function emptyKpiRow(values: readonly string[] = []): KpiRow {
  return { values, v: new Array(KPIS.length).fill(null), n: new Array(KPIS.length).fill(0), has: new Array(KPIS.length).fill(false) };
}

/** Every KPI series of `engine` by window → view → row, in one pass over its statistics. */
export function readKpis(engine: StatsEngine, options: ReadKpisOptions = {}): KpiRead {
  const t = engine.clock();
  const views = options.views ?? VIEWS;
  const windows = new Map<WindowDef, KpiWindowRead>();
  const byName = new Map<string, KpiWindowRead>();
  for (const w of options.windows ?? WINDOWS) {
    const rows: KpiWindowRead = new Map(views.map((v) => [v, new Map<string, KpiRow>()]));
    windows.set(w, rows);
    byName.set(w.name, rows);
  }
  const other = options.other;
  const vn: { v: number | null; n: number | null } = { v: null, n: null };
  /** The row of `id` in the rows of one window and view, made when missing. */
  const rowOf = (rows: Map<string, KpiRow>, dims: ViewDef['dimensions'], id: KpiIdentity): KpiRow => {
    const key = dims.length === 0 ? '' : dims.length === 1 ? id[dims[0].name]! : dims.map((d) => id[d.name]).join('|');
    let row = rows.get(key);
    if (row === undefined) rows.set(key, (row = emptyKpiRow(dims.length === 0 ? [] : dims.length === 1 ? [key] : dims.map((d) => id[d.name]!))));
    return row;
  };
  for (const s of engine.all()) {
    if (s.kind !== StatKind.Series) {
      // a KPI level (concurrent calls now): the same value in the row of every window
      const lid = s.labels as KpiIdentity | null;
      const li = lid === null ? undefined : KPI_INDEX[lid.kpi];
      if (lid !== null && li !== undefined) {
        const view = viewOf(lid);
        if (view !== undefined)
          for (const rowsOfWindow of windows.values()) {
            const rows = rowsOfWindow.get(view);
            if (rows === undefined) continue;
            const row = rowOf(rows, view.dimensions, lid);
            row.v[li] = s.value;
            row.n[li] = null;
            row.has[li] = true;
          }
        continue;
      }
      if (other !== undefined) other(s, t);
      continue;
    }
    const id = s.labels as KpiIdentity | null; // read once: a kept series' labels are spelled when asked
    const i = id === null ? undefined : KPI_INDEX[id.kpi];
    if (id === null || i === undefined) {
      // (the final replies by code are neither KPIs nor plain statistics: their own view)
      if (other !== undefined && (id === null || (id as { reply?: string }).reply === undefined)) other(s, t);
      continue;
    }
    const view = viewOf(id);
    const rows = view === undefined ? undefined : byName.get(id.window)?.get(view);
    if (rows === undefined) continue;
    const row = rowOf(rows, view!.dimensions, id);
    s.profile.readWithCount(s, t, vn);
    row.v[i] = vn.v;
    row.n[i] = vn.n;
    row.has[i] = true;
  }
  return { now: t, windows };
}
