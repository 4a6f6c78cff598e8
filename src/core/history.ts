import type { StatsEngine } from './engine.ts';
import type { ProfileRuntime } from './profile-runtime.ts';
import type { KeptCursor, Series, Stat } from './stat.ts';
import { identityOf, StatKind, statKey } from './stat.ts';
import { DEFAULTS } from '../defaults.ts';

/**
 * The history behind the dashboard's charts: at each profile's slot resolution (window/slots: 1 s
 * for the 1-minute KPI profiles, 60 s for 10 minutes, 600 s for 1 hour) the value and the sample
 * count of every KPI series go into a fixed-size ring. Pure: time comes from `sample(now)`, which
 * the server calls every second; the recorder decides which profiles are due.
 *
 * Memory is bounded: `points` entries per series (value and count as float32: 8 bytes a point,
 * ~1 KB a series at 120 points), timestamps shared per profile, at most `maxSeries` customer
 * series (the all-traffic series are always kept): 25 MB at most with the defaults. Series removed from the engine (idle sweep,
 * remove_series) are dropped at their profile's next sample.
 */

export interface HistoryOptions {
  /** Points kept per series (default 120: 2 minutes of the 1-minute window, 2 h of 10m, 20 h of 1h). */
  points?: number;
  /** Customer series recorded at most (default 25 000: 1 000 customers × 8 KPIs × 3 windows; ~1 KB each at 120 points); all-traffic series always are. */
  maxSeries?: number;
  /** A customer/carrier/destination series is recorded from the pass its window holds this many samples (default 1: at once; the server uses 5). */
  recordFrom?: number;
  /**
   * Series read per step of a pass (default Infinity: `sample` does the whole pass). With a number,
   * `sample` starts a pass and `resume` carries it on, a step a call, so that a server answering
   * requests between steps never stops for a whole pass (tens of ms at 100 000 series).
   */
  stepSeries?: number;
  /** Which series to record (default: the labelled ones, see SeriesLabels; kpi/kpi-history.ts: the KPI series). */
  select?: (s: Series) => boolean;
  /** Series always recorded, outside maxSeries (kpi/kpi-history.ts: the all-traffic KPIs; default none). */
  isGlobal?: (s: Series) => boolean;
}

/** `serverRecordFrom`: what the server asks (a value seen once costs no history); the recorder alone records at once. */
export const HISTORY_DEFAULTS = DEFAULTS.history;

/** Time-aligned points of one series: timestamps (ms), values (null: no value) and sample counts. */
export interface HistoryPoints {
  t: number[];
  v: (number | null)[];
  n: (number | null)[];
}

/** Float32 keeps 7 significant digits: print what was stored, not its binary tail (1523.457, not 1523.4570312). */
const out = (x: number): number | null => (x === x ? +x.toPrecision(7) : null);

class ProfileRing {
  /** Sample times, ms, ring-indexed like every series ring of this profile. */
  readonly t: Float64Array;
  /** Index of the newest point; number of points held. */
  pos = -1;
  len = 0;
  /** Absolute slot number of the newest sample, and of the one before (NaN: none, or every series to be asked again). */
  lastSlot = NaN;
  prevSlot = NaN;
  /** The decisions were dropped since its last pass: its next pass asks every series again (prevSlot NaN). */
  askAll = false;
  /** Total samples taken (series remember at which one they started). */
  seq = 0;
  readonly series = new Set<SeriesRing>();
  constructor(
    readonly runtime: ProfileRuntime,
    size: number,
  ) {
    this.t = new Float64Array(size);
  }
}

class SeriesRing {
  readonly v: Float32Array;
  readonly n: Float32Array;
  /** The pass that last saw this series in the engine. */
  seen = 0;
  constructor(
    readonly key: string,
    readonly stat: Series,
    readonly prof: ProfileRing,
    readonly global: boolean,
    size: number,
    /** `prof.seq` value of the first point written. */
    readonly firstSeq: number,
  ) {
    this.v = new Float32Array(size).fill(NaN);
    this.n = new Float32Array(size).fill(NaN);
  }
}

