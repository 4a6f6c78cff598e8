/**
 * Capture file reader: classic pcap (either byte order, micro- or nanosecond timestamps) and
 * pcapng (SHB, IDB with if_tsresol/if_tsoffset, EPB, SPB, the obsolete PB; either byte order,
 * several sections). Pure: takes the whole file as a Buffer, never throws. A truncated or
 * malformed file yields the packets before the damage and reports it in the stats.
 */

export interface PcapPacket {
  /** Capture time, milliseconds since the epoch (fractional). SPB packets carry no time: they
   *  get the time of the previous packet (0 if none). */
  timeMs: number;
  /** LINKTYPE_* of the interface (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2, 0 null...). */
  linkType: number;
  /** Captured bytes: a subarray of the file buffer. */
  data: Buffer;
  /** Length on the wire (may exceed data.length when the capture was sliced). */
  origLen: number;
  /** pcapng interface id; 0 for classic pcap. */
  interfaceId: number;
}

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

export interface PcapReadResult {
  packets: PcapPacket[];
  stats: PcapStats;
}

const PCAP_US_BE = 0xa1b2c3d4;
const PCAP_US_LE = 0xd4c3b2a1;
const PCAP_NS_BE = 0xa1b23c4d;
const PCAP_NS_LE = 0x4d3cb2a1;
const NG_SHB = 0x0a0d0d0a;
const NG_BOM = 0x1a2b3c4d;
const NG_IDB = 0x00000001;
const NG_PB = 0x00000002;
const NG_SPB = 0x00000003;
const NG_EPB = 0x00000006;

/** Reads the whole file into a list. */
export function readPcap(buf: Buffer): PcapReadResult {
  const stats = newPcapStats();
  const packets: PcapPacket[] = [];
  for (const p of iteratePcap(buf, stats)) packets.push(p);
  return { packets, stats };
}

/** Yields the packets of a pcap or pcapng file; progress and problems land in `stats`. */
export function* iteratePcap(buf: Buffer, stats: PcapStats = newPcapStats()): Generator<PcapPacket, PcapStats, undefined> {
  if (buf.length < 4) {
    stats.error = { code: 'PCAP_TRUNCATED', message: `${buf.length} bytes, not a capture file`, offset: 0 };
    return stats;
  }
  const magic = buf.readUInt32BE(0);
  if (magic === NG_SHB) {
    stats.format = 'pcapng';
    yield* readNg(buf, stats);
  } else if (magic === PCAP_US_BE || magic === PCAP_US_LE || magic === PCAP_NS_BE || magic === PCAP_NS_LE) {
    stats.format = 'pcap';
    yield* readClassic(buf, stats, magic);
  } else {
    stats.error = { code: 'PCAP_BAD_MAGIC', message: `unknown magic 0x${magic.toString(16)}`, offset: 0 };
  }
  return stats;
}

function* readClassic(buf: Buffer, stats: PcapStats, magic: number): Generator<PcapPacket, void, undefined> {
  const le = magic === PCAP_US_LE || magic === PCAP_NS_LE;
  const nano = magic === PCAP_NS_BE || magic === PCAP_NS_LE;
  const u32 = le ? (o: number) => buf.readUInt32LE(o) : (o: number) => buf.readUInt32BE(o);
  if (buf.length < 24) {
    stats.error = { code: 'PCAP_TRUNCATED', message: 'file ends inside the global header', offset: 0 };
    return;
  }
  const linkType = u32(20) & 0xffff;
  const snaplen = u32(16);
  let off = 24;
  while (off < buf.length) {
    if (buf.length - off < 16) {
      stats.error = { code: 'PCAP_TRUNCATED', message: 'file ends inside a record header', offset: off };
      return;
    }
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const orig = u32(off + 12);
    if (incl > Math.max(snaplen, 262144) && incl > buf.length - off - 16) {
      stats.error = { code: 'PCAP_BAD_BLOCK', message: `record claims ${incl} captured bytes`, offset: off + 8 };
      return;
    }
    if (buf.length - off - 16 < incl) {
      stats.error = { code: 'PCAP_TRUNCATED', message: 'file ends inside a packet', offset: off };
      return;
    }
    const data = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    stats.packets++;
    yield { timeMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), linkType, data, origLen: orig, interfaceId: 0 };
  }
}

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSec: number;
  /** if_tsoffset, seconds. */
  offsetSec: number;
}

