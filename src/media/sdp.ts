import { STATIC_PAYLOADS } from './emodel.ts';

/** An audio stream an SDP body offers or answers: where it wants RTP, and its payload types. */
export interface SdpAudio {
  /** Connection address (the media's c= line, else the session's). */
  readonly addr: string;
  /** RTP port (even, non-zero: a stream with port 0 is refused and not listed). */
  readonly port: number;
  /** Payload types in preference order (the m= line's formats). */
  readonly pts: readonly number[];
  /** Encoding name (upper case) and clock rate by payload type (rtpmap, else RFC 3551 static types). */
  readonly codecs: ReadonlyMap<number, { readonly name: string; readonly clock: number }>;
}

type Codec = { readonly name: string; readonly clock: number };

/** The RFC 3551 static payload types as codec objects, made once (a call's G.711 is everyone's). */
const STATIC = new Map<number, Codec>(Object.entries(STATIC_PAYLOADS).map(([pt, c]) => [Number(pt), Object.freeze({ name: c.name, clock: c.clock })]));

/** What JavaScript's `\s` and `trim()` take in the latin1 range: tab, LF, VT, FF, CR, space, NBSP. */
const WS = new Uint8Array(256);
for (const c of [9, 10, 11, 12, 13, 32, 160]) WS[c] = 1;

const C_EQ = 0x3d;
const C_SLASH = 0x2f;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Token bounds of the line being read (start, end pairs), reused. */
let tok: Int32Array = new Int32Array(64);
let ntok = 0;

/** Writes pair number `k` (start, end) into `a`, or into a larger copy it returns when `a` is full. */
function pair(a: Int32Array, k: number, s: number, e: number): Int32Array {
  if (2 * k + 2 > a.length) {
    const bigger = new Int32Array(a.length * 2);
    bigger.set(a);
    a = bigger;
  }
  a[2 * k] = s;
  a[2 * k + 1] = e;
  return a;
}

/** Splits [s, e) into whitespace-separated tokens (as `split(/\s+/)` of the trimmed text). */
function tokens(b: Uint8Array, s: number, e: number): void {
  ntok = 0;
  let i = s;
  while (i < e) {
    while (i < e && WS[b[i]] === 1) i++;
    if (i >= e) break;
    const t = i;
    while (i < e && WS[b[i]] === 0) i++;
    tok = pair(tok, ntok++, t, i);
  }
}

function latin1(b: Uint8Array, s: number, e: number): string {
  if (b instanceof Buffer) return b.toString('latin1', s, e);
  let out = '';
  for (let i = s; i < e; i++) out += String.fromCharCode(b[i]);
  return out;
}

/**
 * Codec tables already made, by the bytes they were made from (the m= line's formats and the
 * stream's rtpmap lines): the calls of a trunk offer the same few, and a table is read, never
 * changed. Found by a hash of those bytes and then compared byte by byte, so that a table already
 * made costs no string (reading an SDP made three strings and a joined key for it: half its time).
 * Bounded: cleared when full.
 */
const TABLES = new Map<number, { key: Uint8Array; codecs: ReadonlyMap<number, Codec> }[]>();
let tableCount = 0;
const MAX_TABLES = 1024;
/** The rtpmap lines of the stream being read (value start, end pairs), reused. */
let maps: Int32Array = new Int32Array(32);
let nmaps = 0;

/** FNV-1a over b[s, e), from `h`. */
function fnv(b: Uint8Array, s: number, e: number, h: number): number {
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h;
}

/** Whether `key` holds b[ps, pe) then, for each rtpmap line, a LF and its bytes. */
function sameKey(key: Uint8Array, b: Uint8Array, ps: number, pe: number): boolean {
  let j = 0;
  for (let i = ps; i < pe; i++) if (key[j++] !== b[i]) return false;
  for (let k = 0; k < nmaps; k++) {
    if (key[j++] !== 0x0a) return false;
    for (let i = maps[2 * k]; i < maps[2 * k + 1]; i++) if (key[j++] !== b[i]) return false;
  }
  return j === key.length;
}

/** The codec table of a stream: its rtpmap lines (maps[0, nmaps)), else RFC 3551 static types; its formats' text is b[ps, pe). */
function codecTable(b: Uint8Array, pts: readonly number[], ps: number, pe: number): ReadonlyMap<number, Codec> {
  let h = fnv(b, ps, pe, 0x811c9dc5);
  let len = pe - ps;
  for (let k = 0; k < nmaps; k++) {
    h = fnv(b, maps[2 * k], maps[2 * k + 1], Math.imul(h ^ 0x0a, 0x01000193));
    len += 1 + maps[2 * k + 1] - maps[2 * k];
  }
  const bucket = TABLES.get(h);
  if (bucket !== undefined) for (const t of bucket) if (t.key.length === len && sameKey(t.key, b, ps, pe)) return t.codecs;
  const codecs = new Map<number, Codec>();
  for (let k = 0; k < nmaps; k++) rtpmap(b, maps[2 * k], maps[2 * k + 1], codecs);
  for (const pt of pts) {
    const st = STATIC.get(pt);
    if (st !== undefined && !codecs.has(pt)) codecs.set(pt, st);
  }
  const key = new Uint8Array(len);
  key.set(b.subarray(ps, pe), 0);
  let j = pe - ps;
  for (let k = 0; k < nmaps; k++) {
    key[j++] = 0x0a;
    key.set(b.subarray(maps[2 * k], maps[2 * k + 1]), j);
    j += maps[2 * k + 1] - maps[2 * k];
  }
  if (tableCount >= MAX_TABLES) {
    TABLES.clear();
    tableCount = 0;
  }
  const entry = { key, codecs };
  if (bucket !== undefined && TABLES.has(h)) bucket.push(entry);
  else TABLES.set(h, [entry]);
  tableCount++;
  return codecs;
}

