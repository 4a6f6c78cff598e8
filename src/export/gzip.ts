import * as zlib from 'node:zlib';
import type { TextCompressor, CompressedPart } from './prometheus.ts';

/**
 * One gzip stream (RFC 1952) made of pieces compressed one at a time, each as it is written, so
 * that a scrape never holds its whole text: a piece is compressed by a fresh raw deflate ending in
 * a full flush (complete, byte-aligned blocks that refer to nothing before them, so pieces simply
 * follow one another), the stream ends with an empty final block, and the trailer's CRC-32 is
 * combined from the parts' own (a part is one metric family's text; parts are joined in the order
 * the reply wants, not the order they were written). Prometheus asks for gzip at every scrape.
 */
/** A part as GzipText keeps it: its compressed pieces, and the CRC-32 and length of their text. */
interface GzipPart extends CompressedPart {
  crc: number;
  length: number;
  readonly pieces: Buffer[];
}

export class GzipText implements TextCompressor<GzipPart> {
  constructor(private readonly level = zlib.constants.Z_BEST_SPEED) {}

  part(): GzipPart {
    const deflate = (text: Buffer) => this.deflate(text);
    return {
      crc: 0,
      length: 0,
      pieces: [],
      tail: EMPTY,
      add(text: Buffer) {
        if (text.length === 0) return;
        this.crc = crc32(text, this.crc);
        this.length += text.length;
        this.pieces.push(deflate(text));
      },
    };
  }

  /** A piece: complete blocks ending on a full flush (byte-aligned, referring to nothing before them). */
  private deflate(text: Buffer): Buffer {
    return zlib.deflateRawSync(text, { level: this.level, finishFlush: zlib.constants.Z_FULL_FLUSH });
  }

  join(parts: readonly GzipPart[]): Buffer[] {
    // ID1 ID2, CM deflate, no flags, no time, XFL, OS unknown
    const out: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
    let crc = 0;
    let length = 0;
    // the tails of parts that follow one another, compressed together when a part's pieces or the end come
    let pending: Buffer[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      const text = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending = [];
      crc = crc32(text, crc);
      length += text.length;
      out.push(this.deflate(text));
    };
    for (const p of parts) {
      if (p.pieces.length > 0) {
        flush();
        for (const piece of p.pieces) out.push(piece);
        crc = crc32Combine(crc, p.crc, p.length);
        length += p.length;
      }
      if (p.tail.length > 0) pending.push(p.tail);
    }
    flush();
    out.push(FINAL_BLOCK);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(length % 0x1_0000_0000, 4);
    out.push(trailer);
    return out;
  }
}

const POLY = 0xedb88320;
/** The polynomial 1 (x^0), bit-reflected: the top bit. */
const ONE = 0x8000_0000;

const EMPTY = Buffer.alloc(0);

/** A raw deflate stream's last block, empty (what a deflate finishing with no input writes). */
const FINAL_BLOCK = zlib.deflateRawSync(Buffer.alloc(0));

/** Node's CRC-32 (20.15 and later), else a table-driven one. */
const nodeCrc = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;
const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The CRC-32 of gzip (reflected, polynomial 0xEDB88320) of `data`, continuing `crc`. */
export function crc32(data: Buffer, crc = 0): number {
  return nodeCrc !== undefined ? nodeCrc(data, crc) : crc32Table(data, crc);
}

/** The same, table-driven (Node before 20.15 has no zlib.crc32). */
export function crc32Table(data: Buffer, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- CRC-32 of two texts joined, from theirs (arithmetic of polynomials over GF(2) modulo the CRC's, bit-reflected)

/** a × b modulo the CRC polynomial. */
function mulMod(a: number, b: number): number {
  let p = 0;
  for (let m = ONE; m !== 0; m >>>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31 (x^1 is bit 30). */
const X2K = (() => {
  const t: number[] = [ONE >>> 1];
  for (let k = 1; k < 32; k++) t.push(mulMod(t[k - 1], t[k - 1]));
  return t;
})();

/** x^(8n) modulo the polynomial: what appending n zero bytes multiplies a CRC's register by. */
function shiftBytes(n: number): number {
  let p = ONE;
  for (let k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = mulMod(X2K[k & 31], p);
  return p;
}

/** The CRC-32 of A followed by B, from crc(A), crc(B) and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (mulMod(shiftBytes(lengthB), crcA) ^ crcB) >>> 0;
}
