import type { SeriesAlgorithm } from './algorithms/algorithm.ts';
import type { ProfileDef } from './types.ts';
import { NO_TAIL, Series } from './stat.ts';
import type { Group } from './stat.ts';

/** Float64 numbers per slab chunk (128 KiB): slot memory is allocated in chunks, when first needed. */
const CHUNK_DOUBLES = 16384;

/**
 * The runtime of one profile: clock-aligned slot arithmetic and the memory that holds the slots
 * of all its series.
 *
 * Slot k = floor(t*S/W) covers [k*W/S, (k+1)*W/S) (exact: W/S need not be a whole number of ms).
 * Data written in slot k counts until the clock reaches slot k+S. Each series keeps
 *  - "current": the parts of the newest slot, in a row of the profile's compact `cur` array,
 *    beside the number of the slot they belong to (the hot path reads and writes that one row:
 *    one cache line, as cache-friendly as a plain Float64Array of counters);
 *  - a queue of its completed, still live slots in slot order (at most S-1), in the slab;
 *  - "rest": the merged parts of the queue.
 * When the clock leaves the current slot it is appended to the queue and merged into rest; an
 * expired slot is subtracted from rest. Every slot is appended once and expired once, so updates
 * and reads are O(1) amortised whatever the window and slot count.
 *
 * Invariant: a series with a current entry has it at slot `last` (the newest slot it has seen).
 *
 * `cur` row per series (stride `cs`, a power of two up to 8 doubles so that a row never straddles
 * a cache line): [slot of the current entry relative to `base`, or NO_TAIL][parts: w].
 * Slab per series, `w` = parts per slot, R = S-1: everything a slot change touches, so that it
 * needs neither the Series object nor any index into it:
 *   Float64: [rest: w][last][head][count][lu][queue entries: R*w]    stamps: [slot mod 2^16 or 2^32: R]
 * Stamps modulo 2^16 (when S < 2^15) are enough: live entries are fewer than S slots behind `last`.
 */
export class ProfileRuntime {
  readonly W: number;
  readonly S: number;
  /** Queue capacity: S-1 completed slots. */
  private readonly R: number;
  /** Parts per slot: the algorithm's, plus one update count when `min_samples` is set. */
  readonly w: number;
  readonly aw: number;
  readonly hasN: boolean;
  readonly minSamples: number;
  /** Doubles per `cur` row. */
  private readonly cs: number;
  /** Slab header offsets (after rest): newest slot seen, queue head, queue length, slot of the newest update. */
  private readonly LAST: number;
  private readonly HEAD: number;
  private readonly COUNT: number;
  private readonly LU: number;
  /** Offset of the first queue entry in a series' slab region. */
  private readonly Q: number;
  private readonly strideF: number;
  private readonly perChunk: number;
  private readonly fChunks: Float64Array[] = [];
  private readonly uChunks: (Uint16Array | Uint32Array)[] = [];
  /** Current-slot rows of every series, at local*cs (grows by doubling; never cached elsewhere). */
  private cur: Float64Array;
  /** Series by local index. */
  private readonly byLocal: (Series | undefined)[] = [];
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

