import { AT, COLON, COMMA, GT, isLws, SEMI, TOKEN, utf8 } from './chars.ts';

/** URIs in SIP messages (pure): user (%-unescaped) and host. */

/** Decodes %XX escapes (UTF-8); malformed escapes stay as written. */
function unescapeUri(b: Buffer, s: number, e: number): string {
  let has = false;
  for (let i = s; i < e; i++) {
    if (b[i] === 0x25) {
      has = true;
      break;
    }
  }
  if (!has) return utf8(b, s, e);
  const out = Buffer.allocUnsafe(e - s);
  let o = 0;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c === 0x25 && i + 2 < e) {
      const h = hex(b[i + 1]);
      const l = hex(b[i + 2]);
      if (h >= 0 && l >= 0) {
        out[o++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[o++] = c;
  }
  return out.toString('utf8', 0, o);
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

export interface UriParts {
  user: string | null;
  domain: string | null;
}

/** user (%-unescaped, password dropped) and host (lower-cased) of a URI at [s, e); null where absent. */
export function uriParts(b: Buffer, s: number, e: number): UriParts {
  // scheme
  let p = s;
  while (p < e && (TOKEN[b[p]] === 1 && b[p] !== 0x25)) p++;
  let r = s;
  let tel = false;
  if (p < e && b[p] === COLON && p > s) {
    tel = p - s === 3 && (b[s] | 0x20) === 0x74 && (b[s + 1] | 0x20) === 0x65 && (b[s + 2] | 0x20) === 0x6c;
    r = p + 1;
  }
  // end of the URI proper: '>' or whitespace
  let end = r;
  let at = -1;
  while (end < e) {
    const c = b[end];
    if (c === GT || isLws(c)) break;
    if (c === AT && at < 0) at = end;
    end++;
  }
  if (tel) {
    let q = r;
    while (q < end && b[q] !== SEMI) q++;
    return { user: q > r ? unescapeUri(b, r, q) : null, domain: null };
  }
  let user: string | null = null;
  let h = r;
  if (at >= 0) {
    let ue = r;
    while (ue < at && b[ue] !== COLON) ue++; // user:password
    user = ue > r ? unescapeUri(b, r, ue) : null;
    h = at + 1;
  }
  let he = h;
  if (he < end && b[he] === 0x5b) {
    while (he < end && b[he] !== 0x5d) he++;
    if (he < end) he++;
  } else {
    while (he < end) {
      const c = b[he];
      if (c === COLON || c === SEMI || c === 0x3f || c === COMMA) break;
      he++;
    }
  }
  return { user, domain: he > h ? utf8(b, h, he).toLowerCase() : null };
}

export const NO_URI: UriParts = Object.freeze({ user: null, domain: null });
