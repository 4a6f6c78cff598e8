import type { StatsEngine } from '../core/engine.ts';
import type { ProfileRuntime } from '../core/profile-runtime.ts';
import { identityOf, StatKind, statKey } from '../core/stat.ts';
import type { Counter, Series, Stat } from '../core/stat.ts';
import { encodeParts, seriesField } from './keys.ts';
import type { ClusterKeys } from './keys.ts';

export type RedisCommand = [string, ...(string | number)[]];
/** Sends commands (one pipeline); rejects when any of them failed. */
export type Exec = (cmds: RedisCommand[]) => Promise<unknown>;

export interface PushOptions {
  readonly nodeId: string;
  /** Slot hashes live this long past the moment their slot leaves the window (clock skew, slow readers). */
  readonly marginMs: number;
  /** How long a node's counters count after its last refresh. */
  readonly nodeTtlMs: number;
  /** Fields per pipeline (series are never split across pipelines); default 20 000. */
  readonly maxFieldsPerBatch?: number;
  /** Field/value pairs per HSET; default 1 000 (keeps every Redis command short). */
  readonly maxPairsPerCommand?: number;
}

export interface PushResult {
  /** Slots (and counters) pushed and acknowledged. */
  readonly pushed: number;
  /** Slots (and counters) that still differ from Redis: retried on the next flush. */
  readonly pending: number;
  readonly commands: number;
  readonly error?: string;
}

interface SeriesState {
  /** Newest slot pushed, and its parts as pushed. Older slots are final: updates land in the newest slot. */
  slot: number;
  readonly parts: Float64Array;
}

class Batch {
  readonly buckets = new Map<string, { p: ProfileRuntime; slot: number; fv: string[] }>();
  readonly acks: (() => void)[] = [];
  readonly extra: RedisCommand[] = [];
  fields = 0;
  slots = 0;
}

/**
 * Pushes what changed in a node's engine since Redis last acknowledged it.
 *
 * Dirty tracking compares the engine's live slots with the newest slot pushed per series (its parts
 * are kept) rather than wrapping update calls: updates reach the engine from the facade, the MI and
 * ingest alike, and only the newest slot of a series can still change (a slot is final once the
 * clock has left it, README: Series and profiles, the clock-aligned slots), so one comparison per series is exact whoever wrote. Slots that
 * expire before they could be pushed are no longer live: the backlog is bounded by the window.
 *
 * Pushes are idempotent: a node always writes the complete parts of a slot into its own field
 * (`NODE|NAME` of the slot's hash), so a retry, or a full re-push after Redis lost its data,
 * overwrites instead of adding. Fields of many series go into one HSET per (profile, slot) hash.
 */
export class PushTracker {
  /** By identityOf (a kept series is a new view at each listing), with the series it was last seen as. */
  private readonly series = new Map<Stat | number, SeriesState & { s: Series }>();
  /** The value pushed per counter, by identityOf (a level a scope keeps is a new view at each listing). */
  private counters = new Map<Stat | number, number>();
  private readonly fields = new Map<Stat | number, string>();
  private nodeRefreshAt = 0;
  private epoch = 0;
  private flushes = 0;
  private scratch = new Float64Array(64);
  private readonly maxFields: number;
  private readonly maxPairs: number;
  /** How long after its last push a node's slot data can still be live (longest window + margin). */
  private readonly liveMs: number;

  constructor(
    private readonly engine: StatsEngine,
    private readonly keys: ClusterKeys,
    private readonly opts: PushOptions,
  ) {
    this.maxFields = opts.maxFieldsPerBatch ?? 20_000;
    this.maxPairs = opts.maxPairsPerCommand ?? 1000;
    this.liveMs = Math.max(0, ...engine.profileList().map((p) => p.def.window * 1000)) + opts.marginMs + opts.nodeTtlMs;
  }

  /** Forgets what Redis holds: the next push sends every live slot and counter (after a reconnect). */
  reset(): void {
    this.series.clear();
    this.counters.clear();
    this.nodeRefreshAt = 0;
    this.epoch++;
  }

