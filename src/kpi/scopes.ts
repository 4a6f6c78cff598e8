import type { ProfileRuntime } from '../core/profile-runtime.ts';
import { KeptCounter, MovingKeptSeries } from '../core/stat.ts';
import type { Counter, CounterOwner, Group, KeptCursor, KeptSeries, Series, SeriesDirectory, SeriesOwner, Stat } from '../core/stat.ts';
import { DIMENSIONS, DURATION_BUCKETS, identify, identityOf, KPIS, LEVEL_KPIS, NOW, OUTCOME_KPIS, percentilesOf, profileOf, replySeriesName, seriesName, WINDOWS } from './catalogue.ts';
import type { DimensionName, KpiDef, KpiIdentity, Scope, WindowDef } from './catalogue.ts';
import { limitOf } from './limits.ts';
import type { Limits } from './limits.ts';
import { SipstatsError } from '../errors.ts';
import type { CaptureStatName, SelfLevelName, SelfStatName } from '../self-stats.ts';

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
  /** The engine's clock (what an update through a profile's `addLocal` is timed with). */
  now(): number;
  /** Removes a series updateAt returned, if it is still there (idle dimension values). */
  remove(s: Series): void;
  /** By name (the two INVITE series). */
  updateStatSeries(profile: string, name: string, value: number): void;
  /** Self-statistics in group `sipstats`: counts... */
  selfStat(name: SelfStatName | CaptureStatName, delta: number): void;
  /** ...and levels (not reset by reset_statistics). */
  gauge(name: SelfLevelName, value: number): void;
  /**
   * A counter of another group, made when missing (the dialog module's statistics:
   * `dialog:processed_dialogs`, and the /no_reset levels `dialog:active_dialogs`), for its feeder to
   * write in place; undefined when a series holds the name.
   */
  counter(group: string, name: string, noReset: boolean): Counter | undefined;
  /** The group of this name, declared when missing (the scopes' levels are views in it: KeptCounter). */
  group(name: string): Group;
  /** Whether a statistic holds `group:name` (a level's name spelled as another statistic's: CC of Rome is CCR of ome). */
  taken(name: string): boolean;
  /** Removes the series of this name, if there is one (a final-replies series of a scope that expired). */
  removeNamed(name: string): void;
}

/** Index of a catalogue KPI (handles are laid out KPI-major). */
export const KPI_INDEX = Object.fromEntries(KPIS.map((k, i) => [k.name, i])) as Record<string, number>;

/** The index of each outcome KPI (catalogue OUTCOME_KPIS order: an Outcome's weights). */
export const OUTCOME_INDEX: readonly number[] = OUTCOME_KPIS.map((k) => KPI_INDEX[k.name]);

/** Index of a catalogue KPI level (LEVEL_KPIS order: a scope's levels). */
export const LEVEL_INDEX = Object.fromEntries(LEVEL_KPIS.map((k, i) => [k.name, i])) as Record<string, number>;
const LV_CC = LEVEL_INDEX.CC;
const LV_EARLY = LEVEL_INDEX.CC_early;
const COUNT_BITS = (1 << LV_CC) | (1 << LV_EARLY);

/** For each KPI index, the indexes of the percentiles that rank its values (catalogue `of`). */
export const PERCENTILES_OF: readonly (readonly number[])[] = KPIS.map((k) => percentilesOf(k).map((p) => KPI_INDEX[p.name]));

/** Numbers per scope in the duration histograms: a count per DURATION_BUCKETS bound, +Inf, the sum and the count. */
const DURATION_WIDTH = DURATION_BUCKETS.length + 3;

/** Scopes made so far (their ids). */
let scopeIds = 0;

/** Location-table entries that are not a local index: no series yet (or removed); a series this scope does not own (see ScopeHandles). */
const EMPTY = -1;
const FOREIGN = -2;

