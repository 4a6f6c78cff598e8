/**
 * Link, network and transport layers of a captured frame down to a UDP datagram. Pure; never
 * throws: anything unsupported or malformed returns null and is counted in the stats passed in.
 *
 * Links: Ethernet (802.1Q/802.1ad VLAN tags), Linux cooked SLL (113) and SLL2 (276), raw IP (101,
 * and 12/14/228/229), BSD null/loopback (0, 108). Network: IPv4 with options (non-first fragments
 * skipped; a first fragment yields the part of the datagram it holds), IPv6 with hop-by-hop,
 * routing, fragment (first fragment only), destination options and AH extension headers.
 */
import { ipv4ToString, ipv6ToString } from '../../src/protocol/ip.ts';

/** Link types (one definition, in the capture decoder). */
export { LinkTypes as LinkType } from '../../src/protocol/net/link.ts';
import { LinkTypes as LinkType } from '../../src/protocol/net/link.ts';

export interface UdpDatagram {
  ipVersion: 4 | 6;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** UDP payload: a subarray of the frame. */
  payload: Buffer;
}

export interface LinkStats {
  /** Frames decoded to a UDP datagram. */
  udp: number;
  /** Link types this decoder does not know. */
  unsupportedLink: number;
  /** Frames carrying something other than IPv4/IPv6 (ARP, LLDP...). */
  notIp: number;
  /** IP packets carrying something other than UDP. */
  notUdp: number;
  /** Non-first IP fragments (skipped). */
  fragments: number;
  /** Frames too short or with impossible lengths/versions. */
  malformed: number;
}

export function newLinkStats(): LinkStats {
  return { udp: 0, unsupportedLink: 0, notIp: 0, notUdp: 0, fragments: 0, malformed: 0 };
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/** Decodes one captured frame of `linkType` to its UDP datagram, or null (counted in `stats`). */
export function decodeUdp(linkType: number, frame: Buffer, stats: LinkStats = newLinkStats()): UdpDatagram | null {
  const n = frame.length;
  let off: number;
  let etherType: number;
  switch (linkType) {
    case LinkType.ETHERNET: {
      if (n < 14) return count(stats, 'malformed');
      etherType = frame.readUInt16BE(12);
      off = 14;
      while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
        if (n - off < 4) return count(stats, 'malformed');
        etherType = frame.readUInt16BE(off + 2);
        off += 4;
      }
      break;
    }
    case LinkType.LINUX_SLL:
      if (n < 16) return count(stats, 'malformed');
      etherType = frame.readUInt16BE(14);
      off = 16;
      break;
    case LinkType.LINUX_SLL2:
      if (n < 20) return count(stats, 'malformed');
      etherType = frame.readUInt16BE(0);
      off = 20;
      break;
    case LinkType.RAW:
    case LinkType.RAW_12:
    case LinkType.RAW_14:
    case LinkType.IPV4:
    case LinkType.IPV6:
      if (n < 1) return count(stats, 'malformed');
      off = 0;
      etherType = frame[0] >> 4 === 4 ? ETH_IPV4 : frame[0] >> 4 === 6 ? ETH_IPV6 : -1;
      if (etherType < 0) return count(stats, 'malformed');
      break;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (n < 4) return count(stats, 'malformed');
      // AF_ value in the capturing host's byte order (NULL) or network order (LOOP)
      let af = frame.readUInt32BE(0);
      if (linkType === LinkType.NULL && af > 0xffff) af = frame.readUInt32LE(0);
      off = 4;
      etherType = af === 2 ? ETH_IPV4 : af === 24 || af === 28 || af === 30 || af === 10 ? ETH_IPV6 : -1;
      if (etherType < 0) return count(stats, 'notIp');
      break;
    }
    default:
      return count(stats, 'unsupportedLink');
  }
  if (etherType === ETH_IPV4) return ipv4(frame, off, stats);
  if (etherType === ETH_IPV6) return ipv6(frame, off, stats);
  return count(stats, 'notIp');
}

function count(stats: LinkStats, what: Exclude<keyof LinkStats, 'udp'>): null {
  stats[what]++;
  return null;
}

function ipv4(b: Buffer, off: number, stats: LinkStats): UdpDatagram | null {
  const avail = b.length - off;
  if (avail < 20 || b[off] >> 4 !== 4) return count(stats, 'malformed');
  const ihl = (b[off] & 0x0f) * 4;
  const total = b.readUInt16BE(off + 2);
  if (ihl < 20 || ihl > avail) return count(stats, 'malformed');
  // total 0 happens with TCP segmentation offload captures: trust the capture
  const end = total === 0 ? b.length : off + Math.min(avail, total);
  if (end - off < ihl) return count(stats, 'malformed');
  if ((b.readUInt16BE(off + 6) & 0x1fff) !== 0) return count(stats, 'fragments');
  if (b[off + 9] !== 17) return count(stats, 'notUdp');
  return udp(b, off + ihl, end, 4, ipv4ToString(b, off + 12), ipv4ToString(b, off + 16), stats);
}

function ipv6(b: Buffer, off: number, stats: LinkStats): UdpDatagram | null {
  if (b.length - off < 40 || b[off] >> 4 !== 6) return count(stats, 'malformed');
  const plen = b.readUInt16BE(off + 4);
  const end = plen === 0 ? b.length : Math.min(b.length, off + 40 + plen); // 0: jumbogram
  let next = b[off + 6];
  let p = off + 40;
  for (let hops = 0; hops < 8; hops++) {
    if (next === 17) return udp(b, p, end, 6, ipv6ToString(b, off + 8), ipv6ToString(b, off + 24), stats);
    if (next === 0 || next === 43 || next === 60) {
      if (end - p < 8) return count(stats, 'malformed');
      next = b[p];
      p += (b[p + 1] + 1) * 8;
    } else if (next === 44) {
      if (end - p < 8) return count(stats, 'malformed');
      if ((b.readUInt16BE(p + 2) & 0xfff8) !== 0) return count(stats, 'fragments');
      next = b[p];
      p += 8;
    } else if (next === 51) {
      if (end - p < 8) return count(stats, 'malformed');
      next = b[p];
      p += (b[p + 1] + 2) * 4;
    } else {
      return count(stats, 'notUdp');
    }
    if (p > end) return count(stats, 'malformed');
  }
  return count(stats, 'notUdp');
}

function udp(b: Buffer, off: number, end: number, ipVersion: 4 | 6, srcIp: string, dstIp: string, stats: LinkStats): UdpDatagram | null {
  if (end - off < 8) return count(stats, 'malformed');
  const len = b.readUInt16BE(off + 4);
  if (len !== 0 && len < 8) return count(stats, 'malformed');
  // a first fragment or a sliced capture holds less than the UDP length: keep what is there
  const pend = len === 0 ? end : Math.min(end, off + len);
  stats.udp++;
  return { ipVersion, srcIp, dstIp, srcPort: b.readUInt16BE(off), dstPort: b.readUInt16BE(off + 2), payload: b.subarray(off + 8, pend) };
}
