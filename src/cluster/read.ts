import type { StatsEngine } from '../core/engine.ts';
import type { ProfileRuntime, SlotRow } from '../core/profile-runtime.ts';
import { StatKind } from '../core/stat.ts';
import type { Counter } from '../core/stat.ts';
import { SELF_GROUP } from '../self-stats.ts';
import type { SelfStatName } from '../self-stats.ts';
import type { StatView } from '../core/types.ts';
import { resolveItems } from '../mi/statistics-commands.ts';
import { createStats } from '../stats.ts';
import type { Stats } from '../stats.ts';
import { decodeParts, seriesField, splitField } from './keys.ts';
import type { ClusterKeys } from './keys.ts';
import type { RedisCommand } from './push.ts';
import { SipstatsError } from '../errors.ts';

/** The part of an ioredis client the cluster code uses (a pipeline of raw commands). */
export interface RedisPipelineClient {
  pipeline(commands: RedisCommand[]): { exec(): Promise<[Error | null, unknown][] | null> };
}

/** Runs commands in one pipeline; rejects if the pipeline or any command failed. */
export async function execAll(redis: RedisPipelineClient, cmds: RedisCommand[]): Promise<unknown[]> {
  if (cmds.length === 0) return [];
  const res = await redis.pipeline(cmds).exec();
  if (res === null) throw new SipstatsError('E_CLUSTER_UNAVAILABLE', 'Redis pipeline was not executed');
  return res.map(([err, v]) => {
    if (err !== null) throw err;
    return v;
  });
}

/** Cluster-wide values at one instant: a scratch engine holding the merge of every node's parts. */
export interface ClusterView {
  /** Scratch engine (same config), its clock fixed at `t`: read it like a local one. */
  readonly stats: Stats;
  readonly t: number;
  /** Nodes whose data may still be live. */
  readonly nodes: readonly string[];
  readonly series: number;
}

/**
 * What `statistics` items (resolveItems' rules, docs/mi.md) need from one profile: all of its series
 * (`all`, `grp:`), some names (bare names, `grp:name`), or nothing.
 */
export function selection(items: readonly string[], group: string): { all: boolean; names: Set<string> } {
  const names = new Set<string>();
  const g = group.toLowerCase();
  for (const item of items) {
    if (item === 'all') return { all: true, names };
    const colon = item.indexOf(':');
    if (colon < 0) {
      names.add(item);
      continue;
    }
    if (item.slice(0, colon).toLowerCase() !== g) continue;
    const n = item.slice(colon + 1);
    if (n === '') return { all: true, names };
    names.add(n);
  }
  return { all: false, names };
}

interface Fetch {
  p: ProfileRuntime;
  slot: number;
  /** HMGET fields (with their series names), or undefined for HGETALL. */
  fields?: string[];
  names?: string[];
}

/**
 * Reads cluster values: for each profile the items select, fetches the hashes of the slots in the
 * window (HGETALL for whole groups, HMGET of NODE|NAME fields for single names), all in one
 * pipeline, and merges every node's parts slot by slot into a scratch engine built with the same
 * config. Values are then read by the same algorithm as local ones, so a cluster value equals one
 * engine fed the traffic of all nodes (as of each node's last flush).
 */
export class ClusterReader {
  constructor(
    private readonly engine: StatsEngine,
    private readonly redis: RedisPipelineClient,
    private readonly keys: ClusterKeys,
  ) {}

