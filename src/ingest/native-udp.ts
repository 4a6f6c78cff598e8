import { createRequire } from 'node:module';

/** The native UDP receiver's API (native/udp-recv.c, built by scripts/build-native.mjs). */
export interface NativeUdp {
  /**
   * Binds and starts the receiving thread. `onBatch(buf, n, dropped, kernelDropped)`: n records
   * `[u32 length][u32 sender key][datagram]` (little endian); `dropped`: datagrams dropped past `maxQueued` since
   * the last call; `kernelDropped`: datagrams the kernel dropped, its receive buffer full, since
   * the last call; called once more, last, with `buf` null: after close (`error` null), or when the
   * receiving thread stopped on its own (`error`: the errno's name of the poll that failed). Throws
   * an Error with `code`.
   */
  open(host: string, port: number, ipv6: boolean, maxQueued: number, batchBytes: number, recvBuffer: number, onBatch: (buf: Buffer | null, n: number, dropped: number, kernelDropped: number, error: string | null) => void): [unknown, number];
  /** Stops the thread (the last onBatch follows); a second close of a handle does nothing. */
  close(handle: unknown): void;
  /** For tests: the thread stops as on a failed poll (EIO). */
  fault?(handle: unknown): void;
  /** Bytes before each record's datagram (RECORD_HEAD); a module built from an older source has another, or none. */
  readonly recordHead?: number;
}

/** Bytes before each datagram in a batch: its length and its sender's key, u32 each (see hep-udp.ts). */
export const RECORD_HEAD = 8;

let loaded: { native: NativeUdp | null; why: string } | undefined;

/** A loaded module, if it writes this source's batch records (one built from an older source does not). */
export function accepted(native: NativeUdp): { native: NativeUdp | null; why: string } {
  return native.recordHead === RECORD_HEAD
    ? { native, why: 'native receiver (recvmmsg)' }
    : { native: null, why: 'native receiver built from an older source (another batch format): rebuild it with `npm run build`' };
}

/**
 * The native receiver, or null with the reason it is not there (not built: no C compiler or
 * headers at install, not Linux). The same relative path from src/ingest and dist/ingest.
 */
export function nativeUdp(): { native: NativeUdp | null; why: string } {
  if (loaded !== undefined) return loaded;
  try {
    loaded = accepted(createRequire(import.meta.url)('../../native/build/udp-recv.node') as NativeUdp);
  } catch (e) {
    loaded = { native: null, why: `native receiver not built (${(e as Error).message.split('\n')[0]}): see scripts/build-native.mjs` };
  }
  return loaded;
}
