import type { SeriesAlgorithm } from './algorithms/algorithm.ts';
import type { ProfileDef } from './types.ts';
import { Series } from './stat.ts';
import type { Group } from './stat.ts';

/** Float64 numbers per slab chunk (128 KiB): slot memory is allocated in chunks, when first needed. */
const CHUNK_DOUBLES = 16384;

/**
 * The runtime of one profile: clock-aligned slot arithmetic and the slab that holds the slots of
 * all its series.
 *
 * Slot k = floor(t*S/W) covers [k*W/S, (k+1)*W/S) (exact: W/S need not be a whole number of ms).
 * Data written in slot k counts until the clock reaches slot k+S. Each series keeps its non-empty
 * slots as a queue in slot order plus a running total of their parts, so an update and a read are
 * O(1) amortised whatever the window and slot count: every slot is pushed once and expired once.
 *
 * Series layout in the Float64 slab, `w` = parts per slot:
 *   [total: w][last slot number: 1][slot entries: S*w]
 * and in the Uint32 slab: [slot number mod 2^32 of each entry: S]. Stamps mod 2^32 are enough
 * because live entries are always fewer than S slots apart from `last` (kept as a full float64).
 */
export class ProfileRuntime {
  readonly W: number;
  readonly S: number;
  /** Parts per slot: the algorithm's, plus one update count when `min_samples` is set. */
  readonly w: number;
  readonly aw: number;
  readonly hasN: boolean;
  readonly minSamples: number;
  private readonly strideF: number;
  private readonly perChunk: number;
  private readonly fChunks: Float64Array[] = [];
  private readonly uChunks: Uint32Array[] = [];
  private nextFree = 0;
  private readonly free: number[] = [];
  private lastT = NaN;
  private lastK = 0;
  /** Number of live series of this profile. */
  size = 0;

  constructor(
    readonly def: ProfileDef,
    readonly alg: SeriesAlgorithm,
    readonly group: Group,
  ) {
    this.W = def.window * 1000;
    this.S = def.slots;
    this.aw = alg.width;
    this.minSamples = def.minSamples;
    this.hasN = def.minSamples > 0;
    this.w = this.aw + (this.hasN ? 1 : 0);
    this.strideF = this.w + 1 + this.S * this.w;
    this.perChunk = Math.max(1, Math.floor(CHUNK_DOUBLES / this.strideF));
  }

  /** Absolute slot number of Unix time `t` (ms). Cached: a coarse clock repeats `t` across a batch. */
  slotAt(t: number): number {
    if (t === this.lastT) return this.lastK;
    const W = this.W;
    const q = Math.floor(t / W);
    const k = q * this.S + Math.floor(((t - q * W) * this.S) / W);
    this.lastT = t;
    this.lastK = k;
    return k;
  }

  /** Start (ms, possibly fractional) of absolute slot k. */
  slotStart(k: number): number {
    const q = Math.floor(k / this.S);
    return q * this.W + ((k - q * this.S) * this.W) / this.S;
  }

  /** Creates a series with its slot memory (from a free region or a new chunk when needed). */
  create(name: string, group: Group, t: number): Series {
    let slot: number;
    if (this.free.length > 0) slot = this.free.pop()!;
    else slot = this.nextFree++;
    const c = Math.floor(slot / this.perChunk);
    const i = slot - c * this.perChunk;
    if (c === this.fChunks.length) {
      this.fChunks.push(new Float64Array(this.perChunk * this.strideF));
      this.uChunks.push(new Uint32Array(this.perChunk * this.S));
    }
    const s = new Series(name, group, this, this.fChunks[c], this.uChunks[c], i * this.strideF, i * this.S);
    this.clearTotal(s);
    s.f[s.fo + this.w] = this.slotAt(t);
    this.size++;
    return s;
  }

  /** Gives a removed series' slot memory back to the profile. */
  release(s: Series): void {
    const c = this.fChunks.indexOf(s.f);
    this.free.push(c * this.perChunk + s.fo / this.strideF);
    s.count = 0;
    this.size--;
  }

  /** Records one sample `v` at time `t`. */
  add(s: Series, t: number, v: number): void {
    const f = s.f;
    const fo = s.fo;
    const w = this.w;
    let k = this.slotAt(t);
    const last = f[fo + w];
    if (k > last) this.expire(s, k);
    else k = last; // same slot, or the clock went back: write into the newest slot
    const S = this.S;
    const k32 = k >>> 0;
    let ti = s.head + s.count - 1;
    if (ti >= S) ti -= S;
    if (s.count === 0 || s.u[s.uo + ti] !== k32) {
      ti = s.count === 0 ? s.head : ti + 1 === S ? 0 : ti + 1;
      s.u[s.uo + ti] = k32;
      this.clearEntry(f, fo + w + 1 + ti * w);
      s.count++;
    }
    const e = fo + w + 1 + ti * w;
    const alg = this.alg;
    alg.add(f, e, v);
    alg.add(f, fo, v);
    if (this.hasN) {
      f[e + this.aw] += 1;
      f[fo + this.aw] += 1;
    }
  }

  /** The value at time `t` (expired slots dropped first); null while under `min_samples`. */
  read(s: Series, t: number): number | null {
    const k = this.slotAt(t);
    if (k > s.f[s.fo + this.w]) this.expire(s, k);
    if (this.hasN && s.f[s.fo + this.aw] < this.minSamples) return null;
    return this.alg.read(s.f, s.fo, this.def);
  }

