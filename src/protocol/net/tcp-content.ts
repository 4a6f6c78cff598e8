/**
 * The content of one reassembled TCP direction: SIP framed by Content-Length, HEP3 frames, or
 * WebSocket frames after an HTTP upgrade (RFC 7118). What the stream carries is told by its first
 * bytes; a stream caught in the middle (no SYN in the capture) or after a gap resynchronises at
 * the next SIP start line (or "HEP3"). Bounded: at most `maxMessage` bytes held. Pure.
 */
import { HepStreamFramer } from '../hep/hep-framer.ts';
import { contentLength, findStartLine, headerEnd, startLineAt } from './sip-frame.ts';
import type { SkipReason, Transport } from './capture-counts.ts';
import type { FlowContent } from './tcp.ts';
import { WsStream } from './websocket.ts';

/** What a stream's decoder reports to the capture decoder. */
export interface StreamEvents {
  sip(payload: Buffer, meta: StreamMeta, transport: Transport, timeMs: number): void;
  hep(frame: Buffer): void;
  skipped(reason: SkipReason): void;
  /** The client asked for a WebSocket upgrade: the other direction starts with the HTTP answer. */
  wsUpgrade(meta: StreamMeta): void;
}

export interface StreamMeta {
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
}

const M_START = 0; // at the start of the stream: decide what it is
const M_RESYNC = 1; // lost (caught mid-stream, after a gap): look for a start line
const M_SIP = 2;
const M_HEP = 3;
const M_WS_REQUEST = 4; // the client's HTTP upgrade request
const M_WS_ANSWER = 5; // the server's HTTP answer
const M_WS = 6;
const M_TLS = 7;
const M_OTHER = 8; // HTTP that is not a WebSocket upgrade: ignored

const HEP3 = Buffer.from('HEP3', 'latin1');
const WEBSOCKET = Buffer.from('websocket', 'latin1');
const MAX_HTTP_HEADER = 8192;

function isHep3(b: Uint8Array, p: number, e: number): boolean {
  return e - p >= 4 && b[p] === 0x48 && b[p + 1] === 0x45 && b[p + 2] === 0x50 && b[p + 3] === 0x33;
}

/** Could b[p, e) be the beginning of `what`? (a prefix check that tolerates too few bytes) */
function prefixOf(b: Uint8Array, p: number, e: number, what: string): 1 | 0 | -1 {
  const n = Math.min(e - p, what.length);
  for (let i = 0; i < n; i++) if (b[p + i] !== what.charCodeAt(i)) return 0;
  return n === what.length ? 1 : -1;
}

/** Case-insensitive search of lower-case `needle` in b[s, e). */
function includesLower(b: Uint8Array, s: number, e: number, needle: Uint8Array): boolean {
  const m = needle.length;
  outer: for (let i = s; i + m <= e; i++) {
    for (let k = 0; k < m; k++) {
      const c = b[i + k];
      if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== needle[k]) continue outer;
    }
    return true;
  }
  return false;
}

export class StreamDecoder implements FlowContent {
  private mode: number;
  private held: Buffer | null = null;
  private hepFramer: HepStreamFramer | null = null;
  private ws: WsStream | null = null;
  private readonly wsEvents;

  constructor(
    readonly meta: StreamMeta,
    private readonly ev: StreamEvents,
    fromStart: boolean,
    private readonly maxMessage = 65536,
    websocketAnswer = false,
  ) {
    this.mode = websocketAnswer ? M_WS_ANSWER : fromStart ? M_START : M_RESYNC;
    let t = 0;
    this.wsEvents = {
      message: (payload: Buffer) => {
        if (startLineAt(payload, 0, payload.length) === 1) this.ev.sip(payload, this.meta, 'ws', t);
        else this.ev.skipped('not_sip');
      },
      error: () => this.ev.skipped('ws_decode_errors'),
      setTime: (x: number) => (t = x),
    };
  }

  /** The other direction asked for a WebSocket upgrade: this one starts with the HTTP answer. */
  expectWebsocketAnswer(): void {
    if (this.mode === M_START || this.mode === M_RESYNC) this.mode = M_WS_ANSWER;
  }

  get heldBytes(): number {
    return (this.held?.length ?? 0) + (this.hepFramer?.bufferedBytes ?? 0) + (this.ws?.bufferedBytes ?? 0);
  }

  data(chunk: Buffer, s: number, e: number, timeMs: number): void {
    if (s >= e) return;
    switch (this.mode) {
      case M_HEP:
        this.pushHep(chunk, s, e);
        return;
      case M_WS:
        this.wsEvents.setTime(timeMs);
        this.ws!.push(chunk.subarray(s, e), this.wsEvents);
        return;
      case M_TLS:
        this.ev.skipped('tls');
        return;
      case M_OTHER:
        this.ev.skipped('not_sip');
        return;
    }
    let b = chunk;
    let p = s;
    let end = e;
    if (this.held !== null) {
      b = Buffer.concat([this.held, chunk.subarray(s, e)]);
      this.held = null;
      p = 0;
      end = b.length;
    }
    this.scan(b, p, end, timeMs);
  }

  gap(): void {
    if (this.mode === M_HEP) {
      if (this.hepFramer!.bufferedBytes > 0) this.hepFramer!.end();
      return; // the framer finds the next "HEP3" itself
    }
    if (this.mode === M_WS) {
      // frames cannot be found again after a hole
      this.ws!.reset();
      this.mode = M_OTHER;
      this.ev.skipped('ws_decode_errors');
      return;
    }
    this.held = null;
    if (this.mode === M_SIP || this.mode === M_START) this.mode = M_RESYNC;
  }

