/**
 * A small capture writer for tests, fixtures and benchmarks: Ethernet or raw-IP frames carrying UDP
 * over IPv4/IPv6, classic pcap and pcapng file images, and the building blocks of the other
 * encapsulations the capture decoder reads (TCP conversations, SCTP, IP fragments, VLAN/QinQ,
 * PPPoE, MPLS, GRE, ERSPAN II/III, VXLAN, Linux cooked, loopback, WebSocket frames).
 * Pure; bad input throws E_BAD_VALUE.
 */
import { SipstatsError } from '../../src/errors.ts';
import { parseIpv4, parseIpv6 } from '../../src/protocol/ip.ts';

export interface UdpFrameInput {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** Strings are written as UTF-8. */
  payload: Uint8Array | string;
  /** Ethernet only: add an 802.1Q tag with this VLAN id. */
  vlan?: number;
}

export interface PcapRecordInput {
  timeMs: number;
  data: Uint8Array;
  /** Length on the wire; default data.length. */
  origLen?: number;
}

export interface PcapWriteOptions {
  /** LinkType.ETHERNET (1) or LinkType.RAW (101), or any other LINKTYPE for frames built elsewhere. */
  linkType: number;
  /** Nanosecond timestamps (magic a1b23c4d); default microseconds. */
  nanosecond?: boolean;
  /** Write a little-endian file; default big-endian. */
  littleEndian?: boolean;
  snaplen?: number;
}

function bad(detail: string): never {
  throw new SipstatsError('E_BAD_VALUE', `pcap writer: ${detail}`);
}

