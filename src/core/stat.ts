import type { ProfileRuntime } from './profile-runtime.ts';
import type { KeptOwner, SeriesLabels } from './types.ts';

/** A group of statistics, shown as `group:name`. Looked up case-insensitively, shown as declared. */
export interface Group {
  readonly name: string;
}

/** Slot stamp of a current-slot row that holds no entry. */
export const NO_TAIL = -0x40000000;

export const enum StatKind {
  Counter = 0,
  Series = 1,
}

/**
 * A counter: a value (update_stat / reset_stat), or a level a feeder sets. Two kinds, as series
 * have: a PlainCounter is an object that holds its value, a KeptCounter a view of a level a feeder
 * keeps (a KPI scope's concurrent calls, CC), made when asked.
 */
export abstract class Counter {
  declare readonly kind: StatKind.Counter;
  /** Always undefined: lets the series hot path test `s.profile === p` without a kind check. */
  declare readonly profile: undefined;
  /** True for a KeptCounter (not in the engine's name index: its owner's directory finds it). */
  declare readonly kept: boolean;
  abstract value: number;
  abstract readonly name: string;
  abstract readonly group: Group;
  abstract readonly noReset: boolean;
  /**
   * A level's structured identity (StatsEngine.level, a feeder's levels), as a series has; null
   * for a plain counter. Levels are state derived from what the feeder tracks: snapshots do not
   * keep them (the feeder sets them again).
   */
  abstract labels: SeriesLabels | null;
  /** Next statistic with the same bare name in another group (bare-name lookups walk this chain). */
  declare next: Stat | undefined;
}
Object.assign(Counter.prototype, { kind: StatKind.Counter, profile: undefined, kept: false, next: undefined });

/** A counter that holds its value (and its name, group and labels). */
export class PlainCounter extends Counter {
  value = 0;
  labels: SeriesLabels | null = null;
  constructor(
    readonly name: string,
    readonly group: Group,
    readonly noReset: boolean,
  ) {
    super();
  }
}

/**
 * Who holds the levels it keeps (a KPI scope): their values, names and labels by place (`slot`, in
 * the numbering of its series: see SeriesOwner).
 */
export interface CounterOwner extends KeptOwner {
  keyAt(slot: number): number;
  /** The level at `slot` (0 once the owner let it go). */
  levelAt(slot: number): number;
  setLevelAt(slot: number, v: number): void;
}

/** A view of a level a feeder keeps (/no_reset): made when asked, its value read from and written to its owner. */
export class KeptCounter extends Counter {
  constructor(
    readonly owner: CounterOwner,
    readonly slot: number,
    readonly group: Group,
  ) {
    super();
  }
  get value(): number {
    return this.owner.levelAt(this.slot);
  }
  set value(v: number) {
    this.owner.setLevelAt(this.slot, v);
  }
  get name(): string {
    return this.owner.nameAt(this.slot);
  }
  get labels(): SeriesLabels {
    return this.owner.labelsAt(this.slot);
  }
  set labels(_: SeriesLabels | null) {
    // (its owner spells them)
  }
  get noReset(): boolean {
    return true;
  }
}
Object.defineProperty(KeptCounter.prototype, 'kept', { value: true });

/**
 * A sliding-window series: its name and where its slots live. The slots themselves are in its
 * profile's memory at index `local` (the current slot in a compact row, the window's total and
 * bookkeeping in a header row, completed slots in a pooled ring): see ProfileRuntime.
 *
 * Two kinds: a NamedSeries is an object that keeps its name and labels (the MI, scripts,
 * restores); a series a feeder keeps (the KPI scopes) is no object at all while nobody looks at it:
 * its owner holds its place (`slot`) and its local index, its profile who owns it, and a KeptSeries
 * is a view of it made when asked (a listing, a lookup), spelling its name and labels from its
 * owner. Memory per dimension value: a customer seen once has about forty series, and an object,
 * a name, a labels object and a name-index entry less for each is most of what it costs.
 */
export abstract class Series {
  /** Set when the series is removed (idle sweep, remove_series): feeders keeping it then look it up again. */
  declare removed: boolean;
  /** Next statistic with the same bare name in another group (a counter made after it; rare; never a KeptSeries). */
  declare next: Stat | undefined;
  /** True for a KeptSeries (not in the engine's name index: its owner's directory finds it). */
  declare readonly kept: boolean;
  abstract readonly name: string;
  /** Its structured identity (the engine's labeler, or the feeder that made it, decides it at creation). */
  abstract readonly labels: SeriesLabels | null;
  /** Index of this series in its profile (its rows, or its sparse entry; engine code). Changes when a sparse series turns dense. */
  abstract local: number;
  constructor(readonly profile: ProfileRuntime) {}

  // What every series shares is read from the prototype, not kept per series (memory per dimension value).
  get kind(): StatKind.Series {
    return StatKind.Series;
  }
  /** Its profile's group. */
  get group(): Group {
    return this.profile.group;
  }
}
// Defaults every series reads from the prototype until it sets its own (removal, a same-name counter
// after it): 16 bytes less per series than own fields.
Object.assign(Series.prototype, { removed: false, next: undefined, kept: false });

/** A series that keeps its own name and labels (made by name: update_stat_series, restores, cluster views). */
export class NamedSeries extends Series {
  labels: SeriesLabels | null = null;
  constructor(
    readonly name: string,
    profile: ProfileRuntime,
    public local: number,
  ) {
    super(profile);
  }
}

