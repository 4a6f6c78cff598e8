import type { SeriesAlgorithm } from './algorithms/algorithm.ts';
import type { ProfileDef } from './types.ts';
import { KeptSeries, NamedSeries, NO_TAIL, Series } from './stat.ts';
import type { Group, SeriesOwner } from './stat.ts';
import { SipstatsError } from '../errors.ts';
import { BlockPool } from './block-pool.ts';
import { SlabPools } from './slab-pools.ts';


/** Header rows per header chunk: 2^10. */
const HDR_BITS = 10;
/** Rows of a new header chunk (it doubles up to 2^HDR_BITS). */
const HDR_FIRST = 8;


/** Local indexes from here up are sparse series; dense ones (rows) are below. */
export const SPARSE_BASE = 1 << 21;

/**
 * A new series is sparse: it keeps only the parts its live slots really use (a sketch of one value
 * is 4 numbers, not 258), in a small array, until they would take more numbers than this; then it
 * gets its rows (dense). A customer, carrier or destination seen once costs a few hundred bytes,
 * not tens of kilobytes, and a busy series is dense after its first few updates.
 */
export const SPARSE_DOUBLES = 32;

/** A sparse series also turns dense at its 8th update: a busy series belongs on the hot path. */
const SPARSE_UPDATES = 8;

/**
 * The runtime of one profile: clock-aligned slot arithmetic and the memory that holds the slots
 * of all its series.
 *
 * A series starts sparse (see SPARSE_DOUBLES): its live slots as entries [head, parts(n)] in
 * slot order (head = slot * EN + n: one number), in one block of the profile's sparse pool (a
 * Float64Array shared by its sparse series: no array object per series), each holding the parts the algorithm says it uses (with the
 * update count last when the profile keeps one); its newest slot seen, the slot of its newest
 * update (in `spMeta`), where its block is (in `spBlk`) and its number of updates (in `spUpd`). Reads merge the entries; foreign slots (restore, cluster) merge into them.
 * Past the budget, or at its SPARSE_UPDATES-th update, the series turns dense: rows as below, a new `local`, and the engine is told
 * (`onRelocate`) so that its name index follows.
 *
 * Slot k = floor(t*S/W) covers [k*W/S, (k+1)*W/S) (exact: W/S need not be a whole number of ms).
 * Data written in slot k counts until the clock reaches slot k+S. Each series keeps
 *  - "current": the parts of the newest slot, in a row of the profile's compact `cur` array,
 *    beside the number of the slot they belong to (the hot path reads and writes that one row:
 *    one cache line, as cache-friendly as a plain Float64Array of counters);
 *  - a queue of its completed, still live slots in slot order (at most S-1): a ring in a region of
 *    one of the profile's pools, allocated on the series' first slot change with room for 4 slots
 *    and moved to a region twice as large (at most S-1) when full, so that memory follows the
 *    slots a series really has (amortised O(1): each slot is copied at most once per doubling);
 *    the region goes back to its pool when every queued slot has expired;
 *  - "rest": the merged parts of the queue.
 * When the clock leaves the current slot it is appended to the queue and merged into rest; an
 * expired slot is subtracted from rest. Every slot is appended once and expired once, so updates
 * and reads are O(1) amortised whatever the window and slot count.
 *
 * Invariant: a series with a current entry has it at slot `last` (the newest slot it has seen).
 *
 * `cur` row per series (stride `cs`, a power of two up to 8 doubles so that a row never straddles
 * a cache line): [slot of the current entry relative to `base`, or NO_TAIL][parts: w].
 * `hdr` row per series: [rest: w][last][head][count][lu][pool or -1][region] — everything a slot
 * change reads besides the queue itself, so it needs neither the Series object nor an index into it.
 * Queue region of capacity c: Float64 [entries: c*w], stamps [slot mod 2^16 or 2^32: c].
 * Stamps modulo 2^16 (when S < 2^15) are enough: live entries are fewer than S slots behind `last`.
 */
/** One slot of a series as exchanged (importSlots): absolute slot number, and its parts from `parts[offset]`. */
export interface SlotRow {
  readonly slot: number;
  readonly parts: ArrayLike<number>;
  readonly offset: number;
}

