/**
 * Incremental HEP3 framer for byte streams (HEP over TCP). Pure: no sockets, no timers.
 *
 * Feed it chunks as they arrive; it returns the complete frames found so far, using the total
 * length in each frame header. Bytes that cannot start a frame are skipped up to the next "HEP3"
 * and counted as garbage. A header that claims a length below 6 or above `maxFrameLength`, or (by
 * default) whose chunk chain does not add up to its length, is counted as a bad frame and the
 * framer resynchronises one byte further on, so a fake "HEP3" inside garbage cannot swallow the
 * real frames after it. It holds at most one incomplete frame (<= maxFrameLength bytes).
 *
 * Returned frames are subarrays of the input chunks when a frame lies inside one chunk (zero
 * copy) and of a fresh buffer when it spans several: do not reuse a chunk's memory after push().
 */
import { HEP3_MAGIC } from './decode.ts';

export interface HepFramerOptions {
  /** Largest frame accepted, bytes (default 65535, the most a u16 length can claim). */
  maxFrameLength?: number;
  /** Check that a frame's chunk lengths add up to its total length before emitting it (default true). */
  validateChunks?: boolean;
}

export interface HepFramerStats {
  /** Frames emitted. */
  frames: number;
  /** Bytes skipped while looking for "HEP3" (including the bytes of bad frame headers). */
  garbageBytes: number;
  /** Headers with an impossible length or (validateChunks) a broken chunk chain. */
  badFrames: number;
  /** Headers claiming more than maxFrameLength (also counted in badFrames). */
  oversizeFrames: number;
}

const MAGIC = Buffer.from('HEP3', 'latin1');
const NO_FRAMES: readonly Buffer[] = Object.freeze([]) as readonly Buffer[];

export class HepStreamFramer {
  readonly stats: HepFramerStats = { frames: 0, garbageBytes: 0, badFrames: 0, oversizeFrames: 0 };
  private readonly maxFrame: number;
  private readonly validate: boolean;
  /** Incomplete data starting at a possible frame start (a prefix of "HEP3" or a whole header). */
  private head: Buffer | null = null;
  /** Chunks received after `head` while waiting for `need` bytes in total. */
  private tail: Buffer[] = [];
  private tailLen = 0;
  private need = 0;

  constructor(options: HepFramerOptions = {}) {
    this.maxFrame = Math.min(0xffff, Math.max(6, options.maxFrameLength ?? 0xffff));
    this.validate = options.validateChunks ?? true;
  }

  /** Bytes held back, waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return (this.head?.length ?? 0) + this.tailLen;
  }

  /** Feeds a chunk; returns the frames it completed (possibly none). Never throws. */
  push(chunk: Buffer): readonly Buffer[] {
    if (chunk.length === 0) return NO_FRAMES;
    let data: Buffer;
    const head = this.head;
    if (head === null) {
      data = chunk;
    } else if (head.length >= 6) {
      this.tail.push(chunk);
      this.tailLen += chunk.length;
      if (head.length + this.tailLen < this.need) return NO_FRAMES;
      this.tail.unshift(head);
      data = Buffer.concat(this.tail, head.length + this.tailLen);
      this.tail = [];
      this.tailLen = 0;
    } else {
      data = Buffer.concat([head, chunk], head.length + chunk.length);
    }
    this.head = null;
    return this.scan(data);
  }

  /** End of stream: whatever is held back is an incomplete frame, counted as garbage. */
  end(): number {
    const dropped = this.bufferedBytes;
    this.stats.garbageBytes += dropped;
    this.head = null;
    this.tail = [];
    this.tailLen = 0;
    return dropped;
  }

  private scan(data: Buffer): readonly Buffer[] {
    let out: Buffer[] | null = null;
    const n = data.length;
    const stats = this.stats;
    let p = 0;
    while (p < n) {
      if (n - p < 4 || data.readUInt32BE(p) !== HEP3_MAGIC) {
        const q = data.indexOf(MAGIC, p);
        if (q >= 0) {
          stats.garbageBytes += q - p;
          p = q;
          continue;
        }
        // keep a trailing prefix of "HEP3" that the next chunk may complete
        let keep = Math.max(p, n - 3);
        while (keep < n && !isMagicPrefix(data, keep, n)) keep++;
        stats.garbageBytes += keep - p;
        if (keep < n) this.hold(data.subarray(keep), 6);
        break;
      }
      if (n - p < 6) {
        this.hold(data.subarray(p), 6);
        break;
      }
      const len = data.readUInt16BE(p + 4);
      if (len < 6 || len > this.maxFrame) {
        stats.badFrames++;
        if (len > this.maxFrame) stats.oversizeFrames++;
        stats.garbageBytes++;
        p++;
        continue;
      }
      if (n - p < len) {
        this.hold(data.subarray(p), len);
        break;
      }
      if (this.validate && !chunksAddUp(data, p + 6, p + len)) {
        stats.badFrames++;
        stats.garbageBytes++;
        p++;
        continue;
      }
      (out ??= []).push(data.subarray(p, p + len));
      stats.frames++;
      p += len;
    }
    return out ?? NO_FRAMES;
  }

  private hold(rest: Buffer, need: number): void {
    this.head = rest;
    this.need = need;
  }
}

function isMagicPrefix(data: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (data[i] !== MAGIC[i - from]) return false;
  return true;
}

function chunksAddUp(data: Buffer, from: number, to: number): boolean {
  let off = from;
  while (off < to) {
    if (to - off < 6) return false;
    const len = data.readUInt16BE(off + 4);
    if (len < 6) return false;
    off += len;
  }
  return off === to;
}