/**
 * Who holds the series it keeps (a KPI scope): their places (`slot`), their local indexes, their
 * names and labels, spelled from the place when asked. The owner's `localAt` is the truth a
 * KeptSeries view reads: a view made before a series moved (turned dense) or was removed still
 * finds it, or finds it gone.
 */
export interface SeriesOwner extends KeptOwner {
  /** The local index of the series it keeps at `slot` (in `profile`), or -1 when it keeps none there (removed, never made, the owner gone). */
  localAt(slot: number): number;
  /** A number no other series the engine holds now answers (the identity of the series at `slot`: maps keyed by series). */
  keyAt(slot: number): number;
  /** The series at `slot` got a local index (made, or turned dense), or was removed (`local` < 0). */
  moved(slot: number, local: number): void;
}

/**
 * Where the engine finds the statistics it does not index by name (KeptSeries, KeptCounter): their
 * owners' index. A name resolves to at most one live statistic, the same one updates by name then reach.
 */
export interface SeriesDirectory {
  /** The live (not removed) kept series or level of this directory named `name`, if any. */
  find(name: string): Stat | undefined;
  /** Every live kept series and level whose owner is in this directory. */
  stats(): Iterable<Stat>;
  /**
   * The live kept series of these profiles only, walked with no object made per series (what the
   * history's pass reads every second; absent: stats() filtered, a view each).
   */
  keptIn?(profiles: ReadonlySet<ProfileRuntime>): KeptCursor;
  /**
   * The profile its owners keep a series named `name` under, if it is a name they would own (a
   * restore leaves a saved series of that name in another profile out: it would take the name).
   */
  profileOf?(name: string): string | undefined;
}

/**
 * A walk over kept series with no object per series: each `next()` that answers true places the
 * cursor on the next one (its profile, owner, place and local index); a view of it, when one is
 * needed, is `profile.seriesAt(local)`. Owners may change between two steps (a pass taken in steps):
 * a place read is the owner's at that step.
 */
export interface KeptCursor {
  next(): boolean;
  readonly profile: ProfileRuntime;
  readonly owner: SeriesOwner;
  readonly slot: number;
  readonly local: number;
  /** A view of the series where the cursor is, valid until the next step (one object, moved along: never keep it; `profile.seriesAt(local)` makes one to keep). */
  readonly view: Series;
}

/**
 * A view of a series a feeder keeps (see SeriesOwner): made when asked, holding only where the
 * series is (its profile, owner and place); its local index, whether it is removed, its name and
 * labels are read from its owner. Two views of one series are two objects: what keys a map by
 * series uses `identityOf`.
 */
export class KeptSeries extends Series {
  constructor(
    profile: ProfileRuntime,
    readonly owner: SeriesOwner,
    readonly slot: number,
  ) {
    super(profile);
  }
  override get local(): number {
    return this.owner.localAt(this.slot);
  }
  override set local(_: number) {
    // (the owner holds it: the profile tells it through `moved`)
  }
  get name(): string {
    return this.owner.nameAt(this.slot);
  }
  get labels(): SeriesLabels {
    return this.owner.labelsAt(this.slot);
  }
}
Object.defineProperty(KeptSeries.prototype, 'kept', { value: true });

/** A KeptSeries view a cursor moves from series to series (KeptCursor.view): one object for a whole pass. */
export class MovingKeptSeries extends KeptSeries {
  /** Places the view on the series at `slot` of `owner`, in `profile`. */
  moveTo(profile: ProfileRuntime, owner: SeriesOwner, slot: number): void {
    const w = this as { profile: ProfileRuntime; owner: SeriesOwner; slot: number };
    w.profile = profile;
    w.owner = owner;
    w.slot = slot;
  }
}
// removed while its owner holds no series at its place; removal is the owner's (`moved(slot, -1)`): setting it does nothing
Object.defineProperty(KeptSeries.prototype, 'removed', {
  get(this: KeptSeries) {
    return this.owner.localAt(this.slot) < 0;
  },
  set() {},
});

export type Stat = Counter | Series;

/**
 * What a map keyed by statistic uses: the object itself, or for a kept series or level (a view
 * made when asked: two views of one statistic are two objects) its owner's key for it.
 */
export function identityOf(s: Stat): Stat | number {
  return s.kept ? (s as KeptSeries | KeptCounter).owner.keyAt((s as KeptSeries | KeptCounter).slot) : s;
}

/**
 * `group:name`, the name a statistic is shown by (MI replies, the dashboard, history, cluster
 * fields). A counter's or named series' key is spelled once per statistic object: a reply or a
 * snapshot is keyed by these, and a key seen before is used without being built and looked up in
 * V8's string table again (MI get_statistics of a 10 000-statistic group: filling the reply
 * ~8.3 → ~5.2 ms). Weak: a removed statistic takes its key with it. A KPI scope's series (KeptSeries)
 * is spelled at each call, as its name is: it holds no name, so that a dimension value seen once
 * stays within its memory budget (docs/benchmarks.md), whoever reads it.
 */
const KEYS = new WeakMap<Stat, string>();
export function statKey(s: Stat): string {
  if (s.kept) return `${s.group.name}:${s.name}`;
  let k = KEYS.get(s);
  if (k === undefined) KEYS.set(s, (k = `${s.group.name}:${s.name}`));
  return k;
}
