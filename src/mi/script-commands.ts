import type { StatsEngine } from '../core/engine.ts';
import { bind, stringParam } from './params.ts';
import type { MiCommand } from './registry.ts';

/** The script functions over MI (sipstats extensions, docs/mi.md), named or positional params. */
export function scriptCommands(engine: StatsEngine): MiCommand[] {
  return [
    {
      name: 'update_stat',
      writes: true,
      run(params) {
        const p = bind(params, ['name', 'value']);
        engine.updateStat(stringParam(p.name, 'name'), p.value);
        return 'OK';
      },
    },
    {
      name: 'update_stat_series',
      writes: true,
      run(params) {
        const p = bind(params, ['profile', 'name', 'value']);
        engine.updateStatSeries(stringParam(p.profile, 'profile'), stringParam(p.name, 'name'), p.value);
        return 'OK';
      },
    },
    {
      name: 'reset_stat',
      writes: true,
      run(params) {
        const p = bind(params, ['name']);
        engine.resetStat(stringParam(p.name, 'name'));
        return 'OK';
      },
    },
  ];
}
