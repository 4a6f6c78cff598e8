/**
 * Lazy, byte-level SIP message parser. Pure; never throws, whatever the bytes.
 *
 * parseSip() reads only the start line. A getter reads header lines only as far as its field
 * needs, recording on the way where the well-known headers (Call-ID, CSeq, From, To, Via,
 * Content-Length; compact forms included) start and end, so the lines are read
 * at most once; it then decodes its own value once and caches it. Any other header is found on
 * demand by header(name), matching names on the raw bytes with ASCII case folding.
 *
 * Tolerated: CRLF or bare LF line ends, empty lines before the start line, folded headers
 * (continuation lines starting with SP/HT), whitespace around ':' ';' '=', repeated headers (the
 * first one wins for single-valued fields), a missing blank line at the end of the headers.
 * Invalid start lines give `{ ok: false, error }`; invalid or missing header values give null.
 */

import { bytes, TOKEN, utf8 } from './chars.ts';
import { compiled, type HeaderName } from './header-names.ts';
import { NO_URI, uriParts, type UriParts } from './uri.ts';
import { Ix } from '../native-index.ts';
import { METHODS } from './methods.ts';

export { headerName, type HeaderName } from './header-names.ts';

export type SipErrorCode =
  /** Nothing but empty lines (e.g. a CRLF keep-alive). */
  | 'SIP_EMPTY'
  /** The first line is neither `METHOD URI SIP/2.0` nor `SIP/2.0 CODE REASON`. */
  | 'SIP_BAD_START_LINE'
  /** A SIP version other than 2.0. */
  | 'SIP_BAD_VERSION'
  /** A status code outside 100..699. */
  | 'SIP_BAD_STATUS';

export interface SipError {
  code: SipErrorCode;
  message: string;
  offset: number;
}

export type SipParseResult = { ok: true; value: SipMessage } | { ok: false; error: SipError };

export interface SipCSeq {
  seq: number;
  method: string;
}

// byte values, local to this module: the hot loops compare with constants (imported bindings are
// loaded at every use, measured ~20 % slower parsing); chars.ts holds the same for the cold modules
const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SEMI = 0x3b;
const COMMA = 0x2c;
const DQUOTE = 0x22;
const BSLASH = 0x5c;
const EQ = 0x3d;
const LT = 0x3c;
const GT = 0x3e;
const isLws = (c: number): boolean => c === SP || c === HT || c === CR || c === LF;

// ids of the headers recorded by the index pass
const H_CALL_ID = 0;
const H_CSEQ = 1;
const H_FROM = 2;
const H_TO = 3;
const H_VIA = 4;
const H_CONTENT_LENGTH = 5;
// 6 ids: `pos` holds 12 numbers, start and end per id

const N_CONTENT_LENGTH = bytes('content-length');
const P_TAG = bytes('tag');
const P_BRANCH = bytes('branch');

// (module constants: an imported object's property would be loaded at each use)
const { PAY_E, REQUEST, METHOD, STATUS, SL, SLE, HS, POS, BODY, SCAN, CSEQ_SEQ, CSEQ_METHOD, FTAG_S, FTAG_E, TTAG_S, TTAG_E, BRANCH_S, BRANCH_E, RTP_STAT } = Ix;

const METHOD_BYTES = METHODS.map(bytes);

// Scratch "return registers" for helpers that find a range: single-threaded, read right after the call.
let R_START = 0;
let R_END = 0;
let R_NEXT = 0;
let R_FOLDED = false;

/** Compares b[s, s+name.length) with lower-case ASCII `name`, folding letters only. */
function eqName(b: Buffer, s: number, e: number, name: Uint8Array): boolean {
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    const x = name[i];
    const y = b[s + i];
    if (y !== x && !(x >= 0x61 && x <= 0x7a && (y | 0x20) === x)) return false;
  }
  return true;
}

/**
 * Which well-known header the name at [s, e) is. The short names are compared byte by byte here
 * rather than by eqName's loop over a name array: every header line of every message passes here
 * (in the profile, eqName was a fifth of the index pass). `(c | 0x20) === letter` folds the case
 * of a letter only (the one non-letter, Call-ID's '-', is compared as is).
 */
