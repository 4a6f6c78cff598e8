/**
 * The capture file reader: classic pcap in either byte order with micro- or nanosecond timestamps;
 * pcapng with several sections and interfaces of different link types, EPB/SPB/PB; fed in chunks
 * of any size, so that a file of any size is read
 * in bounded memory. Records that straddle chunks are carried over (a copy of the part seen).
 * Pure; never throws: damage stops the reading and is reported in `stats.error`.
 */
import { be32, le32 } from '../bytes.ts';

export type PcapFormat = 'pcap' | 'pcapng' | 'unknown';

export type PcapErrorCode =
  /** The file starts with neither a pcap magic nor a pcapng section header. */
  | 'PCAP_BAD_MAGIC'
  /** The file ends inside a header, record or block. */
  | 'PCAP_TRUNCATED'
  /** A length field that cannot be right (block length < 12 or not a multiple of 4, mismatched trailer...). */
  | 'PCAP_BAD_BLOCK'
  /** A pcapng packet refers to an interface that was never described. */
  | 'PCAP_BAD_INTERFACE';

export interface PcapStats {
  format: PcapFormat;
  packets: number;
  /** pcapng blocks skipped (unknown types, statistics, name resolution...). */
  skippedBlocks: number;
  /** Set when reading stopped early. */
  error: { code: PcapErrorCode; message: string; offset: number } | null;
}

export function newPcapStats(): PcapStats {
  return { format: 'unknown', packets: 0, skippedBlocks: 0, error: null };
}

/** One packet: `buf[start, end)` holds its captured bytes (valid only during the call). */
export type PacketHandler = (linkType: number, buf: Buffer, start: number, end: number, origLen: number, timeMs: number, interfaceId: number) => void;

const PCAP_US_BE = 0xa1b2c3d4;
const PCAP_US_LE = 0xd4c3b2a1;
const PCAP_NS_BE = 0xa1b23c4d;
const PCAP_NS_LE = 0x4d3cb2a1;
const NG_SHB = 0x0a0d0d0a;
const NG_IDB = 0x00000001;
const NG_PB = 0x00000002;
const NG_SPB = 0x00000003;
const NG_EPB = 0x00000006;

/** Largest record or block accepted, bytes: more is damage, not a packet. */
const MAX_RECORD = 64 * 1024 * 1024;

interface Iface {
  linkType: number;
  unitsPerSec: number;
  offsetSec: number;
}

const S_MAGIC = 0;
const S_CLASSIC = 1;
const S_NG = 2;
const S_DONE = 3;

export class PcapStreamReader {
  readonly stats: PcapStats = newPcapStats();
  /** Bytes of the file consumed so far (whole records). */
  consumed = 0;
  private state = S_MAGIC;
  private rest: Buffer | null = null;
  private le = false;
  private nano = false;
  private linkType = 0;
  private snaplen = 0;
  private ifaces: Iface[] = [];
  private lastTime = 0;
  /** File offset of the first byte of the buffer being parsed. */
  private base = 0;

  constructor(private readonly onPacket: PacketHandler) {}

  /** Bytes carried over, waiting for the rest of a record. */
  get heldBytes(): number {
    return this.rest?.length ?? 0;
  }

  /**
   * Feeds the next chunk of the file. The handler is called for every packet it completes. A
   * record that straddles chunks is joined from the bytes held and just the part of this chunk it
   * needs; the records after it are read in place (the chunk is never copied as a whole).
   */
  push(chunk: Buffer): void {
    if (this.state === S_DONE || chunk.length === 0) return;
    let pos = 0;
    while (this.rest !== null) {
      const held = this.rest;
      const take = Math.min(chunk.length - pos, Math.max(0, this.unitLength(held) - held.length));
      const b = take > 0 ? Buffer.concat([held, chunk.subarray(pos, pos + take)], held.length + take) : held;
      pos += take;
      const state = this.state;
      const used = this.parse(b, 0, this.consumed);
      this.consumed += used;
      // what is held is always a copy (never a view of a chunk the caller may reuse)
      this.rest = this.state !== S_DONE && used < b.length ? b.subarray(used) : null;
      if (this.state === S_DONE || pos === chunk.length) return;
      if (this.rest !== null && take === 0 && used === 0 && this.state === state) {
        // no progress (cannot happen while unitLength agrees with the parsers): join it all
        const all = Buffer.concat([held, chunk.subarray(pos)]);
        const u = this.parse(all, 0, this.consumed);
        this.consumed += u;
        this.rest = this.state !== S_DONE && u < all.length ? all.subarray(u) : null;
        return;
      }
    }
    const used = this.parse(chunk, pos, this.consumed - pos);
    this.consumed += used - pos;
    if (this.state !== S_DONE && used < chunk.length) this.rest = Buffer.from(chunk.subarray(used));
  }