export class ProfileRuntime {
  readonly W: number;
  readonly S: number;
  /** Largest queue: S-1 completed slots. */
  private readonly R: number;
  /** Parts per slot: the algorithm's, plus one update count when `min_samples` is set. */
  readonly w: number;
  readonly aw: number;
  readonly hasN: boolean;
  readonly minSamples: number;
  /** Doubles per `cur` row. */
  private readonly cs: number;
  /** Doubles per `hdr` row, and the header fields after rest. */
  private readonly hs: number;
  private readonly LAST: number;
  private readonly HEAD: number;
  private readonly COUNT: number;
  private readonly LU: number;
  private readonly POOL: number;
  private readonly REG: number;
  /** The queues' memory: a slab allocator per capacity, 4, 8, 16, ... and S-1 last. */
  private readonly slabs: SlabPools;
  /** Current-slot rows of every series, at local*cs (grows by half; never cached elsewhere). */
  private cur: Float64Array;
  /** Header rows of every series, in chunks of 2^HDR_BITS rows. */
  private readonly hdr: Float64Array[] = [];
  /**
   * Dense series by local index: the NamedSeries, or the owner of a kept series (whose place there
   * is in `denseSlot`): a kept series is no object (see KeptSeries).
   */
  private readonly byLocal: (NamedSeries | SeriesOwner | undefined)[] = [];
  /** The owner's place of the kept series at each dense local index. */
  private denseSlot = new Uint16Array(16);
  /** Index of this profile in its engine (part of the engine's series codes). */
  index = 0;
  private nextFree = 0;
  private readonly free: number[] = [];
  private lastT = NaN;
  private lastK = 0;
  /** lastK - base: small integers, so that the hot path compares unboxed numbers. */
  private lastKr = 0;
  private base = NaN;
  private readonly scratch: Float64Array;
  private readonly mergeScratch: Float64Array;
  /** Stamps are slot numbers modulo `mod`: 2^16 when S < 2^15 (half the memory), else 2^32. */
  private readonly mod: number;
  /** Number of live series of this profile. */
  size = 0;
  /** The hot path, by local index (the engine keeps series codes, not objects, in its name index). */
  readonly addLocal: (local: number, t: number, v: number) => void;
  /** The `<profile>_other` series that overflow folds into, once created. */
  otherSeries: Series | undefined = undefined;
  /** Sparse series by sparse index, as byLocal; the owner's place of a kept one in `spSlot`. */
  private readonly spSeries: (NamedSeries | SeriesOwner | undefined)[] = [];
  private spSlot = new Uint16Array(32);
  /**
   * Per sparse index (local - SPARSE_BASE), SPM numbers: newest slot seen, slot of the newest update,
   * relative to `base` (32 bits: a profile whose slots would pass 2^31 in ten years keeps no sparse
   * series).
   */
  private spMeta = new Int32Array(32 * SPM);
  /** Per sparse index, SPB small integers: offset and length of its entries in the block pool. */
  private spBlk = new Int32Array(32 * SPB);
  /** Per sparse index, its updates so far (it turns dense at SPARSE_UPDATES: a byte is enough). */
  private spUpd = new Uint8Array(32);
  /** Every sparse series' entries, a block each in one array (`blocks.pool`); a block is replaced, never grown in place. */
  private readonly blocks = new BlockPool(256);
  private spNext = 0;
  private readonly spFree: number[] = [];
  /** Parts of one slot, expanded from a sparse entry for forEachSlot callers. */
  private readonly slotScratch: Float64Array;
  /** readLocalWithCount's two numbers. */
  private readonly readOut = new Float64Array(2);
  /** Numbers a sparse series may hold before it turns dense (0: every series is dense at once). */
  readonly sparseDoubles: number;
  /**
   * A sparse entry's head is one number, slot * EN + the count of numbers that follow it (EN a
   * power of two above the row width): 8 bytes an entry less than a slot and a count apart, exact
   * while slot * EN < 2^53 (a profile for which the slots of the year 2200 would not be keeps no
   * sparse series: none of the catalogue's; 200 ms slots with a row of 262 146 numbers).
   */
  private readonly EN: number;
  /** Set by the engine: series `s` moved from local index `from` to `s.local` (it turned dense). */
  onRelocate: (s: NamedSeries, from: number) => void = () => {};

  constructor(
    /** Replaced on reload when only read-time settings change (precision, percentage_factor, limits). */
    public def: ProfileDef,
    readonly alg: SeriesAlgorithm,
    readonly group: Group,
    options: { sparseDoubles?: number } = {},
  ) {
    this.sparseDoubles = options.sparseDoubles ?? SPARSE_DOUBLES;
    this.W = def.window * 1000;
    this.S = def.slots;
    this.R = this.S - 1;
    this.aw = alg.width;
    this.minSamples = def.minSamples;
    this.hasN = def.minSamples > 0;
    this.w = this.aw + (this.hasN ? 1 : 0);
    const row = this.w + 1;
    this.cs = row <= 2 ? 2 : row <= 4 ? 4 : row <= 8 ? 8 : row;
    this.EN = 2 ** Math.ceil(Math.log2(row));
    // sparse series stay exact: an entry's head below 2^53 until 2200, their slots (relative, 32
    // bits) for ten years of the process
    if ((YEAR_2200_MS / (this.W / this.S)) * this.EN >= 2 ** 53 || (2 ** 31 * this.W) / this.S < TEN_YEARS_MS) this.sparseDoubles = 0;
    this.LAST = this.w;
    this.HEAD = this.w + 1;
    this.COUNT = this.w + 2;
    this.LU = this.w + 3;
    this.POOL = this.w + 4;
    this.REG = this.w + 5;
    this.hs = this.w + 6;
    this.mod = this.S < 32768 ? 65536 : 4294967296;
    this.slabs = new SlabPools(this.R, this.w, this.mod === 65536);
    this.scratch = new Float64Array(this.w);
    this.mergeScratch = new Float64Array(this.w);
    this.slotScratch = new Float64Array(this.w);
    this.cur = new Float64Array(16 * this.cs);
    // Decide once, then rebind: the hot path is a closure over this profile's constants, so the
    // algorithm's add inlines (measured: +12 % updates/s against calling this.alg.add).
    const add = alg.add;
    const cs = this.cs;
    const aw1 = this.aw + 1;
    const hasN = this.hasN;
    this.addLocal = (local, t, v) => {
      if (t !== this.lastT) this.computeSlot(t);
      const c = this.cur;
      const o = local * cs;
      // a sparse series' local is past the rows: tested first, so the load below never reads out of bounds
      if (local < SPARSE_BASE && c[o] === this.lastKr) {
        add(c, o + 1, v);
        if (hasN) c[o + aw1] += 1;
        return;
      }
      this.addSlow(local, v);
    };
  }

  // ---- slot arithmetic ----------------------------------------------------------------------

  /** Absolute slot number of Unix time `t` (ms). Cached: a coarse clock repeats `t` across a batch. */
  slotAt(t: number): number {
    if (t !== this.lastT) this.computeSlot(t);
    return this.lastK;
  }

  private computeSlot(t: number): void {
    const W = this.W;
    const q = Math.floor(t / W);
    const k = q * this.S + Math.floor(((t - q * W) * this.S) / W);
    if (this.base !== this.base) this.base = k;
    let kr = k - this.base;
    if (kr <= NO_TAIL) kr = NO_TAIL + 1;
    this.lastT = t;
    this.lastK = k;
    this.lastKr = kr;
  }

  /** Start (ms, possibly fractional) of absolute slot k. */
  slotStart(k: number): number {
    const q = Math.floor(k / this.S);
    return q * this.W + ((k - q * this.S) * this.W) / this.S;
  }

  private stamp(k: number): number {
    return this.mod === 65536 ? (k >>> 0) & 0xffff : k >>> 0;
  }