/**
 * The KPI series of one scope (all traffic, a customer, a carrier, a destination, a carrier ×
 * destination), for every KPI and window of the catalogue: resolved once, so an update is one slot
 * operation. A series is made when its KPI is first fed (a scope that only ever fails holds no AST
 * or ACD series).
 *
 * The series a scope owns (KeptSeries) are found through a row of its Scopes' location table (their
 * local indexes in their profiles, KPI-major like the slots), which the engine keeps current
 * (`moved`: a series turned dense, or was removed): an update reads one small row and the series'
 * slot row, never the Series object (a cache miss per update, measured: ~8 % of the pipeline).
 * The Series objects themselves live in their profiles' tables (`seriesAt`). A series the scope
 * uses but does not own (one that had its name before: a restore, another feeder; the profile's
 * overflow series) is FOREIGN, kept in `foreign` and updated through the engine.
 */
export class ScopeHandles implements SeriesOwner, CounterOwner {
  /** Row of this scope in its Scopes' location table (-1 once the idle expiry released it). */
  row: number;
  /** Packet time of the last use (idle expiry). */
  lastUsed: number;
  /** Removed by the idle expiry while a call still held it: the next update brings it back. */
  expired = false;
  /** Series used but not owned, by slot (rare: made on first need). */
  private foreign: (Series | undefined)[] | undefined = undefined;
  /** This scope's number (SeriesOwner.keyAt), never reused. */
  readonly id = ++scopeIds;
  /** A list holding only this scope (legs that feed one scope share it), made when first asked (most scopes never are: a customer's legs feed all traffic too). */
  private aloneList: readonly ScopeHandles[] | undefined = undefined;
  /**
   * Its legs answered and not ended (CC), and set up with no final reply yet (CC_early): the call
   * tracker keeps them, and they are the levels CC and CC_early themselves (read through, never
   * copied), listed from the scope's first leg (listCounts).
   */
  up = 0;
  early = 0;
  /** It keeps a call-duration histogram: all traffic and one-dimension scopes (a product of two would multiply them). */
  readonly timed: boolean;
  /** CPS_max: the second (packet time, s) of its last start, and the starts in that second. */
  sec = -1;
  inSec = 0;
  /** The maxima fed in the current finest slot (engine time, ending at maxSlotEnd): CC_max, CPS_max. */
  maxSlotEnd = -Infinity;
  ccMaxFed = 0;
  cpsMaxFed = 0;
  /** Its limits (the `limits` section; 0: none): channels, calls started per second. */
  channels = 0;
  cpsLimit = 0;
  /** Time over the channel limit: ms accumulated, and since when it is over now (-1: not over); seconds over the CPS limit. */
  overMs = 0;
  overSince = -1;
  overCps = 0;
  /**
   * CC_avg: the call time (ms × calls up, engine time) since the scope's last CC_avg sample, up to
   * `upAt`, when `up` last changed (see CallTracker's upChanges): every call-second counts, however
   * short the call, and a scope with no call up has nothing to sample.
   */
  upMs = 0;
  upAt = 0;
  /** Its KPI levels' values (LEVEL_KPIS order), from the first one set; which ones are set (bit i: level i), and refused (their names are taken). */
  private levels: number[] | undefined = undefined;
  private levelsSet = 0;
  private levelsRefused = 0;
  /** Its final-replies series names by reply key, one per window (catalogue REPLIES), spelled at the key's first failure. */
  private replies: Map<string, string[]> | undefined = undefined;
  constructor(
    readonly owner: Scopes,
    readonly scope: Scope,
    t: number,
  ) {
    this.lastUsed = t;
    this.row = owner.allocRow();
    this.timed = Object.keys(scope).length <= 1;
  }

  get alone(): readonly ScopeHandles[] {
    return (this.aloneList ??= [this]);
  }

  /** CC and CC_early are listed (or refused: their names are taken). */
  get countsListed(): boolean {
    return ((this.levelsSet | this.levelsRefused) & COUNT_BITS) === COUNT_BITS;
  }

  /** Lists its CC and CC_early from now on (they read `up` and `early`): at its first leg. */
  listCounts(): void {
    this.setLevel(LV_CC, 0);
    this.setLevel(LV_EARLY, 0);
  }

