import { headerName } from '../protocol/sip/parse.ts';
import type { HeaderName } from '../protocol/sip/parse.ts';
import { sanitizeDimensionValue } from './catalogue.ts';
import { compileCidrs } from './cidr.ts';
import type { PacketMeta } from './customer.ts';

/**
 * Carriers and destinations of calls and attempts (pure). A carrier is named from the outbound
 * INVITE of an attempt; a destination from the dialled number, normalised and matched against a
 * prefix table (longest prefix wins).
 */

/** What names the carrier of an attempt: its destination address (as is, or through a CIDR map), a header, the R-URI host. */
export type CarrierKey = { kind: 'dst-ip' } | { kind: 'cidr'; map: Readonly<Record<string, string>> } | { kind: 'header'; name: string } | { kind: 'ruri-host' };

export const DEFAULT_CARRIER_KEY: CarrierKey = { kind: 'dst-ip' };

/** The parts of an outbound INVITE the carrier and destination keys read. */
export interface LegSource {
  header(name: HeaderName): string | null;
  readonly ruriUser: string | null;
  readonly ruriHost: string | null;
  readonly toUser: string | null;
}

/** Parses `dst-ip`, `ruri-host`, `header:NAME` (CLI/config shorthand); a message when it is not one. */
export function parseCarrierKey(text: string): CarrierKey | string {
  const t = text.trim();
  if (/^header:/i.test(t)) {
    const name = t.slice(7).trim();
    return /^[A-Za-z0-9!%'*+.^_`|~-]+$/.test(name) ? { kind: 'header', name } : `bad header name '${name}'`;
  }
  if (t === 'dst-ip' || t === 'ruri-host') return { kind: t };
  return `unknown carrier key '${t}' (dst-ip, ruri-host, header:NAME, or { kind: cidr, map: {...} })`;
}

export function carrierExtractor(key: CarrierKey): (msg: LegSource, meta: PacketMeta) => string | null {
  switch (key.kind) {
    case 'dst-ip': {
      const name = memoByAddress((ip) => sanitizeDimensionValue(ip));
      return (_m, meta) => (meta.dstIp === undefined ? null : name(meta.dstIp));
    }
    case 'ruri-host':
      return (m) => sanitizeDimensionValue(m.ruriHost);
    case 'header': {
      const h = headerName(key.name);
      return (m) => sanitizeDimensionValue(m.header(h));
    }
    case 'cidr': {
      const table = compileCidrs(key.map);
      // an address outside the map is still a carrier: named by its address ('' and no address: none)
      const name = memoByAddress((ip) => sanitizeDimensionValue(table(ip) ?? ip));
      return (_m, meta) => name(meta.dstIp ?? '');
    }
  }
}

/**
 * Remembers a carrier name by address: the same few carrier addresses come back in every attempt,
 * and a Map probe is cheaper than matching the address against the CIDR map (a parse and a scan of
 * the prefixes) and sanitising the name again. Bounded: cleared past 4 096 addresses.
 */
function memoByAddress(name: (ip: string) => string | null): (ip: string) => string | null {
  const seen = new Map<string, string | null>();
  return (ip) => {
    let v = seen.get(ip);
    if (v === undefined) {
      if (seen.size >= 4096) seen.clear();
      seen.set(ip, (v = name(ip)));
    }
    return v;
  };
}

/** A digit trie: longest-prefix match of a number against `prefix → name`. */
export class PrefixTable {
  /** children[node * 10 + digit] → node (0 = none; node 0 is the root). */
  private children = new Int32Array(10 * 64);
  private names: (string | null)[] = [null];
  readonly descriptions = new Map<string, string>();
  size = 0;

  /** Adds a prefix (digits only); a later row for the same prefix replaces the earlier. */
  add(prefix: string, name: string): void {
    let node = 0;
    for (let i = 0; i < prefix.length; i++) {
      const d = prefix.charCodeAt(i) - 48;
      let next = this.children[node * 10 + d];
      if (next === 0) {
        next = this.names.length;
        this.names.push(null);
        if (next * 10 + 10 > this.children.length) {
          const c = new Int32Array(this.children.length * 2);
          c.set(this.children);
          this.children = c;
        }
        this.children[node * 10 + d] = next;
      }
      node = next;
    }
    if (this.names[node] === null) this.size++;
    this.names[node] = name;
  }

  /** The name of the longest prefix of `digits` in the table; null when none matches. */
  match(digits: string): string | null {
    let node = 0;
    let best: string | null = null;
    for (let i = 0; i < digits.length; i++) {
      const d = digits.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      node = this.children[node * 10 + d];
      if (node === 0) break;
      const n = this.names[node];
      if (n !== null) best = n;
    }
    return best;
  }

  /**
   * Reads CSV `prefix,name[,description]` (a header row whose first field is not digits is skipped;
   * `#` comments and blank lines too). Every bad row is reported with its line number.
   */
  static parseCsv(text: string): { table: PrefixTable; problems: string[] } {
    const table = new PrefixTable();
    const problems: string[] = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const f = splitCsv(line);
      if (i === 0 && !/^\d+$/.test(f[0])) return; // header
      if (f.length < 2 || !/^\d{1,15}$/.test(f[0])) return void problems.push(`line ${i + 1}: expected prefix,name with a prefix of 1 to 15 digits, got ${JSON.stringify(line.slice(0, 60))}`);
      const name = sanitizeDimensionValue(f[1]);
      if (name === null) return void problems.push(`line ${i + 1}: empty name`);
      table.add(f[0], name);
      if (f[2] !== undefined && f[2] !== '') table.descriptions.set(name, f[2]);
    });
    return { table, problems };
  }
}

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i++];
      }
      out.push(v.trim());
      while (i < line.length && line[i] !== ',') i++;
      i++;
    } else {
      const e = line.indexOf(',', i);
      const end = e < 0 ? line.length : e;
      out.push(line.slice(i, end).trim());
      i = end + 1;
    }
  }
  return out;
}

export interface DestinationOptions {
  /** Where the dialled number is: the R-URI user (default) or the To user. */
  readonly number?: 'ruri-user' | 'to-user';
  /** Prefixes removed in this order, each at most once (e.g. a tech prefix, then `+`, `00`, `011`); default DEFAULT_STRIP. */
  readonly strip?: readonly string[];
  readonly table: PrefixTable;
}

export const UNKNOWN_DESTINATION = 'unknown';

/** Prefixes stripped when none are configured: `+` and the `00` international prefix (no country code starts with 0). */
export const DEFAULT_STRIP: readonly string[] = Object.freeze(['+', '00']);

/** Normalises a dialled number: visual separators go, then the configured prefixes are stripped in order. */
export function normaliseNumber(raw: string, strip: readonly string[]): string {
  let n = raw.replace(/[\s().-]/g, '');
  for (const p of strip) if (p !== '' && n.startsWith(p)) n = n.slice(p.length);
  return n;
}

export function destinationExtractor(o: DestinationOptions): (msg: LegSource) => string {
  const strip = o.strip ?? DEFAULT_STRIP;
  const table = o.table;
  const toUser = o.number === 'to-user';
  return (m) => {
    const raw = toUser ? m.toUser : m.ruriUser;
    if (raw === null) return UNKNOWN_DESTINATION;
    return table.match(normaliseNumber(raw, strip)) ?? UNKNOWN_DESTINATION;
  };
}