  /** Number of updates in the window at `t` (needs `min_samples`; otherwise NaN). */
  samples(s: Series, t: number): number {
    if (!this.hasN) return NaN;
    const k = this.slotAt(t);
    if (k > s.f[s.fo + this.w]) this.expire(s, k);
    return s.f[s.fo + this.aw];
  }

  /** Drops every slot that the clock at slot `k` has left behind. */
  expire(s: Series, k: number): void {
    const f = s.f;
    const fo = s.fo;
    const w = this.w;
    const last = f[fo + w];
    if (k <= last) return;
    f[fo + w] = k;
    if (s.count === 0) return;
    const S = this.S;
    if (k - last >= S) {
      s.count = 0;
      s.head = 0;
      this.clearTotal(s);
      return;
    }
    const k32 = k >>> 0;
    const e0 = fo + w + 1;
    const sub = this.alg.subtract;
    let popped = false;
    while (s.count > 0) {
      if (((k32 - s.u[s.uo + s.head]) >>> 0) < S) break;
      const e = e0 + s.head * w;
      if (sub !== undefined) {
        sub(f, fo, f, e);
        if (this.hasN) f[fo + this.aw] -= f[e + this.aw];
      }
      s.head = s.head + 1 === S ? 0 : s.head + 1;
      s.count--;
      popped = true;
    }
    if (!popped) return;
    // An empty window is exactly zero (no float drift survives an idle period); parts that cannot
    // be subtracted (min, max) are recomputed from the live slots.
    if (s.count === 0) {
      s.head = 0;
      this.clearTotal(s);
    } else if (sub === undefined) this.recomputeTotal(s);
  }

  /** Visits the live slots of `s` in slot order: absolute slot number and the offset of its parts in `s.f`. */
  forEachSlot(s: Series, cb: (slot: number, f: Float64Array, offset: number) => void): void {
    const w = this.w;
    const last = s.f[s.fo + w];
    const last32 = last >>> 0;
    for (let n = 0, i = s.head; n < s.count; n++, i = i + 1 === this.S ? 0 : i + 1) {
      const slot = last - ((last32 - s.u[s.uo + i]) >>> 0);
      cb(slot, s.f, s.fo + w + 1 + i * w);
    }
  }

  /**
   * Merges foreign parts (a snapshot's, another node's) into absolute slot `slot` of `s`, as of time
   * `t`. Parts of a slot that has already expired at `t` are ignored; a slot ahead of the clock is
   * merged into the newest slot. Returns false when ignored.
   */
  mergeSlot(s: Series, slot: number, parts: ArrayLike<number>, po: number, t: number): boolean {
    const k = this.slotAt(t);
    const w = this.w;
    const f = s.f;
    if (k > f[s.fo + w]) this.expire(s, k);
    const last = f[s.fo + w];
    if (slot <= last - this.S) return false;
    if (slot > last) slot = last;
    const last32 = last >>> 0;
    const S = this.S;
    // find the insertion point from the newest entry backwards (slots are few; this path is rare)
    let pos = s.count; // position in queue order where `slot` goes
    for (let n = s.count - 1; n >= 0; n--) {
      let i = s.head + n;
      if (i >= S) i -= S;
      const sn = last - ((last32 - s.u[s.uo + i]) >>> 0);
      if (sn === slot) {
        this.mergeInto(s, s.fo + w + 1 + i * w, parts, po);
        return true;
      }
      if (sn < slot) break;
      pos = n;
    }
    // shift entries [pos, count) one place towards the tail, then write the new entry at pos
    for (let n = s.count; n > pos; n--) {
      let to = s.head + n;
      if (to >= S) to -= S;
      let from = to - 1;
      if (from < 0) from += S;
      s.u[s.uo + to] = s.u[s.uo + from];
      f.copyWithin(s.fo + w + 1 + to * w, s.fo + w + 1 + from * w, s.fo + w + 1 + from * w + w);
    }
    let i = s.head + pos;
    if (i >= S) i -= S;
    s.u[s.uo + i] = slot >>> 0;
    this.clearEntry(f, s.fo + w + 1 + i * w);
    s.count++;
    this.mergeInto(s, s.fo + w + 1 + i * w, parts, po);
    return true;
  }

  private mergeInto(s: Series, e: number, parts: ArrayLike<number>, po: number): void {
    const f = s.f;
    this.alg.merge(f, e, parts, po);
    this.alg.merge(f, s.fo, parts, po);
    if (this.hasN) {
      f[e + this.aw] += parts[po + this.aw];
      f[s.fo + this.aw] += parts[po + this.aw];
    }
  }

  private clearEntry(f: Float64Array, e: number): void {
    this.alg.reset(f, e);
    if (this.hasN) f[e + this.aw] = 0;
  }

  private clearTotal(s: Series): void {
    this.clearEntry(s.f, s.fo);
  }

  private recomputeTotal(s: Series): void {
    const f = s.f;
    this.clearTotal(s);
    this.forEachSlot(s, (_slot, src, o) => {
      this.alg.merge(f, s.fo, src, o);
      if (this.hasN) f[s.fo + this.aw] += src[o + this.aw];
    });
  }
}
