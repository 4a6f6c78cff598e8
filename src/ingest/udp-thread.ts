/**
 * The UDP receiving thread: binds the socket, reads datagrams as they come and hands them to the
 * main thread in batches, so that the socket is read while the main thread is busy (a garbage
 * collection, a burst of new series, a scrape). Frames the kernel would drop when its receive
 * buffer fills (4 MB on a default Linux) wait in the batches instead.
 *
 * The thread runs this source as plain JavaScript (`eval`), so it starts the same from the
 * TypeScript sources (tests, benches) and from the compiled `dist/`, without a loader in the
 * worker. It is kept small: bind, copy, post, count.
 *
 * Protocol (worker_threads messages):
 * - workerData: `{ host, port, type, recvBufferSize, batchBytes, maxQueued, control }` (a batch is
 *   posted when the thread has nothing more to read, or once it holds `batchBytes`);
 *   `control` is an Int32Array on a SharedArrayBuffer: [0] bytes queued (the worker adds what it
 *   posts, the main thread subtracts what it has handled), [1] datagrams dropped because more than
 *   `maxQueued` bytes were waiting, [2] datagrams the kernel dropped (the `drops` column of
 *   /proc/net/udp for this socket, read every second and at close; Node's dgram has no
 *   SO_RXQ_OVFL). The main thread takes [1] and [2] away (Atomics.exchange) as it reports them.
 * - to the main thread: `{ t: 'bound', address, family, port }` | `{ t: 'error', code, message, bound }` (not
 *   bound yet: the bind failed and the thread ends; bound: a socket error, the socket stays) |
 *   `{ t: 'batch', buf, n, bytes }` (`buf`: a transferred ArrayBuffer of `n` records
 *   `[u32 length][u32 sender key][datagram]`, little endian, `bytes` long: the native receiver's
 *   records; the key is FNV-1a of the sender's address text and port) | `{ t: 'drops' }` (control[2] grew) |
 *   `{ t: 'closed' }`.
 * - from the main thread: `'close'` (flush what is held, close the socket, report `closed`).
 */
import { senderKey } from './sender-key.ts';
import { RECORD_HEAD } from './native-udp.ts';

export const UDP_THREAD_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const fs = require('node:fs');
const { host, port, type, recvBufferSize, batchBytes, maxQueued, control } = workerData;
let held = [], keys = [], at = 0, scheduled = false;
const senderKey = ${senderKey.toString()};
function flush() {
  scheduled = false;
  const n = held.length;
  if (n === 0) return;
  const out = new Uint8Array(at);
  const view = new DataView(out.buffer);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const m = held[i];
    view.setUint32(p, m.length, true);
    view.setUint32(p + 4, keys[i], true);
    out.set(m, p + ${RECORD_HEAD});
    p += ${RECORD_HEAD} + m.length;
  }
  Atomics.add(control, 0, at);
  parentPort.postMessage({ t: 'batch', buf: out.buffer, n, bytes: at }, [out.buffer]);
  held = []; keys = []; at = 0;
}
const sock = dgram.createSocket({ type, recvBufferSize });
sock.on('message', (msg, rinfo) => {
  const len = msg.length;
  if (Atomics.load(control, 0) + at + len + ${RECORD_HEAD} > maxQueued) { Atomics.add(control, 1, 1); return; }
  held.push(msg);
  keys.push(senderKey(rinfo.address, rinfo.port));
  at += ${RECORD_HEAD} + len;
  if (at >= batchBytes) flush();
  else if (!scheduled) { scheduled = true; setTimeout(flush, 1); }
});
let kernelSeen = null;
function kernelDrops() {
  // the socket's line in /proc/net/udp(6): field 1 ends with ':PORT' (hex), field 12 is 'drops';
  // not counted when the port is not there once (another socket shares it, or no procfs)
  let text;
  try { text = fs.readFileSync(type === 'udp6' ? '/proc/net/udp6' : '/proc/net/udp', 'latin1'); } catch { return; }
  const tail = ':' + sock.address().port.toString(16).toUpperCase().padStart(4, '0');
  let drops = null, lines = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !f[1].endsWith(tail)) continue;
    lines++;
    drops = Number(f[12]);
  }
  if (lines !== 1 || !(drops >= 0)) return;
  if (kernelSeen !== null && drops > kernelSeen) {
    Atomics.add(control, 2, drops - kernelSeen);
    parentPort.postMessage({ t: 'drops' });
  }
  kernelSeen = drops;
}
let poll = null;
let bound = false;
sock.on('error', (e) => {
  parentPort.postMessage({ t: 'error', code: e.code, message: e.message, bound });
  if (!bound) { try { sock.close(); } catch {} parentPort.close(); }
});
sock.bind(port, host, () => {
  bound = true;
  kernelDrops();
  poll = setInterval(kernelDrops, 1000);
  const a = sock.address();
  parentPort.postMessage({ t: 'bound', address: a.address, family: a.family, port: a.port });
});
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  flush();
  if (poll !== null) { clearInterval(poll); kernelDrops(); }
  sock.close(() => { parentPort.postMessage({ t: 'closed' }); parentPort.close(); });
});
`;