const labelled = (s: Series) => s.labels !== null;
const vn: { v: number | null; n: number | null } = { v: null, n: null };
/** A kept series' [value, count] (NaN: none), read without a heap number each. */
const VN = new Float64Array(2);

export class HistoryRecorder {
  readonly points: number;
  readonly maxSeries: number;
  readonly recordFrom: number;
  readonly stepSeries: number;
  private readonly select: (s: Series) => boolean;
  private readonly isGlobal: (s: Series) => boolean;
  private readonly profiles = new Map<ProfileRuntime, ProfileRing>();
  private readonly byKey = new Map<string, SeriesRing>();
  /** Decision per series object: its ring, or false (not recorded). Weak: removed series vanish. */
  private decided = new WeakMap<Series, SeriesRing | false>();
  /** The same for kept series, by identityOf (they are walked without views); kept to the live ones at each pass that drops one, or when it outgrows them. */
  private decidedKept = new Map<number, SeriesRing | false>();
  private customerSeries = 0;
  private pass = 0;
  /** The pass under way when it is taken in steps (stepSeries), else null. */
  private running: { now: number; due: Map<ProfileRuntime, ProfileRing>; named: Iterator<Series> | null; kept: KeptCursor[]; k: number; keptSeen: number } | null = null;

  constructor(
    readonly engine: StatsEngine,
    options: HistoryOptions = {},
  ) {
    this.points = options.points ?? HISTORY_DEFAULTS.points;
    this.maxSeries = options.maxSeries ?? HISTORY_DEFAULTS.maxSeries;
    this.recordFrom = options.recordFrom ?? HISTORY_DEFAULTS.recordFrom;
    this.stepSeries = options.stepSeries ?? Infinity;
    if (!(this.stepSeries >= 1)) throw new RangeError(`history stepSeries=${this.stepSeries} must be at least 1`);
    if (!Number.isInteger(this.points) || this.points < 2 || this.points > 100_000) throw new RangeError(`history points=${this.points} must be an integer from 2 to 100000`);
    if (!Number.isInteger(this.maxSeries) || this.maxSeries < 0) throw new RangeError(`history maxSeries=${this.maxSeries} must be a non-negative integer`);
    this.select = options.select ?? labelled;
    this.isGlobal = options.isGlobal ?? (() => false);
    for (const p of engine.profileList()) this.profiles.set(p, new ProfileRing(p, this.points));
  }

  /** Follows the engine's profiles after a reload: new ones get a ring, replaced ones a fresh one. */
  syncProfiles(): void {
    const live = new Set(this.engine.profileList());
    for (const p of this.profiles.keys()) if (!live.has(p)) this.profiles.delete(p);
    for (const p of live) if (!this.profiles.has(p)) this.profiles.set(p, new ProfileRing(p, this.points));
  }

  /** Number of series recorded now. */
  get size(): number {
    this.finish();
    return this.byKey.size;
  }

  /** Slot resolution of a profile in ms (window*1000/slots). */
  static resolution(p: ProfileRuntime): number {
    return (p.def.window * 1000) / p.def.slots;
  }

  /**
   * Takes a point for every profile whose clock has reached a new slot since its last point (at
   * most one per slot, whatever the caller's rhythm). Returns how many profiles were sampled. With
   * `stepSeries`, the pass may not be over on return (`busy`): `resume` carries it on; a new
   * sample, or a read, finishes the pass under way first.
   */
  sample(now: number): number {
    this.finish();
    const due = new Map<ProfileRuntime, ProfileRing>();
    for (const [p, r] of this.profiles) {
      const k = p.slotAt(now);
      if (k <= r.lastSlot) continue; // same slot, or the clock went back: times stay increasing
      r.prevSlot = r.askAll ? NaN : r.lastSlot;
      r.askAll = false;
      r.lastSlot = k;
      r.pos = r.pos + 1 === this.points ? 0 : r.pos + 1;
      if (r.len < this.points) r.len++;
      r.seq++;
      r.t[r.pos] = now;
      due.set(p, r);
    }
    if (due.size === 0) return 0;
    ++this.pass;
    // (only the series of the profiles due: the 1-minute ones every second, the others far less often)
    const { named, kept } = this.engine.seriesIn(new Set(due.keys()));
    this.running = { now, due, named: named[Symbol.iterator](), kept, k: 0, keptSeen: 0 };
    this.resume();
    return due.size;
  }