  /** How many slots `stamp` lies behind the slot whose stamp is `km` (both modulo `mod`). */
  private age(km: number, stamp: number): number {
    const d = km - stamp;
    return d >= 0 ? d : d + this.mod;
  }

  // ---- memory -------------------------------------------------------------------------------

  /** Creates a series that keeps its name: sparse (no rows) unless the profile keeps none, else its current-slot and header rows. */
  create(name: string, t: number): NamedSeries {
    return this.adopt(new NamedSeries(name, this, this.place(t)));
  }

  /**
   * Creates a series its feeder keeps (owner and place there: its identity), like create: the
   * owner is told its local index (`moved`), and a view of it is returned.
   */
  createKept(owner: SeriesOwner, slot: number, t: number): KeptSeries {
    if (!(slot >= 0 && slot <= 0xffff)) throw new RangeError(`profile ${this.def.name}: a kept series' place ${slot} is past 65535`);
    const local = this.place(t);
    if (local >= SPARSE_BASE) {
      this.spSeries[local - SPARSE_BASE] = owner;
      this.spSlot[local - SPARSE_BASE] = slot;
    } else {
      this.byLocal[local] = owner;
      this.denseSlot[local] = slot;
    }
    owner.moved(slot, local);
    return new KeptSeries(this, owner, slot);
  }

  /** Slot memory for a new series at time t: its local index (a sparse entry, or dense rows). */
  private place(t: number): number {
    this.size++;
    if (this.sparseDoubles > 0) {
      const idx = this.spFree.length > 0 ? this.spFree.pop()! : this.spNext++;
      if (SPM * idx + SPM > this.spMeta.length) {
        // grow by half (not double): what sparse series hold is most of what a value seen once costs
        const n = Math.ceil((this.spMeta.length / SPM) * 1.5);
        const m = new Int32Array(SPM * n);
        m.set(this.spMeta);
        this.spMeta = m;
        const b = new Int32Array(SPB * n);
        b.set(this.spBlk);
        this.spBlk = b;
        const sl = new Uint16Array(n);
        sl.set(this.spSlot);
        this.spSlot = sl;
        const u = new Uint8Array(n);
        u.set(this.spUpd);
        this.spUpd = u;
      }
      this.spMeta[SPM * idx] = this.slotAt(t) - this.base;
      this.spMeta[SPM * idx + 1] = this.lastK - this.base;
      this.spBlk[SPB * idx] = 0;
      this.spBlk[SPB * idx + 1] = 0;
      this.spUpd[idx] = 0;
      return SPARSE_BASE + idx;
    }
    return this.allocRow(this.slotAt(t), this.lastKr);
  }

  /** The live series at local index `local`: the NamedSeries, or a view of the kept series there. */
  seriesAt(local: number): Series | undefined {
    const sparse = local >= SPARSE_BASE;
    const e = sparse ? this.spSeries[local - SPARSE_BASE] : this.byLocal[local];
    if (e === undefined || e instanceof Series) return e;
    return new KeptSeries(this, e, sparse ? this.spSlot[local - SPARSE_BASE] : this.denseSlot[local]);
  }

  private adopt(s: NamedSeries): NamedSeries {
    if (s.local >= SPARSE_BASE) this.spSeries[s.local - SPARSE_BASE] = s;
    else this.byLocal[s.local] = s;
    return s;
  }

  /** A dense index with fresh rows: no current entry, empty rest and queue; newest slot `last`, newest update at `lu` (relative). */
  private allocRow(last: number, lu: number): number {
    const local = this.free.length > 0 ? this.free.pop()! : this.nextFree++;
    if ((local + 1) * this.cs > this.cur.length) {
      // grow by half: amortised O(1) copies, at most a third of the rows unused
      const n = Math.max(local + 1, Math.ceil((this.cur.length / this.cs) * 1.5));
      const cur = new Float64Array(n * this.cs);
      cur.set(this.cur);
      this.cur = cur;
    }
    if (local >= this.denseSlot.length) {
      const sl = new Uint16Array(Math.max(local + 1, Math.ceil(this.denseSlot.length * 1.5)));
      sl.set(this.denseSlot);
      this.denseSlot = sl;
    }
    this.headerRoom(local);
    this.cur[local * this.cs] = NO_TAIL;
    const h = this.hrow(local);
    const ho = this.hoff(local);
    this.clearEntry(h, ho);
    h[ho + this.LAST] = last;
    h[ho + this.HEAD] = 0;
    h[ho + this.COUNT] = 0;
    h[ho + this.LU] = lu;
    h[ho + this.POOL] = -1;
    h[ho + this.REG] = 0;
    return local;
  }

  /**
   * Room in the header chunks for series `local` (allocRow's: nothing holds a chunk across it). A
   * chunk starts at HDR_FIRST rows and doubles up to 2^HDR_BITS: a profile with a few dense series
   * (all traffic's) does not hold a whole chunk (2 MB for a percentile profile's 1 024 rows).
   */
  private headerRoom(local: number): void {
    const c = local >>> HDR_BITS;
    const rows = (local & ((1 << HDR_BITS) - 1)) + 1;
    if (c === this.hdr.length) {
      this.hdr.push(new Float64Array(this.hs * Math.max(HDR_FIRST, rows)));
      return;
    }
    const h = this.hdr[c];
    if (rows * this.hs <= h.length) return;
    const g = new Float64Array(this.hs * Math.min(1 << HDR_BITS, Math.max(rows, (2 * h.length) / this.hs)));
    g.set(h);
    this.hdr[c] = g;
  }

  /** Header chunk of series `local` (chunks of 2^HDR_BITS rows, the last one grown to its rows in use). */
  private hrow(local: number): Float64Array {
    return this.hdr[local >>> HDR_BITS];
  }

  /** Offset of series `local`'s header row in its chunk. */
  private hoff(local: number): number {
    return (local & ((1 << HDR_BITS) - 1)) * this.hs;
  }

  /** Bytes of slot memory this profile holds (current-slot and header rows, queue chunks in use). */
  allocatedBytes(): number {
    let n = this.cur.byteLength;
    for (const h of this.hdr) n += h.byteLength;
    n += this.slabs.allocatedBytes();
    return n + this.spMeta.byteLength + this.spBlk.byteLength + this.spUpd.byteLength + this.spSlot.byteLength + this.blocks.pool.byteLength;
  }

