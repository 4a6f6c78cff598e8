import { Worker } from 'node:worker_threads';
import { isIP, isIPv6 } from 'node:net';
import { lookup } from 'node:dns/promises';
import { UDP_THREAD_SOURCE } from './udp-thread.ts';
import { nativeUdp, RECORD_HEAD } from './native-udp.ts';
import { SipstatsError } from '../errors.ts';
import { DEFAULTS } from '../defaults.ts';

export interface UdpListener {
  /** `host:port` actually bound (port 0 → the chosen one). */
  readonly address: string;
  readonly port: number;
  /** Which receiver reads the socket: `native` (recvmmsg on a C thread) or `thread` (a JavaScript worker). */
  readonly receiver: UdpReceiver;
  close(): Promise<void>;
}

export type UdpReceiver = 'native' | 'thread';

export interface UdpOptions {
  /** Errors of the socket once bound, and errors a handler threw (the socket stays up). */
  onError?: (e: unknown) => void;
  /** Datagrams dropped because more than `maxQueued` bytes were waiting for the main thread. */
  onDropped?: (count: number) => void;
  /**
   * Datagrams the kernel dropped because the socket's receive buffer was full (the receiving
   * thread did not get the CPU in time): the native receiver learns them with the next datagram
   * read (SO_RXQ_OVFL), the JavaScript thread from /proc/net/udp every second and at close.
   */
  onKernelDropped?: (count: number) => void;
  /** Bytes of datagrams that may wait for the main thread before new ones are dropped (counted). */
  maxQueued?: number;
  /** Receive buffer asked of the kernel, bytes (default 16 MB; Linux caps it at `net.core.rmem_max`). */
  recvBufferSize?: number;
  /** The receiver to use; by default the native one when it is built, else the JavaScript thread. */
  receiver?: UdpReceiver;
}

const RECV_BUFFER = DEFAULTS.udp.recvBuffer;
const BATCH_BYTES = DEFAULTS.udp.batchBytes;
export const UDP_MAX_QUEUED = DEFAULTS.udp.maxQueued;

/**
 * Binds a UDP socket and hands every datagram to `onDatagram` (HEP frames, or OpenSIPS event
 * datagrams), in arrival order, with a key of its sender (a 32-bit hash of its source address and
 * port: capture agents that share a HEP capture id and name are told apart by it). The socket is read by a thread of its own, which passes datagrams
 * to this thread in batches: while this thread is busy, datagrams wait in memory (up to `maxQueued`
 * bytes, then dropped and counted through `onDropped`) instead of overflowing the kernel's receive
 * buffer unseen. That thread is native (native/udp-recv.c: recvmmsg, about 3 µs a datagram on the
 * benchmark machine) when it was built, else a JavaScript worker (udp-thread.ts: Node's dgram,
 * 5-7 µs a datagram there). The handler
 * must not throw (the pipeline counts bad input instead); if it does, the datagram is lost,
 * `onError` is told and the socket stays up.
 */
export function listenUdp(host: string, port: number, onDatagram: (buf: Buffer, sender: number) => void, opts: UdpOptions = {}): Promise<UdpListener> {
  const onError = opts.onError ?? (() => {});
  const onDropped = opts.onDropped ?? (() => {});
  const deliver = (buf: Buffer, n: number) => {
    // records: [u32 length][u32 sender key][datagram], little endian (both receivers write them)
    let at = 0;
    for (let i = 0; i < n; i++) {
      const len = buf.readUInt32LE(at);
      try {
        onDatagram(buf.subarray(at + RECORD_HEAD, at + RECORD_HEAD + len), buf.readUInt32LE(at + 4));
      } catch (e) {
        onError(e);
      }
      at += RECORD_HEAD + len;
    }
  };
  const to: Receiving = { deliver, onDropped, onKernelDropped: opts.onKernelDropped ?? (() => {}), onError, maxQueued: opts.maxQueued ?? UDP_MAX_QUEUED, recvBuffer: opts.recvBufferSize ?? RECV_BUFFER };
  const receiver = opts.receiver ?? (nativeUdp().native !== null ? 'native' : 'thread');
  return receiver === 'native' ? listenNative(host, port, to) : listenThread(host, port, to);
}

/** What both receivers are given: where batches go, what they count, their limits. */
interface Receiving {
  deliver: (buf: Buffer, n: number) => void;
  onDropped: (n: number) => void;
  onKernelDropped: (n: number) => void;
  onError: (e: unknown) => void;
  maxQueued: number;
  recvBuffer: number;
}