function classify(b: Buffer, s: number, e: number): number {
  switch (e - s) {
    case 1:
      switch (b[s] | 0x20) {
        case 0x69: return H_CALL_ID; // i
        case 0x66: return H_FROM; // f
        case 0x74: return H_TO; // t
        case 0x76: return H_VIA; // v
        case 0x6c: return H_CONTENT_LENGTH; // l
        default: return -1;
      }
    case 2: return (b[s] | 0x20) === 0x74 && (b[s + 1] | 0x20) === 0x6f ? H_TO : -1; // to
    case 3: return (b[s] | 0x20) === 0x76 && (b[s + 1] | 0x20) === 0x69 && (b[s + 2] | 0x20) === 0x61 ? H_VIA : -1; // via
    case 4:
      switch (b[s] | 0x20) {
        case 0x66: return (b[s + 1] | 0x20) === 0x72 && (b[s + 2] | 0x20) === 0x6f && (b[s + 3] | 0x20) === 0x6d ? H_FROM : -1; // from
        case 0x63: return (b[s + 1] | 0x20) === 0x73 && (b[s + 2] | 0x20) === 0x65 && (b[s + 3] | 0x20) === 0x71 ? H_CSEQ : -1; // cseq
        default: return -1;
      }
    case 7: // call-id
      return (b[s] | 0x20) === 0x63 && (b[s + 1] | 0x20) === 0x61 && (b[s + 2] | 0x20) === 0x6c && (b[s + 3] | 0x20) === 0x6c && b[s + 4] === 0x2d && (b[s + 5] | 0x20) === 0x69 && (b[s + 6] | 0x20) === 0x64 ? H_CALL_ID : -1;
    case 14: return eqName(b, s, e, N_CONTENT_LENGTH) ? H_CONTENT_LENGTH : -1;
    default: return -1;
  }
}

/** Finds the line starting at p: R_END = end without CR/LF, R_NEXT = start of the next line. */
function line(b: Buffer, p: number, n: number): void {
  // indexOf (memchr) beats a byte loop here: ~240 vs ~560 ns for the 16 lines of a typical INVITE
  let e = b.indexOf(LF, p);
  if (e < 0 || e > n) e = n; // (n: the end of the message, which may lie before the end of b)
  R_NEXT = e < n ? e + 1 : n;
  R_END = e > p && b[e - 1] === CR ? e - 1 : e;
}

/**
 * Reads the header line [p, le) (not blank, not a continuation): false when it has no colon, else
 * sets R_START/R_END to the name (trailing whitespace trimmed) and R_NEXT to just after the colon.
 */
function headerLine(b: Buffer, p: number, le: number): boolean {
  let q = p;
  while (q < le && b[q] !== COLON) q++;
  if (q === le) return false;
  let ne = q;
  while (ne > p && (b[ne - 1] === SP || b[ne - 1] === HT)) ne--;
  R_START = p;
  R_END = ne;
  R_NEXT = q + 1;
  return true;
}

function internMethod(b: Buffer, s: number, e: number): string {
  const len = e - s;
  for (let i = 0; i < METHOD_BYTES.length; i++) {
    const m = METHOD_BYTES[i];
    if (m.length !== len || b[s] !== m[0]) continue;
    let j = 1;
    while (j < len && b[s + j] === m[j]) j++;
    if (j === len) return METHODS[i];
  }
  return utf8(b, s, e);
}

/** Skips a quoted string starting at the DQUOTE at p; returns the index after the closing quote (or e). */
function skipQuoted(b: Buffer, p: number, e: number): number {
  p++;
  while (p < e) {
    const c = b[p];
    if (c === BSLASH) p += 2;
    else if (c === DQUOTE) return p + 1;
    else p++;
  }
  return e;
}

/**
 * Finds parameter `name` in the `;name=value` list starting at p (before the first ';'), up to e
 * (or the first ',' outside quotes when stopAtComma). Sets R_START/R_END to the value (quotes
 * removed). Returns false when absent.
 */
function findParam(b: Buffer, p: number, e: number, name: Uint8Array, stopAtComma: boolean): boolean {
  while (p < e) {
    // advance to the next ';'
    let c = b[p];
    if (c === DQUOTE) {
      p = skipQuoted(b, p, e);
      continue;
    }
    if (c === COMMA && stopAtComma) return false;
    if (c !== SEMI) {
      p++;
      continue;
    }
    p++;
    while (p < e && isLws(b[p])) p++;
    const ns = p;
    while (p < e && TOKEN[b[p]] === 1) p++;
    const ne = p;
    while (p < e && isLws(b[p])) p++;
    let vs = p;
    let ve = p;
    if (p < e && b[p] === EQ) {
      p++;
      while (p < e && isLws(b[p])) p++;
      if (p < e && b[p] === DQUOTE) {
        vs = p + 1;
        p = skipQuoted(b, p, e);
        ve = p > vs && b[p - 1] === DQUOTE ? p - 1 : p;
      } else {
        vs = p;
        while (p < e && (c = b[p]) !== SEMI && c !== COMMA && !isLws(c)) p++;
        ve = p;
      }
    }
    if (eqName(b, ns, ne, name)) {
      R_START = vs;
      R_END = ve;
      return true;
    }
  }
  return false;
}