  async view(items: readonly string[], t = this.engine.clock()): Promise<ClusterView> {
    let tc = t;
    const stats = createStats({ config: this.engine.config, clock: () => tc });
    const scratch = stats.engine;
    const [nodesReply] = await execAll(this.redis, [['zrangebyscore', this.keys.nodes(), t, '+inf']]);
    const nodes = nodesReply as string[];

    const fetches: Fetch[] = [];
    const cmds: RedisCommand[] = [];
    for (const p of scratch.profileList()) {
      const sel = selection(items, p.def.group);
      if (!sel.all && sel.names.size === 0) continue;
      const names = sel.all ? [] : [...sel.names];
      const fields: string[] = [];
      const fieldNames: string[] = [];
      for (const name of names) {
        for (const n of nodes) {
          fields.push(seriesField(n, name));
          fieldNames.push(name);
        }
      }
      if (!sel.all && fields.length === 0) continue;
      const [first, last] = p.liveSlots(t);
      for (let k = first; k <= last; k++) {
        const key = this.keys.slot(p.def, k);
        if (sel.all) {
          fetches.push({ p, slot: k });
          cmds.push(['hgetall', key]);
        } else {
          fetches.push({ p, slot: k, fields, names: fieldNames });
          cmds.push(['hmget', key, ...fields]);
        }
      }
    }
    for (const n of nodes) cmds.push(['hgetall', this.keys.counters(n)]);
    const replies = await execAll(this.redis, cmds);

    // series: name → its slots (every node's parts), per profile, in slot order (fetches are)
    const bySeries = new Map<ProfileRuntime, Map<string, SlotRow[]>>();
    fetches.forEach((f, i) => {
      let m = bySeries.get(f.p);
      if (m === undefined) bySeries.set(f.p, (m = new Map()));
      const add = (name: string, text: string | null) => {
        let list = m.get(name);
        if (list === undefined) m.set(name, (list = []));
        if (text === null) return;
        const parts = new Float64Array(f.p.w);
        if (decodeParts(text, f.p.w, parts)) list.push({ slot: f.slot, parts, offset: 0 });
      };
      if (f.fields === undefined) {
        const hash = replies[i] as Record<string, string>;
        for (const field in hash) {
          const sf = splitField(field);
          if (sf !== undefined) add(sf.name, hash[field]);
        }
      } else {
        const vals = replies[i] as (string | null)[];
        vals.forEach((v, j) => v !== null && add(f.names![j], v));
      }
    });
    let created = 0;
    for (const [p, m] of bySeries) {
      for (const [name, list] of m) {
        // created at its oldest slot, then merged in slot order: each merge is O(1)
        tc = list.length > 0 ? p.timeInSlot(list[0].slot) : t;
        let s;
        try {
          s = scratch.createSeriesFor(p, name);
        } catch {
          continue; // a name this node's config cannot hold (taken by another statistic here)
        }
        p.importSlots(s, list, null);
        created++;
      }
    }
    tc = t;

    // counters: the sum over nodes whose counters have not expired
    nodes.forEach((_n, j) => {
      const hash = replies[fetches.length + j] as Record<string, string>;
      for (const field in hash) {
        const v = Number(hash[field]);
        const colon = field.indexOf(':');
        if (colon <= 0 || Number.isNaN(v)) continue;
        const c = this.counterIn(scratch, field.slice(0, colon), field.slice(colon + 1));
        if (c !== undefined) c.value += v;
      }
    });
    return { stats, t, nodes, series: created };
  }

  /** Counter `group:name` of the scratch engine, created at 0 when missing (undefined if it cannot be). */
  private counterIn(scratch: StatsEngine, group: string, name: string): Counter | undefined {
    if (group.toLowerCase() === SELF_GROUP) {
      // self-statistics: counts add up over the nodes (hep_packets of the cluster); levels
      // (setGauge: cluster_redis_up, cluster_pending_slots, calls_tracked) describe one process
      // and are left out of the cluster view: read them on each node
      const lg = this.engine.group(SELF_GROUP);
      const local = lg === undefined ? undefined : this.engine.find(lg, name);
      if (local !== undefined && local.kind === StatKind.Counter && local.noReset) return undefined;
      // (a name another node counted: the view mirrors it, one this version does not know included)
      scratch.selfStat(name as SelfStatName, 0);
    }
    // a KPI level (CCacme: calls up now) adds up over the nodes too, and keeps its labels
    const labels = scratch.labelsFor(name, true); // (a counter: read as a level's name, CCRome is CC of Rome)
    if (labels !== null && labels.kpi !== undefined && labels.window === 'now') {
      const existing = scratch.group(group) === undefined ? undefined : scratch.find(scratch.group(group)!, name);
      const lvl = scratch.level(group, name, labels);
      if (lvl !== undefined && existing === undefined) lvl.value = 0;
      return lvl;
    }
    const g = scratch.group(group);
    if (g === undefined) return undefined;
    let c = scratch.find(g, name);
    if (c === undefined) {
      try {
        scratch.updateStat(`${group}:${name}`, 1);
      } catch {
        return undefined;
      }
      c = scratch.find(g, name);
      if (c === undefined || c.kind !== StatKind.Counter) return undefined;
      c.value = 0;
    }
    return c.kind === StatKind.Counter ? c : undefined;
  }

  /** `get_statistics` over cluster values: same items, same result shape. */
  async getStatistics(items: readonly string[]): Promise<Record<string, number | null>> {
    const v = await this.view(items);
    const out: Record<string, number | null> = {};
    resolveItems(v.stats.engine, items, (s, key) => (out[key] = v.stats.engine.value(s)));
    return out;
  }

  /** Visits every cluster statistic (counters summed over live nodes, series merged) as a StatView. */
  async forEachStat(cb: (v: StatView) => void): Promise<void> {
    const v = await this.view(['all']);
    v.stats.forEachStat(cb);
  }
}
