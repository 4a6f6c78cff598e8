/**
 * IPv4 and IPv6 headers: addresses, upper protocol, payload range and fragment fields, into a
 * caller-owned context (no allocation per packet). IPv6 extension headers: hop-by-hop, routing,
 * destination options, fragment, AH. Pure; returns an outcome code of ./link.ts.
 */
import { OK, R_MALFORMED, R_TRUNCATED, R_UNSUPPORTED_PROTOCOL } from './link.ts';
import { be16 } from '../bytes.ts';

export interface IpContext {
  v6: boolean;
  /** The buffer holding the addresses, and their offsets in it. */
  addr: Uint8Array;
  srcOff: number;
  dstOff: number;
  /** Upper-layer protocol (17 UDP, 6 TCP, 132 SCTP, 47 GRE, 4/41 IP-in-IP...). */
  proto: number;
  /** Payload range (for a fragment: this fragment's data). */
  off: number;
  end: number;
  /** Fragment fields: isFragment false for a whole datagram. fragOffset in bytes. */
  isFragment: boolean;
  fragOffset: number;
  moreFragments: boolean;
  fragId: number;
}

export function newIpContext(): IpContext {
  return { v6: false, addr: new Uint8Array(0), srcOff: 0, dstOff: 0, proto: 0, off: 0, end: 0, isFragment: false, fragOffset: 0, moreFragments: false, fragId: 0 };
}

/**
 * IPv4 at b[off]. `frameCut`: the capture was sliced by the snap length (an IP length beyond the
 * captured bytes is then R_TRUNCATED rather than R_MALFORMED).
 */
export function decodeIpv4(b: Uint8Array, off: number, end: number, frameCut: boolean, x: IpContext): number {
  const avail = end - off;
  if (avail < 20 || b[off] >> 4 !== 4) return R_MALFORMED;
  const ihl = (b[off] & 0x0f) * 4;
  if (ihl < 20 || ihl > avail) return R_MALFORMED;
  const total = be16(b, off + 2);
  let e: number;
  if (total === 0) e = end; // TCP segmentation offload captures: trust the capture
  else if (total < ihl) return R_MALFORMED;
  else if (total > avail) {
    if (frameCut) return R_TRUNCATED;
    return R_MALFORMED;
  } else e = off + total;
  const ff = be16(b, off + 6);
  x.v6 = false;
  x.addr = b;
  x.srcOff = off + 12;
  x.dstOff = off + 16;
  x.proto = b[off + 9];
  x.off = off + ihl;
  x.end = e;
  x.fragOffset = (ff & 0x1fff) * 8;
  x.moreFragments = (ff & 0x2000) !== 0;
  x.isFragment = x.fragOffset !== 0 || x.moreFragments;
  x.fragId = be16(b, off + 4);
  return OK;
}

/** IPv6 at b[off], extension headers walked. */
export function decodeIpv6(b: Uint8Array, off: number, end: number, frameCut: boolean, x: IpContext): number {
  if (end - off < 40 || b[off] >> 4 !== 6) return R_MALFORMED;
  const plen = be16(b, off + 4);
  let e: number;
  if (plen === 0) e = end; // jumbogram (or TSO)
  else if (off + 40 + plen > end) {
    if (frameCut) return R_TRUNCATED;
    return R_MALFORMED;
  } else e = off + 40 + plen;
  x.v6 = true;
  x.addr = b;
  x.srcOff = off + 8;
  x.dstOff = off + 24;
  x.isFragment = false;
  x.fragOffset = 0;
  x.moreFragments = false;
  x.fragId = 0;
  return walkIpv6(b[off + 6], b, off + 40, e, x);
}

/**
 * Walks IPv6 extension headers from `next` at b[p]; sets proto/off/end (and the fragment fields
 * when a fragment header is met: the walk stops there, the rest is fragment data).
 */
export function walkIpv6(next: number, b: Uint8Array, p: number, end: number, x: IpContext): number {
  let nh = next;
  let o = p;
  for (let hops = 0; hops < 16; hops++) {
    if (nh === 0 || nh === 43 || nh === 60) {
      if (end - o < 8) return R_MALFORMED;
      const len = (b[o + 1] + 1) * 8;
      nh = b[o];
      o += len;
    } else if (nh === 44) {
      if (end - o < 8) return R_MALFORMED;
      const fo = be16(b, o + 2);
      x.isFragment = true;
      x.fragOffset = fo & 0xfff8;
      x.moreFragments = (fo & 1) === 1;
      x.fragId = b[o + 4] * 0x1000000 + ((b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]);
      x.proto = b[o];
      x.off = o + 8;
      x.end = end;
      // an atomic fragment (offset 0, no more) is a whole datagram
      if (x.fragOffset === 0 && !x.moreFragments) {
        x.isFragment = false;
        nh = b[o];
        o += 8;
        continue;
      }
      return OK;
    } else if (nh === 51) {
      if (end - o < 8) return R_MALFORMED;
      const len = (b[o + 1] + 2) * 4;
      nh = b[o];
      o += len;
    } else {
      if (o > end) return R_MALFORMED;
      x.proto = nh;
      x.off = o;
      x.end = end;
      return OK;
    }
    if (o > end) return R_MALFORMED;
  }
  return R_UNSUPPORTED_PROTOCOL;
}