  /** A pass is under way (taken in steps): `resume` carries it on. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Carries the pass under way on by one step (stepSeries series); true while more remain. */
  resume(): boolean {
    return this.step(this.stepSeries);
  }

  /** Finishes the pass under way, if any. */
  private finish(): void {
    if (this.running !== null) this.step(Infinity);
  }

  private step(budget: number): boolean {
    const run = this.running;
    if (run === null) return false;
    const { now, due } = run;
    for (let n = 0; n < budget; n++) {
      if (run.named !== null) {
        const next = run.named.next();
        if (next.done !== true) {
          if (this.visit(next.value, due, now)) run.keptSeen++;
          continue;
        }
        run.named = null;
      }
      const cur = run.kept[run.k];
      if (cur === undefined) {
        this.running = null;
        this.close(due, run.keptSeen);
        return false;
      }
      if (!cur.next()) run.k++;
      else if (this.visitKept(cur, due)) run.keptSeen++;
    }
    return true;
  }

  /** A series of the pass with an object (a named one, or a view): its decision (made at its first pass), and its point; true for a kept one. */
  private visit(s: Series, due: Map<ProfileRuntime, ProfileRing>, now: number): boolean {
    const r = due.get(s.profile);
    if (r === undefined || s.removed) return false; // (removed since the pass began: a step ago)
    const id = s.kept ? (identityOf(s) as number) : -1;
    let ring = id >= 0 ? this.decidedKept.get(id) : this.decided.get(s);
    if (ring === undefined) {
      // a customer, carrier or destination series gets its ring once its window holds recordFrom
      // samples: a value seen once (a typo, a scan, a burst of new values) costs no history
      if (this.recordFrom > 1 && this.select(s) && !this.isGlobal(s)) {
        s.profile.readWithCount(s, now, vn);
        if (vn.n !== null && vn.n < this.recordFrom) return id >= 0;
      }
      ring = this.track(s, r);
      if (id >= 0) this.decidedKept.set(id, ring);
      else this.decided.set(s, ring);
    }
    if (ring !== false) this.point(ring, r, s.profile, s.local, now);
    return id >= 0;
  }

  /**
   * A kept series of the pass, where the cursor is: the same, by its identity, with no object made
   * but the view of a series that gets a ring (the predicates read the cursor's moving view).
   */
  private visitKept(cur: KeptCursor, due: Map<ProfileRuntime, ProfileRing>): boolean {
    // (the pass's time is read where it is used, not passed: a number that is not a small integer
    // is a new heap object at each call it is handed to, and this runs for every series)
    const r = due.get(cur.profile);
    if (r === undefined) return false;
    const id = cur.owner.keyAt(cur.slot);
    let ring = this.decidedKept.get(id);
    if (ring === undefined) {
      if (this.recordFrom > 1) {
        // below recordFrom at this profile's pass before, and not updated since the slot before it:
        // still below (prevSlot is NaN at the pass after the decisions were dropped: every series asked again)
        if (cur.profile.lastUpdateSlot(cur.local) < r.prevSlot) return true;
        if (this.select(cur.view) && !this.isGlobal(cur.view) && cur.profile.countLocal(cur.local, this.running!.now) < this.recordFrom) return true;
      }
      ring = this.track(cur.profile.seriesAt(cur.local)!, r);
      this.decidedKept.set(id, ring);
    }
    if (ring !== false) this.point(ring, r, cur.profile, cur.local, this.running!.now);
    return true;
  }