  /** Number of series that are sparse now. */
  get sparseSize(): number {
    return this.spNext - this.spFree.length;
  }

  /** Gives a removed series' slot memory back to the profile. */
  release(s: Series): void {
    if (s.local >= SPARSE_BASE) {
      const idx = s.local - SPARSE_BASE;
      this.setBlock(idx, 0, 0);
      this.spSeries[idx] = undefined;
      this.spFree.push(idx);
      this.size--;
      return;
    }
    const h = this.hrow(s.local);
    const ho = this.hoff(s.local);
    this.freeQueue(h, ho);
    h[ho + this.COUNT] = 0;
    this.cur[s.local * this.cs] = NO_TAIL;
    this.free.push(s.local);
    this.byLocal[s.local] = undefined;
    this.size--;
  }

  /** Gives the empty chunks kept for reuse back to the system (the engine's periodic sweep calls it). */
  trim(): void {
    this.slabs.trim();
    if (this.blocks.mostlyFree) this.compactSparse();
  }

  /** Drops the queue region of the series whose header is at `ho`, if it has one. */
  private freeQueue(h: Float64Array, ho: number): void {
    const pi = h[ho + this.POOL];
    if (pi < 0) return;
    this.slabs.free(pi, h[ho + this.REG]);
    h[ho + this.POOL] = -1;
    h[ho + this.HEAD] = 0;
  }

  /** Points the slab pools' qf/qfo/qu/quo/qcap at the queue region of the series whose header is at `ho` (which has one). */
  private view(h: Float64Array, ho: number): void {
    this.slabs.view(h[ho + this.POOL], h[ho + this.REG]);
  }

  // ---- update and read ----------------------------------------------------------------------

  /** Records one sample `v` at time `t`. Fast path: the sample lands in the current slot. */
  add(s: Series, t: number, v: number): void {
    this.addLocal(s.local, t, v);
  }

  /** An update whose series has no current entry in the clock's slot: the slot changes first. */
  private addSlow(local: number, v: number): void {
    if (local >= SPARSE_BASE) {
      this.addSparse(local - SPARSE_BASE, v);
      return;
    }
    const h = this.hrow(local);
    const ho = this.hoff(local);
    let k = this.lastK;
    const last = h[ho + this.LAST];
    if (k < last) k = last; // the clock went back: write into the newest slot seen
    const kr = k - this.base;
    const o = local * this.cs;
    if (this.cur[o] !== kr) {
      this.advance(local, k);
      this.cur[o] = kr;
      h[ho + this.LU] = kr;
      this.clearEntry(this.cur, o + 1);
    }
    this.alg.add(this.cur, o + 1, v);
    if (this.hasN) this.cur[o + 1 + this.aw] += 1;
  }

  /** The value at time `t` (expired slots dropped first); null while under `min_samples`. */
  read(s: Series, t: number): number | null {
    const x = this.window(s, t);
    if (this.hasN && x[this.aw] < this.minSamples) return null;
    const k = this.lastK;
    return this.alg.read(x, 0, this.def, Math.max(t, this.slotStart(k)) - this.slotStart(k - this.S + 1));
  }

  /**
   * The value (exactly what `read` gives) and the number of samples behind it at `t`, from one pass
   * over the window (a percentile window is the costly part: reading it once, not twice). The count
   * is the update count when the profile keeps one (`min_samples`), else what the algorithm's parts
   * tell (percentage: both weights, average: count, percentiles, stddev, count: n), else null.
   */
  readWithCount(s: Series, t: number, out: { v: number | null; n: number | null }): void {
    this.readLocalWithCount(s.local, t, out);
  }

  /** readWithCount of the series at local index `local` (a feeder that keeps local indexes reads without a Series object). */
  readLocalWithCount(local: number, t: number, out: { v: number | null; n: number | null }): void {
    const r = this.readOut;
    this.readLocalInto(local, t, r);
    out.n = r[1] !== r[1] ? null : r[1];
    out.v = r[0] !== r[0] ? null : r[0];
  }

  /**
   * The same into two numbers, NaN for null: [value, count]. (A pass over many series, the
   * history's, reads this way: a number stored where null may be is a new heap object each time.)
   */
  readLocalInto(local: number, t: number, out: Float64Array): void {
    const x = this.windowLocal(local, t);
    const n = this.countOf(x);
    out[1] = n;
    if (this.hasN && n < this.minSamples) {
      out[0] = NaN;
      return;
    }
    const k = this.lastK;
    out[0] = this.alg.read(x, 0, this.def, Math.max(t, this.slotStart(k)) - this.slotStart(k - this.S + 1)) ?? NaN;
  }

  /**
   * readLocalInto's count alone, and for a sparse series without bringing its entries up to `t`
   * (those past the window are passed over, not dropped): a pass that only asks — the history's
   * recordFrom test, every second over every KPI series of a server — moves and allocates nothing.
   */
  countLocal(local: number, t: number): number {
    if (local < SPARSE_BASE) return this.countOf(this.windowLocal(local, t));
    this.slotAt(t);
    return this.countOf(this.sparseMerge(local - SPARSE_BASE));
  }

  /** The sample count of merged window parts: the update count when kept (`min_samples`), else what the algorithm's parts tell, else NaN. */
  private countOf(x: Float64Array): number {
    const samples = this.alg.samples;
    return this.hasN ? x[this.aw] : samples !== undefined ? samples(x, 0) : NaN;
  }

  /** Number of updates in the window at `t` (needs `min_samples`; otherwise NaN). */
  samples(s: Series, t: number): number {
    return this.hasN ? this.window(s, t)[this.aw] : NaN;
  }

  /** The merged parts of the whole window at `t`, in a scratch array valid until the next call. */
  window(s: Series, t: number): Float64Array {
    return this.windowLocal(s.local, t);
  }

