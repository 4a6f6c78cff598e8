import type { Series, SeriesDirectory, SeriesOwner } from '../core/stat.ts';
import { DIMENSIONS, identify, identityOf, KPIS, profileOf, seriesName, WINDOWS } from './catalogue.ts';
import type { DimensionName, KpiIdentity, Scope, WindowDef } from './catalogue.ts';

/** Where KPI updates go: the engine, through the series the scopes keep, with bad updates counted (not thrown). */
export interface KpiSink {
  /**
   * Adds a value to the series of `profile` that `owner` names at `slot`, creating it (a series
   * the owner keeps: see SeriesOwner) at its first update, and returns the series to keep;
   * undefined when the update failed (counted).
   */
  updateAt(profile: string, owner: SeriesOwner, slot: number, value: number): Series | undefined;
  /** Makes the engine find the series of these scopes by name (lookups, listings, the sweep). */
  directory(d: SeriesDirectory): void;
  /** Adds a value to a series updateAt returned (while it is not `removed`). */
  update(s: Series, value: number): void;
  /** Removes a series updateAt returned, if it is still there (idle dimension values). */
  remove(s: Series): void;
  /** By name (the two INVITE series). */
  updateStatSeries(profile: string, name: string, value: number): void;
  /** Self-statistics in group `sipstats`: counts... */
  selfStat(name: string, delta: number): void;
  /** ...and levels (not reset by reset_statistics). */
  gauge(name: string, value: number): void;
}

/** Index of a catalogue KPI (handles are laid out KPI-major). */
export const K = Object.fromEntries(KPIS.map((k, i) => [k.name, i])) as Record<string, number>;

/**
 * The KPI series of one scope (all traffic, a customer, a carrier, a destination, a carrier ×
 * destination), for every KPI and window of the catalogue: resolved once, so an update is one slot
 * operation. A series is made when its KPI is first fed (a scope that only ever fails holds no AST
 * or ACD series) and kept here, not behind a handle object (memory per dimension value).
 */
export class ScopeHandles implements SeriesOwner {
  private readonly h: (Series | undefined)[];
  /** Packet time of the last use (idle expiry). */
  lastUsed: number;
  /** Removed by the idle expiry while a call still held it: the next update brings it back. */
  expired = false;
  /** A list holding only this scope (legs that feed one scope share it). */
  readonly alone: readonly ScopeHandles[] = [this];
  constructor(
    private readonly sink: KpiSink,
    readonly scope: Scope,
    private readonly windows: readonly WindowDef[],
    readonly key: string,
    t: number,
    private readonly owner: Scopes | null,
  ) {
    this.lastUsed = t;
    this.h = new Array(KPIS.length * windows.length);
  }

  /** Adds `v` to KPI number `k` in every window. */
  add(k: number, v: number, t: number): void {
    this.lastUsed = t;
    if (this.expired) {
      // a scope of the same values made since it expired takes the update: one series per name
      const live = this.owner!.revive(this);
      if (live !== this) return live.add(k, v, t);
    }
    const ws = this.windows;
    const base = k * ws.length;
    for (let w = 0; w < ws.length; w++) {
      const s = this.h[base + w];
      if (s !== undefined && !s.removed) this.sink.update(s, v);
      else this.h[base + w] = this.first(k, ws[w], v);
    }
  }

  /** The first update of a series (or the first since it was removed): the engine makes it, or finds it by name. */
  private first(k: number, w: WindowDef, v: number): Series | undefined {
    return this.sink.updateAt(profileOf(KPIS[k], w), this, k * this.windows.length + this.windows.indexOf(w), v);
  }

  /** The name of the series at `slot` (KPI-major: kpi * windows + window), spelled when asked. */
  nameAt(slot: number): string {
    const n = this.windows.length;
    return seriesName(KPIS[Math.floor(slot / n)], this.windows[slot % n], this.scope);
  }

  labelsAt(slot: number): KpiIdentity {
    const n = this.windows.length;
    return identityOf(KPIS[Math.floor(slot / n)], this.windows[slot % n], this.scope);
  }

  /** The series held at `slot`, if any (removed or not). */
  held(slot: number): Series | undefined {
    return this.h[slot];
  }

  /** The series this scope made and holds (not removed). */
  *kept(): Iterable<Series> {
    for (const s of this.h) if (s !== undefined && !s.removed && s.kept && (s as { owner?: unknown }).owner === this) yield s;
  }

  /** Removes every series of this scope from the engine. */
  removeAll(): void {
    for (let i = 0; i < this.h.length; i++) {
      const s = this.h[i];
      if (s !== undefined) this.sink.remove(s);
      this.h[i] = undefined;
    }
  }
}

export interface ScopeLimits {
  /** Distinct values kept per dimension; past it new values fold into `other`. */
  readonly maxValues: Readonly<Record<DimensionName, number>>;
  /** A scope with no update for this long (packet time, ms) is removed with its series; 0 = never. */
  readonly idleMs: number;
}

