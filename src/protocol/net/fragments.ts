import { DEFAULTS } from '../../defaults.ts';
/**
 * IPv4 and IPv6 fragment reassembly. Pure and bounded: at most `maxDatagrams` datagrams and
 * `maxBytes` bytes held; a datagram not completed within `timeoutMs` of capture time (or evicted
 * to make room, or still open at the end) is counted as incomplete. Fragments may come in any
 * order, repeated or overlapping (the bytes that arrived first win).
 */

export interface FragmentOptions {
  maxDatagrams?: number;
  maxBytes?: number;
  timeoutMs?: number;
}

/** The bounds a fragment table has unless told otherwise (docs/kpis.md states them: a test keeps the two in step). */
export const FRAGMENT_DEFAULTS: Readonly<Required<FragmentOptions>> = DEFAULTS.fragments;

interface Part {
  off: number;
  data: Uint8Array;
}

interface Pending {
  parts: Part[];
  bytes: number;
  /** Length of the whole datagram payload once the last fragment was seen; -1 before. */
  total: number;
  firstMs: number;
}

/** Largest reassembled payload, bytes (IPv4 total length is 16 bits; so is the IPv6 payload length). */
const MAX_DATAGRAM = 65535;

export class FragmentTable {
  private readonly table = new Map<string, Pending>();
  private bytes = 0;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  /** Datagrams given up (expired, evicted, flushed at the end). */
  incomplete = 0;
  /** Fragments that cannot be right (beyond 64 KiB, conflicting last fragments). */
  malformed = 0;

  constructor(o: FragmentOptions = {}) {
    this.maxDatagrams = o.maxDatagrams ?? FRAGMENT_DEFAULTS.maxDatagrams;
    this.maxBytes = o.maxBytes ?? FRAGMENT_DEFAULTS.maxBytes;
    this.timeoutMs = o.timeoutMs ?? FRAGMENT_DEFAULTS.timeoutMs;
  }

  get size(): number {
    return this.table.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * Adds a fragment (its data is copied). Returns the reassembled payload when this fragment
   * completes its datagram, else null.
   */
  add(key: string, offset: number, data: Uint8Array, more: boolean, timeMs: number): Buffer | null {
    if (offset + data.length > MAX_DATAGRAM || (more && data.length === 0)) {
      this.malformed++;
      return null;
    }
    let p = this.table.get(key);
    if (p === undefined) {
      while (this.table.size >= this.maxDatagrams) this.dropOldest();
      p = { parts: [], bytes: 0, total: -1, firstMs: timeMs };
      this.table.set(key, p);
    }
    if (!more) {
      const total = offset + data.length;
      if (p.total >= 0 && p.total !== total) {
        this.malformed++;
        this.remove(key, p);
        this.incomplete++;
        return null;
      }
      p.total = total;
    }
    p.parts.push({ off: offset, data: data.slice() });
    p.bytes += data.length;
    this.bytes += data.length;
    if (p.total >= 0) {
      const out = this.assemble(p);
      if (out !== null) {
        this.remove(key, p);
        return out;
      }
    }
    while (this.bytes > this.maxBytes && this.table.size > 0) {
      const first = this.table.keys().next().value as string;
      const gone = first === key;
      this.dropOldest();
      if (gone) break;
    }
    return null;
  }

  /** Gives up on datagrams older than the timeout at `nowMs` (capture time). */
  expire(nowMs: number): void {
    for (const [key, p] of this.table) {
      if (nowMs - p.firstMs < this.timeoutMs) break; // insertion order = age order
      this.remove(key, p);
      this.incomplete++;
    }
  }

  /** End of the capture: whatever is still open is incomplete. */
  flush(): void {
    this.incomplete += this.table.size;
    this.table.clear();
    this.bytes = 0;
  }

  private dropOldest(): void {
    const it = this.table.entries().next();
    if (it.done === true) return;
    this.remove(it.value[0], it.value[1]);
    this.incomplete++;
  }

  private remove(key: string, p: Pending): void {
    this.table.delete(key);
    this.bytes -= p.bytes;
  }

  /** The whole payload when [0, total) is covered, else null. */
  private assemble(p: Pending): Buffer | null {
    const parts = p.parts.length > 1 ? [...p.parts].sort((a, b) => a.off - b.off) : p.parts;
    let covered = 0;
    for (const x of parts) {
      if (x.off > covered) return null;
      covered = Math.max(covered, x.off + x.data.length);
    }
    if (covered < p.total) return null;
    const out = Buffer.alloc(p.total);
    // latest arrival first, so that the bytes that arrived first are written last and win
    for (let i = p.parts.length - 1; i >= 0; i--) {
      const x = p.parts[i];
      const n = Math.min(x.data.length, p.total - x.off);
      if (n > 0) out.set(n === x.data.length ? x.data : x.data.subarray(0, n), x.off);
    }
    return out;
  }
}