/**
 * Splits a name-addr / addr-spec value (From, To, Contact) at [s, e): sets R_START/R_END to the
 * URI and R_NEXT to where the header parameters start.
 */
function nameAddr(b: Buffer, s: number, e: number): void {
  let p = s;
  while (p < e && isLws(b[p])) p++;
  let lt = -1;
  for (let q = p; q < e; q++) {
    const c = b[q];
    if (c === DQUOTE) q = skipQuoted(b, q, e) - 1;
    else if (c === LT) {
      lt = q;
      break;
    }
  }
  if (lt >= 0) {
    let gt = lt + 1;
    while (gt < e && b[gt] !== GT) gt++;
    R_START = lt + 1;
    R_END = gt;
    R_NEXT = gt < e ? gt + 1 : e;
    return;
  }
  let q = p;
  while (q < e && b[q] !== SEMI && b[q] !== COMMA && !isLws(b[q])) q++;
  R_START = p;
  R_END = q;
  R_NEXT = q;
}

/**
 * Extends the header value [vs, ve) over the continuation lines from `next` on (lines starting
 * with SP/HT): sets R_START/R_END to the value, R_NEXT to the line after it and R_FOLDED when the
 * value spans several lines. The one unfolding loop of the index pass and of header().
 */
function continuation(b: Buffer, vs: number, ve: number, next: number, n: number): void {
  let folded = false;
  let c = 0;
  while (next < n && ((c = b[next]) === SP || c === HT)) {
    const q = next;
    line(b, q, n);
    next = R_NEXT;
    let e = R_END;
    while (e > q && (b[e - 1] === SP || b[e - 1] === HT)) e--;
    if (e === q) continue;
    if (ve === vs) {
      // the value starts on the continuation line
      vs = q;
      while (vs < e && (b[vs] === SP || b[vs] === HT)) vs++;
    } else {
      folded = true;
    }
    ve = e;
  }
  R_START = vs;
  R_END = ve;
  R_NEXT = next;
  R_FOLDED = folded;
}

/** Decodes a header value, unfolding continuation lines into single spaces. */
function valueString(b: Buffer, s: number, e: number, folded: boolean): string {
  if (!folded) return utf8(b, s, e);
  return utf8(b, s, e).replace(/[ \t]*\r?\n[ \t]*/g, ' ').trim();
}

/** A header name b[s, e) with "rtp-stat" in it, any case (what native/sip-index.c rtp_stat_name looks for). */
function hasRtpStat(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i + 8 <= e; i++) {
    let j = 0;
    while (j < 8 && (b[i + j] | 0x20) === RTP_STAT_NAME[j]) j++;
    if (j === 8) return true;
  }
  return false;
}
const RTP_STAT_NAME = Buffer.from('rtp-stat', 'latin1');

