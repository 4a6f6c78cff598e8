import type { ProfileDef } from '../core/types.ts';

/**
 * Redis key layout of cluster sync (every key starts with the prefix, default `sipstats:`):
 *
 *   PREFIX{PROFILE}:SIG:SLOT   hash, one per profile and absolute slot. Field `NODE|NAME` = that
 *                              node's complete parts of series NAME in that slot, as decimal numbers
 *                              joined by ','. Expires when the slot leaves the window, plus a margin.
 *                              The hash tag `{profile}` puts every key of a series (all the slots of
 *                              its profile) in one Redis Cluster hash slot. Slot-major keys make a
 *                              flush one HSET per (profile, dirty slot) whatever the number of
 *                              series, and a read of a whole group S HGETALLs per profile.
 *   PREFIXcounters:NODE        hash `group:name` → that node's counter value; expires unless refreshed.
 *   PREFIXnodes                sorted set: node ids, score = until when their series data can be live.
 *
 * SIG describes how the profile keeps its parts (algorithm, window, slots, update count): nodes whose
 * configs disagree write different keys instead of merging parts that do not belong together.
 */
export function profileSig(def: ProfileDef): string {
  const opts = Object.keys(def.options)
    .sort()
    .map((k) => `${k}=${def.options[k]}`)
    .join(',');
  return `${def.algorithm.toLowerCase()}-${def.window}-${def.slots}${def.minSamples > 0 ? '-n' : ''}${opts ? `-${opts}` : ''}`;
}

export class ClusterKeys {
  private readonly bases = new Map<ProfileDef, string>();
  constructor(readonly prefix: string) {}

  /** The hash holding every node's parts of absolute slot `slot` of profile `def`. */
  slot(def: ProfileDef, slot: number): string {
    let b = this.bases.get(def);
    if (b === undefined) {
      b = `${this.prefix}{${def.name.toLowerCase()}}:${profileSig(def)}:`;
      this.bases.set(def, b);
    }
    return b + slot;
  }

  counters(node: string): string {
    return `${this.prefix}counters:${node}`;
  }

  nodes(): string {
    return `${this.prefix}nodes`;
  }
}

/** Node ids: no '|' (the field separator), nothing a key or a log line would mangle. */
export { NODE_ID } from '../config/redis-config.ts';

export function seriesField(node: string, name: string): string {
  return `${node}|${name}`;
}

/** Splits a `NODE|NAME` field (names may contain '|', node ids may not). */
export function splitField(field: string): { node: string; name: string } | undefined {
  const bar = field.indexOf('|');
  return bar > 0 ? { node: field.slice(0, bar), name: field.slice(bar + 1) } : undefined;
}

/** Parts as text: shortest decimal that round-trips (String(x)), so values cross Redis exactly. */
export function encodeParts(f: ArrayLike<number>, o: number, w: number): string {
  let s = String(f[o]);
  for (let i = 1; i < w; i++) s += `,${f[o + i]}`;
  return s;
}

/** Parses `w` parts into `out`; false when the text is not exactly `w` numbers (±Infinity allowed: the identity of min/max parts). */
export function decodeParts(text: string, w: number, out: Float64Array, o = 0): boolean {
  const xs = text.split(',');
  if (xs.length !== w) return false;
  for (let i = 0; i < w; i++) {
    const x = Number(xs[i]);
    if (xs[i] === '' || Number.isNaN(x)) return false;
    out[o + i] = x;
  }
  return true;
}
