/**
 * Tunnels: GRE (RFC 2784/2890: checksum, key and sequence fields) carrying IPv4, IPv6, Ethernet
 * (0x6558), ERSPAN type I/II (0x88be) and type III (0x22eb); VXLAN (RFC 7348). IP-in-IP needs no
 * header of its own (the capture decoder goes straight to the inner IP). Pure.
 */
import { ET_ETHERNET, ET_IPV4, ET_IPV6, OK, R_MALFORMED, R_UNSUPPORTED_PROTOCOL } from './link.ts';
import type { Cursor } from './link.ts';

/** UDP ports of VXLAN: IANA 4789 and the Linux kernel's old default 8472. */
export function isVxlanPort(port: number): boolean {
  return port === 4789 || port === 8472;
}

/** GRE header at b[off]: on OK, `c` points at the inner IP packet or Ethernet frame. */
export function decodeGre(b: Uint8Array, off: number, end: number, c: Cursor): number {
  if (end - off < 4) return R_MALFORMED;
  const flags = b[off];
  const version = b[off + 1] & 0x07;
  if (version !== 0) return R_UNSUPPORTED_PROTOCOL; // 1: PPTP's enhanced GRE
  const proto = (b[off + 2] << 8) | b[off + 3];
  let o = off + 4;
  if (flags & 0x80) o += 4; // checksum + reserved
  if (flags & 0x20) o += 4; // key
  const seq = (flags & 0x10) !== 0;
  if (seq) o += 4;
  if (o > end) return R_MALFORMED;
  c.end = end;
  switch (proto) {
    case ET_IPV4:
    case ET_IPV6:
    case ET_ETHERNET:
      c.off = o;
      c.type = proto;
      return OK;
    case 0x88be:
      // ERSPAN type II (8-byte header) when the sequence bit is set; type I (none) otherwise
      if (seq) {
        if (end - o < 8) return R_MALFORMED;
        if (b[o] >> 4 !== 1) return R_UNSUPPORTED_PROTOCOL;
        o += 8;
      }
      c.off = o;
      c.type = ET_ETHERNET;
      return OK;
    case 0x22eb: {
      // ERSPAN type III: 12-byte header, then an 8-byte platform subheader when O is set
      if (end - o < 12) return R_MALFORMED;
      if (b[o] >> 4 !== 2) return R_UNSUPPORTED_PROTOCOL;
      const ft = (b[o + 10] >> 2) & 0x1f;
      const hasSub = (b[o + 11] & 1) === 1;
      o += 12 + (hasSub ? 8 : 0);
      if (o > end) return R_MALFORMED;
      c.off = o;
      if (ft === 0) c.type = ET_ETHERNET;
      else if (ft === 2) {
        const v = o < end ? b[o] >> 4 : 0;
        if (v !== 4 && v !== 6) return R_MALFORMED;
        c.type = v === 4 ? ET_IPV4 : ET_IPV6;
      } else return R_UNSUPPORTED_PROTOCOL;
      return OK;
    }
    default:
      return R_UNSUPPORTED_PROTOCOL;
  }
}

/** VXLAN header at b[off] (the UDP payload): on OK, `c` points at the inner Ethernet frame. */
export function decodeVxlan(b: Uint8Array, off: number, end: number, c: Cursor): number {
  if (end - off < 8 + 14) return R_MALFORMED;
  if ((b[off] & 0x08) === 0) return R_MALFORMED; // I flag: the VNI is valid
  c.off = off + 8;
  c.end = end;
  c.type = ET_ETHERNET;
  return OK;
}