export class SipMessage {
  // (fields declared, then assigned once in the constructor: a class field would be defined, then
  // assigned; one object per message)
  /** The bytes the message is in: [start, end) of them (the whole buffer unless parsed in a range). */
  declare readonly buf: Buffer;
  /** End of the message in `buf`. */
  declare readonly end: number;
  declare readonly isRequest: boolean;
  /** Request method (upper-case as sent); null for responses. */
  declare readonly method: string | null;
  /** Response status code; 0 for requests. */
  declare readonly status: number;
  declare private readonly sl: number; // start of the text after the method / status code
  declare private readonly sle: number; // end of the start line
  declare private readonly hs: number; // first header line
  // Incremental index of the well-known headers: lines are read only as far as the fields asked
  // for require (the first occurrence wins, so a found header never needs a later line).
  declare private pos: number[] | null; // [start, end] per H_* id, -1 when not (yet) seen
  declare private scan: number; // start of the next unread header line, -1 once the header block is done
  declare private folded: number; // bit per H_* id whose value spans several lines
  declare private bodyStart: number;
  // decoded values, undefined until first read
  declare private _callId: string | null | undefined;
  declare private _cseq: SipCSeq | null | undefined;
  declare private _fromTag: string | null | undefined;
  declare private _toTag: string | null | undefined;
  declare private _fromUri: UriParts | undefined;
  declare private _toUri: UriParts | undefined;
  declare private _rUri: UriParts | undefined;
  declare private _branch: string | null | undefined;
  declare private _cl: number | null | undefined;
  // what the native indexer found (sipFromIndex; nx false for a message parsed here): CSeq number
  // and METHODS index (-1: no valid CSeq), the From tag, To tag and top Via branch ranges (-1: none)
  declare private nx: boolean;
  declare private nxSeq: number;
  declare private nxMethod: number;
  declare private nxFt0: number;
  declare private nxFt1: number;
  declare private nxTt0: number;
  declare private nxTt1: number;
  declare private nxBr0: number;
  declare private nxBr1: number;
  // the indexer's answer to rtpStatHeader (1, 0), -1 when it did not look (a message parsed here, not a BYE transaction)
  declare private nxRtp: number;

  /** @internal use parseSip(). */
  constructor(buf: Buffer, end: number, isRequest: boolean, method: string | null, status: number, sl: number, sle: number, hs: number) {
    this.buf = buf;
    this.end = end;
    this.isRequest = isRequest;
    this.method = method;
    this.status = status;
    this.sl = sl;
    this.sle = sle;
    this.hs = hs;
    this.pos = null;
    this.scan = hs;
    this.folded = 0;
    this.bodyStart = -1;
    this._callId = undefined;
    this._cseq = undefined;
    this._fromTag = undefined;
    this._toTag = undefined;
    this._fromUri = undefined;
    this._toUri = undefined;
    this._rUri = undefined;
    this._branch = undefined;
    this._cl = undefined;
    this.nx = false;
    this.nxSeq = 0;
    this.nxMethod = -1;
    this.nxFt0 = -1;
    this.nxFt1 = -1;
    this.nxTt0 = -1;
    this.nxTt1 = -1;
    this.nxBr0 = -1;
    this.nxBr1 = -1;
    this.nxRtp = -1;
  }

  /** @internal sipFromIndex: the fields the native indexer found (see there). */
  static fromIndex(buf: Buffer, ix: Int32Array): SipMessage {
    const req = ix[REQUEST] === 1;
    const m = new SipMessage(buf, ix[PAY_E], req, req ? METHODS[ix[METHOD]] : null, ix[STATUS], ix[SL], ix[SLE], ix[HS]);
    const p = POS;
    m.pos = [ix[p], ix[p + 1], ix[p + 2], ix[p + 3], ix[p + 4], ix[p + 5], ix[p + 6], ix[p + 7], ix[p + 8], ix[p + 9], ix[p + 10], ix[p + 11]];
    m.scan = ix[SCAN];
    m.bodyStart = ix[BODY];
    m.nx = true;
    m.nxSeq = ix[CSEQ_SEQ] >>> 0;
    m.nxMethod = ix[CSEQ_METHOD];
    m.nxFt0 = ix[FTAG_S];
    m.nxFt1 = ix[FTAG_E];
    m.nxTt0 = ix[TTAG_S];
    m.nxTt1 = ix[TTAG_E];
    m.nxBr0 = ix[BRANCH_S];
    m.nxBr1 = ix[BRANCH_E];
    m.nxRtp = ix[RTP_STAT];
    return m;
  }

  /** User part of the Request-URI (the dialled number, %-unescaped); null for responses or none. */
  get ruriUser(): string | null {
    if (!this.isRequest) return null;
    return (this._rUri ??= uriParts(this.buf, this.sl, this.sle)).user;
  }

  /** Host of the Request-URI, lower-cased; null for responses. */
  get ruriHost(): string | null {
    if (!this.isRequest) return null;
    return (this._rUri ??= uriParts(this.buf, this.sl, this.sle)).domain;
  }

  get callId(): string | null {
    if (this._callId === undefined) {
      const s = this.find(H_CALL_ID);
      const e = this.pos![2 * H_CALL_ID + 1];
      this._callId = s < 0 || e === s ? null : valueString(this.buf, s, e, (this.folded & (1 << H_CALL_ID)) !== 0);
    }
    return this._callId;
  }