  private windowLocal(local: number, t: number): Float64Array {
    if (local >= SPARSE_BASE) return this.sparseWindow(local - SPARSE_BASE, this.slotAt(t));
    const h = this.hrow(local);
    const ho = this.hoff(local);
    const k = this.slotAt(t);
    if (k > h[ho + this.LAST]) this.advance(local, k);
    const x = this.scratch;
    for (let i = 0; i < this.w; i++) x[i] = h[ho + i];
    const o = local * this.cs;
    if (this.cur[o] !== NO_TAIL) this.mergeParts(x, 0, this.cur, o + 1);
    return x;
  }

  /**
   * Brings series `local` to slot `k` (k >= last): the current entry, if older, joins the queue;
   * slots the clock has left behind are dropped.
   */
  private advance(local: number, k: number): void {
    const S = this.S;
    const h = this.hrow(local);
    const ho = this.hoff(local);
    const last = h[ho + this.LAST];
    if (k <= last) return;
    h[ho + this.LAST] = k;
    const o = local * this.cs;
    if (k - last >= S) {
      // everything, the current entry included (it is at `last`), has expired
      if (h[ho + this.COUNT] > 0 || this.cur[o] !== NO_TAIL) this.empty(local);
      return;
    }
    let count = h[ho + this.COUNT];
    if (count > 0) {
      this.view(h, ho);
      const { qf: f, qfo: fo, qu: u, quo: uo, qcap: cap } = this.slabs;
      const km = this.stamp(k);
      const w = this.w;
      const sub = this.alg.subtract;
      let head = h[ho + this.HEAD];
      let popped = false;
      while (count > 0 && this.age(km, u[uo + head]) >= S) {
        if (sub !== undefined) {
          const e = fo + head * w;
          sub(h, ho, f, e);
          if (this.hasN) h[ho + this.aw] -= f[e + this.aw];
        }
        head = head + 1 === cap ? 0 : head + 1;
        count--;
        popped = true;
      }
      h[ho + this.COUNT] = count;
      // An empty queue means rest is exactly empty (no float drift survives), and its memory goes
      // back to the pool. Parts that cannot be subtracted (min, max) are recomputed from the live slots.
      if (count === 0) {
        this.clearEntry(h, ho);
        this.freeQueue(h, ho);
      } else {
        h[ho + this.HEAD] = head;
        if (popped && sub === undefined) this.recomputeRest(local);
      }
    }
    if (this.cur[o] !== NO_TAIL) {
      // the current entry (at `last`, still live since k - last < S) becomes a completed slot
      this.append(local, last, this.cur, o + 1);
      this.cur[o] = NO_TAIL;
    }
  }

  /** Appends slot `slot` (newer than every queued slot) with the given parts; merges them into rest. */
  private append(local: number, slot: number, parts: Float64Array, po: number): void {
    const h = this.hrow(local);
    const ho = this.hoff(local);
    const count = h[ho + this.COUNT];
    const pi = h[ho + this.POOL];
    if (pi < 0) this.attach(h, ho, 0);
    else if (count === this.slabs.capOf(pi)) this.grow(h, ho, pi);
    this.view(h, ho);
    let ni = h[ho + this.HEAD] + count;
    const q = this.slabs;
    if (ni >= q.qcap) ni -= q.qcap;
    q.qu[q.quo + ni] = this.stamp(slot);
    const e = q.qfo + ni * this.w;
    const f = q.qf;
    for (let i = 0; i < this.w; i++) f[e + i] = parts[po + i];
    this.mergeParts(h, ho, parts, po);
    h[ho + this.COUNT] = count + 1;
  }

  /** Moves a full queue to a region of the next pool (twice the room, at most S-1), oldest first. */
  private grow(h: Float64Array, ho: number, pi: number): void {
    if (pi + 1 >= this.slabs.count) throw new SipstatsError('E_INTERNAL', `profile '${this.def.name}': queue over S-1 slots`);
    this.moveQueue(h, ho, pi, pi + 1);
  }

  /** Gives the series whose header is at `ho` a new, empty region of pool `to`. */
  private attach(h: Float64Array, ho: number, to: number): void {
    h[ho + this.REG] = this.slabs.alloc(to);
    h[ho + this.POOL] = to;
    h[ho + this.HEAD] = 0;
  }

  /** Moves the queue of the series whose header is at `ho` from pool `pi` to pool `to`, oldest first. */
  private moveQueue(h: Float64Array, ho: number, pi: number, to: number): void {
    this.view(h, ho);
    const q = this.slabs;
    const { qf: of, qfo: ofo, qu: ou, quo: ouo, qcap: ocap } = q;
    const oldReg = h[ho + this.REG];
    const head = h[ho + this.HEAD];
    this.attach(h, ho, to);
    this.view(h, ho);
    const w = this.w;
    const count = h[ho + this.COUNT];
    for (let n = 0, i = head; n < count; n++, i = i + 1 === ocap ? 0 : i + 1) {
      q.qu[q.quo + n] = ou[ouo + i];
      for (let j = 0; j < w; j++) q.qf[q.qfo + n * w + j] = of[ofo + i * w + j];
    }
    this.slabs.free(pi, oldReg);
  }

  /**
   * Makes room for `n` completed slots (at most S-1) in the queue of `s` at once, so that a restore
   * or a cluster view that knows how many slots it brings does not grow the ring step by step.
   */
  private reserve(s: Series, n: number): void {
    const want = Math.min(n, this.R);
    if (want <= 0 || s.local >= SPARSE_BASE) return; // a sparse series turns dense by itself if it must
    const h = this.hrow(s.local);
    const ho = this.hoff(s.local);
    const pi = h[ho + this.POOL];
    if (pi >= 0 && this.slabs.capOf(pi) >= want) return;
    const to = this.slabs.firstFor(want);
    if (pi >= 0) this.moveQueue(h, ho, pi, to);
    else this.attach(h, ho, to);
  }

  private empty(local: number): void {
    const h = this.hrow(local);
    const ho = this.hoff(local);
    h[ho + this.COUNT] = 0;
    this.freeQueue(h, ho);
    this.cur[local * this.cs] = NO_TAIL;
    this.clearEntry(h, ho);
  }

