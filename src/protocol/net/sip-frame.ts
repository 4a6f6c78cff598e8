/**
 * SIP recognised by its start line, not by its port, and SIP messages framed in a byte stream by
 * Content-Length (RFC 3261 §18.3). Pure; works on byte ranges, never throws, never allocates.
 */

/** Longest start line looked at, bytes. */
export const MAX_START_LINE = 4096;

const S = 0x53;
const I = 0x49;
const P = 0x50;
const SLASH = 0x2f;
const TWO = 0x32;
const DOT = 0x2e;
const ZERO = 0x30;
const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const RESP = [S, I, P, SLASH, TWO, DOT, ZERO, SP];

/** Request method characters accepted: upper-case letters, digits and '-', '_', '.', '!', '%', '*', '+', '`', '\'', '~'. */
function methodChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x21 || c === 0x25 || c === 0x2a || c === 0x2b || c === 0x60 || c === 0x27 || c === 0x7e;
}

/** "SIP/2.0" at b[p..p+7). */
function sipVersionAt(b: Uint8Array, p: number): boolean {
  return b[p] === S && b[p + 1] === I && b[p + 2] === P && b[p + 3] === SLASH && b[p + 4] === TWO && b[p + 5] === DOT && b[p + 6] === ZERO;
}

/**
 * Is there a SIP start line at b[p]? 1: yes (`SIP/2.0 NNN ` or `METHOD SP URI SP SIP/2.0` then
 * CR or LF); 0: no; -1: cannot tell yet, the bytes up to `end` are a possible beginning of one.
 */
export function startLineAt(b: Uint8Array, p: number, end: number): 1 | 0 | -1 {
  const avail = end - p;
  if (avail <= 0) return -1;
  if (b[p] === S) {
    // "SIP/2.0 1xx" (a response), or a method starting with S (SUBSCRIBE)
    const n = Math.min(avail, 9);
    let k = 0;
    while (k < n && k < 8 && b[p + k] === RESP[k]) k++;
    if (k === n && n < 9) return -1;
    if (k === 8) return b[p + 8] >= 0x31 && b[p + 8] <= 0x39 ? 1 : 0;
  }
  let i = p;
  const mlim = Math.min(end, p + 33);
  while (i < mlim && methodChar(b[i])) i++;
  if (i === p) return 0;
  if (i === end) return -1;
  if (b[i] !== SP) return 0;
  const lim = Math.min(end, p + MAX_START_LINE);
  let j = i + 1;
  while (j < lim && b[j] !== CR && b[j] !== LF) j++;
  if (j === lim) return lim === end && avail < MAX_START_LINE ? -1 : 0;
  if (j - 8 <= i) return 0;
  return b[j - 8] === SP && sipVersionAt(b, j - 7) ? 1 : 0;
}

/** True when the whole of b[p, end) begins with a SIP start line (a datagram). */
export function isSipStart(b: Uint8Array, p: number, end: number): boolean {
  return startLineAt(b, p, end) === 1;
}

/** True when b[p, end) holds only CR and LF bytes (keep-alives), or nothing. */
export function onlyCrlf(b: Uint8Array, p: number, end: number): boolean {
  for (let i = p; i < end; i++) if (b[i] !== CR && b[i] !== LF) return false;
  return true;
}

/**
 * The next position in b[from, end) where a SIP start line begins, or may begin (the last line,
 * still incomplete); `end` when there is none. Only line starts are tried.
 */
export function findStartLine(b: Uint8Array, from: number, end: number): number {
  let p = from;
  while (p < end) {
    const r = startLineAt(b, p, end);
    if (r !== 0) return p;
    let q = p;
    while (q < end && b[q] !== LF) q++;
    p = q + 1;
  }
  return end;
}

const CRLFCRLF = new Uint8Array([CR, LF, CR, LF]);
const LFLF = new Uint8Array([LF, LF]);

/** Index just past the blank line ending the header block that starts at `from`, or -1. */
export function headerEnd(b: Uint8Array, from: number, end: number): number {
  // native search (Buffer#indexOf is memmem) for CRLF CRLF; a bare LF LF ends the block too
  const buf = b as Buffer;
  if (typeof buf.indexOf !== 'function' || end - from < 2) return -1;
  const view = end === b.length ? buf : buf.subarray(0, end);
  const i = view.indexOf(CRLFCRLF, from);
  const j = view.indexOf(LFLF, from);
  if (i < 0) return j < 0 ? -1 : j + 2;
  if (j >= 0 && j + 2 < i + 4) return j + 2;
  return i + 4;
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

const CONTENT_LENGTH_USUAL = new Uint8Array(Buffer.from('\nContent-Length', 'latin1'));

/** The value after `Content-Length` at b[q]: spaces, ':', spaces, digits. -1 when there is no ':'. */
function lengthValue(b: Uint8Array, q: number, hend: number): number {
  let p = q;
  while (p < hend && (b[p] === SP || b[p] === 0x09)) p++;
  if (p >= hend || b[p] !== 0x3a) return -1;
  p++;
  while (p < hend && (b[p] === SP || b[p] === 0x09)) p++;
  let v = 0;
  let digits = 0;
  while (p < hend && b[p] >= 0x30 && b[p] <= 0x39) {
    v = v * 10 + (b[p] - 0x30);
    p++;
    if (++digits > 10) return -2;
  }
  if (digits === 0 || v > 0x7fffffff) return -2;
  return v;
}

const CONTENT_LENGTH = [0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x65, 0x6e, 0x67, 0x74, 0x68]; // content-length

/**
 * Content-Length (or compact `l`) of the header block b[from, hend): its value, -1 when absent,
 * -2 when its value is not a number (or above 2^31).
 */
export function contentLength(b: Uint8Array, from: number, hend: number): number {
  // fast path: the usual spelling at a line start, found natively (else the scan below, which
  // also knows the compact form `l:` and any letter case)
  const q0 = (hend === b.length ? (b as Buffer) : (b as Buffer).subarray(0, hend)).indexOf(CONTENT_LENGTH_USUAL, from);
  if (q0 >= 0 && q0 < hend) {
    const v = lengthValue(b, q0 + CONTENT_LENGTH_USUAL.length, hend);
    if (v !== -1) return v;
  }
  let p = from;
  while (p < hend) {
    // p: start of a line
    const c = lower(b[p]);
    let q = -1;
    if (c === 0x63 && hend - p > 14) {
      let k = 1;
      while (k < 14 && lower(b[p + k]) === CONTENT_LENGTH[k]) k++;
      if (k === 14) q = p + 14;
    } else if (c === 0x6c) {
      q = p + 1;
    }
    if (q >= 0) {
      while (q < hend && (b[q] === SP || b[q] === 0x09)) q++;
      if (q < hend && b[q] === 0x3a) {
        q++;
        while (q < hend && (b[q] === SP || b[q] === 0x09)) q++;
        let v = 0;
        let digits = 0;
        while (q < hend && b[q] >= 0x30 && b[q] <= 0x39) {
          v = v * 10 + (b[q] - 0x30);
          q++;
          if (++digits > 10) return -2;
        }
        if (digits === 0 || v > 0x7fffffff) return -2;
        return v;
      }
    }
    while (p < hend && b[p] !== LF) p++;
    p++;
  }
  return -1;
}
