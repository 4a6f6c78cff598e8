import { headerName } from '../protocol/sip/parse.ts';
import type { HeaderName } from '../protocol/sip/parse.ts';
import { parseIpv4, parseIpv6 } from '../protocol/ip.ts';

/** What a customer is, for per-customer KPIs (SPEC §7: by default the X-Customer header). */
export type CustomerKey =
  | { kind: 'header'; name: string }
  | { kind: 'from-user' }
  | { kind: 'from-domain' }
  | { kind: 'to-domain' }
  | { kind: 'source-ip' }
  | { kind: 'cidr'; map: Readonly<Record<string, string>> }
  | { kind: 'hep-node' };

export const DEFAULT_CUSTOMER_KEY: CustomerKey = { kind: 'header', name: 'X-Customer' };

/** The parts of a SIP message the customer key may read. */
export interface CustomerSource {
  header(name: HeaderName): string | null;
  readonly fromUser: string | null;
  readonly fromDomain: string | null;
  readonly toDomain: string | null;
}

export interface PacketMeta {
  /** Capture time, Unix ms. */
  readonly timeMs: number;
  readonly srcIp: string;
  /** Destination address ('' or absent when the source does not say). */
  readonly dstIp?: string | undefined;
  readonly srcPort?: number | undefined;
  readonly dstPort?: number | undefined;
  /** HEP correlation id (chunk 0x0011): another leg's Call-ID on B2BUAs that set it. */
  readonly correlationId?: string | undefined;
  readonly nodeName?: string | undefined;
  readonly nodeId?: number | undefined;
}

/** Customer names become part of series names: keep them to safe characters and a sane length. */
export function sanitizeCustomer(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const t = raw.trim();
  if (t === '') return null;
  return t.replace(/[^A-Za-z0-9_.@+-]/g, '_').slice(0, 64);
}

/** Parses `KIND` or `header:NAME` (CLI/config shorthand). */
export function parseCustomerKey(text: string): CustomerKey | string {
  const t = text.trim();
  if (/^header:/i.test(t)) {
    const name = t.slice(7).trim();
    return /^[A-Za-z0-9!%'*+.^_`|~-]+$/.test(name) ? { kind: 'header', name } : `bad header name '${name}'`;
  }
  if (['from-user', 'from-domain', 'to-domain', 'source-ip', 'hep-node'].includes(t)) return { kind: t } as CustomerKey;
  return `unknown customer key '${t}' (header:NAME, from-user, from-domain, to-domain, source-ip, cidr, hep-node)`;
}

/** Builds the function that names the customer of an initial INVITE (decided once, then rebound). */
export function customerExtractor(key: CustomerKey): (msg: CustomerSource, meta: PacketMeta) => string | null {
  switch (key.kind) {
    case 'header': {
      const h = headerName(key.name);
      return (msg) => sanitizeCustomer(msg.header(h));
    }
    case 'from-user':
      return (msg) => sanitizeCustomer(msg.fromUser);
    case 'from-domain':
      return (msg) => sanitizeCustomer(msg.fromDomain);
    case 'to-domain':
      return (msg) => sanitizeCustomer(msg.toDomain);
    case 'source-ip':
      return (_msg, meta) => sanitizeCustomer(meta.srcIp);
    case 'hep-node':
      return (_msg, meta) => sanitizeCustomer(meta.nodeName ?? (meta.nodeId !== undefined ? String(meta.nodeId) : null));
    case 'cidr': {
      const table = compileCidrs(key.map);
      return (_msg, meta) => sanitizeCustomer(table(meta.srcIp));
    }
  }
}

/** Longest-prefix match of an address against `{ "10.0.0.0/8": "acme", "2001:db8::/32": "globex" }`. */
export function compileCidrs(map: Readonly<Record<string, string>>): (ip: string) => string | null {
  const entries: { bytes: Uint8Array; bits: number; name: string }[] = [];
  for (const [cidr, name] of Object.entries(map)) {
    const [addr, len] = cidr.split('/');
    const v6 = addr.includes(':');
    const bytes = new Uint8Array(v6 ? 16 : 4);
    const ok = v6 ? parseIpv6(addr, bytes, 0) : parseIpv4(addr, bytes, 0);
    const bits = len === undefined ? bytes.length * 8 : Number(len);
    if (!ok || !Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new Error(`bad CIDR '${cidr}'`);
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