const shown = (v6: boolean, address: string, port: number) => `${v6 ? `[${address}]` : address}:${port}`;

/**
 * The native receiver. When its thread stops on its own (a poll that failed: the error is told to
 * `onError`, counted by the caller), a JavaScript thread takes the port over from then on.
 */
async function listenNative(host: string, port: number, to: Receiving): Promise<UdpListener> {
  const native = nativeUdp().native;
  if (native === null) throw new SipstatsError('E_INTERNAL', `UDP: the native receiver was asked for, but ${nativeUdp().why}`);
  let closed: (() => void) | null = null;
  let closing: Promise<void> | null = null;
  let receiver: UdpReceiver = 'native';
  /** The JavaScript thread that took the port over (null: none; resolves null when it could not bind). */
  let takeover: Promise<UdpListener | null> | null = null;
  // a host name binds its IPv4 address, as Node's udp4 socket does
  if (isIP(host) === 0) host = (await lookup(host, { family: 4 })).address;
  const [handle, bound] = native.open(host, port, isIPv6(host), to.maxQueued, BATCH_BYTES, to.recvBuffer, (buf, n, dropped, kernelDropped, error) => {
    if (buf !== null) to.deliver(buf, n);
    if (dropped > 0) to.onDropped(dropped);
    if (kernelDropped > 0) to.onKernelDropped(kernelDropped);
    if (buf !== null) return;
    if (error !== null && error !== undefined && closing === null) {
      to.onError(Object.assign(new Error(`the native UDP receiver on port ${bound} stopped (poll: ${error}); a JavaScript thread reads the port from now on`), { code: error }));
      native.close(handle);
      receiver = 'thread';
      takeover = listenThread(host, bound, to).catch((e: unknown) => {
        to.onError(e);
        return null;
      });
      return;
    }
    closed?.();
  });
  const listener: UdpListener = {
    address: shown(isIPv6(host), host, bound),
    port: bound,
    get receiver() {
      return receiver;
    },
    close: () =>
      (closing ??= (async () => {
        if (takeover !== null) return void (await (await takeover)?.close());
        await new Promise<void>((resolve) => {
          closed = resolve;
          native.close(handle);
        });
      })()),
  };
  FAULTS.set(listener, () => native.fault?.(handle));
  return listener;
}

/** How tests make a native listener's thread stop as a failed poll does (faultNativeReceiver). */
const FAULTS = new WeakMap<UdpListener, () => void>();

/** For tests: stops a native listener's receiving thread as a failed poll(2) does (EIO); false for another receiver. */
export function faultNativeReceiver(l: UdpListener): boolean {
  const f = FAULTS.get(l);
  f?.();
  return f !== undefined;
}

interface FromThread {
  t: 'bound' | 'error' | 'batch' | 'drops' | 'closed';
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

function listenThread(host: string, port: number, to: Receiving): Promise<UdpListener> {
  const control = new Int32Array(new SharedArrayBuffer(12));
  const worker = new Worker(UDP_THREAD_SOURCE, {
    eval: true,
    workerData: { host, port, type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: to.recvBuffer, batchBytes: BATCH_BYTES, maxQueued: to.maxQueued, control },
  });
  const dropped = () => {
    const d = Atomics.exchange(control, 1, 0);
    if (d > 0) to.onDropped(d);
    const k = Atomics.exchange(control, 2, 0);
    if (k > 0) to.onKernelDropped(k);
  };
  return new Promise((resolve, reject) => {
    let bound = false;
    let closed: (() => void) | null = null;
    let closing: Promise<void> | null = null;
    worker.on('message', (m: FromThread) => {
      if (m.t === 'batch') {
        to.deliver(Buffer.from(m.buf!), m.n!);
        Atomics.sub(control, 0, m.bytes!);
        dropped();
      } else if (m.t === 'bound') {
        bound = true;
        resolve({
          address: shown(m.family === 'IPv6', m.address!, m.port!),
          port: m.port!,
          receiver: 'thread',
          close: () =>
            (closing ??= new Promise<void>((r) => {
              closed = r;
              worker.postMessage('close');
            })),
        });
      } else if (m.t === 'error') {
        const e = Object.assign(new Error(m.message), { code: m.code });
        if (m.bound) to.onError(e);
        else reject(e);
      } else if (m.t === 'closed' || m.t === 'drops') dropped();
    });
    worker.on('error', (e) => (bound ? to.onError(e) : reject(e)));
    worker.on('exit', () => {
      if (!bound) reject(new SipstatsError('E_LISTEN', 'the UDP receiving thread ended before binding'));
      closed?.();
    });
  });
}
