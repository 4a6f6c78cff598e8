/**
 * Blocks of numbers of any length in one growing Float64Array: the sparse series' entries of a
 * profile (no array object per series). A block is never grown in place: its owner takes a new one
 * and frees the old, which goes to a free list by length (lengths are small and few: at most a
 * sparse budget plus one entry). `alloc` may move `pool` (offsets stay valid); `compact` packs the
 * live blocks once the free ones outweigh them. Pure; ProfileRuntime's.
 */
export class BlockPool {
  /** The numbers; re-read after `alloc` (it may replace the array). */
  pool: Float64Array;
  /** End of the used part. */
  private top = 0;
  /** Free blocks by length. */
  private freeBy: number[][] = [];
  /** Numbers held by free blocks. */
  freeDoubles = 0;

  constructor(initial: number) {
    this.pool = new Float64Array(initial);
  }

  /** A block of `n` numbers (a free one of that length, else at the end; the array grows by half when full). */
  alloc(n: number): number {
    if (n === 0) return 0;
    const free = this.freeBy[n];
    if (free !== undefined && free.length > 0) {
      this.freeDoubles -= n;
      return free.pop()!;
    }
    if (this.top + n > this.pool.length) {
      const p = new Float64Array(Math.max(Math.ceil(this.pool.length * 1.5), this.top + n));
      p.set(this.pool.subarray(0, this.top));
      this.pool = p;
    }
    const b = this.top;
    this.top += n;
    return b;
  }

  /** Block (b, n) is no longer used (n = 0: none). */
  free(b: number, n: number): void {
    if (n <= 0) return;
    (this.freeBy[n] ??= []).push(b);
    this.freeDoubles += n;
  }

  /** Free blocks hold more than half of what is used. */
  get mostlyFree(): boolean {
    return this.freeDoubles * 2 > this.top;
  }

  /**
   * Packs the live blocks at the start of a new array: `live` calls `visit(b, n)` for each live
   * block, which copies it and returns its new offset.
   */
  compact(live: (visit: (b: number, n: number) => number) => void): void {
    const p = new Float64Array(Math.max(256, (this.top - this.freeDoubles) * 2));
    let top = 0;
    live((b, n) => {
      p.set(this.pool.subarray(b, b + n), top);
      top += n;
      return top - n;
    });
    this.pool = p;
    this.top = top;
    this.freeBy = [];
    this.freeDoubles = 0;
  }
}