  // ---- slot exchange: what snapshots and the cluster read and merge ---------------------------
  // (the only view of the slot ring outside the core: absolute slot numbers, parts of width w,
  // and when a slot stops counting; the ring's layout stays in here)

  /** Visits the live slots of `s` in slot order: absolute slot number and its parts (`f[offset, offset + w)`, valid during the call). */
  exportSlots(s: Series, cb: (slot: number, f: Float64Array, offset: number) => void): void {
    this.forEachSlot(s, cb);
  }

  /**
   * Merges slots of `s` from elsewhere (a snapshot, other nodes), in slot order (repeated slots
   * add up): at time `at`, or each at a time inside its own slot when `at` is null (merging a view
   * slot by slot). Returns how many were ignored because their slot had expired.
   */
  importSlots(s: Series, rows: readonly SlotRow[], at: number | null): number {
    let distinct = 0;
    for (let i = 0; i < rows.length; i++) if (i === 0 || rows[i].slot !== rows[i - 1].slot) distinct++;
    this.reserve(s, distinct - 1); // (the newest may become the current entry)
    let expired = 0;
    for (const r of rows) if (!this.mergeSlot(s, r.slot, r.parts, r.offset, at ?? this.timeInSlot(r.slot))) expired++;
    return expired;
  }

  /** The absolute slots a window holds at time `t`, oldest first: [first, last]. */
  liveSlots(t: number): readonly [number, number] {
    const k = this.slotAt(t);
    return [k - this.S + 1, k];
  }

  /** Unix ms from which slot `k` no longer counts in any window. */
  slotExpiry(k: number): number {
    return this.slotStart(k + this.S);
  }

  /** An integer Unix ms inside absolute slot `k` (its first). */
  timeInSlot(k: number): number {
    let t = Math.ceil(this.slotStart(k));
    while (this.slotAt(t) < k) t++;
    return t;
  }

  // ---- slot access for snapshots and cluster merging ---------------------------------------

  /** Milliseconds since the newest update of `s`, at time `t` (slot resolution). */
  idleMs(s: Series, t: number): number {
    return this.idleMsLocal(s.local, t);
  }

  /** The slot (absolute) of the last update of the series at local index `local`. */
  lastUpdateSlot(local: number): number {
    return this.base + (local >= SPARSE_BASE ? this.spMeta[SPM * (local - SPARSE_BASE) + 1] : this.hrow(local)[this.hoff(local) + this.LU]);
  }

  /** idleMs of the series at local index `local`. */
  idleMsLocal(local: number, t: number): number {
    return ((this.slotAt(t) - this.lastUpdateSlot(local)) * this.W) / this.S;
  }

  /** Brings `s` up to time `t`: drops what has expired. */
  expireAt(s: Series, t: number): void {
    const k = this.slotAt(t);
    if (s.local >= SPARSE_BASE) {
      this.sparseAdvance(s.local - SPARSE_BASE, k);
      return;
    }
    if (k > this.hrow(s.local)[this.hoff(s.local) + this.LAST]) this.advance(s.local, k);
  }

  /** Visits the live slots of `s` in slot order: absolute slot number and its parts (`f` at `offset`). */
  private forEachSlot(s: Series, cb: (slot: number, f: Float64Array, offset: number) => void): void {
    if (s.local >= SPARSE_BASE) {
      const mb = SPB * (s.local - SPARSE_BASE);
      const o = this.spBlk[mb];
      const end = o + this.spBlk[mb + 1];
      const x = this.slotScratch;
      for (let e = o; e < end; e += 1 + this.headN(this.blocks.pool[e])) {
        this.expand(this.blocks.pool, e, x);
        cb(this.headSlot(this.blocks.pool[e]), x, 0);
      }
      return;
    }
    this.eachSlot(s.local, true, cb);
  }

  /** Visits the queued slots of series `local` in slot order, then (with `current`) its current entry. */
  private eachSlot(local: number, current: boolean, cb: (slot: number, f: Float64Array, offset: number) => void): void {
    const h = this.hrow(local);
    const ho = this.hoff(local);
    const last = h[ho + this.LAST];
    const count = h[ho + this.COUNT];
    if (count > 0) {
      this.view(h, ho);
      const { qf: f, qfo: fo, qu: u, quo: uo, qcap: cap } = this.slabs;
      const w = this.w;
      const lm = this.stamp(last);
      for (let n = 0, i = h[ho + this.HEAD]; n < count; n++, i = i + 1 === cap ? 0 : i + 1) {
        cb(last - this.age(lm, u[uo + i]), f, fo + i * w);
      }
    }
    const o = local * this.cs;
    if (current && this.cur[o] !== NO_TAIL) cb(last, this.cur, o + 1);
  }

