/**
 * HEP v3 (EEP) decoder. Pure: bytes in, a typed packet or a coded error out; it never throws.
 *
 * Frame: "HEP3" | total length u16 (whole frame, header included) | chunks.
 * Chunk: vendor id u16 | type id u16 | length u16 (chunk header included) | value.
 * Only vendor 0 (the generic chunk set) is interpreted; every other chunk is skipped.
 */
import { ipv4NumberToString, ipv6ToString } from '../ip.ts';
import { Ix } from '../native-index.ts';
import { be16, be32 } from '../bytes.ts';

export interface HepPacket {
  /** 2 = IPv4, 10 = IPv6 (chunk 0x0001; derived from the address chunks when absent). */
  ipFamily: number;
  /** IP protocol number: 17 UDP, 6 TCP, 132 SCTP... (chunk 0x0002). */
  protocol: number;
  /** Dotted quad or RFC 5952 IPv6 text; '' when the frame carries no address. */
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** Capture time, seconds (0x0009) and microseconds (0x000a). */
  tsSec: number;
  tsUsec: number;
  /** tsSec * 1000 + tsUsec / 1000: milliseconds since the epoch, fractional. */
  timeMs: number;
  /** Payload protocol (0x000b): 1 = SIP. */
  protoType: number;
  /** Capture agent id (0x000c). */
  captureId: number;
  /** Same value as captureId (the agent's node id in HOMER terms). */
  nodeId: number;
  /** Authentication key (0x000e). */
  authKey: string | undefined;
  /** Payload (0x000f): a subarray of the input, bytes untouched. When the frame has only a
   *  compressed payload chunk (0x0010), its bytes (still compressed) and `compressed` is true. */
  payload: Buffer;
  /** The payload came from chunk 0x0010 (zlib/deflate compressed): inflate it before use. */
  compressed: boolean;
  /** Internal correlation id (0x0011). */
  correlationId: string | undefined;
  /** Capture agent name (0x0013). */
  nodeName: string | undefined;
}

export type HepErrorCode =
  /** Fewer than 6 bytes, or the frame's total length is larger than the buffer. */
  | 'HEP_TRUNCATED'
  /** The first four bytes are not "HEP3". */
  | 'HEP_BAD_MAGIC'
  /** The total length is shorter than the 6-byte header. */
  | 'HEP_BAD_LENGTH'
  /** A chunk is shorter than its header, runs past the frame, or a fixed-size chunk has the wrong size. */
  | 'HEP_BAD_CHUNK'
  /** No payload chunk (0x000f, or 0x0010 compressed). */
  | 'HEP_NO_PAYLOAD';

export interface HepError {
  code: HepErrorCode;
  message: string;
  /** Byte offset in the input where the problem was found. */
  offset: number;
}

export type HepResult = { ok: true; value: HepPacket } | { ok: false; error: HepError };

/** "HEP3" read as a big-endian u32. */
export const HEP3_MAGIC = 0x48455033;

export const HEP_FAMILY_IPV4 = 2;
export const HEP_FAMILY_IPV6 = 10;
export const HEP_PROTO_TYPE_SIP = 1;
/** HEP protocol type of RTCP reports (JSON from rtpengine, heplify, captagent; or a raw RTCP packet). */
export const HEP_PROTO_TYPE_RTCP = 5;
/** HEP protocol type of an "RTP agent" JSON report on one stream (HEPIC's rtpagent, FreeSWITCH through hepipe). */
export const HEP_PROTO_TYPE_RTP_AGENT = 34;
/** HEP protocol type of RTCP-XR voice-quality session reports (RFC 6035 text). */
export const HEP_PROTO_TYPE_VQ = 35;

/** Generic chunk types (vendor 0). */
export const HepChunk = {
  IP_FAMILY: 0x0001,
  IP_PROTOCOL: 0x0002,
  IPV4_SRC: 0x0003,
  IPV4_DST: 0x0004,
  IPV6_SRC: 0x0005,
  IPV6_DST: 0x0006,
  SRC_PORT: 0x0007,
  DST_PORT: 0x0008,
  TS_SEC: 0x0009,
  TS_USEC: 0x000a,
  PROTO_TYPE: 0x000b,
  CAPTURE_ID: 0x000c,
  AUTH_KEY: 0x000e,
  PAYLOAD: 0x000f,
  COMPRESSED_PAYLOAD: 0x0010,
  CORRELATION_ID: 0x0011,
  NODE_NAME: 0x0013,
} as const;

