/** Byte values and character classes of SIP text (pure), shared by the parser's modules. */

export const SP = 0x20;
export const HT = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const COMMA = 0x2c;
export const DQUOTE = 0x22;
export const BSLASH = 0x5c;
export const EQ = 0x3d;
export const LT = 0x3c;
export const GT = 0x3e;
export const AT = 0x40;

export const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Token characters of RFC 3261 §25.1: alphanum and -.!%*_+`'~ */
export const TOKEN = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const c of '-.!%*_+`\'~') TOKEN[c.charCodeAt(0)] = 1;

/**
 * UTF-8 text of b[s, e). Buffer#utf8Slice skips toString()'s argument checks and encoding lookup
 * (~63 vs ~80 ns a string); it has been on Buffer.prototype since Node 0.x but is untyped, hence
 * the check at load time with toString() as the fallback.
 */
type Utf8Sliceable = { utf8Slice(start: number, end: number): string };
export const utf8: (b: Buffer, s: number, e: number) => string =
  typeof (Buffer.prototype as unknown as Partial<Utf8Sliceable>).utf8Slice === 'function'
    ? (b, s, e) => (b as unknown as Utf8Sliceable).utf8Slice(s, e)
    : (b, s, e) => b.toString('utf8', s, e);

export const isLws = (c: number): boolean => c === SP || c === HT || c === CR || c === LF;
