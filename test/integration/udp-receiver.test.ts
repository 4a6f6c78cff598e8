import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { faultNativeReceiver, listenUdp as listen } from '../../src/ingest/hep-udp.ts';
import type { UdpListener, UdpReceiver } from '../../src/ingest/hep-udp.ts';
import { nativeUdp } from '../../src/ingest/native-udp.ts';

/**
 * Sends `count` datagrams (`size` bytes, the first 4 the sequence number) to 127.0.0.1:`port` from
 * another process, 200 every 10 ms (about 20 000/s, a HEP burst), while this process's main thread
 * waits in spawnSync: the main thread is busy for as long as the whole send takes (a second for
 * 20 000), as it is in a long GC or a burst of new series.
 */
function sendFromChild(port: number, count: number, size: number): void {
  const src = `
    const s = require('node:dgram').createSocket('udp4');
    let i = 0, left = ${count};
    const step = () => {
      for (const end = Math.min(${count}, i + 200); i < end; i++) {
        const b = Buffer.alloc(${size}, 0x61);
        b.writeUInt32BE(i, 0);
        s.send(b, ${port}, '127.0.0.1', () => { if (--left === 0) s.close(); });
      }
      if (i < ${count}) setTimeout(step, 10);
    };
    step();`;
  const r = spawnSync(process.execPath, ['-e', src], { stdio: 'inherit' });
  assert.equal(r.status, 0, 'sender child failed');
}

/** Every listener opened, closed after the file even when a test failed before closing its own. */
const opened: UdpListener[] = [];
const listenUdp = async (...a: Parameters<typeof listen>) => {
  const u = await listen(...a);
  opened.push(u);
  return u;
};
after(() => Promise.all(opened.map((u) => u.close())));

const wait = async (cond: () => boolean, what: () => string) => {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what()}`);
};

test('the native receiver is built by `npm run build` (scripts/build-native.mjs) on Linux', () => {
  assert.ok(nativeUdp().native !== null, nativeUdp().why);
});

for (const receiver of ['native', 'thread'] as UdpReceiver[]) {
  test(`${receiver} receiver: every datagram, in order, whatever its size (0 to 65 000 bytes)`, async () => {
    const got: Buffer[] = [];
    const u = await listenUdp('127.0.0.1', 0, (b) => got.push(Buffer.from(b)), { receiver });
    assert.equal(u.receiver, receiver);
    const sizes = [0, 1, 4, 700, 1500, 9000, 65_000];
    const sent: Buffer[] = [];
    const s = createSocket('udp4');
    for (let i = 0; i < 70; i++) {
      const b = Buffer.alloc(sizes[i % sizes.length], i);
      sent.push(b);
      await new Promise<void>((r) => s.send(b, u.port, '127.0.0.1', () => r()));
    }
    s.close();
    await wait(() => got.length === sent.length, () => `all datagrams (got ${got.length})`);
    await u.close();
    assert.deepEqual(got, sent);
  });

  test(`${receiver} receiver: a main thread busy while 20 000 datagrams (20 MB, 5x the kernel's buffer) arrive loses none (regression: the socket was read by the main thread)`, async () => {
    let n = 0;
    let inOrder = true;
    const u = await listenUdp('127.0.0.1', 0, (b) => {
      if (b.readUInt32BE(0) !== n) inOrder = false;
      n++;
    }, { receiver });
    sendFromChild(u.port, 20_000, 1000);
    await wait(() => n === 20_000, () => `20 000 datagrams (got ${n})`);
    await u.close();
    assert.equal(n, 20_000);
    assert.ok(inOrder);
  });

  test(`${receiver} receiver: past maxQueued bytes waiting, datagrams are dropped and counted, never lost unseen`, async () => {
    let n = 0;
    let dropped = 0;
    const u = await listenUdp('127.0.0.1', 0, () => n++, { receiver, maxQueued: 50_000, onDropped: (d) => (dropped += d) });
    sendFromChild(u.port, 2000, 1000);
    await wait(() => n + dropped === 2000, () => `2000 datagrams delivered or counted (got ${n} + ${dropped})`);
    await u.close();
    assert.ok(dropped > 0, 'the bound held: some were dropped');
    assert.ok(n >= 40, `what fitted was delivered (${n})`);
    assert.equal(n + dropped, 2000);
  });

  test(`${receiver} receiver: a port taken is refused with EADDRINUSE; closed, the port is free again`, async () => {
    const a = await listenUdp('127.0.0.1', 0, () => {}, { receiver });
    await assert.rejects(listenUdp('127.0.0.1', a.port, () => {}, { receiver }), { code: 'EADDRINUSE' });
    await a.close();
    const b = await listenUdp('127.0.0.1', a.port, () => {}, { receiver });
    await b.close();
    await a.close(); // twice: no harm
  });

  test(`${receiver} receiver: a handler that throws loses that datagram only, and is reported`, async () => {
    const errors: unknown[] = [];
    let n = 0;
    const u = await listenUdp('127.0.0.1', 0, (b) => {
      if (b.length === 3) throw new Error('bad');
      n++;
    }, { receiver, onError: (e) => errors.push(e) });
    const s = createSocket('udp4');
    for (const b of [Buffer.alloc(5), Buffer.alloc(3), Buffer.alloc(5)]) await new Promise<void>((r) => s.send(b, u.port, '127.0.0.1', () => r()));
    s.close();
    await wait(() => n === 2 && errors.length === 1, () => `two delivered, one error (got ${n}, ${errors.length})`);
    await u.close();
  });

  test(`${receiver} receiver: a host name (localhost) binds its IPv4 address`, async () => {
    const got: Buffer[] = [];
    const u = await listenUdp('localhost', 0, (b) => got.push(Buffer.from(b)), { receiver });
    assert.match(u.address, /^127\.0\.0\.1:\d+$/);
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.send(Buffer.from('hi'), u.port, '127.0.0.1', () => r()));
    s.close();
    await wait(() => got.length === 1, () => 'the datagram');
    await u.close();
  });

  test(`${receiver} receiver: IPv6 loopback`, async () => {
    const got: Buffer[] = [];
    const u = await listenUdp('::1', 0, (b) => got.push(Buffer.from(b)), { receiver });
    assert.match(u.address, /^\[::1\]:\d+$/);
    const s = createSocket('udp6');
    await new Promise<void>((r) => s.send(Buffer.from('hello'), u.port, '::1', () => r()));
    s.close();
    await wait(() => got.length === 1, () => 'the datagram');
    await u.close();
    assert.equal(got[0].toString(), 'hello');
  });

  test(`${receiver} receiver: datagrams the kernel dropped (receive buffer full) are counted`, async () => {
    let n = 0;
    let kernel = 0;
    // a receive buffer of a few datagrams, and a sender that does not pace itself: the kernel drops
    const u = await listenUdp('127.0.0.1', 0, () => n++, { receiver, recvBufferSize: 4096, onKernelDropped: (d) => (kernel += d) });
    const src = `
      const s = require('node:dgram').createSocket('udp4');
      let left = 5000;
      for (let i = 0; i < 5000; i++) s.send(Buffer.alloc(1000), ${u.port}, '127.0.0.1', () => {
        if (--left === 0) setTimeout(() => s.send(Buffer.alloc(10), ${u.port}, '127.0.0.1', () => s.close()), 300);
      });`;
    assert.equal(spawnSync(process.execPath, ['-e', src], { stdio: 'inherit' }).status, 0);
    await wait(() => n + kernel === 5001, () => `5001 datagrams received or counted (got ${n} + ${kernel})`);
    await u.close();
    assert.ok(kernel > 0, 'the kernel dropped some: the buffer was small enough');
    assert.equal(n + kernel, 5001);
  });
}