/**
 * Remembers the last string decoded for one chunk type: agents send the same node name and auth
 * key in every frame, and comparing <= 64 bytes is cheaper than decoding (~10 vs ~70 ns).
 */
class LastString {
  private readonly bytes = new Uint8Array(64);
  private len = -1;
  private str = '';

  get(b: Buffer, s: number, e: number): string {
    const n = e - s;
    if (n === this.len) {
      const prev = this.bytes;
      let i = 0;
      while (i < n && prev[i] === b[s + i]) i++;
      if (i === n) return this.str;
    }
    const str = b.toString('utf8', s, e);
    if (n <= 64) {
      this.bytes.set(b.subarray(s, e));
      this.len = n;
      this.str = str;
    }
    return str;
  }
}

/**
 * IPv4 address text by address, direct-mapped (1 024 slots, a colliding address replaces the
 * slot's): the same few thousand addresses come back in every frame, and handing out the same
 * string object each time saves building it (~25 ns) and lets the Map look-ups downstream (the
 * tracker's platform check, carriers by address) reuse its cached hash instead of hashing new text.
 */
const IP4_SLOTS = 1024;
const ip4Keys = new Int32Array(IP4_SLOTS);
const ip4Text: (string | undefined)[] = new Array<string | undefined>(IP4_SLOTS).fill(undefined);

