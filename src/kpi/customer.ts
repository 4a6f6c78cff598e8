import { headerName } from '../protocol/sip/parse.ts';
import type { HeaderName } from '../protocol/sip/parse.ts';
import { compileCidrs } from './cidr.ts';
import { sanitizeDimensionValue } from './catalogue.ts';

/** What a customer is, for per-customer KPIs (docs/kpis.md: by default the X-Customer header). */
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
  /** Capture time, Unix ms (live: on the server's timeline, see AgentClocks). */
  readonly timeMs: number;
  /**
   * The capture agent's own time when `timeMs` was moved onto the server's timeline (its clock is
   * off): PDD, AST and ACD are differences of these, exact however the agent's frames are delivered.
   */
  readonly agentTimeMs?: number | undefined;
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

/** Customer names become part of series names: the catalogue's rule for every dimension value. */
export const sanitizeCustomer = sanitizeDimensionValue;

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

