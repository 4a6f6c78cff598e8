/**
 * A tiny classic-pcap writer for tests and fixtures: builds Ethernet or raw-IP frames carrying
 * UDP over IPv4/IPv6, and writes them to a pcap file image. Pure; bad input throws E_BAD_VALUE.
 */
import { SipstatsError } from '../../errors.ts';
import { parseIpv4, parseIpv6 } from '../ip.ts';

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
