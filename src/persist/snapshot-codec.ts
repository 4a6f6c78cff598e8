import type { EngineState } from '../core/state.ts';
import type { ProfileDef } from '../core/types.ts';
import { SipstatsError } from '../errors.ts';

/**
 * Snapshot codec (pure: no I/O, no clock): EngineState ⇄ bytes.
 *
 * Layout, version 2 (all header integers big-endian; version 1, still read, is version 2 without
 * tag 3):
 *   header  20 bytes: magic "SIPSTATS" (8) | version u16 | flags u16 (0) | body length u32 | CRC-32 of body u32
 *   body    f64 LE `at` | uvarint profile count | per profile: string (ProfileDef as JSON)
 *           records until tag 0:
 *             1 counter  string group | string name | number value
 *             2 series   uvarint profile index | string name | uvarint width | uvarint slot count |
 *                        per slot: svarint slot (first: absolute, then delta) | width × number
 *             3 section  string name | string text (version 2: the state of a feature kept beside the
 *                        engine, e.g. `alerts` as JSON; a reader ignores sections it does not know)
 *   string  uvarint byte length + UTF-8;  svarint = zigzag uvarint
 *   number  integers with |n| <= 2^50: uvarint(zigzag(n) * 2) (low bit 0, 1 byte for |n| < 32);
 *           anything else (fractions, -0, NaN, ±Infinity, huge): byte 0x01 + f64 LE. Round trip is exact.
 * Parts are stored as they are (sums, counts, weights), never finished values, so a restored engine
 * merges them exactly (README: Series and profiles, the clock-aligned slots).
 */
export const SNAPSHOT_MAGIC = 'SIPSTATS';
export const SNAPSHOT_VERSION = 2;
/** Versions this build reads (1: before sections). */
export const SNAPSHOT_VERSIONS_READ: readonly number[] = [1, 2];
export const HEADER_BYTES = 20;

export type SnapshotErrorCode =
  /** Not a sipstats snapshot (wrong magic). */
  | 'E_SNAPSHOT_MAGIC'
  /** A snapshot of a format version this build does not read. */
  | 'E_SNAPSHOT_VERSION'
  /** Shorter than its header says (a write cut short). */
  | 'E_SNAPSHOT_TRUNCATED'
  /** Checksum mismatch, trailing bytes, or a body that does not parse. */
  | 'E_SNAPSHOT_CORRUPT';

export interface SnapshotError {
  readonly code: SnapshotErrorCode;
  readonly message: string;
}

export type DecodeResult = { ok: true; value: EngineState; version: number; sections: Readonly<Record<string, string>> } | { ok: false; error: SnapshotError };

const TAG_END = 0;
const TAG_COUNTER = 1;
const TAG_SERIES = 2;
const TAG_SECTION = 3;
const MAX_WIDTH = 4096;
const INT_LIMIT = 2 ** 50;
const MAGIC_BYTES = Uint8Array.from(SNAPSHOT_MAGIC, (c) => c.charCodeAt(0));

// ---- CRC-32 (IEEE 802.3, reflected, as zlib/PNG), slicing by 4 ------------------------------------

const CRC_TABLES = (() => {
  const t = new Int32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) t[k * 256 + n] = t[(k - 1) * 256 + n] >>> 8 ^ t[t[(k - 1) * 256 + n] & 0xff];
  }
  return t;
})();

