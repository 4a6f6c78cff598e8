import { SipstatsError } from '../errors.ts';
import { parseIpv4, parseIpv6 } from '../protocol/ip.ts';

/** Longest-prefix match of an address against `{ "10.0.0.0/8": "acme", "2001:db8::/32": "globex" }`. */
export function compileCidrs(map: Readonly<Record<string, string>>): (ip: string) => string | null {
  const entries: { bytes: Uint8Array; bits: number; name: string }[] = [];
  for (const [cidr, name] of Object.entries(map)) {
    const [addr, len] = cidr.split('/');
    const v6 = addr.includes(':');
    const bytes = new Uint8Array(v6 ? 16 : 4);
    const ok = v6 ? parseIpv6(addr, bytes, 0) : parseIpv4(addr, bytes, 0);
    const bits = len === undefined ? bytes.length * 8 : Number(len);
    if (!ok || !Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new SipstatsError('E_CFG_SYNTAX', `bad CIDR '${cidr}' (ADDRESS/BITS, IPv4 or IPv6)`);
    entries.push({ bytes, bits, name });
  }
  entries.sort((a, b) => b.bits - a.bits);
  const buf4 = new Uint8Array(4);
  const buf6 = new Uint8Array(16);
  return (ip) => {
    const v6 = ip.includes(':');
    const b = v6 ? buf6 : buf4;
    if (!(v6 ? parseIpv6(ip, b, 0) : parseIpv4(ip, b, 0))) return null;
    for (const e of entries) {
      if (e.bytes.length !== b.length) continue;
      let ok = true;
      for (let i = 0; i < e.bits && ok; i += 8) {
        const n = Math.min(8, e.bits - i);
        const mask = (0xff << (8 - n)) & 0xff;
        if ((b[i >> 3] & mask) !== (e.bytes[i >> 3] & mask)) ok = false;
      }
      if (ok) return e.name;
    }
    return null;
  };
}
