import type { StatsEngine } from '../core/engine.ts';
import type { Stat } from '../core/stat.ts';
import { StatKind, statKey } from '../core/stat.ts';
import { bind, statisticsParam } from './params.ts';
import type { MiCommand } from './registry.ts';

/**
 * Resolves `statistics` items (docs/mi.md): `all`; `grp:` = every statistic of the group; `grp:name`
 * (extension) = that statistic; anything else = a bare name in every group. Unknown items are
 * skipped. Calls `cb` with the key under which the statistic is shown.
 */
export function resolveItems(engine: StatsEngine, items: readonly string[], cb: (s: Stat, key: string, bareItem: boolean) => void): void {
  for (const item of items) {
    if (item === 'all') {
      for (const s of engine.all()) cb(s, statKey(s), false);
      continue;
    }
    const colon = item.indexOf(':');
    if (colon < 0) {
      for (const s of engine.named(item)) cb(s, statKey(s), true);
      continue;
    }
    const g = engine.group(item.slice(0, colon));
    if (g === undefined) continue;
    const name = item.slice(colon + 1);
    if (name === '') {
      for (const s of engine.inGroup(g)) cb(s, statKey(s), false);
    } else {
      const s = engine.find(g, name);
      if (s !== undefined) cb(s, statKey(s), false);
    }
  }
}

const kindOf = (s: Stat) => (s.kind === StatKind.Counter && !s.noReset ? 'incremental' : 'non-incremental');

export function statisticsCommands(engine: StatsEngine): MiCommand[] {
  const get = (params: unknown) => {
    const items = statisticsParam(bind(params as never, ['statistics']).statistics);
    const out: Record<string, number | null> = {};
    resolveItems(engine, items, (s, key) => (out[key] = engine.value(s)));
    return out;
  };
  return [
    { name: 'get_statistics', aliases: ['statistics:get'], run: get },
    {
      name: 'list_statistics',
      aliases: ['statistics:list'],
      run(params) {
        const p = bind(params, [], ['statistics']);
        const out: Record<string, string> = {};
        if (p.statistics === undefined) {
          for (const s of engine.all()) out[statKey(s)] = kindOf(s);
          return out;
        }
        // bare names are listed under their bare name (what OpenSIPS does)
        resolveItems(engine, statisticsParam(p.statistics), (s, key, bare) => (out[bare ? s.name : key] = kindOf(s)));
        return out;
      },
    },
    {
      name: 'reset_statistics',
      writes: true,
      aliases: ['statistics:reset'],
      run(params) {
        const items = statisticsParam(bind(params, ['statistics']).statistics);
        let found = false;
        resolveItems(engine, items, (s) => {
          found = true;
          engine.reset(s);
        });
        if (!found) return { error: { code: 404, message: 'Statistics Not Found' } };
        return 'OK';
      },
    },
    {
      name: 'reset_all_statistics',
      writes: true,
      aliases: ['statistics:reset_all'],
      run(params) {
        bind(params, []);
        for (const s of engine.all()) engine.reset(s);
        return 'OK';
      },
    },
    {
      name: 'clear_statistics',
      writes: true,
      aliases: ['statistics:clear'],
      run(params) {
        const out = get(params);
        const items = statisticsParam(bind(params, ['statistics']).statistics);
        resolveItems(engine, items, (s) => engine.reset(s));
        return out;
      },
    },
  ];
}
