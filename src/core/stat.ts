import type { ProfileRuntime } from './profile-runtime.ts';
import type { SeriesLabels } from './types.ts';

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

/** A plain counter (update_stat / reset_stat). */
export class Counter {
  readonly kind = StatKind.Counter;
  /** Always undefined: lets the series hot path test `s.profile === p` without a kind check. */
  readonly profile = undefined;
  value = 0;
  /** Next statistic with the same bare name in another group (bare-name lookups walk this chain). */
  next: Stat | undefined = undefined;
  /**
   * A level a feeder keeps (StatsEngine.level: the KPI levels such as concurrent calls, CC): its
   * structured identity, as a series has. Levels are state derived from what the feeder tracks:
   * snapshots do not keep them (the feeder sets them again).
   */
  labels: SeriesLabels | null = null;
  constructor(
    readonly name: string,
    readonly group: Group,
    readonly noReset: boolean,
  ) {}
}

/**
 * A sliding-window series: its name and where its slots live. The slots themselves are in its
 * profile's memory at index `local` (the current slot in a compact row, the window's total and
 * bookkeeping in a header row, completed slots in a pooled ring): see ProfileRuntime.
 *
 * Two kinds: a NamedSeries keeps its name and labels (the MI, scripts, restores); a KeptSeries,
 * made for a feeder that keeps it (the KPI scopes), keeps neither: its owner spells them when asked
 * (memory per dimension value: a name, a labels object and a name-index entry less per series).
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
  constructor(
    readonly profile: ProfileRuntime,
    /** Index of this series in its profile (its rows, or its sparse entry; engine code). Changes when a sparse series turns dense. */
    public local: number,
  ) {}

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
    local: number,
  ) {
    super(profile, local);
  }
}

/**
 * Who holds the identity of the series it keeps (a KPI scope): it spells a series' name and labels
 * from the series' place in it (`slot`), so the series keeps neither.
 */
export interface SeriesOwner {
  nameAt(slot: number): string;
  labelsAt(slot: number): SeriesLabels;
  /** The series at `slot` got a new local index (it turned dense), or was removed (`local` < 0). */
  moved(slot: number, local: number): void;
}

/**
 * Where the engine finds the series it does not index by name (KeptSeries): their owners' index.
 * A name resolves to at most one live series, the same one updates by name then reach.
 */
export interface SeriesDirectory {
  /** The live (not removed) KeptSeries of this directory named `name`, if any. */
  find(name: string): Series | undefined;
  /** Every live KeptSeries whose owner is in this directory. */
  series(): Iterable<Series>;
}

/** A series its feeder keeps (see SeriesOwner): its name and labels are its owner's to spell. */
export class KeptSeries extends Series {
  constructor(
    profile: ProfileRuntime,
    local: number,
    readonly owner: SeriesOwner,
    readonly slot: number,
  ) {
    super(profile, local);
  }
  get name(): string {
    return this.owner.nameAt(this.slot);
  }
  get labels(): SeriesLabels {
    return this.owner.labelsAt(this.slot);
  }
}
Object.defineProperty(KeptSeries.prototype, 'kept', { value: true });

export type Stat = Counter | Series;

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
  if (s.kind === StatKind.Series && s.kept) return `${s.group.name}:${s.name}`;
  let k = KEYS.get(s);
  if (k === undefined) KEYS.set(s, (k = `${s.group.name}:${s.name}`));
  return k;
}