  /**
   * Adds `v` to KPI number `k` in every window, at packet time `t` (idle expiry) and engine time
   * `now` (the series' slots; a feeder updating several scopes at once reads the clock once).
   */
  add(k: number, v: number, t: number, now: number = this.owner.sink.now()): void {
    this.lastUsed = t;
    if (this.expired) {
      // a scope of the same values made since it expired takes the update: one series per name
      const live = this.owner.revive(this);
      if (live !== this) return live.add(k, v, t, now);
    }
    const sc = this.owner;
    const nw = sc.windows.length;
    const slot0 = k * nw;
    const r = this.row * sc.width + slot0;
    const finite = v - v === 0; // (others go the engine's way: refused and counted)
    for (let w = 0; w < nw; w++) {
      const local = sc.loc[r + w];
      if (local >= 0 && finite) sc.runtimes[slot0 + w]!.addLocal(local, now, v);
      else this.slowAdd(slot0 + w, v);
    }
  }

  /** An update of a slot without an owned series: its first update, a foreign series, or a value the engine refuses (counted). */
  private slowAdd(slot: number, v: number): void {
    const sc = this.owner;
    const at = this.at(slot);
    if (sc.loc[at] >= 0) return sc.sink.update(sc.runtimes[slot]!.seriesAt(sc.loc[at])!, v);
    if (sc.loc[at] === FOREIGN) {
      const s = this.foreign![slot]!;
      if (!s.removed) return sc.sink.update(s, v);
      this.foreign![slot] = undefined;
    }
    const [kpi, window] = this.kpiWindowAt(slot);
    const s = sc.sink.updateAt(profileOf(kpi, window), this, slot, v);
    if (s === undefined) sc.loc[at] = EMPTY;
    else if (s.kept && (s as KeptSeries).owner === this) {
      sc.loc[at] = s.local;
      // (set each time: a reload may replace a profile once none of its series is left, and then
      // no scope holds a local index of the old one)
      sc.runtimes[slot] = s.profile;
    } else {
      sc.loc[at] = FOREIGN;
      (this.foreign ??= [])[slot] = s;
    }
  }

  /**
   * Sets the scope's KPI level number `i` (LEVEL_KPIS order) to `v`. A level is a number here,
   * listed and found by name as a view (KeptCounter) from the first time it is set. CC and CC_early
   * are `up` and `early`: setting them only lists them (no array is held for a scope with no
   * limit's levels).
   */
  setLevel(i: number, v: number): void {
    const bit = 1 << i;
    if ((this.levelsSet & bit) === 0) {
      if ((this.levelsRefused & bit) !== 0) return;
      if (this.owner.sink.taken(`${NOW.group}:${seriesName(LEVEL_KPIS[i], NOW, this.scope)}`)) {
        // another statistic holds the name (CC of Rome spells CCR of ome): refused, and counted
        this.levelsRefused |= bit;
        this.owner.sink.selfStat('kpi_update_errors', 1);
        return;
      }
      this.levelsSet |= bit;
    }
    if (i === LV_CC || i === LV_EARLY) return;
    (this.levels ??= new Array<number>(LEVEL_KPIS.length).fill(0))[i] = v;
  }

  /** The view of level number `i` if it is set (what the directory lists and finds). */
  levelView(i: number): KeptCounter | undefined {
    return (this.levelsSet & (1 << i)) === 0 ? undefined : new KeptCounter(this, this.owner.levelSlots[i], this.owner.levelGroup);
  }

  /** CounterOwner: the level at `slot` (0 once let go). */
  levelAt(slot: number): number {
    const i = this.owner.levelOfSlot[slot];
    if (i < 0 || (this.levelsSet & (1 << i)) === 0) return 0;
    return i === LV_CC ? this.up : i === LV_EARLY ? this.early : this.levels![i];
  }

  /**
   * CounterOwner: a write through a view (MI, a restore): kept while the level is. CC and CC_early
   * are the tracker's counts of legs: a write leaves them as they are.
   */
  setLevelAt(slot: number, v: number): void {
    const i = this.owner.levelOfSlot[slot];
    if (i === LV_CC || i === LV_EARLY) return;
    if (i >= 0 && this.levels !== undefined && (this.levelsSet & (1 << i)) !== 0) this.levels[i] = v;
  }