function* readNg(buf: Buffer, stats: PcapStats): Generator<PcapPacket, void, undefined> {
  let le = false;
  let ifaces: Iface[] = [];
  let lastTime = 0;
  let off = 0;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const fail = (code: PcapErrorCode, message: string, offset: number): void => {
    stats.error = { code, message, offset };
  };
  while (off < buf.length) {
    if (buf.length - off < 12) return fail('PCAP_TRUNCATED', 'file ends inside a block header', off);
    const type = buf.readUInt32BE(off) === NG_SHB ? NG_SHB : u32(off);
    if (type === NG_SHB) {
      // the byte-order magic decides how this section (this block's length included) is read
      const bom = buf.readUInt32BE(off + 8);
      if (bom === NG_BOM) le = false;
      else if (bom === 0x4d3c2b1a) le = true;
      else return fail('PCAP_BAD_BLOCK', 'section header with an unknown byte-order magic', off + 8);
      ifaces = [];
    }
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0) return fail('PCAP_BAD_BLOCK', `block length ${len}`, off + 4);
    if (len > buf.length - off) return fail('PCAP_TRUNCATED', 'file ends inside a block', off);
    if (u32(off + len - 4) !== len) return fail('PCAP_BAD_BLOCK', 'block trailer length does not match', off + len - 4);
    const body = off + 8;
    const end = off + len - 4;
    switch (type) {
      case NG_SHB:
        break;
      case NG_IDB: {
        if (end - body < 8) return fail('PCAP_BAD_BLOCK', 'interface description block too short', off);
        const iface: Iface = { linkType: u16(body), unitsPerSec: 1e6, offsetSec: 0 };
        // options: code u16, length u16, value padded to 4
        let o = body + 8;
        while (end - o >= 4) {
          const code = u16(o);
          const olen = u16(o + 2);
          if (code === 0 || o + 4 + olen > end) break;
          if (code === 9 && olen >= 1) {
            const r = buf[o + 4];
            iface.unitsPerSec = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
          } else if (code === 14 && olen === 8) {
            const hi = le ? buf.readInt32LE(o + 8) : buf.readInt32BE(o + 4);
            const lo = le ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o + 8);
            iface.offsetSec = hi * 4294967296 + lo;
          }
          o += 4 + ((olen + 3) & ~3);
        }
        ifaces.push(iface);
        break;
      }
      case NG_EPB:
      case NG_PB: {
        if (end - body < 20) return fail('PCAP_BAD_BLOCK', 'packet block too short', off);
        const id = type === NG_EPB ? u32(body) : u16(body);
        const iface = ifaces[id];
        if (iface === undefined) return fail('PCAP_BAD_INTERFACE', `packet on undescribed interface ${id}`, off + 8);
        const ts = u32(body + 4) * 4294967296 + u32(body + 8);
        const cap = u32(body + 12);
        const orig = u32(body + 16);
        if (cap > end - body - 20) return fail('PCAP_BAD_BLOCK', `captured length ${cap} exceeds the block`, off + 20);
        lastTime = (iface.offsetSec + ts / iface.unitsPerSec) * 1000;
        stats.packets++;
        yield { timeMs: lastTime, linkType: iface.linkType, data: buf.subarray(body + 20, body + 20 + cap), origLen: orig, interfaceId: id };
        break;
      }
      case NG_SPB: {
        if (end - body < 4) return fail('PCAP_BAD_BLOCK', 'simple packet block too short', off);
        const iface = ifaces[0];
        if (iface === undefined) return fail('PCAP_BAD_INTERFACE', 'simple packet block without an interface', off);
        const orig = u32(body);
        const cap = Math.min(orig, end - body - 4);
        stats.packets++;
        yield { timeMs: lastTime, linkType: iface.linkType, data: buf.subarray(body + 4, body + 4 + cap), origLen: orig, interfaceId: 0 };
        break;
      }
      default:
        stats.skippedBlocks++;
    }
    off += len;
  }
}