/** One `rtpmap:PT NAME/CLOCK[/...]` value [vs, ve) into `codecs` (nothing when it does not read so). */
function rtpmap(b: Uint8Array, vs: number, ve: number, codecs: Map<number, Codec>): void {
  let i = vs + 7;
  const p0 = i;
  while (i < ve && isDigit(b[i])) i++;
  const p1 = i;
  while (i < ve && WS[b[i]] === 1) i++;
  const n0 = i;
  while (i < ve && WS[b[i]] === 0 && b[i] !== C_SLASH) i++;
  const n1 = i;
  if (p1 > p0 && n0 > p1 && n1 > n0 && i < ve && b[i] === C_SLASH) {
    const c0 = ++i;
    while (i < ve && isDigit(b[i])) i++;
    if (i > c0) codecs.set(num(b, p0, p1), Object.freeze({ name: latin1(b, n0, n1).toUpperCase(), clock: num(b, c0, i) }));
  }
}

/** `Number()` of the text [s, e): digits read directly, anything else (`0x10`, `1e3`, `+5`) as Number reads it. */
function num(b: Uint8Array, s: number, e: number): number {
  if (e - s > 0 && e - s <= 9) {
    let v = 0;
    let i = s;
    for (; i < e && isDigit(b[i]); i++) v = v * 10 + (b[i] - 0x30);
    if (i === e) return v;
  }
  return Number(latin1(b, s, e));
}

/** Where the first `/` of [s, e) is, or e. */
function untilSlash(b: Uint8Array, s: number, e: number): number {
  let i = s;
  while (i < e && b[i] !== C_SLASH) i++;
  return i;
}

function startsWith(b: Uint8Array, s: number, e: number, text: string): boolean {
  if (e - s < text.length) return false;
  for (let i = 0; i < text.length; i++) if (b[s + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * The audio streams of an SDP body (RFC 8866): `m=audio` lines with their c= and a=rtpmap lines.
 * A body that is not SDP, or a stream without an address, gives nothing (never throws). Reads the
 * bytes as they are (latin1), a line at a time, without making strings of the lines it skips: it
 * runs for every INVITE and answer with a body, media on.
 */
export function sdpAudio(body: string | Uint8Array, start = 0, end = body.length): SdpAudio[] {
  const b = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const out: SdpAudio[] = [];
  let session = '';
  let curAddr = '';
  let curPort = -1; // -1: no audio stream open
  let curPts: number[] = [];
  let curPtsS = 0; // the m= line's formats: b[curPtsS, curPtsE)
  let curPtsE = 0;
  nmaps = 0;
  const close = () => {
    if (curPort > 0 && (curAddr || session)) out.push({ addr: curAddr || session, port: curPort, pts: curPts, codecs: codecTable(b, curPts, curPtsS, curPtsE) });
    curPort = -1;
    nmaps = 0;
  };
  let ls = start;
  while (ls < end) {
    let nl = b.indexOf(0x0a, ls);
    if (nl < 0 || nl > end) nl = end;
    // (split(/\r?\n/): a CR just before the LF is not the line's)
    const le = nl < end && nl > ls && b[nl - 1] === 0x0d ? nl - 1 : nl;
    const kind = b[ls];
    if (le - ls >= 2 && b[ls + 1] === C_EQ && (kind === 0x6d || kind === 0x63 || kind === 0x61)) {
      let vs = ls + 2;
      let ve = le;
      while (vs < ve && WS[b[vs]] === 1) vs++;
      while (ve > vs && WS[b[ve - 1]] === 1) ve--;
      if (kind === 0x6d) {
        // m=audio PORT[/N] RTP/... PT...
        close();
        tokens(b, vs, ve);
        if (ntok >= 3 && tok[1] - tok[0] === 5 && startsWith(b, tok[0], tok[1], 'audio') && startsWith(b, tok[4], tok[5], 'RTP/')) {
          const port = num(b, tok[2], untilSlash(b, tok[2], tok[3]));
          if (Number.isInteger(port) && port >= 0 && port <= 65535) {
            curPort = port;
            curAddr = '';
            curPts = [];
            curPtsS = ntok > 3 ? tok[6] : 0;
            curPtsE = ntok > 3 ? tok[2 * ntok - 1] : 0;
            for (let k = 3; k < ntok; k++) {
              const pt = num(b, tok[2 * k], tok[2 * k + 1]);
              if (Number.isInteger(pt) && pt >= 0 && pt < 128) curPts.push(pt);
            }
          }
        }
      } else if (kind === 0x63) {
        // c=IN IP4 ADDR[/TTL]
        tokens(b, vs, ve);
        if (ntok >= 3 && tok[1] - tok[0] === 2 && b[tok[0]] === 0x49 && b[tok[0] + 1] === 0x4e) {
          const addr = latin1(b, tok[4], untilSlash(b, tok[4], tok[5]));
          if (curPort >= 0) curAddr = addr;
          else session = addr;
        }
      } else if (curPort >= 0 && startsWith(b, vs, ve, 'rtpmap:')) {
        // a=rtpmap:PT NAME/CLOCK[/...]: read with the stream's other lines (codecTable)
        maps = pair(maps, nmaps++, vs, ve);
      }
    }
    ls = nl + 1;
  }
  close();
  return out;
}

