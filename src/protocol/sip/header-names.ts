import { bytes } from './chars.ts';

/** Header names (pure): compact forms (RFC 3261 §7.3.3 and later RFCs), names compiled once for look-ups. */

/** A header name compiled once for repeated look-ups (see headerName()). */
export interface HeaderName {
  readonly name: string;
  /** Lower-case ASCII bytes of the full name (the long form when `name` is a compact letter). */
  readonly lower: Uint8Array;
  /** Lower-case byte of the compact form, or -1 when there is none. */
  readonly compact: number;
}

/** RFC 3261 §7.3.3 and later RFCs: compact form letter → full name. */
const COMPACT: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};
const FULL_TO_COMPACT = new Map(Object.entries(COMPACT).map(([k, v]) => [v, k]));

/** Compiles a header name (full or compact form) for repeated header() look-ups. */
export function headerName(name: string): HeaderName {
  const lower = name.trim().toLowerCase();
  const full = lower.length === 1 ? COMPACT[lower] : undefined;
  if (full !== undefined) return { name, lower: bytes(full), compact: lower.charCodeAt(0) };
  const c = FULL_TO_COMPACT.get(lower);
  return { name, lower: bytes(lower), compact: c === undefined ? -1 : c.charCodeAt(0) };
}

const nameCache = new Map<string, HeaderName>();
export function compiled(name: string | HeaderName): HeaderName {
  if (typeof name !== 'string') return name;
  let h = nameCache.get(name);
  if (h === undefined) {
    h = headerName(name);
    if (nameCache.size >= 256) nameCache.clear();
    nameCache.set(name, h);
  }
  return h;
}