export const OTHER = 'other';

/** A scope's key in the index: its dimension values (all traffic: every one empty). */
const keyOf = (scope: Scope): string => `${scope.customer ?? ''}\x00${scope.carrier ?? ''}\x00${scope.destination ?? ''}`;

/**
 * Every scope the tracker feeds, bounded: at most `maxValues` distinct values per dimension (more
 * fold into `other`, counted in `sipstats:<dimension>s_folded`), and scopes idle past `idleMs`
 * are removed with their series (their windows have long expired), which frees their values.
 */
export class Scopes implements SeriesDirectory {
  readonly all: ScopeHandles;
  private readonly byKey = new Map<string, ScopeHandles>();
  /** Per dimension: value → scopes that use it. */
  private readonly values = new Map<DimensionName, Map<string, number>>();

  constructor(
    private readonly sink: KpiSink,
    /** Replaced on reload; values already held stay (a lower cap folds only new values). */
    public limits: ScopeLimits,
    private readonly windows: readonly WindowDef[] = WINDOWS,
  ) {
    this.all = new ScopeHandles(sink, {}, windows, keyOf({}), 0, null);
    for (const d of DIMENSIONS) this.values.set(d.name, new Map());
    this.windowIndex = new Map(windows.map((w, i) => [w.name, i]));
    sink.directory(this);
  }

  private readonly windowIndex: Map<string, number>;

  /** SeriesDirectory: the live series a scope of these holds under `name` (its identity, then its scope by key). */
  find(name: string): Series | undefined {
    const id = identify(name);
    if (id === null) return undefined;
    const w = this.windowIndex.get(id.window);
    if (w === undefined) return undefined;
    const key = keyOf(id);
    const sc = key === this.all.key ? this.all : this.byKey.get(key);
    const s = sc?.held(K[id.kpi] * this.windows.length + w);
    return s !== undefined && !s.removed ? s : undefined;
  }

  /** SeriesDirectory: every series these scopes made and hold. */
  *series(): Iterable<Series> {
    yield* this.all.kept();
    for (const sc of this.byKey.values()) yield* sc.kept();
  }

  /** Scopes held (all traffic excluded). */
  get size(): number {
    return this.byKey.size;
  }

  /** Distinct values of a dimension held now. */
  count(d: DimensionName): number {
    return this.values.get(d)!.size;
  }

  /** The scope of these dimension values (folding values past the caps into `other`). */
  get(scope: Scope, t: number): ScopeHandles {
    const key = keyOf(scope);
    let s = this.byKey.get(key);
    if (s !== undefined) {
      s.lastUsed = t;
      return s;
    }
    const folded: { -readonly [K in DimensionName]?: string } = {};
    let changed = false;
    for (const d of DIMENSIONS) {
      const v = scope[d.name];
      if (v === undefined) continue;
      const m = this.values.get(d.name)!;
      if (v !== OTHER && !m.has(v) && m.size >= this.limits.maxValues[d.name]) {
        this.sink.selfStat(`${d.name}s_folded`, 1);
        folded[d.name] = OTHER;
        changed = true;
      } else folded[d.name] = v;
    }
    if (changed) return this.get(folded, t);
    s = new ScopeHandles(this.sink, scope, this.windows, key, t, this);
    this.register(s);
    return s;
  }

  private register(s: ScopeHandles): void {
    this.byKey.set(s.key, s);
    for (const d of DIMENSIONS) {
      const v = s.scope[d.name];
      if (v === undefined) continue;
      const m = this.values.get(d.name)!;
      m.set(v, (m.get(v) ?? 0) + 1);
    }
  }

  /**
   * An expired scope updated again (a long call ended after its scope went idle): it is registered
   * again, unless a scope of the same values was made since (then that one is returned, and takes
   * the updates: the directory finds series through registered scopes only).
   */
  revive(s: ScopeHandles): ScopeHandles {
    const live = this.byKey.get(s.key);
    if (live !== undefined) return live;
    s.expired = false;
    this.register(s);
    return s;
  }

  /** Removes scopes idle since before `now - idleMs` (and their series). Returns how many. */
  expire(now: number): number {
    if (this.limits.idleMs <= 0) return 0;
    let n = 0;
    for (const [key, s] of this.byKey) {
      if (s.lastUsed + this.limits.idleMs > now) continue;
      s.removeAll();
      s.expired = true;
      this.byKey.delete(key);
      for (const d of DIMENSIONS) {
        const v = s.scope[d.name];
        if (v === undefined) continue;
        const m = this.values.get(d.name)!;
        const c = (m.get(v) ?? 1) - 1;
        if (c <= 0) m.delete(v);
        else m.set(v, c);
      }
      n++;
    }
    if (n > 0) this.sink.selfStat('scopes_expired', n);
    return n;
  }
}