  /**
   * Bytes of the unit (global header, record or block) that starts at b[0], as far as b tells:
   * its whole length once its header is there, else the length of the header that tells it.
   */
  private unitLength(b: Buffer): number {
    if (this.state === S_MAGIC) return 24;
    if (this.state === S_CLASSIC) return b.length < 16 ? 16 : 16 + this.u32(b, 8);
    if (b.length < 12) return 12;
    if (b.readUInt32BE(0) !== NG_SHB) return this.u32(b, 4);
    const bom = b.readUInt32BE(8);
    return bom === 0x4d3c2b1a ? b.readUInt32LE(4) : b.readUInt32BE(4);
  }

  /** End of the file: an incomplete record left over is reported as PCAP_TRUNCATED. */
  end(): PcapStats {
    if (this.state === S_DONE) return this.stats;
    const held = this.rest?.length ?? 0;
    if (this.state === S_MAGIC) {
      // only a classic header shorter than 24 bytes stays here with 4 bytes or more
      this.fail('PCAP_TRUNCATED', held < 4 ? `${held} bytes, not a capture file` : 'file ends inside the global header', 0);
    } else if (held > 0) {
      const what = this.state === S_CLASSIC ? (this.consumed === 0 ? 'the global header' : 'a record') : 'a block';
      this.fail('PCAP_TRUNCATED', `file ends inside ${what}`, this.consumed);
    }
    this.rest = null;
    this.state = S_DONE;
    return this.stats;
  }

  private fail(code: PcapErrorCode, message: string, offset: number): void {
    this.stats.error = { code, message, offset };
    this.state = S_DONE;
    this.rest = null;
  }

  private u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  private u16(b: Buffer, o: number): number {
    return this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }

  /**
   * Parses what it can of b from `start`; returns the offset where it stopped. `base` is the
   * file offset of b[0] (for the offsets errors report).
   */
  private parse(b: Buffer, start: number, base: number): number {
    this.base = base;
    let off = start;
    if (this.state === S_MAGIC) {
      if (b.length - off < 4) return off;
      const magic = b.readUInt32BE(off);
      if (magic === NG_SHB) {
        this.state = S_NG;
        this.stats.format = 'pcapng';
      } else if (magic === PCAP_US_BE || magic === PCAP_US_LE || magic === PCAP_NS_BE || magic === PCAP_NS_LE) {
        if (b.length - off < 24) return off;
        this.state = S_CLASSIC;
        this.stats.format = 'pcap';
        this.le = magic === PCAP_US_LE || magic === PCAP_NS_LE;
        this.nano = magic === PCAP_NS_BE || magic === PCAP_NS_LE;
        this.snaplen = this.u32(b, off + 16);
        this.linkType = this.u32(b, off + 20) & 0xffff;
        off += 24;
      } else {
        this.fail('PCAP_BAD_MAGIC', `unknown magic 0x${magic.toString(16)}`, base + off);
        return off;
      }
    }
    return this.state === S_CLASSIC ? this.classic(b, off) : this.ng(b, off);
  }

  private classic(b: Buffer, start: number): number {
    const n = b.length;
    const le = this.le;
    const div = this.nano ? 1e6 : 1e3;
    const linkType = this.linkType;
    const maxIncl = Math.max(this.snaplen, 262144);
    const onPacket = this.onPacket;
    const stats = this.stats;
    let off = start;
    while (n - off >= 16) {
      // (the 16 header bytes are there: read without Buffer's checked readUInt32, a tenth of the loop)
      const sec = le ? le32(b, off) : be32(b, off);
      const frac = le ? le32(b, off + 4) : be32(b, off + 4);
      const incl = le ? le32(b, off + 8) : be32(b, off + 8);
      const orig = le ? le32(b, off + 12) : be32(b, off + 12);
      if (incl > MAX_RECORD || (incl > maxIncl && incl > MAX_RECORD / 4)) {
        this.fail('PCAP_BAD_BLOCK', `record claims ${incl} captured bytes`, this.base + off + 8);
        return off;
      }
      if (n - off - 16 < incl) break;
      stats.packets++;
      onPacket(linkType, b, off + 16, off + 16 + incl, orig, sec * 1000 + frac / div, 0);
      off += 16 + incl;
    }
    return off;
  }