  /** An answered call (attempt) of this scope ended after `seconds` from its answer (the duration histogram). */
  addDuration(seconds: number): void {
    if (!this.timed) return;
    if (this.expired) {
      const live = this.owner.revive(this);
      if (live !== this) return live.addDuration(seconds);
    }
    const b = DURATION_BUCKETS;
    const h = this.owner.durations;
    const o = this.row * DURATION_WIDTH;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    h[o + i]++; // (per bucket here; cumulative when exported)
    h[o + b.length + 1] += seconds;
    h[o + b.length + 2]++;
  }

  /** One more failed call (attempt) with reply key `key` (`503`, `4xx`, `timeout`) in every window, at packet time `t`. */
  addReply(key: string, t: number): void {
    this.lastUsed = t;
    const ws = this.owner.windows;
    let names = (this.replies ??= new Map()).get(key);
    if (names === undefined) this.replies.set(key, (names = ws.map((w) => replySeriesName(key, w, this.scope))));
    for (let i = 0; i < ws.length; i++) this.owner.sink.updateStatSeries(ws[i].profiles.count.name, names[i], 1);
  }

  /** Removes its final-replies series (the scope expired). */
  dropReplies(): void {
    if (this.replies === undefined) return;
    for (const names of this.replies.values()) for (const n of names) this.owner.sink.removeNamed(n);
    this.replies = undefined;
  }

  /** Lets its levels go (the scope expired: nothing of it is up). */
  dropLevels(): void {
    this.levels = undefined;
    this.levelsSet = 0;
    this.levelsRefused = 0;
  }

  /** The all-traffic scope (no dimension value). */
  get isAllTraffic(): boolean {
    return this === this.owner.all;
  }

  /** SeriesOwner: the engine made an owned series, moved it (it turned dense) or removed it (local < 0). */
  moved(slot: number, local: number): void {
    if (this.row >= 0) this.owner.loc[this.at(slot)] = local >= 0 ? local : EMPTY;
  }

  /** SeriesOwner: the local index of the series this scope owns at `slot`, or -1. */
  localAt(slot: number): number {
    if (this.row < 0) return -1;
    const local = this.owner.loc[this.at(slot)];
    return local >= 0 ? local : -1;
  }

  /** SeriesOwner: the series at `slot` of this scope, as a number (scopes are numbered once: a row is reused, an id never). */
  keyAt(slot: number): number {
    return this.id * this.owner.width + slot;
  }

  /** Where `slot` of this scope is in the location table. */
  private at(slot: number): number {
    return this.row * this.owner.width + slot;
  }

  /** The KPI and window of `slot` (KPI-major: kpi * windows + window). */
  private kpiWindowAt(slot: number): [KpiDef, WindowDef] {
    const ws = this.owner.windows;
    return [KPIS[Math.floor(slot / ws.length)], ws[slot % ws.length]];
  }

  /** The name of the series (or level) at `slot`, spelled when asked. */
  nameAt(slot: number): string {
    const [kpi, window] = this.kpiWindowAt(slot);
    return seriesName(kpi, kpi.kind === 'level' ? NOW : window, this.scope);
  }

  /** KeptOwner: the scopes of one Scopes label a slot alike but for their dimension values. */
  get layout(): object {
    return this.owner;
  }

  labelsAt(slot: number): KpiIdentity {
    const [kpi, window] = this.kpiWindowAt(slot);
    return identityOf(kpi, kpi.kind === 'level' ? NOW : window, this.scope);
  }

  /** The live series this scope uses at `slot`, owned or not. */
  held(slot: number): Series | undefined {
    if (this.row < 0) return undefined;
    const local = this.owner.loc[this.at(slot)];
    const s = local >= 0 ? this.owner.runtimes[slot]!.seriesAt(local) : local === FOREIGN ? this.foreign![slot] : undefined;
    return s !== undefined && !s.removed ? s : undefined;
  }