  /** CSeq number and method; null when absent or not `number method`. */
  get cseq(): SipCSeq | null {
    if (this._cseq === undefined) this._cseq = this.nx ? (this.nxMethod < 0 ? null : { seq: this.nxSeq, method: METHODS[this.nxMethod] }) : this.parseCSeq();
    return this._cseq;
  }

  get fromTag(): string | null {
    if (this._fromTag === undefined) this._fromTag = this.nx ? (this.nxFt0 < 0 ? null : utf8(this.buf, this.nxFt0, this.nxFt1)) : this.tag(H_FROM);
    return this._fromTag;
  }
  get fromUser(): string | null {
    return (this._fromUri ??= this.uri(H_FROM)).user;
  }
  /** Host part of the From URI, lower-cased. */
  get fromDomain(): string | null {
    return (this._fromUri ??= this.uri(H_FROM)).domain;
  }
  /** null when the To header has no tag (an initial request). */
  get toTag(): string | null {
    if (this._toTag === undefined) this._toTag = this.nx ? (this.nxTt0 < 0 ? null : utf8(this.buf, this.nxTt0, this.nxTt1)) : this.tag(H_TO);
    return this._toTag;
  }
  get toUser(): string | null {
    return (this._toUri ??= this.uri(H_TO)).user;
  }
  /** Host part of the To URI, lower-cased. */
  get toDomain(): string | null {
    return (this._toUri ??= this.uri(H_TO)).domain;
  }

  /** branch parameter of the top-most Via. */
  get viaBranch(): string | null {
    if (this._branch === undefined) {
      if (this.nx) return (this._branch = this.nxBr0 < 0 ? null : utf8(this.buf, this.nxBr0, this.nxBr1));
      const s = this.find(H_VIA);
      this._branch = s >= 0 && findParam(this.buf, s, this.pos![2 * H_VIA + 1], P_BRANCH, true) && R_END > R_START ? utf8(this.buf, R_START, R_END) : null;
    }
    return this._branch;
  }

  /** Value of the first Content-Length header; null when absent or not a non-negative integer. */
  get contentLength(): number | null {
    if (this._cl === undefined) {
      let s = this.find(H_CONTENT_LENGTH);
      const e = this.pos![2 * H_CONTENT_LENGTH + 1];
      let v: number | null = null;
      if (s >= 0 && e > s && e - s <= 15) {
        v = 0;
        for (; s < e; s++) {
          const d = this.buf[s] - 0x30;
          if (d < 0 || d > 9) {
            v = null;
            break;
          }
          v = v * 10 + d;
        }
      }
      this._cl = v;
    }
    return this._cl;
  }

  /** The body: after the blank line, Content-Length bytes when given (clipped to what is there). */
  get body(): Buffer {
    const cl = this.contentLength;
    while (this.scan >= 0) this.step();
    const end = cl === null ? this.end : Math.min(this.end, this.bodyStart + cl);
    return this.buf.subarray(this.bodyStart, end);
  }

  /** First value of a header (full or compact name, any case), unfolded and trimmed; null if absent. */
  header(name: string | HeaderName): string | null {
    return this.nextHeader(compiled(name), this.hs) < 0 ? null : valueString(this.buf, R_START, R_END, R_FOLDED);
  }

  /**
   * Whether a header's name says "rtp-stat" in any case (the endpoints' quality reports: X-RTP-Stat,
   * P-RTP-Stat, X-RTP-Statistics, X-Siemens-RTP-stats...): a cheap test before looking for them by
   * name. The native indexer answers it for a BYE and a reply to one as it reads the header lines;
   * otherwise one pass over the header names here.
   */
  rtpStatHeader(): boolean {
    if (this.nxRtp >= 0) return this.nxRtp === 1;
    const b = this.buf;
    const n = this.end;
    for (let p = this.hs; p < n && b[p] !== CR && b[p] !== LF; ) {
      line(b, p, n);
      const next = R_NEXT;
      if (b[p] !== SP && b[p] !== HT && headerLine(b, p, R_END) && hasRtpStat(b, R_START, R_END)) return true;
      p = next;
    }
    return false;
  }

  /** tag parameter of a name-addr header (From, To). */
  private tag(id: number): string | null {
    const s = this.find(id);
    if (s < 0) return null;
    const e = this.pos![2 * id + 1];
    nameAddr(this.buf, s, e);
    return findParam(this.buf, R_NEXT, e, P_TAG, false) && R_END > R_START ? utf8(this.buf, R_START, R_END) : null;
  }

