import type { StatsEngine } from '../core/engine.ts';
import type { Series } from '../core/stat.ts';
import { StatKind } from '../core/stat.ts';
import { SipstatsError } from '../errors.ts';
import { bind, ParamError, stringParam } from './params.ts';
import type { MiCommand } from './registry.ts';

/** Series management (cardinality control): list_series, remove_series, sweep_series. */
export function seriesCommands(engine: StatsEngine): MiCommand[] {
  const seriesOf = (profile: unknown): Series[] => {
    const out: Series[] = [];
    const p = profile === undefined ? undefined : engine.profile(stringParam(profile, 'profile'));
    if (profile !== undefined && p === undefined) throw new SipstatsError('E_UNKNOWN_PROFILE', `no profile named '${String(profile).slice(0, 64)}'`);
    for (const s of engine.all()) if (s.kind === StatKind.Series && (p === undefined || s.profile === p)) out.push(s);
    return out;
  };
  return [
    {
      name: 'list_series',
      run(params) {
        const p = bind(params, [], ['profile']);
        const t = engine.clock();
        return seriesOf(p.profile).map((s) => ({
          name: s.name,
          group: s.group.name,
          profile: s.profile.def.name,
          value: engine.value(s),
          idle_s: Math.round(s.profile.idleMs(s, t) / 1000),
        }));
      },
    },
    {
      name: 'remove_series',
      writes: true,
      run(params) {
        const p = bind(params, [], ['name', 'profile']);
        if (p.name === undefined && p.profile === undefined) throw new ParamError('Too few or too many parameters');
        let victims = seriesOf(p.profile);
        if (p.name !== undefined) {
          const name = stringParam(p.name, 'name');
          victims = victims.filter((s) => s.name === name);
          if (victims.length === 0) return { error: { code: 404, message: 'Statistics Not Found' } };
        }
        for (const s of victims) engine.removeSeries(s);
        return { removed: victims.length };
      },
    },
    {
      name: 'sweep_series',
      writes: true,
      run(params) {
        bind(params, []);
        return { removed: engine.sweep() };
      },
    },
  ];
}
