import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/**
 * Inflates a compressed HEP payload (chunk 0x0010): zlib (RFC 1950), gzip or raw deflate
 * (RFC 1951), told apart by their first bytes. At most `maxBytes` out; null when the data does not
 * inflate or inflates to more (a zip bomb is refused, not buffered).
 */
export function inflatePayload(data: Buffer, maxBytes: number): Buffer | null {
  if (data.length === 0) return null;
  try {
    const opts = { maxOutputLength: Math.max(1, maxBytes) };
    if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return gunzipSync(data, opts);
    if (data.length >= 2 && (data[0] & 0x0f) === 8 && ((data[0] << 8) | data[1]) % 31 === 0) return inflateSync(data, opts);
    return inflateRawSync(data, opts);
  } catch {
    return null;
  }
}