  /** user and host of the URI of a name-addr header (From, To). */
  private uri(id: number): UriParts {
    const s = this.find(id);
    if (s < 0) return NO_URI;
    nameAddr(this.buf, s, this.pos![2 * id + 1]);
    return uriParts(this.buf, R_START, R_END);
  }

  private parseCSeq(): SipCSeq | null {
    let p = this.find(H_CSEQ);
    if (p < 0) return null;
    const e = this.pos![2 * H_CSEQ + 1];
    const b = this.buf;
    const ds = p;
    let seq = 0;
    while (p < e && b[p] >= 0x30 && b[p] <= 0x39) seq = seq * 10 + (b[p++] - 0x30);
    if (p === ds || p - ds > 10 || seq > 0xffffffff) return null;
    const ws = p;
    while (p < e && isLws(b[p])) p++;
    if (p === ws) return null;
    const ms = p;
    while (p < e && TOKEN[b[p]] === 1) p++;
    if (p === ms) return null;
    const me = p;
    while (p < e && isLws(b[p])) p++;
    if (p !== e) return null;
    return { seq, method: internMethod(b, ms, me) };
  }

  /** Value start of the first header `id` (reading more lines if needed), -1 when absent. */
  private find(id: number): number {
    const pos = (this.pos ??= [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]);
    while (pos[2 * id] < 0 && this.scan >= 0) this.step();
    return pos[2 * id];
  }

  /** Reads one header line at `scan` (with its continuation lines), recording a well-known header. */
  private step(): void {
    const b = this.buf;
    const n = this.end;
    const pos = (this.pos ??= [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]);
    const p = this.scan;
    if (p >= n) {
      this.bodyStart = n;
      this.scan = -1;
      return;
    }
    let c = b[p];
    if (c === CR || c === LF) {
      this.bodyStart = c === CR && p + 1 < n && b[p + 1] === LF ? p + 2 : p + 1;
      this.scan = -1;
      return;
    }
    line(b, p, n);
    const le = R_END;
    let next = R_NEXT;
    // a continuation line with no header before it (right after the start line) is ignored
    if (c !== SP && c !== HT && headerLine(b, p, le)) {
      const id = classify(b, R_START, R_END);
      if (id >= 0 && pos[2 * id] < 0) {
        let vs = R_NEXT;
        while (vs < le && (b[vs] === SP || b[vs] === HT)) vs++;
        let ve = le;
        while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
        // continuation lines extend the value (rare: the loop is shared with nextHeader)
        if (next < n && ((c = b[next]) === SP || c === HT)) {
          continuation(b, vs, ve, next, n);
          vs = R_START;
          ve = R_END;
          next = R_NEXT;
          if (R_FOLDED) this.folded |= 1 << id;
        }
        pos[2 * id] = vs;
        pos[2 * id + 1] = ve;
      }
    }
    this.scan = next;
  }

  /**
   * Finds the next header `h` whose line starts at or after p: returns the start of the line after
   * it (to continue from) and sets R_START/R_END/R_FOLDED to its value; -1 when there is none.
   */
  private nextHeader(h: HeaderName, p: number): number {
    const b = this.buf;
    const n = this.end;
    const first = h.lower[0];
    while (p < n) {
      const c = b[p];
      if (c === CR || c === LF) return -1;
      line(b, p, n);
      const le = R_END;
      const next = R_NEXT;
      if (c !== SP && c !== HT && (c === first || (c | 0x20) === first || (c | 0x20) === h.compact) && headerLine(b, p, le)) {
        const ns = R_START;
        const ne = R_END;
        if (eqName(b, ns, ne, h.lower) || (h.compact >= 0 && ne - ns === 1 && (b[ns] | 0x20) === h.compact)) {
          let vs = R_NEXT;
          while (vs < le && (b[vs] === SP || b[vs] === HT)) vs++;
          let ve = le;
          while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
          if (next < n && (b[next] === SP || b[next] === HT)) {
            continuation(b, vs, ve, next, n);
            return R_NEXT;
          }
          R_START = vs;
          R_END = ve;
          R_FOLDED = false;
          return next;
        }
      }
      p = next;
    }
    return -1;
  }
}