  /**
   * Pushes at engine time `t` (every series is first brought up to `t`: expired slots are dropped).
   * With `exec` null (Redis away) nothing is sent and only the backlog is counted.
   */
  async push(t: number, exec: Exec | null): Promise<PushResult> {
    const epoch = this.epoch;
    let live = exec !== null;
    let batch = new Batch();
    let pushed = 0;
    let pending = 0;
    let commands = 0;
    let error: string | undefined;
    const send = async () => {
      const b = batch;
      batch = new Batch();
      if (b.fields === 0 && b.extra.length === 0) return;
      const cmds = this.commands(b, t);
      commands += cmds.length;
      try {
        await exec!(cmds);
        if (epoch === this.epoch) for (const a of b.acks) a();
        pushed += b.slots;
      } catch (e) {
        live = false;
        error = (e as Error).message;
        pending += b.slots;
      }
    };

    const cfields: string[] = [];
    const cacked: [Stat | number, number][] = [];
    let counters = 0;
    for (const s of [...this.engine.all()]) {
      if (s.kind === StatKind.Counter) {
        counters++;
        const id = identityOf(s);
        if (this.counters.get(id) !== s.value) {
          cfields.push(statKey(s), String(s.value));
          cacked.push([id, s.value]);
        }
        continue;
      }
      if (!live) {
        pending += this.planSeries(s, t, null);
        continue;
      }
      this.planSeries(s, t, batch);
      if (batch.fields >= this.maxFields) await send();
    }
    if (!live) pending += cacked.length;
    else if (cacked.length > 0 || t >= this.nodeRefreshAt) {
      const key = this.keys.counters(this.opts.nodeId);
      const ttl = this.opts.nodeTtlMs;
      if (cfields.length > 0) batch.extra.push(['hset', key, ...cfields]);
      batch.extra.push(
        ['pexpire', key, ttl],
        ['zadd', this.keys.nodes(), t + this.liveMs, this.opts.nodeId],
        ['zremrangebyscore', this.keys.nodes(), '-inf', `(${t}`],
      );
      batch.slots += cacked.length;
      batch.acks.push(() => {
        for (const [c, v] of cacked) this.counters.set(c, v);
        if (this.counters.size > 2 * counters + 1024) this.counters = this.liveCounters();
        this.nodeRefreshAt = t + ttl / 3;
      });
    }
    if (live) await send();
    if (++this.flushes % 64 === 0) this.prune();
    return { pushed, pending, commands, error };
  }

  /** Adds the dirty slots of `s` to `batch` (or only counts them); returns how many there are. */
  private planSeries(s: Series, t: number, batch: Batch | null): number {
    const p = s.profile;
    const w = p.w;
    p.expireAt(s, t);
    const id = identityOf(s);
    const st = this.series.get(id);
    if (this.scratch.length < w) this.scratch = new Float64Array(w);
    const np = this.scratch;
    const from = st === undefined ? -Infinity : st.slot;
    let newest = NaN;
    let n = 0;
    let field: string | undefined;
    p.exportSlots(s, (slot, f, o) => {
      if (slot < from) return;
      if (st !== undefined && slot === from) {
        let same = true;
        for (let i = 0; i < w; i++) if (st.parts[i] !== f[o + i]) same = false;
        if (same) return;
      }
      n++;
      newest = slot;
      for (let i = 0; i < w; i++) np[i] = f[o + i];
      if (batch === null) return;
      const key = this.keys.slot(p.def, slot);
      let b = batch.buckets.get(key);
      if (b === undefined) batch.buckets.set(key, (b = { p, slot, fv: [] }));
      field ??= this.fieldOf(s, id);
      b.fv.push(field, encodeParts(f, o, w));
      batch.fields++;
    });
    if (n > 0 && batch !== null) {
      batch.slots += n;
      const parts = np.slice(0, w);
      const slot = newest;
      batch.acks.push(() => {
        const cur = this.series.get(id);
        if (cur === undefined) this.series.set(id, { slot, parts, s });
        else {
          cur.slot = slot;
          cur.parts.set(parts);
        }
      });
    }
    return n;
  }

  private fieldOf(s: Series, id: Stat | number): string {
    let f = this.fields.get(id);
    if (f === undefined) this.fields.set(id, (f = seriesField(this.opts.nodeId, s.name)));
    return f;
  }

  /** HSETs of at most maxPairs pairs per slot hash, each hash's TTL, then the extra commands. */
  private commands(b: Batch, t: number): RedisCommand[] {
    const out: RedisCommand[] = [];
    const step = 2 * this.maxPairs;
    for (const [key, { p, slot, fv }] of b.buckets) {
      for (let i = 0; i < fv.length; i += step) out.push(['hset', key, ...fv.slice(i, i + step)]);
      // the slot counts until the clock reaches slot+S; its hash lives a margin longer
      out.push(['pexpire', key, Math.max(1, Math.ceil(p.slotExpiry(slot) + this.opts.marginMs - t))]);
    }
    out.push(...b.extra);
    return out;
  }

  /** What was pushed of the counters the engine still holds (the others were removed, or their scopes expired). */
  private liveCounters(): Map<Stat | number, number> {
    const live = new Map<Stat | number, number>();
    for (const s of this.engine.all()) {
      if (s.kind !== StatKind.Counter) continue;
      const id = identityOf(s);
      const v = this.counters.get(id);
      if (v !== undefined) live.set(id, v);
    }
    return live;
  }

  /** Drops the state of series that were removed from the engine. */
  private prune(): void {
    for (const [id, { s }] of this.series) {
      const now = s.removed ? undefined : this.engine.find(s.group, s.name);
      if (now === undefined || identityOf(now) !== id) {
        this.series.delete(id);
        this.fields.delete(id);
      }
    }
  }
}