function ipv4Text(b: Buffer, o: number): string {
  return ipv4TextOf((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

/** ipv4Text of the address as a signed 32-bit number. */
function ipv4TextOf(a: number): string {
  const i = (a ^ (a >>> 10) ^ (a >>> 20)) & (IP4_SLOTS - 1);
  const hit = ip4Text[i];
  if (hit !== undefined && ip4Keys[i] === a) return hit;
  const s = ipv4NumberToString(a);
  ip4Keys[i] = a;
  ip4Text[i] = s;
  return s;
}

const lastAuthKey = new LastString();
const lastNodeName = new LastString();

function fail(code: HepErrorCode, message: string, offset: number): HepResult {
  return { ok: false, error: { code, message, offset } };
}

function badSize(type: number, len: number, offset: number): HepResult {
  return fail('HEP_BAD_CHUNK', `chunk 0x${type.toString(16).padStart(4, '0')} has length ${len}`, offset);
}

/**
 * Decodes one HEP3 frame starting at byte 0 of `buf`. Bytes after the frame's total length are
 * ignored. Never throws: malformed input gives `{ ok: false, error }`.
 */
export function decodeHep(buf: Buffer): HepResult {
  const size = buf.length;
  if (size < 6) return fail('HEP_TRUNCATED', `${size} bytes, a HEP3 header needs 6`, 0);
  if (be32(buf, 0) !== HEP3_MAGIC) return fail('HEP_BAD_MAGIC', 'frame does not start with "HEP3"', 0);
  const total = be16(buf, 4);
  if (total < 6) return fail('HEP_BAD_LENGTH', `total length ${total} is shorter than the header`, 4);
  if (total > size) return fail('HEP_TRUNCATED', `total length ${total} but only ${size} bytes`, 4);

  let ipFamily = 0;
  let protocol = 0;
  let src4 = -1;
  let dst4 = -1;
  let src6 = -1;
  let dst6 = -1;
  let srcPort = 0;
  let dstPort = 0;
  let tsSec = 0;
  let tsUsec = 0;
  let protoType = 0;
  let captureId = 0;
  let authKey: string | undefined;
  let payStart = -1;
  let payEnd = -1;
  let zStart = -1;
  let zEnd = -1;
  let correlationId: string | undefined;
  let nodeName: string | undefined;

  let off = 6;
  while (off < total) {
    if (total - off < 6) return fail('HEP_BAD_CHUNK', `${total - off} stray bytes after the last chunk`, off);
    const vendor = be16(buf, off);
    const type = be16(buf, off + 2);
    const len = be16(buf, off + 4);
    if (len < 6) return fail('HEP_BAD_CHUNK', `chunk length ${len} is shorter than its header`, off + 4);
    if (off + len > total) return fail('HEP_BAD_CHUNK', `chunk of ${len} bytes runs past the frame end`, off + 4);
    const v = off + 6;
    if (vendor === 0) {
      switch (type) {
        case HepChunk.IP_FAMILY:
          if (len !== 7) return badSize(type, len, off);
          ipFamily = buf[v];
          break;
        case HepChunk.IP_PROTOCOL:
          if (len !== 7) return badSize(type, len, off);
          protocol = buf[v];
          break;
        case HepChunk.IPV4_SRC:
          if (len !== 10) return badSize(type, len, off);
          src4 = v;
          break;
        case HepChunk.IPV4_DST:
          if (len !== 10) return badSize(type, len, off);
          dst4 = v;
          break;
        case HepChunk.IPV6_SRC:
          if (len !== 22) return badSize(type, len, off);
          src6 = v;
          break;
        case HepChunk.IPV6_DST:
          if (len !== 22) return badSize(type, len, off);
          dst6 = v;
          break;
        case HepChunk.SRC_PORT:
          if (len !== 8) return badSize(type, len, off);
          srcPort = be16(buf, v);
          break;
        case HepChunk.DST_PORT:
          if (len !== 8) return badSize(type, len, off);
          dstPort = be16(buf, v);
          break;
        case HepChunk.TS_SEC:
          if (len !== 10) return badSize(type, len, off);
          tsSec = be32(buf, v);
          break;
        case HepChunk.TS_USEC:
          if (len !== 10) return badSize(type, len, off);
          tsUsec = be32(buf, v);
          break;
        case HepChunk.PROTO_TYPE:
          if (len !== 7) return badSize(type, len, off);
          protoType = buf[v];
          break;
        case HepChunk.CAPTURE_ID:
          if (len !== 10) return badSize(type, len, off);
          captureId = be32(buf, v);
          break;
        case HepChunk.AUTH_KEY:
          authKey = lastAuthKey.get(buf, v, off + len);
          break;
        case HepChunk.PAYLOAD:
          payStart = v;
          payEnd = off + len;
          break;
        case HepChunk.COMPRESSED_PAYLOAD:
          zStart = v;
          zEnd = off + len;
          break;
        case HepChunk.CORRELATION_ID:
          correlationId = buf.toString('utf8', v, off + len);
          break;
        case HepChunk.NODE_NAME:
          nodeName = lastNodeName.get(buf, v, off + len);
          break;
        default:
          break;
      }
    }
    off += len;
  }
  let compressed = false;
  if (payStart < 0) {
    if (zStart < 0) return fail('HEP_NO_PAYLOAD', 'no payload chunk (0x000f or 0x0010)', total);
    payStart = zStart;
    payEnd = zEnd;
    compressed = true;
  }

  // Address chunks of the family announced win; without a family chunk, IPv6 chunks imply IPv6.
  if (ipFamily === 0) ipFamily = src6 >= 0 || dst6 >= 0 ? HEP_FAMILY_IPV6 : src4 >= 0 || dst4 >= 0 ? HEP_FAMILY_IPV4 : 0;
  let srcIp = '';
  let dstIp = '';
  if (ipFamily === HEP_FAMILY_IPV6) {
    if (src6 >= 0) srcIp = ipv6ToString(buf, src6);
    else if (src4 >= 0) srcIp = ipv4Text(buf, src4);
    if (dst6 >= 0) dstIp = ipv6ToString(buf, dst6);
    else if (dst4 >= 0) dstIp = ipv4Text(buf, dst4);
  } else {
    if (src4 >= 0) srcIp = ipv4Text(buf, src4);
    else if (src6 >= 0) srcIp = ipv6ToString(buf, src6);
    if (dst4 >= 0) dstIp = ipv4Text(buf, dst4);
    else if (dst6 >= 0) dstIp = ipv6ToString(buf, dst6);
  }

  return { ok: true, value: new DecodedHep(ipFamily, protocol, srcIp, dstIp, srcPort, dstPort, tsSec, tsUsec, protoType, captureId, authKey, buf, payStart, payEnd, compressed, correlationId, nodeName) };
}

// (module constants: an imported object's property would be loaded at each use)
const { PROTOCOL, SRC4, DST4, ADDRS, SRC_PORT, DST_PORT, TS_SEC, TS_USEC, PROTO_TYPE, CAPTURE_ID, FAMILY, AUTH_S, AUTH_E, CORR_S, CORR_E, NODE_S, NODE_E, PAY_S, PAY_E } = Ix;

/**
 * The packet of a frame the native indexer read (native-index.ts: `ix` holds what it found): what
 * decodeHep gives for the same frame, strings made the same way.
 */
export function hepFromIndex(frame: Buffer, ix: Int32Array): DecodedHep {
  const addrs = ix[ADDRS];
  const a = ix[AUTH_S];
  const c = ix[CORR_S];
  const n = ix[NODE_S];
  return new DecodedHep(
    ix[FAMILY],
    ix[PROTOCOL],
    (addrs & 1) !== 0 ? ipv4TextOf(ix[SRC4]) : '',
    (addrs & 2) !== 0 ? ipv4TextOf(ix[DST4]) : '',
    ix[SRC_PORT],
    ix[DST_PORT],
    ix[TS_SEC] >>> 0,
    ix[TS_USEC] >>> 0,
    ix[PROTO_TYPE],
    ix[CAPTURE_ID] >>> 0,
    a >= 0 ? lastAuthKey.get(frame, a, ix[AUTH_E]) : undefined,
    frame,
    ix[PAY_S],
    ix[PAY_E],
    false,
    c >= 0 ? frame.toString('utf8', c, ix[CORR_E]) : undefined,
    n >= 0 ? lastNodeName.get(frame, n, ix[NODE_E]) : undefined,
  );
}

/**
 * A decoded frame. Its payload is a range of the frame (`frame`, `payloadStart`, `payloadEnd`),
 * made a Buffer view only when `payload` is read: the SIP pipeline parses the range where it lies
 * (a view made per frame was ~3 % of the pipeline, and most of its garbage after the packet itself).
 * Setting `payload` (an inflated one) makes the range that buffer, whole.
 */
export class DecodedHep implements HepPacket {
  // (declared, then assigned once in the constructor: a class field is defined, then assigned;
  // one object per frame, measured ~1 % of the pipeline in the fields' initializer)
  declare readonly ipFamily: number;
  declare readonly protocol: number;
  declare readonly srcIp: string;
  declare readonly dstIp: string;
  declare readonly srcPort: number;
  declare readonly dstPort: number;
  declare readonly tsSec: number;
  declare readonly tsUsec: number;
  declare readonly timeMs: number;
  declare readonly protoType: number;
  declare readonly captureId: number;
  declare readonly nodeId: number;
  declare readonly authKey: string | undefined;
  declare frame: Buffer;
  declare payloadStart: number;
  declare payloadEnd: number;
  declare compressed: boolean;
  declare readonly correlationId: string | undefined;
  declare readonly nodeName: string | undefined;
  declare private view: Buffer | undefined;
  constructor(
    ipFamily: number,
    protocol: number,
    srcIp: string,
    dstIp: string,
    srcPort: number,
    dstPort: number,
    tsSec: number,
    tsUsec: number,
    protoType: number,
    captureId: number,
    authKey: string | undefined,
    frame: Buffer,
    payloadStart: number,
    payloadEnd: number,
    compressed: boolean,
    correlationId: string | undefined,
    nodeName: string | undefined,
  ) {
    this.ipFamily = ipFamily;
    this.protocol = protocol;
    this.srcIp = srcIp;
    this.dstIp = dstIp;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
    this.tsSec = tsSec;
    this.tsUsec = tsUsec;
    this.timeMs = tsSec * 1000 + tsUsec / 1000;
    this.protoType = protoType;
    this.captureId = captureId;
    this.nodeId = captureId;
    this.authKey = authKey;
    this.frame = frame;
    this.payloadStart = payloadStart;
    this.payloadEnd = payloadEnd;
    this.compressed = compressed;
    this.correlationId = correlationId;
    this.nodeName = nodeName;
    this.view = undefined;
  }

  get payload(): Buffer {
    return (this.view ??= this.frame.subarray(this.payloadStart, this.payloadEnd));
  }

  set payload(b: Buffer) {
    this.view = b;
    this.frame = b;
    this.payloadStart = 0;
    this.payloadEnd = b.length;
  }
}