  private ng(b: Buffer, start: number): number {
    const n = b.length;
    let off = start;
    while (n - off >= 12) {
      const isShb = b.readUInt32BE(off) === NG_SHB;
      if (isShb) {
        const bom = b.readUInt32BE(off + 8);
        if (bom === 0x1a2b3c4d) this.le = false;
        else if (bom === 0x4d3c2b1a) this.le = true;
        else {
          this.fail('PCAP_BAD_BLOCK', 'section header with an unknown byte-order magic', this.base + off + 8);
          return off;
        }
      }
      const type = isShb ? NG_SHB : this.u32(b, off);
      const len = this.u32(b, off + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
        this.fail('PCAP_BAD_BLOCK', `block length ${len}`, this.base + off + 4);
        return off;
      }
      if (len > n - off) break;
      if (this.u32(b, off + len - 4) !== len) {
        this.fail('PCAP_BAD_BLOCK', 'block trailer length does not match', this.base + off + len - 4);
        return off;
      }
      if (!this.block(b, type, off, len)) return off;
      off += len;
    }
    return off;
  }

  /** One complete pcapng block; false on damage (already reported). */
  private block(b: Buffer, type: number, off: number, len: number): boolean {
    const body = off + 8;
    const end = off + len - 4;
    const at = this.base + off;
    switch (type) {
      case NG_SHB:
        this.ifaces = [];
        return true;
      case NG_IDB: {
        if (end - body < 8) return this.bad('PCAP_BAD_BLOCK', 'interface description block too short', at);
        const iface: Iface = { linkType: this.u16(b, body), unitsPerSec: 1e6, offsetSec: 0 };
        let o = body + 8;
        while (end - o >= 4) {
          const code = this.u16(b, o);
          const olen = this.u16(b, o + 2);
          if (code === 0 || o + 4 + olen > end) break;
          if (code === 9 && olen >= 1) {
            const r = b[o + 4];
            iface.unitsPerSec = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
          } else if (code === 14 && olen === 8) {
            const hi = this.le ? b.readInt32LE(o + 8) : b.readInt32BE(o + 4);
            const lo = this.le ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 8);
            iface.offsetSec = hi * 4294967296 + lo;
          }
          o += 4 + ((olen + 3) & ~3);
        }
        this.ifaces.push(iface);
        return true;
      }
      case NG_EPB:
      case NG_PB: {
        if (end - body < 20) return this.bad('PCAP_BAD_BLOCK', 'packet block too short', at);
        const id = type === NG_EPB ? this.u32(b, body) : this.u16(b, body);
        const iface = this.ifaces[id];
        if (iface === undefined) return this.bad('PCAP_BAD_INTERFACE', `packet on undescribed interface ${id}`, at + 8);
        const ts = this.u32(b, body + 4) * 4294967296 + this.u32(b, body + 8);
        const cap = this.u32(b, body + 12);
        const orig = this.u32(b, body + 16);
        if (cap > end - body - 20) return this.bad('PCAP_BAD_BLOCK', `captured length ${cap} exceeds the block`, at + 20);
        this.lastTime = (iface.offsetSec + ts / iface.unitsPerSec) * 1000;
        this.stats.packets++;
        this.onPacket(iface.linkType, b, body + 20, body + 20 + cap, orig, this.lastTime, id);
        return true;
      }
      case NG_SPB: {
        if (end - body < 4) return this.bad('PCAP_BAD_BLOCK', 'simple packet block too short', at);
        const iface = this.ifaces[0];
        if (iface === undefined) return this.bad('PCAP_BAD_INTERFACE', 'simple packet block without an interface', at);
        const orig = this.u32(b, body);
        const cap = Math.min(orig, end - body - 4);
        this.stats.packets++;
        this.onPacket(iface.linkType, b, body + 4, body + 4 + cap, orig, this.lastTime, 0);
        return true;
      }
      default:
        this.stats.skippedBlocks++;
        return true;
    }
  }

  private bad(code: PcapErrorCode, message: string, offset: number): boolean {
    this.fail(code, message, offset);
    return false;
  }
}
