import { Worker } from 'node:worker_threads';
import { isIPv6 } from 'node:net';
import { UDP_THREAD_SOURCE } from './udp-thread.ts';

export interface UdpListener {
  /** `host:port` actually bound (port 0 → the chosen one). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface UdpOptions {
  /** Errors of the socket once bound, and errors a handler threw (the socket stays up). */
  onError?: (e: unknown) => void;
  /** Datagrams dropped because more than `maxQueued` bytes were waiting for the main thread. */
  onDropped?: (count: number) => void;
  /** Bytes of datagrams that may wait for the main thread before new ones are dropped (counted). */
  maxQueued?: number;
}

/** Receive buffer asked of the kernel (Linux caps it at `net.core.rmem_max`, 4 MB by default). */
const RECV_BUFFER = 16 * 1024 * 1024;
/** A batch is posted once it holds this many bytes (or sooner, when nothing more is to be read). */
const BATCH_BYTES = 64 * 1024;
/** Default `maxQueued`: at 20 000 HEP frames/s of ~700 bytes, 9 s of the main thread not reading. */
export const UDP_MAX_QUEUED = 128 * 1024 * 1024;

interface FromThread {
  t: 'bound' | 'error' | 'batch' | 'closed';
  address?: string;
  family?: string;
  port?: number;
  code?: string;
  message?: string;
  bound?: boolean;
  buf?: ArrayBuffer;
  n?: number;
  bytes?: number;
}

/**
 * Binds a UDP socket and hands every datagram to `onDatagram` (HEP frames, or OpenSIPS event
 * datagrams), in arrival order. The socket is read by a thread of its own (udp-thread.ts), which
 * passes datagrams to this thread in batches: while this thread is busy, datagrams wait in memory
 * (up to `maxQueued` bytes, then dropped and counted through `onDropped`) instead of overflowing
 * the kernel's receive buffer unseen. The handler must not throw (the pipeline counts bad input
 * instead); if it does, the datagram is lost, `onError` is told and the socket stays up.
 */
export function listenUdp(host: string, port: number, onDatagram: (buf: Buffer) => void, opts: UdpOptions = {}): Promise<UdpListener> {
  const onError = opts.onError ?? (() => {});
  const onDropped = opts.onDropped ?? (() => {});
  const control = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(UDP_THREAD_SOURCE, {
    eval: true,
    workerData: { host, port, type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: RECV_BUFFER, batchBytes: BATCH_BYTES, maxQueued: opts.maxQueued ?? UDP_MAX_QUEUED, control },
  });
  const dropped = () => {
    const d = Atomics.exchange(control, 1, 0);
    if (d > 0) onDropped(d);
  };
  const deliver = (m: FromThread) => {
    const ab = m.buf!;
    const dv = new DataView(ab);
    let at = 0;
    for (let i = 0; i < m.n!; i++) {
      const len = dv.getUint32(at, true);
      try {
        onDatagram(Buffer.from(ab, at + 4, len));
      } catch (e) {
        onError(e);
      }
      at += 4 + len;
    }
    Atomics.sub(control, 0, m.bytes!);
    dropped();
  };
  return new Promise((resolve, reject) => {
    let bound = false;
    let closed: (() => void) | null = null;
    worker.on('message', (m: FromThread) => {
      if (m.t === 'batch') deliver(m);
      else if (m.t === 'bound') {
        bound = true;
        const a = { address: `${m.family === 'IPv6' ? `[${m.address}]` : m.address}:${m.port}`, port: m.port! };
        resolve({
          ...a,
          close: () =>
            new Promise<void>((r) => {
              closed = r;
              worker.postMessage('close');
            }),
        });
      } else if (m.t === 'error') {
        const e = Object.assign(new Error(m.message), { code: m.code });
        if (m.bound) onError(e);
        else reject(e);
      } else if (m.t === 'closed') dropped();
    });
    worker.on('error', (e) => (bound ? onError(e) : reject(e)));
    worker.on('exit', () => {
      if (!bound) reject(new Error('the UDP receiving thread ended before binding'));
      closed?.();
    });
  });
}
