/**
 * Link layers down to the network layer: Ethernet with 802.1Q/802.1ad tags (VLAN, QinQ), PPPoE
 * sessions, MPLS label stacks, Linux cooked v1/v2, BSD null/loopback, raw IP, PPP. Pure, works on
 * byte ranges; the result goes into a caller-owned cursor (no allocation per frame).
 */
import { be16 } from '../bytes.ts';

/** What follows the link header: an ethertype (0x0800 IPv4, 0x86dd IPv6), or ETHERNET for an inner Ethernet frame. */
export const ET_IPV4 = 0x0800;
export const ET_IPV6 = 0x86dd;
/** Transparent Ethernet bridging: an Ethernet frame follows (GRE 0x6558, VXLAN, ERSPAN). */
export const ET_ETHERNET = 0x6558;

/** Outcome codes shared by the layer decoders: 0 = go on, others name a skip reason. */
export const OK = 0;
export const R_NOT_IP = 1;
export const R_UNSUPPORTED_LINK = 2;
export const R_MALFORMED = 3;
export const R_UNSUPPORTED_PROTOCOL = 4;
export const R_TRUNCATED = 5;

/** Where the next layer starts and what it is. */
export interface Cursor {
  off: number;
  end: number;
  type: number;
}

export const LinkTypes = {
  NULL: 0,
  ETHERNET: 1,
  PPP: 9,
  RAW_12: 12,
  RAW_14: 14,
  PPP_HDLC: 50,
  PPP_ETHER: 51,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** The IP version nibble of b[off] as an ethertype, or -1. */
function byNibble(b: Uint8Array, off: number, end: number): number {
  if (off >= end) return -1;
  const v = b[off] >> 4;
  return v === 4 ? ET_IPV4 : v === 6 ? ET_IPV6 : -1;
}

/** Decodes the link header of a frame of `linkType`; on OK, `c` says where the network layer is. */
export function decodeLink(linkType: number, b: Uint8Array, off: number, end: number, c: Cursor): number {
  const n = end - off;
  c.end = end;
  switch (linkType) {
    case LinkTypes.ETHERNET:
      return decodeEthernet(b, off, end, c);
    case LinkTypes.LINUX_SLL:
      if (n < 16) return R_MALFORMED;
      return etherType(be16(b, off + 14), b, off + 16, end, c);
    case LinkTypes.LINUX_SLL2:
      if (n < 20) return R_MALFORMED;
      return etherType(be16(b, off), b, off + 20, end, c);
    case LinkTypes.RAW:
    case LinkTypes.RAW_12:
    case LinkTypes.RAW_14:
    case LinkTypes.IPV4:
    case LinkTypes.IPV6: {
      const t = byNibble(b, off, end);
      if (t < 0) return n < 1 ? R_MALFORMED : R_NOT_IP;
      c.off = off;
      c.type = t;
      return OK;
    }
    case LinkTypes.NULL:
    case LinkTypes.LOOP: {
      if (n < 4) return R_MALFORMED;
      // AF_ value in the capturing host's byte order (NULL) or network order (LOOP)
      let af = ((b[off] << 24) >>> 0) + ((b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]);
      if (linkType === LinkTypes.NULL && af > 0xffff) af = b[off] | (b[off + 1] << 8);
      c.off = off + 4;
      if (af === 2) c.type = ET_IPV4;
      else if (af === 24 || af === 28 || af === 30 || af === 10) c.type = ET_IPV6;
      else return R_NOT_IP;
      return OK;
    }
    case LinkTypes.PPP:
    case LinkTypes.PPP_HDLC: {
      let o = off;
      if (end - o >= 2 && b[o] === 0xff && b[o + 1] === 0x03) o += 2;
      return ppp(b, o, end, c);
    }
    case LinkTypes.PPP_ETHER:
      return pppoe(b, off, end, c);
    default:
      return R_UNSUPPORTED_LINK;
  }
}

/** Ethernet II with any number of 802.1Q / 802.1ad / old QinQ (0x9100) tags. */
export function decodeEthernet(b: Uint8Array, off: number, end: number, c: Cursor): number {
  if (end - off < 14) return R_MALFORMED;
  c.end = end;
  return etherType(be16(b, off + 12), b, off + 14, end, c);
}

function etherType(type: number, b: Uint8Array, off: number, end: number, c: Cursor): number {
  let t = type;
  let o = off;
  for (let tags = 0; t === 0x8100 || t === 0x88a8 || t === 0x9100; tags++) {
    if (end - o < 4 || tags > 8) return R_MALFORMED;
    t = be16(b, o + 2);
    o += 4;
  }
  switch (t) {
    case ET_IPV4:
    case ET_IPV6:
      c.off = o;
      c.type = t;
      return OK;
    case 0x8864:
      return pppoe(b, o, end, c);
    case 0x8847:
    case 0x8848: {
      // MPLS: labels until the bottom-of-stack bit, then IP told by its version nibble
      for (let k = 0; ; k++) {
        if (end - o < 4 || k > 16) return R_MALFORMED;
        const bottom = (b[o + 2] & 1) === 1;
        o += 4;
        if (bottom) break;
      }
      const inner = byNibble(b, o, end);
      if (inner < 0) return R_UNSUPPORTED_PROTOCOL; // pseudowires
      c.off = o;
      c.type = inner;
      return OK;
    }
    case ET_ETHERNET:
      return decodeEthernet(b, o, end, c);
    default:
      return R_NOT_IP; // ARP, LLDP, PPPoE discovery, 802.3 lengths...
  }
}

/** PPPoE session header (RFC 2516), then PPP. */
function pppoe(b: Uint8Array, off: number, end: number, c: Cursor): number {
  if (end - off < 8) return R_MALFORMED;
  if (b[off] !== 0x11 || b[off + 1] !== 0x00) return b[off] === 0x11 ? R_NOT_IP : R_MALFORMED; // code != 0: discovery
  const len = be16(b, off + 4);
  const e = Math.min(end, off + 6 + len);
  return ppp(b, off + 6, e, c);
}

function ppp(b: Uint8Array, off: number, end: number, c: Cursor): number {
  if (end - off < 2) return R_MALFORMED;
  // protocol field: 2 bytes, or 1 when compressed (odd first byte)
  let proto: number;
  let o = off;
  if (b[o] & 1) {
    proto = b[o];
    o += 1;
  } else {
    proto = be16(b, o);
    o += 2;
  }
  c.end = end;
  c.off = o;
  if (proto === 0x21) c.type = ET_IPV4;
  else if (proto === 0x57) c.type = ET_IPV6;
  else return R_NOT_IP; // LCP, IPCP, CHAP...
  return OK;
}