  /** Removes every series of this scope from the engine (owned ones report it through `moved`). */
  removeAll(): void {
    for (let slot = 0; slot < this.owner.width; slot++) {
      const s = this.held(slot);
      if (s !== undefined) this.owner.sink.remove(s);
    }
    if (this.row >= 0) this.owner.loc.fill(EMPTY, this.at(0), this.at(this.owner.width));
    this.foreign = undefined;
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
 * The scopes held, for get(): one trie per shape (which dimensions a scope has), a level per
 * dimension it has, in catalogue order: a customer's scope is one entry of one map, a carrier ×
 * destination scope an entry of its carrier's map. What a new call asks for is found with a probe
 * per value, of strings it already has, where a key spelt from them would be built, flattened and
 * hashed at every INVITE (measured: ~4 % of the pipeline with every dimension on). (A level for
 * every dimension, absent ones included, cost two maps per customer: ~450 B of the 5 KB a
 * customer seen once may cost.)
 */
type ScopeTrie = Map<string, ScopeTrie | ScopeHandles>;

/**
 * The dimensions, in catalogue order, as held() reads them: by name (a load by a dimension name
 * taken from a list is megamorphic: ~3 % of the pipeline); this check keeps the two in step when a
 * dimension is added.
 */
const LEVELS = ['customer', 'carrier', 'destination'] as const satisfies readonly DimensionName[];
if (LEVELS.join() !== DIMENSIONS.map((d) => d.name).join()) throw new SipstatsError('E_INTERNAL', `scopes: trie levels ${LEVELS.join()} are not the catalogue's dimensions`);

/** A scope's shape (bit i: it has dimension i) and its values, in catalogue order. */
function shapeOf(scope: Scope): [number, string[]] {
  let shape = 0;
  const values: string[] = [];
  DIMENSIONS.forEach((d, i) => {
    const v = scope[d.name];
    if (v === undefined) return;
    shape |= 1 << i;
    values.push(v);
  });
  return [shape, values];
}

/**
 * Every scope the tracker feeds, bounded: at most `maxValues` distinct values per dimension (more
 * fold into `other`, counted in `sipstats:<dimension>s_folded`), and scopes idle past `idleMs`
 * are removed with their series (their windows have long expired), which frees their values.
 */
export class Scopes implements SeriesDirectory {
  readonly all: ScopeHandles;
  /** The scopes held (all traffic excluded), in the order they were made: listings, the sweep, expiry. */
  private readonly registered = new Set<ScopeHandles>();
  /** All traffic and the registered scopes as an array, made again only after a scope came or went (the passes over every scope, every second, share it; a pass under way keeps the one it began with). */
  private listed: readonly ScopeHandles[] | null = null;
  /** The same scopes by their values: a trie per shape (see ScopeTrie); the scope of no dimension apart. */
  private readonly tries: ScopeTrie[] = Array.from({ length: 1 << DIMENSIONS.length }, () => new Map());
  private noDimension: ScopeHandles | undefined = undefined;
  /** Per dimension: value → scopes that use it. */
  private readonly values = new Map<DimensionName, Map<string, number>>();
  /** The limits a new scope takes (setLimits). */
  private limitTable: Limits = {};

  /** Slots per scope: every KPI in every window. */
  readonly width: number;
  /**
   * The location table: a row per scope (`ScopeHandles.row`), a slot per KPI and window, holding the
   * local index of the series the scope owns there, or EMPTY / FOREIGN (see ScopeHandles).
   */
  loc: Int32Array;
  /**
   * The call-duration histograms, a row per scope as `loc` (zero until its first ended call):
   * counts per DURATION_BUCKETS bound, +Inf, then the sum (s) and the count (one array, not an
   * array per scope: memory per dimension value).
   */
  durations: Float64Array;
  /** The profile runtime of each slot (the same for every scope), known from its first series. */
  readonly runtimes: (ProfileRuntime | undefined)[];
  /** The place of each level (LEVEL_KPIS order: its KPI's first slot, which no series takes), the level at each place (-1: none), and their group. */
  readonly levelSlots: readonly number[];
  readonly levelOfSlot: Int8Array;
  readonly levelGroup: Group;
  private rows = 0;
  private readonly freeRows: number[] = [];

  constructor(
    readonly sink: KpiSink,
    /** Replaced on reload; values already held stay (a lower cap folds only new values). */
    public limits: ScopeLimits,
    readonly windows: readonly WindowDef[] = WINDOWS,
  ) {
    this.width = KPIS.length * windows.length;
    this.loc = new Int32Array(this.width * 16).fill(EMPTY);
    this.durations = new Float64Array(DURATION_WIDTH * 16);
    this.runtimes = new Array<ProfileRuntime | undefined>(this.width).fill(undefined);
    this.levelSlots = LEVEL_KPIS.map((k) => KPI_INDEX[k.name] * windows.length);
    this.levelOfSlot = new Int8Array(this.width).fill(-1);
    this.levelSlots.forEach((slot, i) => (this.levelOfSlot[slot] = i));
    this.levelGroup = sink.group(NOW.group);
    this.all = new ScopeHandles(this, {}, 0);
    for (const d of DIMENSIONS) this.values.set(d.name, new Map());
    this.windowIndex = new Map(windows.map((w, i) => [w.name, i]));
    sink.directory(this);
  }

  private readonly windowIndex: Map<string, number>;

  /** A row of the location table for a new (or revived) scope, every slot EMPTY. */
  allocRow(): number {
    const row = this.freeRows.length > 0 ? this.freeRows.pop()! : this.rows++;
    if ((row + 1) * this.width > this.loc.length) {
      // grow by half: what a scope costs matters (memory per dimension value)
      const rows = Math.ceil((this.loc.length / this.width) * 1.5);
      const loc = new Int32Array(rows * this.width).fill(EMPTY);
      loc.set(this.loc);
      this.loc = loc;
      const durations = new Float64Array(rows * DURATION_WIDTH);
      durations.set(this.durations);
      this.durations = durations;
    }
    this.loc.fill(EMPTY, row * this.width, (row + 1) * this.width);
    this.durations.fill(0, row * DURATION_WIDTH, (row + 1) * DURATION_WIDTH);
    return row;
  }

  /**
   * SeriesDirectory: the live series or level a scope of these holds under `name` (its identity,
   * then its scope by its values): a series first, then a level (CCRome is CCR of ome, or CC of
   * Rome: one of them only, setLevel sees to it).
   */
  find(name: string): Stat | undefined {
    const id = identify(name);
    if (id !== null) {
      const w = this.windowIndex.get(id.window);
      const sc = w === undefined ? undefined : this.scopeOfIdentity(id);
      const s = sc?.held(KPI_INDEX[id.kpi] * this.windows.length + w!);
      if (s !== undefined) return s;
    }
    const lv = identify(name, true);
    if (lv === null) return undefined;
    return this.scopeOfIdentity(lv)?.levelView(LEVEL_INDEX[lv.kpi]);
  }

  /** SeriesDirectory: the profile a KPI series of this name is kept under in its window (none for levels and other names). */
  profileOf(name: string): string | undefined {
    const id = identify(name);
    const k = id === null ? undefined : KPI_INDEX[id.kpi];
    const w = id === null ? undefined : this.windowIndex.get(id.window);
    return k === undefined || w === undefined ? undefined : profileOf(KPIS[k], this.windows[w]) || undefined;
  }

  private scopeOfIdentity(id: KpiIdentity): ScopeHandles | undefined {
    return id.customer === undefined && id.carrier === undefined && id.destination === undefined ? this.all : this.held(id);
  }

  /** SeriesDirectory: the series these scopes hold in these profiles (only their slots of each row are read), no object made per series. */
  keptIn(profiles: ReadonlySet<ProfileRuntime>): KeptCursor {
    const slots: number[] = [];
    for (let slot = 0; slot < this.width; slot++) {
      const rt = this.runtimes[slot];
      if (rt !== undefined && profiles.has(rt)) slots.push(slot);
    }
    return new ScopeCursor(this, slots.length === 0 ? [] : this.scopeList(), slots);
  }

  /** SeriesDirectory: every series and level these scopes hold (one loop over the rows of the scopes held: listings, the sweep, the history's pass every second). */
  *stats(): Iterable<Stat> {
    const levels = LEVEL_KPIS.length;
    for (const sc of this.scopeList()) {
      if (sc.row < 0) continue;
      for (let slot = 0, at = sc.row * this.width; slot < this.width; slot++, at++) if (this.loc[at] >= 0) yield this.runtimes[slot]!.seriesAt(this.loc[at])!;
      for (let i = 0; i < levels; i++) {
        const v = sc.levelView(i);
        if (v !== undefined) yield v;
      }
    }
  }

  private scopeList(): readonly ScopeHandles[] {
    return (this.listed ??= [this.all, ...this.registered]);
  }

  /** Scopes held (all traffic excluded). */
  get size(): number {
    return this.registered.size;
  }

  /** Distinct values of a dimension held now. */
  count(d: DimensionName): number {
    return this.values.get(d)!.size;
  }

  /** The scope of these dimension values (folding values past the caps into `other`). */
  get(scope: Scope, t: number): ScopeHandles {
    let s = this.held(scope);
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
    s = new ScopeHandles(this, scope, t);
    this.register(s);
    return s;
  }

  /** The scope of a carrier (and destination), if held: what the routing answers read (no scope object built). */
  scopeOf(carrier: string, destination: string | null): ScopeHandles | undefined {
    const byCarrier = this.tries[destination === null ? 2 : 6].get(carrier);
    if (byCarrier === undefined) return undefined;
    return (destination === null ? byCarrier : (byCarrier as ScopeTrie).get(destination)) as ScopeHandles | undefined;
  }

  /**
   * A KPI's value and samples in window number `w` for a scope, at engine time `t`; null when its
   * series does not exist. `out` is filled and returned (no object per read).
   */
  figureOf(sc: ScopeHandles, k: number, w: number, t: number, out: { v: number | null; n: number | null }): { v: number | null; n: number | null } | null {
    const slot = k * this.windows.length + w;
    const local = sc.localAt(slot);
    if (local >= 0) {
      // (its own series: read by local index, no view made)
      this.runtimes[slot]!.readLocalWithCount(local, t, out);
      return out;
    }
    const s = sc.held(slot);
    if (s === undefined) return null;
    s.profile.readWithCount(s, t, out);
    return out;
  }

  /** The values of a dimension held now (carriers seen, for instance). */
  valuesOf(d: DimensionName): string[] {
    return [...this.values.get(d)!.keys()];
  }

  /** The registered scope of these values, if any. */
  private held(scope: Scope): ScopeHandles | undefined {
    const c = scope.customer;
    const r = scope.carrier;
    const d = scope.destination;
    const shape = (c === undefined ? 0 : 1) | (r === undefined ? 0 : 2) | (d === undefined ? 0 : 4);
    if (shape === 0) return this.noDimension;
    let m: ScopeTrie | ScopeHandles | undefined = this.tries[shape];
    if (c !== undefined) m = (m as ScopeTrie).get(c);
    if (r !== undefined && m !== undefined) m = (m as ScopeTrie).get(r);
    if (d !== undefined && m !== undefined) m = (m as ScopeTrie).get(d);
    return m as ScopeHandles | undefined;
  }

  private register(s: ScopeHandles): void {
    applyLimit(s, this.limitTable);
    this.registered.add(s);
    this.listed = null;
    const [shape, values] = shapeOf(s.scope);
    if (shape === 0) this.noDimension = s;
    else {
      let m = this.tries[shape];
      for (let i = 0; i < values.length - 1; i++) {
        let next = m.get(values[i]) as ScopeTrie | undefined;
        if (next === undefined) m.set(values[i], (next = new Map()));
        m = next;
      }
      m.set(values[values.length - 1], s);
    }
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
    const live = this.held(s.scope);
    if (live !== undefined) return live;
    s.expired = false;
    s.row = this.allocRow();
    this.register(s);
    return s;
  }

  /** Visits every scope with a duration histogram, all traffic first. */
  forEachDurations(cb: (s: ScopeHandles, h: Float64Array) => void): void {
    for (const s of this.scopeList()) {
      const o = s.row * DURATION_WIDTH;
      if (s.row >= 0 && this.durations[o + DURATION_WIDTH - 1] > 0) cb(s, this.durations.subarray(o, o + DURATION_WIDTH));
    }
  }

  /** Visits every scope with a leg up (CC > 0) or call time not sampled yet, all traffic first. */
  forEachSampled(cb: (s: ScopeHandles) => void): void {
    if (this.all.up > 0 || this.all.upMs > 0) cb(this.all);
    for (const s of this.registered) if (s.up > 0 || s.upMs > 0) cb(s);
  }

  /** New limits (a reload): every scope held takes its own. */
  setLimits(limits: Limits): void {
    this.limitTable = limits;
    this.all.channels = 0;
    this.all.cpsLimit = 0;
    for (const s of this.registered) applyLimit(s, limits);
  }

  /** Removes scopes idle since before `now - idleMs` (and their series). Returns how many. */
  expire(now: number): number {
    if (this.limits.idleMs <= 0) return 0;
    let n = 0;
    for (const s of this.registered) {
      // (a scope with a call up or ringing stays, however long since its last KPI update)
      if (s.lastUsed + this.limits.idleMs > now || s.up > 0 || s.early > 0) continue;
      s.removeAll();
      s.dropLevels();
      s.dropReplies();
      s.expired = true;
      this.freeRows.push(s.row);
      s.row = -1;
      this.registered.delete(s);
      this.listed = null;
      this.unindex(s.scope);
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

  /** Takes a scope's values out of its shape's trie, and the levels it leaves empty. */
  private unindex(scope: Scope): void {
    const [shape, values] = shapeOf(scope);
    if (shape === 0) {
      this.noDimension = undefined;
      return;
    }
    const path: ScopeTrie[] = [this.tries[shape]];
    for (let i = 0; i < values.length - 1; i++) {
      const next = path[i].get(values[i]) as ScopeTrie | undefined;
      if (next === undefined) return;
      path.push(next);
    }
    for (let i = values.length - 1; i >= 0; i--) {
      path[i].delete(values[i]);
      if (path[i].size > 0) break;
    }
  }
}

/** Gives a scope its limits (0: none). */
function applyLimit(s: ScopeHandles, limits: Limits): void {
  const l = limitOf(limits, s.scope);
  s.channels = l?.channels ?? 0;
  s.cpsLimit = l?.cps ?? 0;
}

/** Scopes' KeptCursor: the scopes' rows in turn, in each the slots asked (a scope released meanwhile is passed). */
class ScopeCursor implements KeptCursor {
  profile!: ProfileRuntime;
  owner!: ScopeHandles;
  slot = -1;
  local = -1;
  private moving: MovingKeptSeries | undefined = undefined;
  private i = 0;
  private j = 0;
  constructor(
    private readonly sc: Scopes,
    private readonly scopes: readonly ScopeHandles[],
    private readonly slots: readonly number[],
  ) {}

  get view(): Series {
    return this.moving!;
  }

  next(): boolean {
    const { sc, scopes, slots } = this;
    for (; this.i < scopes.length; this.i++, this.j = 0) {
      const s = scopes[this.i];
      if (s.row < 0) continue;
      const base = s.row * sc.width;
      while (this.j < slots.length) {
        const slot = slots[this.j++];
        const local = sc.loc[base + slot];
        if (local < 0) continue;
        this.owner = s;
        this.slot = slot;
        this.local = local;
        this.profile = sc.runtimes[slot]!;
        if (this.moving === undefined) this.moving = new MovingKeptSeries(this.profile, s, slot);
        else this.moving.moveTo(this.profile, s, slot);
        return true;
      }
    }
    return false;
  }
}
