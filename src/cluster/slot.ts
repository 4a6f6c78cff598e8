/**
 * Redis Cluster key slots (cluster specification: CRC16-XMODEM of the key, or of its hash tag,
 * modulo 16384). Used to split a pipeline of mixed keys into one pipeline per slot, which is what
 * a Redis Cluster client may send as one batch.
 */

export const CLUSTER_SLOTS = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC16-XMODEM (polynomial 0x1021, initial value 0) of `bytes[from, to)`. */
export function crc16(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff];
  return crc;
}

/**
 * The cluster slot of `key`: when the key holds `{`, then a `}` after it with at least one byte in
 * between, only those bytes (the first such hash tag) are hashed; otherwise the whole key.
 */
export function keySlot(key: string): number {
  const b = Buffer.from(key, 'utf8');
  const open = b.indexOf(0x7b);
  if (open >= 0) {
    const close = b.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(b, open + 1, close) % CLUSTER_SLOTS;
  }
  return crc16(b) % CLUSTER_SLOTS;
}