test('native receiver: a thread that stops on its own (a failed poll) is said and counted, and a JavaScript thread takes the port over', async () => {
  const got: number[] = [];
  const errors: unknown[] = [];
  const u = await listenUdp('127.0.0.1', 0, (b) => got.push(b.readUInt32BE(0)), { receiver: 'native', onError: (e) => errors.push(e) });
  const s = createSocket('udp4');
  const send = (i: number) => new Promise<void>((r) => s.send(Buffer.from([0, 0, 0, i]), u.port, '127.0.0.1', () => r()));
  try {
    await send(1);
    await wait(() => got.length === 1, () => 'the first datagram');
    assert.ok(faultNativeReceiver(u));
    await wait(() => errors.length === 1, () => 'the error told');
    assert.match(String((errors[0] as Error).message), /native UDP receiver on port \d+ stopped \(poll: EIO\); a JavaScript thread reads the port from now on/);
    assert.equal((errors[0] as { code?: string }).code, 'EIO');
    await wait(() => u.receiver === 'thread', () => 'the takeover');
    // the port still receives, through the JavaScript thread
    for (let i = 0; i < 50 && got.length < 2; i++) {
      await send(2);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(got.includes(2), `datagrams after the takeover: ${got.join(',')}`);
  } finally {
    s.close();
  }
  await u.close();
});

test('native receiver: a second close of its handle does nothing (the receiver is not used after it is freed)', async () => {
  const native = nativeUdp().native!;
  let last = 0;
  const [handle] = native.open('127.0.0.1', 0, false, 1 << 20, 65536, 1 << 20, (buf) => {
    if (buf === null) last++;
  });
  native.close(handle);
  native.close(handle);
  await wait(() => last === 1, () => 'the last call');
  native.close(handle);
  native.fault!(handle);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(last, 1, 'one last call, whatever was called after');
});