  /**
   * Merges foreign parts (a snapshot's, another node's) into absolute slot `slot` of `s`, as of time
   * `t`. Parts of a slot that has already expired at `t` are ignored; a slot ahead of the newest
   * slot seen is merged into it. Returns false when ignored. Rare path: O(S).
   */
  private mergeSlot(s: Series, slot: number, parts: ArrayLike<number>, po: number, t: number): boolean {
    this.expireAt(s, t);
    if (s.local >= SPARSE_BASE) {
      const idx = s.local - SPARSE_BASE;
      const m = this.spMeta;
      const last = m[SPM * idx] + this.base;
      if (slot <= last - this.S) return false;
      const at = Math.min(slot, last);
      if (at - this.base > m[SPM * idx + 1]) m[SPM * idx + 1] = at - this.base;
      const x = this.mergeScratch;
      this.entryAt(idx, at, x);
      this.mergeParts(x, 0, parts, po);
      this.put(idx, at, x);
      return true;
    }
    const local = s.local;
    const h = this.hrow(local);
    const ho = this.hoff(local);
    const w = this.w;
    const last = h[ho + this.LAST];
    if (slot <= last - this.S) return false;
    if (slot - this.base > h[ho + this.LU]) h[ho + this.LU] = Math.min(slot, last) - this.base;
    const o = local * this.cs;
    if (slot >= last) {
      if (this.cur[o] === NO_TAIL) {
        this.cur[o] = last - this.base;
        this.clearEntry(this.cur, o + 1);
      }
      this.mergeParts(this.cur, o + 1, parts, po);
      return true;
    }
    // newer than every queued slot (restoring in slot order): append — O(1)
    if (h[ho + this.COUNT] === 0 || slot > this.newestQueued(h, ho)) {
      const e = this.mergeScratch;
      this.clearEntry(e, 0);
      this.mergeParts(e, 0, parts, po);
      this.append(local, slot, e, 0);
      return true;
    }
    // a completed slot between queued ones: rebuild the queue with it in order (rare)
    const entries: { slot: number; parts: Float64Array }[] = [];
    let hit = false;
    this.eachSlot(local, false, (sn, src, so) => {
      const p = src.slice(so, so + w);
      if (sn === slot) {
        this.mergeParts(p, 0, parts, po);
        hit = true;
      }
      entries.push({ slot: sn, parts: p });
    });
    if (!hit) {
      const p = new Float64Array(w);
      this.clearEntry(p, 0);
      this.mergeParts(p, 0, parts, po);
      entries.push({ slot, parts: p });
      entries.sort((a, b) => a.slot - b.slot);
    }
    h[ho + this.COUNT] = 0;
    this.freeQueue(h, ho);
    this.clearEntry(h, ho);
    for (const e of entries) this.append(local, e.slot, e.parts, 0);
    return true;
  }

  /** Absolute slot number of the newest queued (completed) slot; needs count > 0. */
  private newestQueued(h: Float64Array, ho: number): number {
    this.view(h, ho);
    let i = h[ho + this.HEAD] + h[ho + this.COUNT] - 1;
    const q = this.slabs;
    if (i >= q.qcap) i -= q.qcap;
    const last = h[ho + this.LAST];
    return last - this.age(this.stamp(last), q.qu[q.quo + i]);
  }

  /** dst ⊕= src over all parts of a slot (algorithm parts and the update count). */
  private mergeParts(dst: Float64Array, d: number, src: ArrayLike<number>, o: number): void {
    this.alg.merge(dst, d, src, o);
    if (this.hasN) dst[d + this.aw] += src[o + this.aw];
  }

  private clearEntry(f: Float64Array, e: number): void {
    this.alg.reset(f, e);
    if (this.hasN) f[e + this.aw] = 0;
  }

  /** Rest := merge of the queued slots (for parts that cannot be subtracted). */
  private recomputeRest(local: number): void {
    const h = this.hrow(local);
    const ho = this.hoff(local);
    this.clearEntry(h, ho);
    this.eachSlot(local, false, (_slot, src, o) => this.mergeParts(h, ho, src, o));
  }
  // ---- sparse series ---------------------------------------------------------------------------

  /** An update of sparse series `idx` (the clock's slot, or its newest slot if the clock went back). */
  private addSparse(idx: number, v: number): void {
    const m = this.spMeta;
    const mo = SPM * idx;
    let k = this.lastK;
    if (k < m[mo] + this.base) k = m[mo] + this.base;
    this.sparseAdvance(idx, k);
    m[mo + 1] = k - this.base;
    const x = this.mergeScratch;
    this.entryAt(idx, k, x);
    this.alg.add(x, 0, v);
    if (this.hasN) x[this.aw] += 1;
    this.put(idx, k, x, ++this.spUpd[idx] >= SPARSE_UPDATES);
  }

  /** Sparse series `idx` seen at slot `k`: its newest slot moves up, entries the window has left go. */
  private sparseAdvance(idx: number, k: number): void {
    const m = this.spMeta;
    const mo = SPM * idx;
    if (k <= m[mo] + this.base) return;
    m[mo] = k - this.base;
    const a = this.blocks.pool;
    const o = this.spBlk[SPB * idx];
    const end = o + this.spBlk[SPB * idx + 1];
    let e = o;
    while (e < end && this.headSlot(a[e]) <= k - this.S) e += 1 + this.headN(a[e]);
    if (e === o) return;
    // the live tail moves to a block of its size; the old block goes back
    const n = end - e;
    const b = this.alloc(n);
    this.blocks.pool.copyWithin(b, e, end);
    this.setBlock(idx, b, n);
  }

  /** The slot of a sparse entry's head (its first number: slot * EN + the numbers that follow). */
  private headSlot(h: number): number {
    return Math.floor(h / this.EN);
  }

  /** The numbers that follow a sparse entry's head (its parts, and the update count when kept). */
  private headN(h: number): number {
    return h - Math.floor(h / this.EN) * this.EN;
  }

  /** The parts of sparse entry at `e` of `a`, at full width in `x` (the update count at aw). */
  private expand(a: Float64Array, e: number, x: Float64Array): void {
    this.clearEntry(x, 0);
    const all = this.headN(a[e]);
    const n = all - (this.hasN ? 1 : 0);
    for (let j = 0; j < n; j++) x[j] = a[e + 1 + j];
    if (this.hasN) x[this.aw] = a[e + all];
  }

  /** The parts of slot `slot` of sparse series `idx` into `x` (cleared when it has no such entry). */
  private entryAt(idx: number, slot: number, x: Float64Array): void {
    const a = this.blocks.pool;
    const o = this.spBlk[SPB * idx];
    const end = o + this.spBlk[SPB * idx + 1];
    for (let e = o; e < end; e += 1 + this.headN(a[e])) {
      const at = this.headSlot(a[e]);
      if (at === slot) return this.expand(a, e, x);
      if (at > slot) break;
    }
    this.clearEntry(x, 0);
  }

