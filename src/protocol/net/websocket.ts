/**
 * WebSocket (RFC 6455) frames of one direction of a TCP stream, after the HTTP upgrade: SIP over
 * WebSocket (RFC 7118) puts one SIP message in each text or binary message. Pure; bounded (a
 * message larger than `maxMessage` is an error and the stream is given up).
 */

export interface WsEvents {
  /** A complete data message (unmasked; possibly fragmented on the wire). */
  message(payload: Buffer): void;
  /** The stream cannot be decoded any more (bad frame, oversize message). */
  error(): void;
}

export class WsStream {
  private held: Buffer | null = null;
  private parts: Buffer[] | null = null;
  private partsLen = 0;
  private broken = false;

  constructor(private readonly maxMessage = 65536) {}

  /** Bytes held back (an incomplete frame or fragmented message). */
  get bufferedBytes(): number {
    return (this.held?.length ?? 0) + this.partsLen;
  }

  /** Feeds in-order stream bytes; the events fire synchronously. */
  push(chunk: Buffer, ev: WsEvents): void {
    if (this.broken) return;
    let b = chunk;
    if (this.held !== null) {
      b = Buffer.concat([this.held, chunk]);
      this.held = null;
    }
    const n = b.length;
    let p = 0;
    while (p < n) {
      if (n - p < 2) break;
      const b0 = b[p];
      const b1 = b[p + 1];
      const fin = (b0 & 0x80) !== 0;
      const op = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let h = p + 2;
      if (len === 126) {
        if (n - h < 2) break;
        len = (b[h] << 8) | b[h + 1];
        h += 2;
      } else if (len === 127) {
        if (n - h < 8) break;
        if (b[h] !== 0 || b[h + 1] !== 0 || b[h + 2] !== 0 || b[h + 3] !== 0) return this.fail(ev);
        len = b[h + 4] * 0x1000000 + ((b[h + 5] << 16) | (b[h + 6] << 8) | b[h + 7]);
        h += 8;
      }
      if ((b0 & 0x70) !== 0 || (op > 2 && op < 8) || op > 10) return this.fail(ev);
      if (len > this.maxMessage || this.partsLen + len > this.maxMessage) return this.fail(ev);
      const maskAt = h;
      if (masked) h += 4;
      if (n - h < len) break;
      const end = h + len;
      if (op >= 8) {
        // control frames (close, ping, pong): nothing for SIP
        p = end;
        continue;
      }
      let data: Buffer;
      if (masked) {
        data = Buffer.allocUnsafe(len);
        for (let i = 0; i < len; i++) data[i] = b[h + i] ^ b[maskAt + (i & 3)];
      } else {
        data = b.subarray(h, end);
      }
      if (op !== 0 && this.parts !== null) return this.fail(ev); // a new message inside a fragmented one
      if (op === 0 && this.parts === null) return this.fail(ev); // a continuation of nothing
      if (fin && this.parts === null) ev.message(data);
      else {
        (this.parts ??= []).push(masked ? data : Buffer.from(data));
        this.partsLen += len;
        if (fin) {
          const msg = Buffer.concat(this.parts, this.partsLen);
          this.parts = null;
          this.partsLen = 0;
          ev.message(msg);
        }
      }
      p = end;
    }
    if (p < n) this.held = Buffer.from(b.subarray(p));
  }

  /** Drops what is held; true if something was. */
  reset(): boolean {
    const had = this.bufferedBytes > 0;
    this.held = null;
    this.parts = null;
    this.partsLen = 0;
    return had;
  }

  private fail(ev: WsEvents): void {
    this.broken = true;
    this.reset();
    ev.error();
  }
}