/** Internet checksum over `b[s, e)` plus an initial sum. */
function checksum(b: Uint8Array, s: number, e: number, sum = 0): number {
  for (let i = s; i + 1 < e; i += 2) sum += (b[i] << 8) | b[i + 1];
  if ((e - s) % 2 === 1) sum += b[e - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Builds an IPv4 or IPv6 (chosen by the address text) + UDP packet, framed for `link`. */
export function buildUdpFrame(input: UdpFrameInput, link: 'ethernet' | 'raw'): Buffer {
  const payload = typeof input.payload === 'string' ? Buffer.from(input.payload, 'utf8') : input.payload;
  const v6 = input.srcIp.includes(':');
  const ipLen = v6 ? 40 : 20;
  const l2 = link === 'ethernet' ? 14 + (input.vlan === undefined ? 0 : 4) : 0;
  const udpLen = 8 + payload.length;
  if (udpLen + (v6 ? 0 : ipLen) > 0xffff) bad('payload too large');
  const out = Buffer.alloc(l2 + ipLen + udpLen);

  if (link === 'ethernet') {
    out.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
    let o = 12;
    if (input.vlan !== undefined) {
      out.writeUInt16BE(0x8100, o);
      out.writeUInt16BE(input.vlan & 0x0fff, o + 2);
      o += 4;
    }
    out.writeUInt16BE(v6 ? 0x86dd : 0x0800, o);
  }
  const ip = l2;
  if (v6) {
    out.writeUInt32BE(0x60000000, ip);
    out.writeUInt16BE(udpLen, ip + 4);
    out[ip + 6] = 17;
    out[ip + 7] = 64;
    if (!parseIpv6(input.srcIp, out, ip + 8)) bad(`srcIp ${input.srcIp}`);
    if (!parseIpv6(input.dstIp, out, ip + 24)) bad(`dstIp ${input.dstIp}`);
  } else {
    out[ip] = 0x45;
    out.writeUInt16BE(ipLen + udpLen, ip + 2);
    out[ip + 8] = 64;
    out[ip + 9] = 17;
    if (!parseIpv4(input.srcIp, out, ip + 12)) bad(`srcIp ${input.srcIp}`);
    if (!parseIpv4(input.dstIp, out, ip + 16)) bad(`dstIp ${input.dstIp}`);
    out.writeUInt16BE(checksum(out, ip, ip + 20), ip + 10);
  }
  const u = ip + ipLen;
  out.writeUInt16BE(input.srcPort, u);
  out.writeUInt16BE(input.dstPort, u + 2);
  out.writeUInt16BE(udpLen, u + 4);
  out.set(payload, u + 8);
  if (v6) {
    // pseudo-header: addresses, UDP length, next header
    let sum = 17 + udpLen;
    for (let i = ip + 8; i < ip + 40; i += 2) sum += (out[i] << 8) | out[i + 1];
    const c = checksum(out, u, u + udpLen, sum);
    out.writeUInt16BE(c === 0 ? 0xffff : c, u + 6);
  }
  return out;
}

/** Writes a classic pcap file image. */
export function writePcap(records: readonly PcapRecordInput[], options: PcapWriteOptions): Buffer {
  const nano = options.nanosecond ?? false;
  const le = options.littleEndian ?? false;
  let size = 24;
  for (const r of records) size += 16 + r.data.length;
  const out = Buffer.alloc(size);
  const u32 = (v: number, o: number): void => {
    if (le) out.writeUInt32LE(v >>> 0, o);
    else out.writeUInt32BE(v >>> 0, o);
  };
  const u16 = (v: number, o: number): void => {
    if (le) out.writeUInt16LE(v, o);
    else out.writeUInt16BE(v, o);
  };
  u32(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(2, 4);
  u16(4, 6);
  u32(0, 8);
  u32(0, 12);
  u32(options.snaplen ?? 262144, 16);
  u32(options.linkType, 20);
  let o = 24;
  const scale = nano ? 1e6 : 1e3;
  const max = nano ? 999999999 : 999999;
  for (const r of records) {
    const sec = Math.floor(r.timeMs / 1000);
    u32(sec, o);
    u32(Math.min(max, Math.round((r.timeMs - sec * 1000) * scale)), o + 4);
    u32(r.data.length, o + 8);
    u32(r.origLen ?? r.data.length, o + 12);
    out.set(r.data, o + 16);
    o += 16 + r.data.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building blocks for captures of every encapsulation the capture decoder reads (tests, bench).
// Each returns a fresh Buffer; compose them from the inside out.

function bytesOf(p: Uint8Array | string): Uint8Array {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

function addrBytes(ip: string): Uint8Array {
  const v6 = ip.includes(':');
  const b = new Uint8Array(v6 ? 16 : 4);
  if (!(v6 ? parseIpv6(ip, b, 0) : parseIpv4(ip, b, 0))) bad(`address ${ip}`);
  return b;
}

/** Sum of the TCP/UDP pseudo-header (RFC 768/793, RFC 8200 §8.1). */
function pseudoSum(srcIp: string, dstIp: string, proto: number, len: number): number {
  const s = addrBytes(srcIp);
  const d = addrBytes(dstIp);
  let sum = proto + (len >>> 16) + (len & 0xffff);
  for (const a of [s, d]) for (let i = 0; i < a.length; i += 2) sum += (a[i] << 8) | a[i + 1];
  return sum;
}

export interface IpPacketInput {
  srcIp: string;
  dstIp: string;
  /** IP protocol number of the payload (17 UDP, 6 TCP, 132 SCTP, 47 GRE, 4/41 IP-in-IP...). */
  protocol: number;
  payload: Uint8Array;
  /** IPv4 identification (also used as the IPv6 fragment id by fragmentIp). Default 1. */
  id?: number;
  ttl?: number;
}

/** An IPv4 or IPv6 (by the address text) packet around `payload`. */
export function ipPacket(p: IpPacketInput): Buffer {
  const v6 = p.srcIp.includes(':');
  if (v6) {
    if (p.payload.length > 0xffff) bad('payload too large');
    const out = Buffer.alloc(40 + p.payload.length);
    out.writeUInt32BE(0x60000000, 0);
    out.writeUInt16BE(p.payload.length, 4);
    out[6] = p.protocol;
    out[7] = p.ttl ?? 64;
    out.set(addrBytes(p.srcIp), 8);
    out.set(addrBytes(p.dstIp), 24);
    out.set(p.payload, 40);
    return out;
  }
  if (20 + p.payload.length > 0xffff) bad('payload too large');
  const out = Buffer.alloc(20 + p.payload.length);
  out[0] = 0x45;
  out.writeUInt16BE(out.length, 2);
  out.writeUInt16BE((p.id ?? 1) & 0xffff, 4);
  out[8] = p.ttl ?? 64;
  out[9] = p.protocol;
  out.set(addrBytes(p.srcIp), 12);
  out.set(addrBytes(p.dstIp), 16);
  out.writeUInt16BE(checksum(out, 0, 20), 10);
  out.set(p.payload, 20);
  return out;
}

/** A UDP header and payload (checksum over the pseudo-header of srcIp/dstIp). */
export function udpDatagram(srcIp: string, dstIp: string, srcPort: number, dstPort: number, payload: Uint8Array | string): Buffer {
  const pl = bytesOf(payload);
  const len = 8 + pl.length;
  if (len > 0xffff) bad('UDP payload too large');
  const out = Buffer.alloc(len);
  out.writeUInt16BE(srcPort, 0);
  out.writeUInt16BE(dstPort, 2);
  out.writeUInt16BE(len, 4);
  out.set(pl, 8);
  const c = checksum(out, 0, len, pseudoSum(srcIp, dstIp, 17, len));
  out.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  return out;
}

/** An IP packet carrying a UDP datagram. */
export function udpPacket(srcIp: string, dstIp: string, srcPort: number, dstPort: number, payload: Uint8Array | string, id?: number): Buffer {
  return ipPacket({ srcIp, dstIp, protocol: 17, payload: udpDatagram(srcIp, dstIp, srcPort, dstPort, payload), id });
}

export const TcpFlags = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface TcpSegmentInput {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  /** TcpFlags bits; default ACK (| PSH when there is a payload). */
  flags?: number;
  payload?: Uint8Array | string;
}

/** An IP packet carrying one TCP segment (checksum included). */
export function tcpPacket(s: TcpSegmentInput): Buffer {
  const pl = bytesOf(s.payload ?? new Uint8Array(0));
  const seg = Buffer.alloc(20 + pl.length);
  seg.writeUInt16BE(s.srcPort, 0);
  seg.writeUInt16BE(s.dstPort, 2);
  seg.writeUInt32BE(s.seq >>> 0, 4);
  seg.writeUInt32BE((s.ack ?? 0) >>> 0, 8);
  seg[12] = 5 << 4;
  seg[13] = s.flags ?? (TcpFlags.ACK | (pl.length > 0 ? TcpFlags.PSH : 0));
  seg.writeUInt16BE(65535, 14);
  seg.set(pl, 20);
  seg.writeUInt16BE(checksum(seg, 0, seg.length, pseudoSum(s.srcIp, s.dstIp, 6, seg.length)), 16);
  return ipPacket({ srcIp: s.srcIp, dstIp: s.dstIp, protocol: 6, payload: seg });
}

/**
 * The packets of one TCP connection carrying `messages` each way: SYN, SYN-ACK, ACK, then each
 * message as segments of at most `mss` bytes, then FIN from both sides. Returned in wire order
 * with the direction of each; tests reorder, repeat or drop them.
 */
export function tcpConversation(
  a: { ip: string; port: number },
  b: { ip: string; port: number },
  messages: readonly { fromA: boolean; data: Uint8Array | string }[],
  mss = 1400,
  isnA = 1000,
  isnB = 5_000_000,
): { fromA: boolean; packet: Buffer; payloadLength: number; message: number }[] {
  let seqA = isnA >>> 0;
  let seqB = isnB >>> 0;
  const out: { fromA: boolean; packet: Buffer; payloadLength: number; message: number }[] = [];
  let message = -1;
  const seg = (fromA: boolean, flags: number, payload?: Uint8Array) => {
    const [src, dst] = fromA ? [a, b] : [b, a];
    out.push({ fromA, packet: tcpPacket({ srcIp: src.ip, dstIp: dst.ip, srcPort: src.port, dstPort: dst.port, seq: fromA ? seqA : seqB, ack: fromA ? seqB : seqA, flags, payload }), payloadLength: payload?.length ?? 0, message });
    const n = (payload?.length ?? 0) + (flags & (TcpFlags.SYN | TcpFlags.FIN) ? 1 : 0);
    if (fromA) seqA = (seqA + n) >>> 0;
    else seqB = (seqB + n) >>> 0;
  };
  seg(true, TcpFlags.SYN);
  seg(false, TcpFlags.SYN | TcpFlags.ACK);
  seg(true, TcpFlags.ACK);
  for (const m of messages) {
    message++;
    const data = bytesOf(m.data);
    for (let o = 0; o < data.length; o += mss) seg(m.fromA, TcpFlags.ACK | TcpFlags.PSH, data.subarray(o, Math.min(data.length, o + mss)));
  }
  message = -1;
  seg(true, TcpFlags.FIN | TcpFlags.ACK);
  seg(false, TcpFlags.FIN | TcpFlags.ACK);
  return out;
}

// CRC32c (Castagnoli), the SCTP checksum
const CRC32C: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC32C[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface SctpDataChunk {
  tsn: number;
  streamId?: number;
  ssn?: number;
  /** Payload protocol id (0 unspecified; SIP has none assigned). */
  ppid?: number;
  /** B (begin) and E (end) flags; default both (a whole user message). */
  begin?: boolean;
  end?: boolean;
  data: Uint8Array | string;
}

/** An IP packet carrying an SCTP packet with DATA chunks (CRC32c checksum). */
export function sctpPacket(srcIp: string, dstIp: string, srcPort: number, dstPort: number, chunks: readonly SctpDataChunk[], vtag = 0x1234): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) {
    const data = bytesOf(c.data);
    const len = 16 + data.length;
    const ch = Buffer.alloc((len + 3) & ~3);
    ch[0] = 0;
    ch[1] = (c.begin ?? true ? 2 : 0) | (c.end ?? true ? 1 : 0);
    ch.writeUInt16BE(len, 2);
    ch.writeUInt32BE(c.tsn >>> 0, 4);
    ch.writeUInt16BE(c.streamId ?? 0, 8);
    ch.writeUInt16BE(c.ssn ?? 0, 10);
    ch.writeUInt32BE(c.ppid ?? 0, 12);
    ch.set(data, 16);
    parts.push(ch);
  }
  const head = Buffer.alloc(12);
  head.writeUInt16BE(srcPort, 0);
  head.writeUInt16BE(dstPort, 2);
  head.writeUInt32BE(vtag, 4);
  const pkt = Buffer.concat([head, ...parts]);
  pkt.writeUInt32LE(crc32c(pkt), 8);
  return ipPacket({ srcIp, dstIp, protocol: 132, payload: pkt });
}

/**
 * Splits an IPv4 or IPv6 packet into fragments whose data is at most `maxData` bytes (rounded
 * down to a multiple of 8), in order. IPv6 fragments get a fragment header (id = `id`).
 */
export function fragmentIp(packet: Buffer, maxData: number, id = 0x1234): Buffer[] {
  const v6 = packet[0] >> 4 === 6;
  const hlen = v6 ? 40 : (packet[0] & 0x0f) * 4;
  const data = packet.subarray(hlen);
  const step = Math.max(8, maxData & ~7);
  const out: Buffer[] = [];
  for (let o = 0; o < data.length; o += step) {
    const piece = data.subarray(o, Math.min(data.length, o + step));
    const more = o + step < data.length;
    if (v6) {
      const f = Buffer.alloc(40 + 8 + piece.length);
      packet.copy(f, 0, 0, 40);
      f[6] = 44;
      f.writeUInt16BE(8 + piece.length, 4);
      f[40] = packet[6];
      f.writeUInt16BE(o | (more ? 1 : 0), 42);
      f.writeUInt32BE(id >>> 0, 44);
      f.set(piece, 48);
      out.push(f);
    } else {
      const f = Buffer.alloc(hlen + piece.length);
      packet.copy(f, 0, 0, hlen);
      f.writeUInt16BE(f.length, 2);
      f.writeUInt16BE(id & 0xffff, 4);
      f.writeUInt16BE((o / 8) | (more ? 0x2000 : 0), 6);
      f.writeUInt16BE(0, 10);
      f.writeUInt16BE(checksum(f, 0, hlen), 10);
      f.set(piece, hlen);
      out.push(f);
    }
  }
  return out;
}

export interface EthernetOptions {
  /** 802.1Q tags, outermost first; with `qinq` the first uses TPID 0x88a8. */
  vlans?: readonly number[];
  qinq?: boolean;
  /** Wrap the IP packet in a PPPoE session with this id. */
  pppoeSession?: number;
  /** MPLS labels, outermost first. */
  mpls?: readonly number[];
  /** Ethertype of `payload` when it is not IP (0x6558 is not used here; e.g. 0x0806 ARP). */
  etherType?: number;
}

/** An Ethernet II frame around an IP packet (or another payload with `etherType`). */
export function ethernetFrame(payload: Uint8Array, o: EthernetOptions = {}): Buffer {
  const ipType = payload.length > 0 && payload[0] >> 4 === 6 ? 0x86dd : 0x0800;
  let body: Uint8Array = payload;
  let type = o.etherType ?? ipType;
  if (o.pppoeSession !== undefined) {
    const h = Buffer.alloc(8);
    h[0] = 0x11;
    h.writeUInt16BE(o.pppoeSession, 2);
    h.writeUInt16BE(payload.length + 2, 4);
    h.writeUInt16BE(ipType === 0x86dd ? 0x0057 : 0x0021, 6);
    body = Buffer.concat([h, payload]);
    type = 0x8864;
  } else if (o.mpls !== undefined && o.mpls.length > 0) {
    const h = Buffer.alloc(4 * o.mpls.length);
    o.mpls.forEach((label, i) => h.writeUInt32BE(((label & 0xfffff) << 12) | (i === o.mpls!.length - 1 ? 0x100 : 0) | 64, 4 * i));
    body = Buffer.concat([h, payload]);
    type = 0x8847;
  }
  const tags = o.vlans ?? [];
  const out = Buffer.alloc(14 + 4 * tags.length + body.length);
  out.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
  let off = 12;
  tags.forEach((v, i) => {
    out.writeUInt16BE(o.qinq && i === 0 && tags.length > 1 ? 0x88a8 : 0x8100, off);
    out.writeUInt16BE(v & 0x0fff, off + 2);
    off += 4;
  });
  out.writeUInt16BE(type, off);
  out.set(body, off + 2);
  return out;
}

export interface GreOptions {
  /** GRE protocol type: 0x0800, 0x86dd, 0x6558 (Ethernet), 0x88be (ERSPAN II), 0x22eb (ERSPAN III). */
  protocol: number;
  key?: number;
  seq?: number;
  checksum?: boolean;
}

/** A GRE header (RFC 2784/2890) and its payload (wrap in ipPacket with protocol 47). */
export function greHeader(payload: Uint8Array, o: GreOptions): Buffer {
  const fields: number[] = [];
  let flags = 0;
  if (o.checksum) {
    flags |= 0x80;
    fields.push(0);
  }
  if (o.key !== undefined) {
    flags |= 0x20;
    fields.push(o.key >>> 0);
  }
  if (o.seq !== undefined) {
    flags |= 0x10;
    fields.push(o.seq >>> 0);
  }
  const out = Buffer.alloc(4 + 4 * fields.length + payload.length);
  out[0] = flags;
  out.writeUInt16BE(o.protocol, 2);
  fields.forEach((v, i) => out.writeUInt32BE(v, 4 + 4 * i));
  out.set(payload, 4 + 4 * fields.length);
  if (o.checksum) out.writeUInt16BE(checksum(out, 0, out.length), 4);
  return out;
}

/** An ERSPAN type II (GRE 0x88be with a sequence number) or III (0x22eb) payload around an Ethernet frame. */
export function erspan(eth: Uint8Array, type: 2 | 3, session = 7, seq = 1, platformSubheader = false): Buffer {
  if (type === 2) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE((1 << 12) | 0, 0); // version 1, VLAN 0
    h.writeUInt16BE(session & 0x3ff, 2);
    return greHeader(Buffer.concat([h, eth]), { protocol: 0x88be, seq });
  }
  const h = Buffer.alloc(12 + (platformSubheader ? 8 : 0));
  h.writeUInt16BE((2 << 12) | 0, 0); // version 2, VLAN 0
  h.writeUInt16BE(session & 0x3ff, 2);
  h.writeUInt32BE(123456, 4); // timestamp
  h.writeUInt16BE(0, 8); // SGT
  h.writeUInt16BE((0 << 10) | (platformSubheader ? 1 : 0), 10); // FT 0 (Ethernet), O flag
  return greHeader(Buffer.concat([h, eth]), { protocol: 0x22eb, seq });
}

/** A VXLAN header (VNI) and the inner Ethernet frame (wrap in udpPacket to port 4789). */
export function vxlanHeader(eth: Uint8Array, vni = 42): Buffer {
  const out = Buffer.alloc(8 + eth.length);
  out[0] = 0x08;
  out.writeUInt32BE((vni & 0xffffff) << 8, 4);
  out.set(eth, 8);
  return out;
}

/** A Linux cooked capture header (SLL v1, or v2 with `v2`) around an IP packet. */
export function sllFrame(ip: Uint8Array, v2 = false): Buffer {
  const proto = ip[0] >> 4 === 6 ? 0x86dd : 0x0800;
  if (v2) {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(proto, 0);
    h.writeUInt32BE(1, 4); // interface index
    h.writeUInt16BE(1, 8); // ARPHRD_ETHER
    h[10] = 0; // to us
    h[11] = 6;
    return Buffer.concat([h, ip]);
  }
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  h.writeUInt16BE(proto, 14);
  return Buffer.concat([h, ip]);
}

/** A BSD loopback header: LINKTYPE_NULL (host order, here little-endian) or LOOP (network order). */
export function loopbackFrame(ip: Uint8Array, linkType: 0 | 108 = 0): Buffer {
  const h = Buffer.alloc(4);
  const af = ip[0] >> 4 === 6 ? 30 : 2;
  if (linkType === 0) h.writeUInt32LE(af, 0);
  else h.writeUInt32BE(af, 0);
  return Buffer.concat([h, ip]);
}

/** One WebSocket frame (RFC 6455); client frames are masked with `mask`. */
export function wsFrame(payload: Uint8Array | string, o: { mask?: Uint8Array; opcode?: number; fin?: boolean } = {}): Buffer {
  const pl = bytesOf(payload);
  const n = pl.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const m = o.mask;
  const out = Buffer.alloc(2 + ext + (m ? 4 : 0) + n);
  out[0] = (o.fin ?? true ? 0x80 : 0) | (o.opcode ?? 1);
  out[1] = (m ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(n, 2);
  else if (ext === 8) out.writeUInt32BE(n, 6);
  let p = 2 + ext;
  if (m) {
    out.set(m.subarray(0, 4), p);
    p += 4;
    for (let i = 0; i < n; i++) out[p + i] = pl[i] ^ m[i & 3];
  } else out.set(pl, p);
  return out;
}

export interface PcapngInterface {
  linkType: number;
  snaplen?: number;
  /** if_tsresol: 6 (microseconds, default) or 9 (nanoseconds). */
  tsresol?: 6 | 9;
}

export interface PcapngRecord {
  interfaceId: number;
  timeMs: number;
  data: Uint8Array;
  origLen?: number;
}

/** A pcapng file image (little-endian): one section, the interfaces, one EPB per record. */
export function writePcapng(interfaces: readonly PcapngInterface[], records: readonly PcapngRecord[]): Buffer {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer): void => {
    const len = 12 + body.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    blocks.push(b);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeInt32LE(-1, 8);
  shb.writeInt32LE(-1, 12);
  block(0x0a0d0d0a, shb);
  for (const i of interfaces) {
    const body = Buffer.alloc(8 + (i.tsresol !== undefined ? 8 : 0) + 4);
    body.writeUInt16LE(i.linkType, 0);
    body.writeUInt32LE(i.snaplen ?? 262144, 4);
    let o = 8;
    if (i.tsresol !== undefined) {
      body.writeUInt16LE(9, o);
      body.writeUInt16LE(1, o + 2);
      body[o + 4] = i.tsresol;
      o += 8;
    }
    // opt_endofopt: zeros
    block(0x00000001, body);
  }
  for (const r of records) {
    const iface = interfaces[r.interfaceId];
    if (iface === undefined) bad(`record on interface ${r.interfaceId}`);
    const units = iface.tsresol === 9 ? Math.round(r.timeMs * 1e6) : Math.round(r.timeMs * 1e3);
    const pad = (4 - (r.data.length % 4)) % 4;
    const body = Buffer.alloc(20 + r.data.length + pad);
    body.writeUInt32LE(r.interfaceId, 0);
    body.writeUInt32LE(Math.floor(units / 4294967296), 4);
    body.writeUInt32LE(units % 4294967296, 8);
    body.writeUInt32LE(r.data.length, 12);
    body.writeUInt32LE(r.origLen ?? r.data.length, 16);
    body.set(r.data, 20);
    block(0x00000006, body);
  }
  return Buffer.concat(blocks);
}