  /** Sets slot `slot` of sparse series `idx` to parts `x` (a new block, in slot order); turns it dense past the budget, or when `busy`. */
  private put(idx: number, slot: number, x: Float64Array, busy = false): void {
    const used = this.alg.used !== undefined ? this.alg.used(x, 0) : this.aw;
    const n = used + (this.hasN ? 1 : 0);
    const o = this.spBlk[SPB * idx];
    const end = o + this.spBlk[SPB * idx + 1];
    let lo = o;
    const a = this.blocks.pool;
    while (lo < end && this.headSlot(a[lo]) < slot) lo += 1 + this.headN(a[lo]);
    let hi = lo;
    if (hi < end && this.headSlot(a[hi]) === slot) hi += 1 + this.headN(a[hi]);
    const len = lo - o + 1 + n + (end - hi);
    if (busy || len > this.sparseDoubles) {
      // the entries it would hold, once, in the scratch block, then rows
      const t = this.spScratch(len);
      this.layout(t, 0, o, lo, hi, end, slot, n, used, x);
      return this.densify(idx, t, len);
    }
    const b = this.alloc(len); // may move the pool: offsets stay valid
    this.layout(this.blocks.pool, b, o, lo, hi, end, slot, n, used, x);
    this.setBlock(idx, b, len);
  }

  /** Writes at `b` of `dst`: the pool's entries [o, lo), the entry (slot, n, x), the pool's entries [hi, end). */
  private layout(dst: Float64Array, b: number, o: number, lo: number, hi: number, end: number, slot: number, n: number, used: number, x: Float64Array): void {
    const a = this.blocks.pool;
    let w = b;
    for (let j = o; j < lo; j++) dst[w++] = a[j];
    dst[w] = slot * this.EN + n;
    for (let j = 0; j < used; j++) dst[w + 1 + j] = x[j];
    if (this.hasN) dst[w + n] = x[this.aw];
    w += 1 + n;
    for (let j = hi; j < end; j++) dst[w++] = a[j];
  }

  private spTmp = new Float64Array(64);
  private spScratch(len: number): Float64Array {
    if (this.spTmp.length < len) this.spTmp = new Float64Array(len * 2);
    return this.spTmp;
  }

  /** A block of `n` numbers in the pool (it may move: offsets stay valid). */
  private alloc(n: number): number {
    return this.blocks.alloc(n);
  }

  /** Sparse series `idx` now holds block (b, n); its previous block is freed. */
  private setBlock(idx: number, b: number, n: number): void {
    const mb = SPB * idx;
    this.blocks.free(this.spBlk[mb], this.spBlk[mb + 1]);
    this.spBlk[mb] = b;
    this.spBlk[mb + 1] = n;
    // free blocks outweigh live ones (series turned dense, windows moved on): pack the pool, here
    // where no caller holds an offset; the bound on spNext keeps the scan amortised O(1) a number
    if (this.blocks.freeDoubles > 4096 && this.blocks.mostlyFree && this.blocks.freeDoubles > this.spNext) this.compactSparse();
  }

  /** Packs the live blocks at the start of a new pool (the free ones have come to outweigh them). */
  private compactSparse(): void {
    this.blocks.compact((visit) => {
      for (let idx = 0; idx < this.spNext; idx++) {
        if (this.spSeries[idx] === undefined) continue;
        const mb = SPB * idx;
        if (this.spBlk[mb + 1] > 0) this.spBlk[mb] = visit(this.spBlk[mb], this.spBlk[mb + 1]);
      }
    });
  }

  /** The merged parts of the live entries of sparse series `idx` at slot `k`, in the scratch array. */
  private sparseWindow(idx: number, k: number): Float64Array {
    this.sparseAdvance(idx, k);
    return this.sparseMerge(idx);
  }

  /**
   * The merged parts of sparse series `idx`'s entries in the window of the clock's slot (`lastK`;
   * older ones passed over), in the scratch array. (The slot is read from the field, not passed: a
   * slot number of 1 s slots is past a small integer, and an argument would be a heap number.)
   */
  private sparseMerge(idx: number): Float64Array {
    const k = this.lastK;
    const a = this.blocks.pool;
    const o = this.spBlk[SPB * idx];
    const end = o + this.spBlk[SPB * idx + 1];
    const x = this.scratch;
    this.clearEntry(x, 0);
    const oldest = k - this.S;
    for (let e = o, n = 0; e < end; e += 1 + n) {
      n = this.headN(a[e]);
      if (this.headSlot(a[e]) <= oldest) continue;
      // algorithms merge from the used parts alone (a sketch reads its bucket count first)
      this.alg.merge(x, 0, a, e + 1);
      if (this.hasN) x[this.aw] += a[e + n];
    }
    return x;
  }

  /** Sparse series `idx` gets its rows from entries `a[0, len)`: those older than its newest slot queue up, that one is current. */
  private densify(idx: number, a: Float64Array, len: number): void {
    const e = this.spSeries[idx]!;
    const last = this.spMeta[SPM * idx] + this.base;
    const local = this.allocRow(last, this.spMeta[SPM * idx + 1]);
    const x = this.slotScratch;
    for (let e = 0; e < len; e += 1 + this.headN(a[e])) {
      this.expand(a, e, x);
      const slot = this.headSlot(a[e]);
      if (slot === last) {
        const o = local * this.cs;
        this.cur[o] = last - this.base;
        for (let j = 0; j < this.w; j++) this.cur[o + 1 + j] = x[j];
      } else this.append(local, slot, x, 0);
    }
    this.setBlock(idx, 0, 0);
    this.spSeries[idx] = undefined;
    this.spFree.push(idx);
    this.byLocal[local] = e;
    if (e instanceof Series) {
      const from = e.local;
      e.local = local;
      this.onRelocate(e, from);
    } else {
      // a kept series: its owner holds its local index
      const slot = (this.denseSlot[local] = this.spSlot[idx]);
      e.moved(slot, local);
    }
  }
}

/** Unix time of 2200-01-01 (ms): sparse entries' heads stay exact until then (ProfileRuntime.EN). */
const YEAR_2200_MS = 7_258_118_400_000;
/** Ten years (ms): sparse series' slot numbers are 32-bit, relative to the profile's first slot (ProfileRuntime.spMeta). */
const TEN_YEARS_MS = 3652.5 * 86_400_000;

/** Numbers of bookkeeping per sparse series in spMeta (slots), and in spBlk (offsets, lengths). */
const SPM = 2;
const SPB = 2;
