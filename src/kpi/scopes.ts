import type { Series } from '../core/stat.ts';
import { DIMENSIONS, identityOf, KPIS, profileOf, seriesName, WINDOWS } from './catalogue.ts';
import type { DimensionName, KpiIdentity, Scope, WindowDef } from './catalogue.ts';

/** Where KPI updates go: the engine, through the series the scopes keep, with bad updates counted (not thrown). */
export interface KpiSink {
  /**
   * Adds a value to series `name` of `profile`, creating it (with these labels) at its first
   * update, and returns the series to keep; undefined when the update failed (counted).
   */
  updateAt(profile: string, name: string, value: number, labels: KpiIdentity): Series | undefined;
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
export class ScopeHandles {
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
    if (this.expired) this.owner?.revive(this);
    const ws = this.windows;
    const base = k * ws.length;
    for (let w = 0; w < ws.length; w++) {
      const s = this.h[base + w];
      if (s !== undefined && !s.removed) this.sink.update(s, v);
      else this.h[base + w] = this.first(k, ws[w], v);
    }
  }

  /** The first update of a series (or the first since it was removed): by name, with its labels. */
  private first(k: number, w: WindowDef, v: number): Series | undefined {
    const kpi = KPIS[k];
    return this.sink.updateAt(profileOf(kpi, w), seriesName(kpi, w, this.scope), v, identityOf(kpi, w, this.scope));
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

/**
 * Every scope the tracker feeds, bounded: at most `maxValues` distinct values per dimension (more
 * fold into `other`, counted in `sipstats:<dimension>s_folded`), and scopes idle past `idleMs`
 * are removed with their series (their windows have long expired), which frees their values.
 */
export class Scopes {
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
    this.all = new ScopeHandles(sink, {}, windows, '', 0, null);
    for (const d of DIMENSIONS) this.values.set(d.name, new Map());
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
    const key = `${scope.customer ?? ''}\x00${scope.carrier ?? ''}\x00${scope.destination ?? ''}`;
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

  /** An expired scope updated again (a long call ended after its scope went idle). */
  revive(s: ScopeHandles): void {
    s.expired = false;
    if (!this.byKey.has(s.key)) this.register(s);
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