  /** The point of this pass of a recorded series (at local index `local` of profile `p`). */
  private point(ring: SeriesRing, r: ProfileRing, p: ProfileRuntime, local: number, now: number): void {
    ring.seen = this.pass;
    p.readLocalInto(local, now, VN);
    ring.v[r.pos] = VN[0];
    ring.n[r.pos] = VN[1];
  }

  /** The end of a pass: series gone from the engine since their profile's last pass are dropped. */
  private close(due: Map<ProfileRuntime, ProfileRing>, kept: number): void {
    const pass = this.pass;
    let dropped = false;
    for (const r of due.values()) {
      for (const ring of r.series) {
        if (ring.seen === pass) continue;
        r.series.delete(ring);
        if (this.byKey.get(ring.key) === ring) this.byKey.delete(ring.key);
        if (!ring.global) this.customerSeries--;
        dropped = true;
      }
    }
    // series refused at the cap may now fit: decide again
    if (dropped || this.decidedKept.size > 2 * (kept + this.byKey.size) + 1024) {
      this.decided = new WeakMap();
      this.decidedKept = new Map();
      for (const r of this.profiles.values()) r.askAll = true;
      for (const ring of this.byKey.values()) {
        if (ring.stat.kept) this.decidedKept.set(identityOf(ring.stat) as number, ring);
        else this.decided.set(ring.stat, ring);
      }
    }
  }

  private track(s: Series, r: ProfileRing): SeriesRing | false {
    if (!this.select(s)) return false;
    const global = this.isGlobal(s);
    if (!global) {
      if (this.customerSeries >= this.maxSeries) return false;
      this.customerSeries++;
    }
    const key = statKey(s);
    const ring = new SeriesRing(key, s, r, global, this.points, r.seq);
    this.byKey.set(key, ring);
    r.series.add(ring);
    return ring;
  }

  /** Sample times of a profile's ring, oldest first (at most `points`). */
  times(profile: ProfileRuntime, points = this.points): number[] {
    this.finish();
    const r = this.profiles.get(profile);
    if (r === undefined) return [];
    const m = Math.min(points, r.len);
    const t: number[] = new Array(m);
    for (let i = 0; i < m; i++) t[i] = r.t[(r.pos - m + 1 + i + this.points) % this.points];
    return t;
  }

  /**
   * The recorded points of statistic `key` (`group:name`), oldest first: the last `points` of its
   * profile's ring, from the time it was first recorded (`aligned`: from the start of the profile's
   * ring, null before). undefined when the statistic is not recorded.
   */
  get(key: string, points = this.points, aligned = false): HistoryPoints | undefined {
    this.finish();
    const ring = this.byKey.get(key);
    if (ring === undefined) return undefined;
    return this.read(ring, points, aligned);
  }

  /** Like `get`, for a statistic object (found through the engine). */
  getStat(s: Stat, points = this.points, aligned = false): HistoryPoints | undefined {
    if (s.kind !== StatKind.Series) return undefined;
    this.finish();
    const ring = this.byKey.get(statKey(s));
    return ring === undefined || identityOf(ring.stat) !== identityOf(s) ? undefined : this.read(ring, points, aligned);
  }

  private read(ring: SeriesRing, points: number, aligned: boolean): HistoryPoints {
    const r = ring.prof;
    let m = Math.min(points, r.len);
    if (!aligned) m = Math.min(m, r.seq - ring.firstSeq + 1);
    const res: HistoryPoints = { t: new Array(m), v: new Array(m), n: new Array(m) };
    for (let i = 0; i < m; i++) {
      const j = (r.pos - m + 1 + i + this.points) % this.points;
      res.t[i] = r.t[j];
      res.v[i] = out(ring.v[j]);
      res.n[i] = out(ring.n[j]);
    }
    return res;
  }
}
