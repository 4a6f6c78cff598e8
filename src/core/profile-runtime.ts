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
 *  - "current": the parts of the newest slot, in a compact per-profile array (the hot path writes
 *    only there: about as cache-friendly as a plain Float64Array of counters);
 *  - a queue of its completed, still live slots in slot order (at most S-1), in the slab;
 *  - "rest": the merged parts of the queue.
 * When the clock leaves the current slot it is appended to the queue and merged into rest; an
 * expired slot is subtracted from rest. Every slot is appended once and expired once, so updates
 * and reads are O(1) amortised whatever the window and slot count.
 *
 * Invariant: a series with a current entry has it at slot `last` (the newest slot it has seen).
 *
 * Slab layout per series, `w` = parts per slot, R = S-1:
 *   Float64: [rest: w][last: 1][queue entries: R*w]    stamps: [slot number mod 2^16 or 2^32: R]
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
  private readonly strideF: number;
  private readonly perChunk: number;
  private readonly fChunks: Float64Array[] = [];
  private readonly uChunks: (Uint16Array | Uint32Array)[] = [];
  /** Current-slot parts of every series, at local*w (grows by doubling; never cached elsewhere). */
  private cur: Float64Array;
  /** Slot of each series' current entry relative to `base`, or NO_TAIL. */
  private tk: Int32Array;
  /** Series by local index (slow paths only). */
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
    this.strideF = this.w + 1 + this.R * this.w;
    this.perChunk = Math.max(1, Math.floor(CHUNK_DOUBLES / this.strideF));
    this.scratch = new Float64Array(this.w);
    this.mergeScratch = new Float64Array(this.w);
    this.cur = new Float64Array(16 * this.w);
    this.tk = new Int32Array(16).fill(NO_TAIL);
    // Decide once, then rebind: the hot path is a closure over this profile's constants, so the
    // algorithm's add inlines (measured: +12 % updates/s against calling this.alg.add).
    const add = alg.add;
    const w = this.w;
    const aw = this.aw;
    const hasN = this.hasN;
    this.addLocal = (local, t, v) => {
      if (t !== this.lastT) this.computeSlot(t);
      if (this.lastKr === this.tk[local]) {
        const o = local * w;
        const c = this.cur;
        add(c, o, v);
        if (hasN) c[o + aw] += 1;
        return;
      }
      this.addSlow(this.byLocal[local]!, v);
    };
    this.mod = this.S < 32768 ? 65536 : 4294967296;
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

  /** Creates a series with its slot memory (from a free region or a new chunk when needed). */
  create(name: string, group: Group, t: number): Series {
    const slot = this.free.length > 0 ? this.free.pop()! : this.nextFree++;
    const ch = Math.floor(slot / this.perChunk);
    const i = slot - ch * this.perChunk;
    if (ch === this.fChunks.length) {
      this.fChunks.push(new Float64Array(this.perChunk * this.strideF));
      this.uChunks.push(this.mod === 65536 ? new Uint16Array(this.perChunk * this.R) : new Uint32Array(this.perChunk * this.R));
    }
    if (slot >= this.tk.length) {
      const n = Math.max(slot + 1, this.tk.length * 2);
      const tk = new Int32Array(n).fill(NO_TAIL);
      tk.set(this.tk);
      this.tk = tk;
      const cur = new Float64Array(n * this.w);
      cur.set(this.cur);
      this.cur = cur;
    }
    const s = new Series(name, group, this, slot, this.fChunks[ch], this.uChunks[ch], i * this.strideF, i * this.R);
    this.byLocal[slot] = s;
    this.tk[slot] = NO_TAIL;
    this.clearEntry(s.f, s.fo);
    s.f[s.fo + this.w] = this.slotAt(t);
    s.lu = this.lastKr;
    this.size++;
    return s;
  }

  /** Bytes of slot memory this profile has allocated (slabs, stamps, current-slot arrays). */
  allocatedBytes(): number {
    let n = this.cur.byteLength + this.tk.byteLength;
    for (let i = 0; i < this.fChunks.length; i++) n += this.fChunks[i].byteLength + this.uChunks[i].byteLength;
    return n;
  }

  /** Gives a removed series' slot memory back to the profile. */
  release(s: Series): void {
    this.free.push(s.local);
    s.count = 0;
    this.tk[s.local] = NO_TAIL;
    this.byLocal[s.local] = undefined;
    this.size--;
  }

  // ---- update and read ----------------------------------------------------------------------

  /** Records one sample `v` at time `t`. Fast path: the sample lands in the current slot. */
  add(s: Series, t: number, v: number): void {
    this.addLocal(s.local, t, v);
  }

  private addSlow(s: Series, v: number): void {
    let k = this.lastK;
    const last = s.f[s.fo + this.w];
    if (k < last) k = last; // the clock went back: write into the newest slot seen
    const kr = k - this.base;
    const o = s.local * this.w;
    if (this.tk[s.local] !== kr) {
      this.advance(s, k);
      this.tk[s.local] = kr;
      s.lu = kr;
      this.clearEntry(this.cur, o);
    }
    this.alg.add(this.cur, o, v);
    if (this.hasN) this.cur[o + this.aw] += 1;
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
    const k = this.slotAt(t);
    if (k > s.f[s.fo + this.w]) this.advance(s, k);
    const x = this.scratch;
    const f = s.f;
    for (let i = 0; i < this.w; i++) x[i] = f[s.fo + i];
    if (this.tk[s.local] !== NO_TAIL) this.mergeParts(x, 0, this.cur, s.local * this.w);
    return x;
  }

  /**
   * Brings series `s` to slot `k` (k >= last): the current entry, if older, joins the queue; slots
   * the clock has left behind are dropped.
   */
  private advance(s: Series, k: number): void {
    const f = s.f;
    const fo = s.fo;
    const w = this.w;
    const S = this.S;
    const last = f[fo + w];
    if (k <= last) return;
    f[fo + w] = k;
    if (k - last >= S) {
      // everything, the current entry included (it is at `last`), has expired
      if (s.count > 0 || this.tk[s.local] !== NO_TAIL) this.empty(s);
      return;
    }
    const km = this.stamp(k);
    if (s.count > 0) {
      const sub = this.alg.subtract;
      let popped = false;
      while (s.count > 0 && this.age(km, s.u[s.uo + s.head]) >= S) {
        if (sub !== undefined) {
          const e = fo + w + 1 + s.head * w;
          sub(f, fo, f, e);
          if (this.hasN) f[fo + this.aw] -= f[e + this.aw];
        }
        s.head = s.head + 1 === this.R ? 0 : s.head + 1;
        s.count--;
        popped = true;
      }
      // An empty queue means rest is exactly empty (no float drift survives). Parts that cannot
      // be subtracted (min, max) are recomputed from the live slots.
      if (s.count === 0) {
        s.head = 0;
        this.clearEntry(f, fo);
      } else if (popped && sub === undefined) this.recomputeRest(s);
    }
    if (this.tk[s.local] !== NO_TAIL) {
      // the current entry (at `last`, still live since k - last < S) becomes a completed slot
      this.append(s, last, this.cur, s.local * this.w);
      this.tk[s.local] = NO_TAIL;
    }
  }

  /** Appends slot `slot` (newer than every queued slot) with the given parts; merges them into rest. */
  private append(s: Series, slot: number, parts: Float64Array, po: number): void {
    let ni = s.head + s.count;
    if (ni >= this.R) ni -= this.R;
    s.u[s.uo + ni] = this.stamp(slot);
    const e = s.fo + this.w + 1 + ni * this.w;
    for (let i = 0; i < this.w; i++) s.f[e + i] = parts[po + i];
    this.mergeParts(s.f, s.fo, parts, po);
    s.count++;
  }

  private empty(s: Series): void {
    s.count = 0;
    s.head = 0;
    this.tk[s.local] = NO_TAIL;
    this.clearEntry(s.f, s.fo);
  }

  // ---- slot access for snapshots and cluster merging ---------------------------------------

  /** Milliseconds since the newest update of `s`, at time `t` (slot resolution). */
  idleMs(s: Series, t: number): number {
    return ((this.slotAt(t) - this.base - s.lu) * this.W) / this.S;
  }

  /** Brings `s` up to time `t`: drops what has expired. */
  expireAt(s: Series, t: number): void {
    const k = this.slotAt(t);
    if (k > s.f[s.fo + this.w]) this.advance(s, k);
  }

  /** Visits the live slots of `s` in slot order: absolute slot number and its parts (`f` at `offset`). */
  forEachSlot(s: Series, cb: (slot: number, f: Float64Array, offset: number) => void): void {
    const w = this.w;
    const last = s.f[s.fo + w];
    const lm = this.stamp(last);
    for (let n = 0, i = s.head; n < s.count; n++, i = i + 1 === this.R ? 0 : i + 1) {
      cb(last - this.age(lm, s.u[s.uo + i]), s.f, s.fo + w + 1 + i * w);
    }
    if (this.tk[s.local] !== NO_TAIL) cb(last, this.cur, s.local * this.w);
  }

  /**
   * Merges foreign parts (a snapshot's, another node's) into absolute slot `slot` of `s`, as of time
   * `t`. Parts of a slot that has already expired at `t` are ignored; a slot ahead of the newest
   * slot seen is merged into it. Returns false when ignored. Rare path: O(S).
   */
  mergeSlot(s: Series, slot: number, parts: ArrayLike<number>, po: number, t: number): boolean {
    this.expireAt(s, t);
    const w = this.w;
    const last = s.f[s.fo + w];
    if (slot <= last - this.S) return false;
    if (slot - this.base > s.lu) s.lu = Math.min(slot, last) - this.base;
    if (slot >= last) {
      const o = s.local * this.w;
      if (this.tk[s.local] === NO_TAIL) {
        this.tk[s.local] = last - this.base;
        this.clearEntry(this.cur, o);
      }
      this.mergeParts(this.cur, o, parts, po);
      return true;
    }
    // newer than every queued slot (restoring in slot order): append — O(1)
    if (s.count === 0 || slot > this.newestQueued(s)) {
      const e = this.mergeScratch;
      this.clearEntry(e, 0);
      this.mergeParts(e, 0, parts, po);
      this.append(s, slot, e, 0);
      return true;
    }
    // a completed slot between queued ones: rebuild the queue with it in order (rare)
    const entries: { slot: number; parts: Float64Array }[] = [];
    let hit = false;
    this.forEachSlot(s, (sn, src, o) => {
      if (sn === last && this.tk[s.local] !== NO_TAIL && src === this.cur) return;
      const p = src.slice(o, o + w);
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
    s.count = 0;
    s.head = 0;
    this.clearEntry(s.f, s.fo);
    for (const e of entries) this.append(s, e.slot, e.parts, 0);
    return true;
  }

  /** Absolute slot number of the newest queued (completed) slot; needs count > 0. */
  private newestQueued(s: Series): number {
    let i = s.head + s.count - 1;
    if (i >= this.R) i -= this.R;
    const last = s.f[s.fo + this.w];
    return last - this.age(this.stamp(last), s.u[s.uo + i]);
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

  private recomputeRest(s: Series): void {
    const f = s.f;
    this.clearEntry(f, s.fo);
    this.forEachSlot(s, (_slot, src, o) => {
      if (src === f) this.mergeParts(f, s.fo, src, o);
    });
  }
}