/** CRC-32 of `b[start, end)` (the zlib/PNG checksum): unsigned 32-bit. */
export function crc32(b: Uint8Array, start = 0, end = b.length): number {
  const t = CRC_TABLES;
  let c = -1;
  let i = start;
  for (const e4 = end - 3; i < e4; i += 4) {
    c ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < end; i++) c = t[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

// ---- writing ------------------------------------------------------------------------------------

const utf8 = new TextEncoder();

/**
 * Writes a snapshot record by record, so a caller can walk a live engine without building an
 * EngineState first (and yield between records). `finish()` returns the complete file bytes.
 */
export class SnapshotWriter {
  private buf: Uint8Array;
  private view: DataView;
  private p = HEADER_BYTES;
  private readonly profileIndex = new Map<string, number>();
  private pendingSlots = 0;
  private width = 0;
  private prevSlot = 0;
  private done = false;

  constructor(at: number, profiles: readonly ProfileDef[], initialBytes = 1 << 16) {
    this.buf = new Uint8Array(Math.max(64, initialBytes));
    this.view = new DataView(this.buf.buffer);
    this.ensure(8);
    this.view.setFloat64(this.p, at, true);
    this.p += 8;
    this.uvarint(profiles.length);
    profiles.forEach((d, i) => {
      this.string(JSON.stringify(d));
      this.profileIndex.set(d.name.toLowerCase(), i);
    });
  }

  counter(group: string, name: string, value: number): void {
    this.checkNoOpenSeries();
    this.ensure(1);
    this.buf[this.p++] = TAG_COUNTER;
    this.string(group);
    this.string(name);
    this.number(value);
  }

  /** A named section of feature state (version 2), written after the engine's records. */
  section(name: string, text: string): void {
    this.checkNoOpenSeries();
    this.ensure(1);
    this.buf[this.p++] = TAG_SECTION;
    this.string(name);
    this.string(text);
  }

  /** Starts a series of `slotCount` slots of `width` parts each; then call `slot` exactly slotCount times. */
  beginSeries(profile: string, name: string, width: number, slotCount: number): void {
    this.checkNoOpenSeries();
    const pi = this.profileIndex.get(profile.toLowerCase());
    if (pi === undefined) throw new SipstatsError('E_INTERNAL', `snapshot: series '${name}' names profile '${profile}', which is not in the profile list`);
    if (!(width >= 1 && width <= MAX_WIDTH)) throw new SipstatsError('E_INTERNAL', `snapshot: bad width ${width}`);
    this.ensure(1);
    this.buf[this.p++] = TAG_SERIES;
    this.uvarint(pi);
    this.string(name);
    this.uvarint(width);
    this.uvarint(slotCount);
    this.pendingSlots = slotCount;
    this.width = width;
    this.prevSlot = 0;
  }

  /** One slot of the open series: its absolute slot number and `width` parts read from `parts[offset..]`. */
  slot(slot: number, parts: ArrayLike<number>, offset: number): void {
    if (this.pendingSlots <= 0) throw new SipstatsError('E_INTERNAL', 'snapshot: more slots than announced');
    this.svarint(slot - this.prevSlot);
    this.prevSlot = slot;
    for (let i = 0; i < this.width; i++) this.number(parts[offset + i]);
    this.pendingSlots--;
  }

  /** Completes the file: end tag, header, checksum. The writer cannot be used afterwards. */
  finish(): Uint8Array {
    this.checkNoOpenSeries();
    if (this.done) throw new SipstatsError('E_INTERNAL', 'snapshot: finish() called twice');
    this.done = true;
    this.ensure(1);
    this.buf[this.p++] = TAG_END;
    const out = this.buf.subarray(0, this.p);
    out.set(MAGIC_BYTES, 0);
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    v.setUint16(8, SNAPSHOT_VERSION);
    v.setUint16(10, 0);
    v.setUint32(12, this.p - HEADER_BYTES);
    v.setUint32(16, crc32(out, HEADER_BYTES, this.p));
    return out;
  }

  private checkNoOpenSeries(): void {
    if (this.pendingSlots !== 0) throw new SipstatsError('E_INTERNAL', `snapshot: series closed with ${this.pendingSlots} slot(s) missing`);
  }

  private ensure(n: number): void {
    if (this.p + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.p + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.p));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }

  private uvarint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    let p = this.p;
    if (v < 0x80000000) {
      while (v >= 0x80) {
        b[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        b[p++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    b[p++] = v;
    this.p = p;
  }

  private svarint(v: number): void {
    if (Number.isSafeInteger(v) && Math.abs(v) <= INT_LIMIT) this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
    else throw new SipstatsError('E_INTERNAL', `snapshot: slot number ${v} out of range`);
  }

  private number(x: number): void {
    if (Number.isInteger(x) && x <= INT_LIMIT && x >= -INT_LIMIT && !Object.is(x, -0)) {
      this.uvarint(x >= 0 ? x * 4 : -x * 4 - 2);
      return;
    }
    this.ensure(9);
    this.buf[this.p++] = 1;
    this.view.setFloat64(this.p, x, true);
    this.p += 8;
  }

  private string(s: string): void {
    const bytes = utf8.encode(s);
    this.uvarint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.p);
    this.p += bytes.length;
  }
}

/** Encodes a whole EngineState (rows are [slot, ...parts]; the width is the row length minus one). */
export function encodeSnapshot(state: EngineState, sections: Readonly<Record<string, string>> = {}): Uint8Array {
  const w = new SnapshotWriter(state.at, state.profiles);
  for (const c of state.counters) w.counter(c.group, c.name, c.value);
  for (const s of state.series) {
    const width = s.slots.length > 0 ? s.slots[0].length - 1 : 1;
    w.beginSeries(s.profile, s.name, width, s.slots.length);
    for (const row of s.slots) {
      if (row.length - 1 !== width) throw new SipstatsError('E_INTERNAL', `snapshot: series '${s.name}' has slots of different widths`);
      w.slot(row[0], row, 1);
    }
  }
  for (const [name, text] of Object.entries(sections)) w.section(name, text);
  return w.finish();
}

// ---- reading ------------------------------------------------------------------------------------

class Corrupt extends Error {}

/** Reads the header only: the body's bounds, or why the bytes cannot be a readable snapshot. */
function checkHeader(b: Uint8Array): { ok: true; version: number; end: number } | { ok: false; error: SnapshotError } {
  const fail = (code: SnapshotErrorCode, message: string) => ({ ok: false as const, error: { code, message } });
  const n = Math.min(b.length, MAGIC_BYTES.length);
  for (let i = 0; i < n; i++) if (b[i] !== MAGIC_BYTES[i]) return fail('E_SNAPSHOT_MAGIC', 'not a sipstats snapshot (bad magic bytes)');
  if (b.length < HEADER_BYTES) return fail('E_SNAPSHOT_TRUNCATED', `snapshot truncated: ${b.length} bytes, the header alone is ${HEADER_BYTES}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = v.getUint16(8);
  if (!SNAPSHOT_VERSIONS_READ.includes(version)) {
    return fail('E_SNAPSHOT_VERSION', `snapshot format version ${version}; this build reads versions ${SNAPSHOT_VERSIONS_READ.join(' and ')}`);
  }
  const flags = v.getUint16(10);
  if (flags !== 0) return fail('E_SNAPSHOT_VERSION', `snapshot uses feature flags ${flags.toString(16)} this build does not know`);
  const len = v.getUint32(12);
  const end = HEADER_BYTES + len;
  if (b.length < end) return fail('E_SNAPSHOT_TRUNCATED', `snapshot truncated: ${b.length} bytes, the header announces ${end}`);
  if (b.length > end) return fail('E_SNAPSHOT_CORRUPT', `snapshot has ${b.length - end} unexpected trailing bytes`);
  const want = v.getUint32(16);
  const got = crc32(b, HEADER_BYTES, end);
  if (want !== got) return fail('E_SNAPSHOT_CORRUPT', `snapshot checksum mismatch (CRC-32 ${got.toString(16)}, header says ${want.toString(16)})`);
  return { ok: true, version, end };
}

class Reader {
  p = HEADER_BYTES;
  private readonly view: DataView;
  private readonly text = new TextDecoder('utf-8', { fatal: true });
  constructor(
    private readonly b: Uint8Array,
    private readonly end: number,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  byte(): number {
    if (this.p >= this.end) throw new Corrupt('unexpected end of body');
    return this.b[this.p++];
  }

  uvarint(): number {
    let v = 0;
    let m = 1;
    for (;;) {
      const x = this.byte();
      v += (x & 0x7f) * m;
      if (x < 0x80) break;
      m *= 0x80;
      if (m > 2 ** 56) throw new Corrupt('varint too long');
    }
    return v;
  }

  svarint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  f64(): number {
    if (this.p + 8 > this.end) throw new Corrupt('unexpected end of body');
    const x = this.view.getFloat64(this.p, true);
    this.p += 8;
    return x;
  }

  number(): number {
    const u = this.uvarint();
    if (u === 1) return this.f64();
    if (u % 2 !== 0) throw new Corrupt(`bad number tag ${u}`);
    const z = u / 2;
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  string(): string {
    const n = this.uvarint();
    if (this.p + n > this.end) throw new Corrupt('string runs past the end of the body');
    const s = this.text.decode(this.b.subarray(this.p, this.p + n));
    this.p += n;
    return s;
  }
}

function parseProfile(json: string): ProfileDef {
  const d = JSON.parse(json) as ProfileDef;
  if (d === null || typeof d !== 'object' || typeof d.name !== 'string' || typeof d.algorithm !== 'string' || typeof d.window !== 'number' || typeof d.slots !== 'number') {
    throw new Corrupt('bad profile definition');
  }
  return d;
}

/**
 * Checks snapshot bytes without building the state: header, checksum and a full walk of the body.
 * What the file store runs on a freshly written temporary file before renaming it into place.
 */
export function verifySnapshot(bytes: Uint8Array): { ok: true; series: number; counters: number } | { ok: false; error: SnapshotError } {
  const r = decode(bytes, false);
  return r.ok ? { ok: true, series: r.value.series.length, counters: r.value.counters.length } : r;
}

/** Decodes snapshot bytes. Never throws: a bad file gives `{ ok: false, error: { code, message } }`. */
export function decodeSnapshot(bytes: Uint8Array): DecodeResult {
  return decode(bytes, true);
}

const NO_SLOTS: number[][] = [];

function decode(bytes: Uint8Array, build: boolean): DecodeResult {
  try {
    const h = checkHeader(bytes);
    if (!h.ok) return h;
    const r = new Reader(bytes, h.end);
    const at = r.f64();
    const np = r.uvarint();
    if (np > h.end) throw new Corrupt('profile count out of range');
    const profiles: ProfileDef[] = [];
    for (let i = 0; i < np; i++) profiles.push(parseProfile(r.string()));
    const counters: { group: string; name: string; value: number }[] = [];
    const series: { profile: string; name: string; slots: number[][] }[] = [];
    const sections: Record<string, string> = Object.create(null) as Record<string, string>;
    for (;;) {
      const tag = r.byte();
      if (tag === TAG_END) break;
      if (tag === TAG_COUNTER) {
        const group = r.string();
        const name = r.string();
        counters.push({ group, name, value: r.number() });
      } else if (tag === TAG_SERIES) {
        const pi = r.uvarint();
        if (pi >= profiles.length) throw new Corrupt(`series names profile #${pi} of ${profiles.length}`);
        const name = r.string();
        const width = r.uvarint();
        if (width < 1 || width > MAX_WIDTH) throw new Corrupt(`bad slot width ${width}`);
        const n = r.uvarint();
        if (n * (width + 1) > h.end - r.p) throw new Corrupt('slot count runs past the end of the body');
        const slots: number[][] = build ? new Array(n) : NO_SLOTS;
        let slot = 0;
        for (let i = 0; i < n; i++) {
          slot += r.svarint();
          if (!build) {
            for (let j = 1; j <= width; j++) r.number();
            continue;
          }
          const row = new Array<number>(width + 1);
          row[0] = slot;
          for (let j = 1; j <= width; j++) row[j] = r.number();
          slots[i] = row;
        }
        series.push({ profile: profiles[pi].name, name, slots });
      } else if (tag === TAG_SECTION && h.version >= 2) {
        const name = r.string();
        sections[name] = r.string();
      } else throw new Corrupt(`unknown record tag ${tag}`);
    }
    if (r.p !== h.end) throw new Corrupt('bytes after the end record');
    return { ok: true, version: h.version, value: { at, profiles, counters, series }, sections };
  } catch (e) {
    return { ok: false, error: { code: 'E_SNAPSHOT_CORRUPT', message: `snapshot body does not parse: ${e instanceof Error ? e.message : String(e)}` } };
  }
}