  close(): void {
    if (this.heldBytes > 0) this.ev.skipped('tcp_incomplete');
    this.held = null;
    this.hepFramer = null;
    this.ws?.reset();
  }

  private pushHep(chunk: Buffer, s: number, e: number): void {
    // the framer may keep a reference to what it is given: give it a copy, not the capture's buffer
    for (const f of this.hepFramer!.push(Buffer.from(chunk.subarray(s, e)))) this.ev.hep(f);
  }

  private hold(b: Buffer, p: number, end: number): void {
    if (end - p > this.maxMessage) {
      this.ev.skipped('tcp_overflow');
      this.mode = M_RESYNC;
      // keep the last line: it may start the next message
      let q = end;
      while (q > p && b[q - 1] !== 0x0a && end - q < 4096) q--;
      if (q === end || b[q - 1] !== 0x0a) return;
      this.held = Buffer.from(b.subarray(q, end));
      return;
    }
    this.held = Buffer.from(b.subarray(p, end));
  }

  private scan(b: Buffer, start: number, end: number, t: number): void {
    let p = start;
    while (p < end) {
      if (this.mode === M_START || this.mode === M_RESYNC) {
        if (!this.decide(b, p, end)) return;
        const m = this.mode as number;
        if (m === M_HEP) {
          this.pushHep(b, p, end);
          return;
        }
        if (m === M_TLS) {
          this.ev.skipped('tls');
          return;
        }
        if (m === M_WS_REQUEST || m === M_WS_ANSWER) continue;
        if (m === M_RESYNC) {
          // look for the next start line or HEP frame
          const q = findStartLine(b, p, end);
          const h = b.indexOf(HEP3, p);
          if (h >= 0 && h < q) {
            this.ev.skipped('not_sip');
            this.mode = M_HEP;
            this.hepFramer = new HepStreamFramer();
            this.pushHep(b, h, end);
            return;
          }
          if (q > p) this.ev.skipped('not_sip');
          p = q;
          if (p >= end) return;
          if (startLineAt(b, p, end) !== 1) return this.hold(b, p, end);
          this.mode = M_SIP;
        }
      }
      if (this.mode === M_WS_REQUEST || this.mode === M_WS_ANSWER) {
        const h = headerEnd(b, p, end);
        if (h < 0) {
          if (end - p > MAX_HTTP_HEADER) {
            this.mode = M_OTHER;
            this.ev.skipped('not_sip');
            return;
          }
          return this.hold(b, p, end);
        }
        if (this.mode === M_WS_REQUEST) {
          if (includesLower(b, p, h, WEBSOCKET)) {
            this.ev.wsUpgrade(this.meta);
            this.mode = M_WS;
          } else {
            this.mode = M_OTHER;
            this.ev.skipped('not_sip');
            return;
          }
        } else {
          if (prefixOf(b, p, h, 'HTTP/1.1 101') === 1 || prefixOf(b, p, h, 'HTTP/1.0 101') === 1) this.mode = M_WS;
          else {
            this.mode = M_OTHER;
            this.ev.skipped('not_sip');
            return;
          }
        }
        this.ws = new WsStream(this.maxMessage);
        if (h < end) this.data(b, h, end, t);
        return;
      }
      // M_SIP: CRLF keep-alives between messages
      if (b[p] === 0x0d || b[p] === 0x0a) {
        let q = p;
        while (q < end && (b[q] === 0x0d || b[q] === 0x0a)) q++;
        this.ev.skipped('no_payload');
        p = q;
        continue;
      }
      const r = startLineAt(b, p, end);
      if (r === -1) return this.hold(b, p, end);
      if (r === 0) {
        this.mode = M_RESYNC;
        continue;
      }
      const h = headerEnd(b, p, end);
      if (h < 0) return this.hold(b, p, end);
      const cl = contentLength(b, p, h);
      if (cl === -2) {
        this.ev.skipped('malformed');
        this.mode = M_RESYNC;
        p = h;
        continue;
      }
      const msgEnd = h + (cl < 0 ? 0 : cl);
      if (msgEnd - p > this.maxMessage) {
        this.ev.skipped('tcp_overflow');
        this.mode = M_RESYNC;
        p = h;
        continue;
      }
      if (msgEnd > end) return this.hold(b, p, end);
      this.ev.sip(b.subarray(p, msgEnd), this.meta, 'tcp', t);
      p = msgEnd;
    }
  }

  /**
   * At the start of a stream (or while lost): decides what it carries from its first bytes.
   * Returns false when more bytes are needed (they are held).
   */
  private decide(b: Buffer, p: number, end: number): boolean {
    if (this.mode === M_RESYNC) {
      if (isHep3(b, p, end)) {
        this.mode = M_HEP;
        this.hepFramer = new HepStreamFramer();
      }
      return true;
    }
    if (end - p < 4) {
      this.hold(b, p, end);
      return false;
    }
    if (b[p] === 0x16 && b[p + 1] === 0x03) this.mode = M_TLS;
    else if (isHep3(b, p, end)) {
      this.mode = M_HEP;
      this.hepFramer = new HepStreamFramer();
    } else if (prefixOf(b, p, end, 'GET ') === 1) this.mode = M_WS_REQUEST;
    else if (prefixOf(b, p, end, 'HTTP/') === 1) this.mode = M_WS_ANSWER;
    else this.mode = M_SIP; // not at a start line: M_SIP's check sends it to M_RESYNC
    return true;
  }
}
