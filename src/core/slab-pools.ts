/**
 * The memory of a profile's slot queues: a slab allocator per capacity (4, 8, 16, ... completed
 * slots, and S-1 last). A region of capacity c holds c entries of w numbers (Float64) and c slot
 * stamps (Uint16 when the profile has fewer than 2^15 slots, else Uint32); regions live in chunks
 * of about 128 KiB, a chunk's memory goes back when its last region is freed (one empty chunk per
 * capacity is kept for reuse until `trim`). A region is named by its pool and its number
 * (`chunk * perChunk + index`); `view` points qf/qfo/qu/quo/qcap at one. Pure; ProfileRuntime's.
 */

/** Float64 numbers per chunk of a queue pool (128 KiB): pools grow a chunk at a time. */
const CHUNK_DOUBLES = 16384;
/** Smallest queue capacity: a series gets slot memory for 4 completed slots on its first slot change. */
const FIRST_CAPACITY = 4;
/** Regions of one capacity in one chunk; the chunk's memory is dropped when its last region is freed. */
interface Chunk {
  f: Float64Array | undefined;
  u: Uint16Array | Uint32Array | undefined;
  /** Regions in use. */
  live: number;
  /** Regions never handed out yet start here. */
  fresh: number;
  /** Regions handed back. */
  readonly freed: number[];
  /** Listed in its pool's `avail`. */
  inAvail: boolean;
}

/** Queue regions of one capacity (a slab allocator: chunks of fixed-size regions). */
interface Pool {
  /** Completed slots per region. */
  readonly cap: number;
  readonly perChunk: number;
  readonly chunks: Chunk[];
  /** Live chunks with a free region, each once; regions are taken from the last. */
  readonly avail: number[];
  /** Chunk indexes whose memory was dropped, to be reused. */
  readonly dead: number[];
  /** The one empty chunk kept for reuse, or -1. */
  spare: number;
}

export class SlabPools {
  private readonly pools: Pool[] = [];
  // The region `view` points at: entries in qf at qfo + i*w, stamps in qu at quo + i, capacity qcap.
  qf: Float64Array = new Float64Array(0);
  qfo = 0;
  qu: Uint16Array | Uint32Array = new Uint16Array(0);
  quo = 0;
  qcap = 0;

  /** Pools up to capacity `maxCap` (S-1) for entries of `w` numbers; `shortStamps`: stamps modulo 2^16. */
  constructor(
    maxCap: number,
    private readonly w: number,
    private readonly shortStamps: boolean,
  ) {
    for (let c = FIRST_CAPACITY; ; c *= 2) {
      const cap = Math.min(c, maxCap);
      if (cap < 1) break;
      this.pools.push({ cap, perChunk: Math.max(1, Math.floor(CHUNK_DOUBLES / (cap * w))), chunks: [], avail: [], dead: [], spare: -1 });
      if (cap === maxCap) break;
    }
  }

  /** Number of pools (capacities). */
  get count(): number {
    return this.pools.length;
  }

  /** Completed slots a region of pool `pi` holds. */
  capOf(pi: number): number {
    return this.pools[pi].cap;
  }

  /** The first pool whose regions hold `want` slots (want <= the largest capacity). */
  firstFor(want: number): number {
    let pi = 0;
    while (this.pools[pi].cap < want) pi++;
    return pi;
  }

  /** A free region of pool `pi` (a new chunk when none is free). */
  alloc(pi: number): number {
    const p = this.pools[pi];
    let ci: number;
    let c: Chunk;
    if (p.avail.length > 0) {
      ci = p.avail[p.avail.length - 1];
      c = p.chunks[ci];
    } else {
      ci = p.dead.length > 0 ? p.dead.pop()! : p.chunks.length;
      c = {
        f: new Float64Array(p.perChunk * p.cap * this.w),
        u: this.shortStamps ? new Uint16Array(p.perChunk * p.cap) : new Uint32Array(p.perChunk * p.cap),
        live: 0,
        fresh: 0,
        freed: [],
        inAvail: true,
      };
      p.chunks[ci] = c;
      p.avail.push(ci);
    }
    if (p.spare === ci) p.spare = -1;
    const i = c.freed.length > 0 ? c.freed.pop()! : c.fresh++;
    if (++c.live === p.perChunk) {
      p.avail.pop();
      c.inAvail = false;
    }
    return ci * p.perChunk + i;
  }

  /** Gives region `reg` of pool `pi` back. */
  free(pi: number, reg: number): void {
    const p = this.pools[pi];
    const ci = Math.floor(reg / p.perChunk);
    const c = p.chunks[ci];
    if (--c.live === 0) {
      c.fresh = 0;
      c.freed.length = 0;
      // Keep one empty chunk per pool, so that a series growing past a chunk boundary does not
      // allocate and drop a chunk each time; trim() drops it. Others go back to the system now.
      if (p.spare < 0) p.spare = ci;
      else {
        this.dropChunk(p, ci);
        return;
      }
    } else c.freed.push(reg - ci * p.perChunk);
    if (!c.inAvail) {
      p.avail.push(ci);
      c.inAvail = true;
    }
  }

  /** Gives the empty chunks kept for reuse back to the system. */
  trim(): void {
    for (const p of this.pools) {
      if (p.spare >= 0) this.dropChunk(p, p.spare);
      p.spare = -1;
    }
  }

  /** Points qf/qfo/qu/quo/qcap at region `reg` of pool `pi`. */
  view(pi: number, reg: number): void {
    const p = this.pools[pi];
    const ci = Math.floor(reg / p.perChunk);
    const i = reg - ci * p.perChunk;
    const c = p.chunks[ci];
    this.qf = c.f!;
    this.qfo = i * p.cap * this.w;
    this.qu = c.u!;
    this.quo = i * p.cap;
    this.qcap = p.cap;
  }

  /** Bytes of the chunks held. */
  allocatedBytes(): number {
    let n = 0;
    for (const p of this.pools) for (const c of p.chunks) n += (c.f?.byteLength ?? 0) + (c.u?.byteLength ?? 0);
    return n;
  }

  private dropChunk(p: Pool, ci: number): void {
    const c = p.chunks[ci];
    c.f = undefined;
    c.u = undefined;
    if (c.inAvail) {
      p.avail.splice(p.avail.lastIndexOf(ci), 1);
      c.inAvail = false;
    }
    p.dead.push(ci);
  }
}
