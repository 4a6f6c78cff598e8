/**
 * HEP v3 encoder: one packet description in, one frame out (a single allocation). Used by tests,
 * the demo traffic generator and the benchmarks. Bad input is API misuse and throws E_BAD_VALUE.
 */
import { SipstatsError } from '../../errors.ts';
import { parseIpv4, parseIpv6 } from '../ip.ts';
import { HEP_FAMILY_IPV4, HEP_FAMILY_IPV6, HEP_PROTO_TYPE_SIP, HepChunk } from './decode.ts';

export interface HepChunkInput {
  vendor: number;
  type: number;
  value: Uint8Array;
}

export interface HepEncodeInput {
  /** 2 or 10; default: 10 when an address contains ':', else 2. */
  ipFamily?: number;
  /** Default 17 (UDP). */
  protocol?: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** Capture time: tsSec/tsUsec, or else timeMs (milliseconds since the epoch), or else 0. */
  tsSec?: number;
  tsUsec?: number;
  timeMs?: number;
  /** Default 1 (SIP). */
  protoType?: number;
  /** Capture agent id; nodeId is accepted as an alias. Default 0. */
  captureId?: number;
  nodeId?: number;
  authKey?: string;
  /** Strings are encoded as UTF-8. */
  payload: Uint8Array | string;
  correlationId?: string;
  nodeName?: string;
  /** Write the payload in chunk 0x0010 (compressed payload: the caller compresses) instead of 0x000f. */
  compressedPayload?: boolean;
  /** Extra chunks, written verbatim before the payload (vendor extensions, tests of unknown chunks). */
  extraChunks?: readonly HepChunkInput[];
}

function bad(detail: string): never {
  throw new SipstatsError('E_BAD_VALUE', `HEP encode: ${detail}`);
}

function u16(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) bad(`${name} ${v} is not a u16`);
  return v;
}

function u32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) bad(`${name} ${v} is not a u32`);
  return v;
}

function u8(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) bad(`${name} ${v} is not a u8`);
  return v;
}

/** Encodes one HEP3 frame. Throws SipstatsError E_BAD_VALUE on invalid addresses or sizes. */
export function encodeHep(p: HepEncodeInput): Buffer {
  const family = p.ipFamily ?? (p.srcIp.includes(':') || p.dstIp.includes(':') ? HEP_FAMILY_IPV6 : HEP_FAMILY_IPV4);
  if (family !== HEP_FAMILY_IPV4 && family !== HEP_FAMILY_IPV6) bad(`ipFamily ${family} (expected 2 or 10)`);
  const v6 = family === HEP_FAMILY_IPV6;
  const addrLen = v6 ? 16 : 4;
  const addrs = new Uint8Array(2 * addrLen);
  const parse = v6 ? parseIpv6 : parseIpv4;
  if (!parse(p.srcIp, addrs, 0)) bad(`srcIp ${JSON.stringify(p.srcIp)} is not an IPv${v6 ? 6 : 4} address`);
  if (!parse(p.dstIp, addrs, addrLen)) bad(`dstIp ${JSON.stringify(p.dstIp)} is not an IPv${v6 ? 6 : 4} address`);

  let tsSec = p.tsSec;
  let tsUsec = p.tsUsec;
  if (tsSec === undefined) {
    const ms = p.timeMs ?? 0;
    tsSec = Math.floor(ms / 1000);
    tsUsec ??= Math.min(999999, Math.round((ms - tsSec * 1000) * 1000));
  }
  tsUsec ??= 0;

  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload, 'utf8') : p.payload;
  const authKey = p.authKey === undefined ? undefined : Buffer.from(p.authKey, 'utf8');
  const corr = p.correlationId === undefined ? undefined : Buffer.from(p.correlationId, 'utf8');
  const name = p.nodeName === undefined ? undefined : Buffer.from(p.nodeName, 'utf8');

  let total = 6 + 7 + 7 + 2 * (6 + addrLen) + 8 + 8 + 10 + 10 + 7 + 10 + 6 + payload.length;
  if (authKey) total += 6 + authKey.length;
  if (corr) total += 6 + corr.length;
  if (name) total += 6 + name.length;
  for (const c of p.extraChunks ?? []) total += 6 + c.value.length;
  if (total > 0xffff) bad(`frame of ${total} bytes exceeds 65535`);

  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(0x48455033, 0);
  out.writeUInt16BE(total, 4);
  let off = 6;
  const head = (type: number, len: number): number => {
    out.writeUInt16BE(0, off);
    out.writeUInt16BE(type, off + 2);
    out.writeUInt16BE(6 + len, off + 4);
    const v = off + 6;
    off = v + len;
    return v;
  };
  const bytes = (type: number, value: Uint8Array): void => {
    out.set(value, head(type, value.length));
  };

  out[head(HepChunk.IP_FAMILY, 1)] = family;
  out[head(HepChunk.IP_PROTOCOL, 1)] = u8('protocol', p.protocol ?? 17);
  bytes(v6 ? HepChunk.IPV6_SRC : HepChunk.IPV4_SRC, addrs.subarray(0, addrLen));
  bytes(v6 ? HepChunk.IPV6_DST : HepChunk.IPV4_DST, addrs.subarray(addrLen));
  out.writeUInt16BE(u16('srcPort', p.srcPort), head(HepChunk.SRC_PORT, 2));
  out.writeUInt16BE(u16('dstPort', p.dstPort), head(HepChunk.DST_PORT, 2));
  out.writeUInt32BE(u32('tsSec', tsSec), head(HepChunk.TS_SEC, 4));
  out.writeUInt32BE(u32('tsUsec', tsUsec), head(HepChunk.TS_USEC, 4));
  out[head(HepChunk.PROTO_TYPE, 1)] = u8('protoType', p.protoType ?? HEP_PROTO_TYPE_SIP);
  out.writeUInt32BE(u32('captureId', p.captureId ?? p.nodeId ?? 0), head(HepChunk.CAPTURE_ID, 4));
  if (authKey) bytes(HepChunk.AUTH_KEY, authKey);
  if (corr) bytes(HepChunk.CORRELATION_ID, corr);
  if (name) bytes(HepChunk.NODE_NAME, name);
  for (const c of p.extraChunks ?? []) {
    out.writeUInt16BE(u16('chunk vendor', c.vendor), off);
    out.writeUInt16BE(u16('chunk type', c.type), off + 2);
    out.writeUInt16BE(6 + c.value.length, off + 4);
    out.set(c.value, off + 6);
    off += 6 + c.value.length;
  }
  bytes(p.compressedPayload === true ? HepChunk.COMPRESSED_PAYLOAD : HepChunk.PAYLOAD, payload);
  return out;
}