/**
 * The SIP message of a frame the native indexer read (native-index.ts: `ix` holds what it found,
 * the payload at [PAY_S, PAY_E) of `frame`): what parseSip gives for the same bytes.
 */
export function sipFromIndex(frame: Buffer, ix: Int32Array): SipMessage {
  return SipMessage.fromIndex(frame, ix);
}

function fail(code: SipErrorCode, message: string, offset: number): SipParseResult {
  return { ok: false, error: { code, message, offset } };
}

/** "SIP/2.0" (case-insensitive) at [s, e)? */
function isSip20(b: Buffer, s: number, e: number): boolean {
  return (
    e - s === 7 &&
    (b[s] | 0x20) === 0x73 &&
    (b[s + 1] | 0x20) === 0x69 &&
    (b[s + 2] | 0x20) === 0x70 &&
    b[s + 3] === 0x2f &&
    b[s + 4] === 0x32 &&
    b[s + 5] === 0x2e &&
    b[s + 6] === 0x30
  );
}

/**
 * Parses the start line of a SIP message; headers are read lazily by the returned SipMessage. The
 * message is buf[start, end) (default: all of it): a frame's payload is parsed where it lies, with
 * no view of it made (error offsets are from `start`).
 */
export function parseSip(buf: Buffer, start = 0, end = buf.length): SipParseResult {
  const n = end;
  let p = start;
  while (p < n && (buf[p] === CR || buf[p] === LF)) p++;
  if (p >= n) return fail('SIP_EMPTY', 'no start line', p - start);
  line(buf, p, n);
  let le = R_END;
  const hs = R_NEXT;
  while (le > p && (buf[le - 1] === SP || buf[le - 1] === HT)) le--;

  // response: SIP/x.y SP code [SP reason]
  if (le - p >= 4 && (buf[p] | 0x20) === 0x73 && (buf[p + 1] | 0x20) === 0x69 && (buf[p + 2] | 0x20) === 0x70 && buf[p + 3] === 0x2f) {
    let q = p;
    while (q < le && buf[q] !== SP && buf[q] !== HT) q++;
    if (!isSip20(buf, p, q)) return fail('SIP_BAD_VERSION', `unsupported version ${JSON.stringify(buf.toString('latin1', p, q))}`, p - start);
    while (q < le && (buf[q] === SP || buf[q] === HT)) q++;
    const cs = q;
    let status = 0;
    while (q < le && buf[q] >= 0x30 && buf[q] <= 0x39) status = status * 10 + (buf[q++] - 0x30);
    if (q - cs !== 3 || (q < le && buf[q] !== SP && buf[q] !== HT)) return fail('SIP_BAD_START_LINE', 'status code is not 3 digits', cs - start);
    if (status < 100 || status > 699) return fail('SIP_BAD_STATUS', `status code ${status} outside 100..699`, cs - start);
    while (q < le && (buf[q] === SP || buf[q] === HT)) q++;
    return { ok: true, value: new SipMessage(buf, n, false, null, status, q, le, hs) };
  }

  // request: METHOD SP URI SP SIP/2.0
  let q = p;
  while (q < le && TOKEN[buf[q]] === 1) q++;
  if (q === p || q === le || (buf[q] !== SP && buf[q] !== HT)) return fail('SIP_BAD_START_LINE', 'start line is neither a request nor a status line', p - start);
  const method = internMethod(buf, p, q);
  while (q < le && (buf[q] === SP || buf[q] === HT)) q++;
  const us = q;
  while (q < le && buf[q] > SP && buf[q] !== 0x7f) q++;
  const ue = q;
  if (ue === us || q === le || (buf[q] !== SP && buf[q] !== HT)) return fail('SIP_BAD_START_LINE', 'request line without URI and version', us - start);
  while (q < le && (buf[q] === SP || buf[q] === HT)) q++;
  const vs = q;
  while (q < le && buf[q] > SP) q++;
  if (q !== le) return fail('SIP_BAD_START_LINE', 'unexpected text after the SIP version', q - start);
  if (!isSip20(buf, vs, q)) {
    const v = buf.toString('latin1', vs, q);
    return /^sip\/\d+\.\d+$/i.test(v)
      ? fail('SIP_BAD_VERSION', `unsupported version ${JSON.stringify(v)}`, vs - start)
      : fail('SIP_BAD_START_LINE', 'request line does not end with SIP/2.0', vs - start);
  }
  return { ok: true, value: new SipMessage(buf, n, true, method, 0, us, ue, hs) };
}