  constructor(
    readonly def: ProfileDef,
    readonly alg: SeriesAlgorithm,
    readonly group: Group,
  ) {
    this.W = def.window * 1000;
    this.S = def.slots;
    this.R = this.S - 1;
    this.aw = alg.width;
    this.minSamples = def.minSamples;
    this.hasN = def.minSamples > 0;
    this.w = this.aw + (this.hasN ? 1 : 0);
    const row = this.w + 1;
    this.cs = row <= 2 ? 2 : row <= 4 ? 4 : row <= 8 ? 8 : row;
    this.LAST = this.w;
    this.HEAD = this.w + 1;
    this.COUNT = this.w + 2;
    this.LU = this.w + 3;
    this.Q = this.w + 4;
    this.strideF = this.Q + this.R * this.w;
    this.perChunk = Math.max(1, Math.floor(CHUNK_DOUBLES / this.strideF));
    this.scratch = new Float64Array(this.w);
    this.mergeScratch = new Float64Array(this.w);
    this.cur = new Float64Array(16 * this.cs);
    this.mod = this.S < 32768 ? 65536 : 4294967296;
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
      if (c[o] === this.lastKr) {
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

  /** Slab chunk holding series `local`'s region. */
  private fOf(local: number): Float64Array {
    return this.fChunks[(local / this.perChunk) | 0];
  }

  /** Offset of series `local`'s region in its slab chunk. */
  private foOf(local: number): number {
    return (local % this.perChunk) * this.strideF;
  }

  private uOf(local: number): Uint16Array | Uint32Array {
    return this.uChunks[(local / this.perChunk) | 0];
  }

  private uoOf(local: number): number {
    return (local % this.perChunk) * this.R;
  }

  /** Creates a series with its slot memory (from a free region or a new chunk when needed). */
  create(name: string, group: Group, t: number): Series {
    const local = this.free.length > 0 ? this.free.pop()! : this.nextFree++;
    if (((local / this.perChunk) | 0) === this.fChunks.length) {
      this.fChunks.push(new Float64Array(this.perChunk * this.strideF));
      this.uChunks.push(this.mod === 65536 ? new Uint16Array(this.perChunk * this.R) : new Uint32Array(this.perChunk * this.R));
    }
    if ((local + 1) * this.cs > this.cur.length) {
      const cur = new Float64Array(Math.max(local + 1, (this.cur.length / this.cs) * 2) * this.cs);
      cur.set(this.cur);
      this.cur = cur;
    }
    const s = new Series(name, group, this, local);
    this.byLocal[local] = s;
    this.cur[local * this.cs] = NO_TAIL;
    const f = this.fOf(local);
    const fo = this.foOf(local);
    this.clearEntry(f, fo);
    f[fo + this.LAST] = this.slotAt(t);
    f[fo + this.HEAD] = 0;
    f[fo + this.COUNT] = 0;
    f[fo + this.LU] = this.lastKr;
    this.size++;
    return s;
  }

  /** Bytes of slot memory this profile has allocated (slabs, stamps, current-slot rows). */
  allocatedBytes(): number {
    let n = this.cur.byteLength;
    for (let i = 0; i < this.fChunks.length; i++) n += this.fChunks[i].byteLength + this.uChunks[i].byteLength;
    return n;
  }

  /** Gives a removed series' slot memory back to the profile. */
  release(s: Series): void {
    this.free.push(s.local);
    this.fOf(s.local)[this.foOf(s.local) + this.COUNT] = 0;
    this.cur[s.local * this.cs] = NO_TAIL;
    this.byLocal[s.local] = undefined;
    this.size--;
  }

  // ---- update and read ----------------------------------------------------------------------

  /** Records one sample `v` at time `t`. Fast path: the sample lands in the current slot. */
  add(s: Series, t: number, v: number): void {
    this.addLocal(s.local, t, v);
  }

  /** An update whose series has no current entry in the clock's slot: the slot changes first. */
  private addSlow(local: number, v: number): void {
    const f = this.fOf(local);
    const fo = this.foOf(local);
    let k = this.lastK;
    const last = f[fo + this.LAST];
    if (k < last) k = last; // the clock went back: write into the newest slot seen
    const kr = k - this.base;
    const o = local * this.cs;
    if (this.cur[o] !== kr) {
      this.advance(local, f, fo, k);
      this.cur[o] = kr;
      f[fo + this.LU] = kr;
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

  /** Number of updates in the window at `t` (needs `min_samples`; otherwise NaN). */
  samples(s: Series, t: number): number {
    return this.hasN ? this.window(s, t)[this.aw] : NaN;
  }

  /** The merged parts of the whole window at `t`, in a scratch array valid until the next call. */
  window(s: Series, t: number): Float64Array {
    const local = s.local;
    const f = this.fOf(local);
    const fo = this.foOf(local);
    const k = this.slotAt(t);
    if (k > f[fo + this.LAST]) this.advance(local, f, fo, k);
    const x = this.scratch;
    for (let i = 0; i < this.w; i++) x[i] = f[fo + i];
    const o = local * this.cs;
    if (this.cur[o] !== NO_TAIL) this.mergeParts(x, 0, this.cur, o + 1);
    return x;
  }

  /**
   * Brings series `local` (slab region `f` at `fo`) to slot `k` (k >= last): the current entry, if
   * older, joins the queue; slots the clock has left behind are dropped.
   */
  private advance(local: number, f: Float64Array, fo: number, k: number): void {
    const S = this.S;
    const last = f[fo + this.LAST];
    if (k <= last) return;
    f[fo + this.LAST] = k;
    const o = local * this.cs;
    if (k - last >= S) {
      // everything, the current entry included (it is at `last`), has expired
      if (f[fo + this.COUNT] > 0 || this.cur[o] !== NO_TAIL) this.empty(local, f, fo);
      return;
    }
    let count = f[fo + this.COUNT];
    if (count > 0) {
      const km = this.stamp(k);
      const w = this.w;
      const u = this.uOf(local);
      const uo = this.uoOf(local);
      const sub = this.alg.subtract;
      let head = f[fo + this.HEAD];
      let popped = false;
      while (count > 0 && this.age(km, u[uo + head]) >= S) {
        if (sub !== undefined) {
          const e = fo + this.Q + head * w;
          sub(f, fo, f, e);
          if (this.hasN) f[fo + this.aw] -= f[e + this.aw];
        }
        head = head + 1 === this.R ? 0 : head + 1;
        count--;
        popped = true;
      }
      f[fo + this.COUNT] = count;
      // An empty queue means rest is exactly empty (no float drift survives). Parts that cannot
      // be subtracted (min, max) are recomputed from the live slots.
      if (count === 0) {
        f[fo + this.HEAD] = 0;
        this.clearEntry(f, fo);
      } else {
        f[fo + this.HEAD] = head;
        if (popped && sub === undefined) this.recomputeRest(local, f, fo);
      }
    }
    if (this.cur[o] !== NO_TAIL) {
      // the current entry (at `last`, still live since k - last < S) becomes a completed slot
      this.append(local, f, fo, last, this.cur, o + 1);
      this.cur[o] = NO_TAIL;
    }
  }

  /** Appends slot `slot` (newer than every queued slot) with the given parts; merges them into rest. */
  private append(local: number, f: Float64Array, fo: number, slot: number, parts: Float64Array, po: number): void {
    const count = f[fo + this.COUNT];
    let ni = f[fo + this.HEAD] + count;
    if (ni >= this.R) ni -= this.R;
    this.uOf(local)[this.uoOf(local) + ni] = this.stamp(slot);
    const e = fo + this.Q + ni * this.w;
    for (let i = 0; i < this.w; i++) f[e + i] = parts[po + i];
    this.mergeParts(f, fo, parts, po);
    f[fo + this.COUNT] = count + 1;
  }

  private empty(local: number, f: Float64Array, fo: number): void {
    f[fo + this.COUNT] = 0;
    f[fo + this.HEAD] = 0;
    this.cur[local * this.cs] = NO_TAIL;
    this.clearEntry(f, fo);
  }

  // ---- slot access for snapshots and cluster merging ---------------------------------------

  /** Milliseconds since the newest update of `s`, at time `t` (slot resolution). */
  idleMs(s: Series, t: number): number {
    const lu = this.fOf(s.local)[this.foOf(s.local) + this.LU];
    return ((this.slotAt(t) - this.base - lu) * this.W) / this.S;
  }

  /** Brings `s` up to time `t`: drops what has expired. */
  expireAt(s: Series, t: number): void {
    const f = this.fOf(s.local);
    const fo = this.foOf(s.local);
    const k = this.slotAt(t);
    if (k > f[fo + this.LAST]) this.advance(s.local, f, fo, k);
  }

  /** Visits the live slots of `s` in slot order: absolute slot number and its parts (`f` at `offset`). */
  forEachSlot(s: Series, cb: (slot: number, f: Float64Array, offset: number) => void): void {
    this.eachSlot(s.local, this.fOf(s.local), this.foOf(s.local), cb);
  }

  private eachSlot(local: number, f: Float64Array, fo: number, cb: (slot: number, f: Float64Array, offset: number) => void): void {
    const w = this.w;
    const last = f[fo + this.LAST];
    const lm = this.stamp(last);
    const u = this.uOf(local);
    const uo = this.uoOf(local);
    const count = f[fo + this.COUNT];
    for (let n = 0, i = f[fo + this.HEAD]; n < count; n++, i = i + 1 === this.R ? 0 : i + 1) {
      cb(last - this.age(lm, u[uo + i]), f, fo + this.Q + i * w);
    }
    const o = local * this.cs;
    if (this.cur[o] !== NO_TAIL) cb(last, this.cur, o + 1);
  }

  /**
   * Merges foreign parts (a snapshot's, another node's) into absolute slot `slot` of `s`, as of time
   * `t`. Parts of a slot that has already expired at `t` are ignored; a slot ahead of the newest
   * slot seen is merged into it. Returns false when ignored. Rare path: O(S).
   */
  mergeSlot(s: Series, slot: number, parts: ArrayLike<number>, po: number, t: number): boolean {
    this.expireAt(s, t);
    const local = s.local;
    const f = this.fOf(local);
    const fo = this.foOf(local);
    const w = this.w;
    const last = f[fo + this.LAST];
    if (slot <= last - this.S) return false;
    if (slot - this.base > f[fo + this.LU]) f[fo + this.LU] = Math.min(slot, last) - this.base;
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
    if (f[fo + this.COUNT] === 0 || slot > this.newestQueued(local, f, fo)) {
      const e = this.mergeScratch;
      this.clearEntry(e, 0);
      this.mergeParts(e, 0, parts, po);
      this.append(local, f, fo, slot, e, 0);
      return true;
    }
    // a completed slot between queued ones: rebuild the queue with it in order (rare)
    const entries: { slot: number; parts: Float64Array }[] = [];
    let hit = false;
    this.eachSlot(local, f, fo, (sn, src, so) => {
      if (src === this.cur) return;
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
    f[fo + this.COUNT] = 0;
    f[fo + this.HEAD] = 0;
    this.clearEntry(f, fo);
    for (const e of entries) this.append(local, f, fo, e.slot, e.parts, 0);
    return true;
  }

  /** Absolute slot number of the newest queued (completed) slot; needs count > 0. */
  private newestQueued(local: number, f: Float64Array, fo: number): number {
    let i = f[fo + this.HEAD] + f[fo + this.COUNT] - 1;
    if (i >= this.R) i -= this.R;
    const last = f[fo + this.LAST];
    return last - this.age(this.stamp(last), this.uOf(local)[this.uoOf(local) + i]);
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
  private recomputeRest(local: number, f: Float64Array, fo: number): void {
    this.clearEntry(f, fo);
    this.eachSlot(local, f, fo, (_slot, src, o) => {
      if (src === f) this.mergeParts(f, fo, src, o);
    });
  }
}
