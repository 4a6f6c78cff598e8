import type { StatsEngine } from '../core/engine.ts';
import type { HistoryPoints, HistoryRecorder } from '../core/history.ts';
import { bind, ParamError, statisticsParam } from './params.ts';
import type { MiCommand } from './registry.ts';
import { resolveItems } from './statistics-commands.ts';

/**
 * MI `get_history`: params `statistics` (array, items as for get_statistics) and optional `points`
 * (1..capacity; more is capped at the capacity). Result `{ "group:name": { t: [ms...], v: [...],
 * n: [...] } }` for every matching statistic that is recorded, oldest point first.
 */
export function historyCommand(history: HistoryRecorder, engine: StatsEngine): MiCommand {
  return {
    name: 'get_history',
    aliases: ['statistics:history'],
    run: (params) => {
      const p = bind(params as never, ['statistics'], ['points']);
      const items = statisticsParam(p.statistics);
      let points = history.points;
      if (p.points !== undefined) {
        const x = typeof p.points === 'string' && /^\d+$/.test(p.points) ? Number(p.points) : p.points;
        if (typeof x !== 'number' || !Number.isInteger(x) || x < 1) throw new ParamError("Bad type for parameter 'points'");
        points = Math.min(x, history.points);
      }
      const res: Record<string, HistoryPoints> = {};
      resolveItems(engine, items, (s, key) => {
        const h = history.getStat(s, points);
        if (h !== undefined) res[key] = h;
      });
      return res;
    },
  };
}
