import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHep, type HepPacket, type HepErrorCode } from '../../src/protocol/hep/decode.ts';
import { encodeHep, type HepEncodeInput } from '../../src/protocol/hep/encode.ts';
import { HepStreamFramer } from '../../src/protocol/hep/hep-framer.ts';

const SIP_UTF8 =
  'INVITE sip:bob@example.com SIP/2.0\r\n' +
  'From: "Zoë Ñandú 日本" <sip:zoe@example.com>;tag=abc\r\n' +
  'To: <sip:bob@example.com>\r\nCall-ID: utf8-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';

function base(over: Partial<HepEncodeInput> = {}): HepEncodeInput {
  return { srcIp: '10.0.0.1', dstIp: '192.168.200.254', srcPort: 5060, dstPort: 5080, tsSec: 1700000000, tsUsec: 250500, captureId: 2001, payload: SIP_UTF8, ...over };
}

function ok(buf: Buffer): HepPacket {
  const r = decodeHep(buf);
  if (!r.ok) assert.fail(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function errCode(buf: Buffer): HepErrorCode {
  const r = decodeHep(buf);
  if (r.ok) assert.fail('expected an error');
  assert.equal(typeof r.error.message, 'string');
  assert.ok(r.error.offset >= 0 && r.error.offset <= buf.length);
  return r.error.code;
}

/** A frame built by hand, chunk by chunk: [vendor, type, value]. */
function frame(chunks: Array<[number, number, Buffer]>, magic = 'HEP3'): Buffer {
  const parts = chunks.map(([vendor, type, value]) => {
    const h = Buffer.alloc(6);
    h.writeUInt16BE(vendor, 0);
    h.writeUInt16BE(type, 2);
    h.writeUInt16BE(6 + value.length, 4);
    return Buffer.concat([h, value]);
  });
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(6);
  head.write(magic, 0, 'latin1');
  head.writeUInt16BE(6 + body.length, 4);
  return Buffer.concat([head, body]);
}

test('IPv4 round trip keeps every field', () => {
  const p = ok(encodeHep(base({ protocol: 6, authKey: 'secret-key', nodeName: 'edge-ams-1', correlationId: 'corr-42', protoType: 1 })));
  assert.equal(p.ipFamily, 2);
  assert.equal(p.protocol, 6);
  assert.equal(p.srcIp, '10.0.0.1');
  assert.equal(p.dstIp, '192.168.200.254');
  assert.equal(p.srcPort, 5060);
  assert.equal(p.dstPort, 5080);
  assert.equal(p.tsSec, 1700000000);
  assert.equal(p.tsUsec, 250500);
  assert.equal(p.timeMs, 1700000000250.5);
  assert.equal(p.protoType, 1);
  assert.equal(p.captureId, 2001);
  assert.equal(p.nodeId, 2001);
  assert.equal(p.authKey, 'secret-key');
  assert.equal(p.nodeName, 'edge-ams-1');
  assert.equal(p.correlationId, 'corr-42');
  assert.equal(p.payload.toString('utf8'), SIP_UTF8);
});

test('node name and auth key change from frame to frame (the last-string cache is never stale)', () => {
  const long = 'n'.repeat(100);
  const names = ['node-a', 'node-b', 'node-a', long, long.slice(0, 99) + 'm', 'node-a', ''];
  for (const n of names) {
    const p = ok(encodeHep(base({ nodeName: n, authKey: n.toUpperCase() })));
    assert.equal(p.nodeName, n);
    assert.equal(p.authKey, n.toUpperCase());
  }
});

test('optional chunks absent decode as undefined', () => {
  const p = ok(encodeHep(base()));
  assert.equal(p.authKey, undefined);
  assert.equal(p.nodeName, undefined);
  assert.equal(p.correlationId, undefined);
});

for (const [src, dst] of [
  ['2001:db8::1', '::1'],
  ['fe80::1:2:3:4', '2001:db8:0:0:1:0:0:1'],
  ['2001:0DB8:0000:0000:0000:ff00:0042:8329', '::'],
  ['::ffff:192.0.2.33', '1:2:3:4:5:6:7:8'],
] as const) {
  test(`IPv6 round trip ${src} -> ${dst} in RFC 5952 form`, () => {
    const p = ok(encodeHep(base({ srcIp: src, dstIp: dst })));
    assert.equal(p.ipFamily, 10);
    const canon = (s: string): string =>
      ({
        '2001:db8:0:0:1:0:0:1': '2001:db8::1:0:0:1',
        '2001:0DB8:0000:0000:0000:ff00:0042:8329': '2001:db8::ff00:42:8329',
      })[s] ?? s;
    assert.equal(p.srcIp, canon(src));
    assert.equal(p.dstIp, canon(dst));
  });
}

test('RFC 5952: the first of two equal zero runs is compressed, a single zero group is not', () => {
  assert.equal(ok(encodeHep(base({ srcIp: '1:0:0:2:0:0:3:4', dstIp: '1:0:2:3:4:5:6:7' }))).srcIp, '1::2:0:0:3:4');
  assert.equal(ok(encodeHep(base({ srcIp: '1:0:0:2:0:0:3:4', dstIp: '1:0:2:3:4:5:6:7' }))).dstIp, '1:0:2:3:4:5:6:7');
});

test('UTF-8 payload bytes are preserved exactly and the payload is zero-copy', () => {
  const bytes = Buffer.from(SIP_UTF8, 'utf8');
  const buf = encodeHep(base({ payload: bytes }));
  const p = ok(buf);
  assert.deepEqual(Buffer.compare(p.payload, bytes), 0);
  assert.ok(p.payload.toString('utf8').includes('Zoë Ñandú 日本'));
  assert.equal(p.payload.buffer, buf.buffer, 'payload should be a subarray of the input');
  // invalid UTF-8 stays byte-exact too
  const raw = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x00, 0xe6, 0x97]);
  assert.deepEqual(ok(encodeHep(base({ payload: raw }))).payload, raw);
});

test('timestamps: timeMs derived from seconds and microseconds; encoder accepts timeMs', () => {
  const p = ok(encodeHep(base({ tsSec: undefined, tsUsec: undefined, timeMs: 1712345678901.25 })));
  assert.equal(p.tsSec, 1712345678);
  assert.equal(p.tsUsec, 901250);
  assert.equal(p.timeMs, 1712345678901.25);
  const z = ok(encodeHep(base({ tsSec: 0, tsUsec: 0 })));
  assert.equal(z.timeMs, 0);
});

test('unknown chunks (any vendor, any type) are skipped', () => {
  const junk = Buffer.from('not-a-payload');
  const p = ok(
    encodeHep(
      base({
        extraChunks: [
          { vendor: 0x1234, type: 0x00ff, value: Buffer.from([1, 2, 3]) },
          { vendor: 0x1234, type: 0x000f, value: junk }, // vendor chunk with a generic type number
          { vendor: 0, type: 0x0020, value: Buffer.from([0, 42]) }, // MOS: known to HEP, not used here
          { vendor: 0, type: 0x7777, value: Buffer.alloc(0) },
        ],
      }),
    ),
  );
  assert.equal(p.payload.toString('utf8'), SIP_UTF8);
  assert.equal(p.srcIp, '10.0.0.1');
});

test('bytes after the frame length are ignored', () => {
  const buf = Buffer.concat([encodeHep(base()), Buffer.from('trailing garbage')]);
  assert.equal(ok(buf).payload.toString('utf8'), SIP_UTF8);
});

test('a frame built by hand with chunks in any order decodes', () => {
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  };
  const buf = frame([
    [0, 0x000f, Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n')],
    [0, 0x0007, Buffer.from([0x13, 0xc4])],
    [0, 0x0004, Buffer.from([127, 0, 0, 1])],
    [0, 0x0009, u32(5)],
    [0, 0x000c, u32(0xffffffff)],
  ]);
  const p = ok(buf);
  assert.equal(p.srcPort, 5060);
  assert.equal(p.dstIp, '127.0.0.1');
  assert.equal(p.srcIp, '');
  assert.equal(p.ipFamily, 2, 'family derived from the address chunks');
  assert.equal(p.captureId, 0xffffffff);
  assert.equal(p.timeMs, 5000);
});

test('malformed frames return their error code', () => {
  const good = encodeHep(base());
  const cases: Array<[string, Buffer, HepErrorCode]> = [
    ['empty', Buffer.alloc(0), 'HEP_TRUNCATED'],
    ['5 bytes', Buffer.from('HEP3\x00'), 'HEP_TRUNCATED'],
    ['bad magic', Buffer.concat([Buffer.from('HEP2'), good.subarray(4)]), 'HEP_BAD_MAGIC'],
    ['HEP v2 style', Buffer.from([0x02, 0x10, 0x02, 0x11, 0x13, 0xc4, 0x13, 0xc4, 0, 0, 0, 0]), 'HEP_BAD_MAGIC'],
    ['total length < 6', Buffer.from([0x48, 0x45, 0x50, 0x33, 0x00, 0x05, 0, 0]), 'HEP_BAD_LENGTH'],
    ['total length > buffer', good.subarray(0, good.length - 1), 'HEP_TRUNCATED'],
    ['chunk length < 6', frame([[0, 0x000f, Buffer.from('x')]]).fill(0x00, 10, 11).fill(0x05, 11, 12), 'HEP_BAD_CHUNK'],
    ['stray bytes after last chunk', (() => { const f = frame([[0, 0x000f, Buffer.from('xyz')]]); return Buffer.concat([f.subarray(0, 4), Buffer.from([0, f.length + 3]), f.subarray(6), Buffer.from([0, 0, 0])]); })(), 'HEP_BAD_CHUNK'],
    ['no payload', frame([[0, 0x0007, Buffer.from([0, 1])]]), 'HEP_NO_PAYLOAD'],
    ['no chunks at all', frame([]), 'HEP_NO_PAYLOAD'],
    ['IPv4 chunk of 3 bytes', frame([[0, 0x0003, Buffer.from([1, 2, 3])], [0, 0x000f, Buffer.from('x')]]), 'HEP_BAD_CHUNK'],
    ['IPv6 chunk of 4 bytes', frame([[0, 0x0005, Buffer.from([1, 2, 3, 4])], [0, 0x000f, Buffer.from('x')]]), 'HEP_BAD_CHUNK'],
    ['port chunk of 4 bytes', frame([[0, 0x0008, Buffer.alloc(4)], [0, 0x000f, Buffer.from('x')]]), 'HEP_BAD_CHUNK'],
    ['family chunk of 2 bytes', frame([[0, 0x0001, Buffer.alloc(2)], [0, 0x000f, Buffer.from('x')]]), 'HEP_BAD_CHUNK'],
    ['time chunk of 2 bytes', frame([[0, 0x0009, Buffer.alloc(2)], [0, 0x000f, Buffer.from('x')]]), 'HEP_BAD_CHUNK'],
    ['capture id of 2 bytes', frame([[0, 0x000c, Buffer.alloc(2)], [0, 0x000f, Buffer.from('x')]]), 'HEP_BAD_CHUNK'],
  ];
  // chunk running past the frame end: enlarge the payload chunk's length field by one
  const past = Buffer.from(good);
  const payloadLenAt = past.length - Buffer.byteLength(SIP_UTF8) - 2;
  past.writeUInt16BE(past.readUInt16BE(payloadLenAt) + 1, payloadLenAt);
  cases.push(['chunk past the end', past, 'HEP_BAD_CHUNK']);
  for (const [name, buf, code] of cases) assert.equal(errCode(buf), code, name);
});

test('the encoder refuses invalid input', () => {
  assert.throws(() => encodeHep(base({ srcIp: '10.0.0.256' })), { code: 'E_BAD_VALUE' });
  assert.throws(() => encodeHep(base({ srcIp: '2001:db8::1::2' })), { code: 'E_BAD_VALUE' });
  assert.throws(() => encodeHep(base({ srcPort: 70000 })), { code: 'E_BAD_VALUE' });
  assert.throws(() => encodeHep(base({ payload: Buffer.alloc(70000) })), { code: 'E_BAD_VALUE' });
});

test('stream framer: frames split byte by byte come out whole', () => {
  const frames = [encodeHep(base()), encodeHep(base({ srcIp: '2001:db8::1', dstIp: '::1' })), encodeHep(base({ payload: 'x' }))];
  const all = Buffer.concat(frames);
  const f = new HepStreamFramer();
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i++) out.push(...f.push(all.subarray(i, i + 1)));
  assert.deepEqual(out, frames);
  assert.equal(f.stats.frames, 3);
  assert.equal(f.stats.garbageBytes, 0);
  assert.equal(f.bufferedBytes, 0);
});

test('stream framer: garbage is skipped and counted, a fake header does not swallow real frames', () => {
  const a = encodeHep(base({ payload: 'first' }));
  const b = encodeHep(base({ payload: 'second' }));
  // "HEP3" with a length of 200 in the garbage: chunk chain check rejects it once 200 bytes are there
  const fake = Buffer.from([0x48, 0x45, 0x50, 0x33, 0x00, 200, 0xaa]);
  const garbage = Buffer.from('garbage!');
  const f = new HepStreamFramer();
  const out = [...f.push(Buffer.concat([garbage, a, fake, b])), ...f.push(Buffer.alloc(200, 0x20))];
  assert.deepEqual(out.map((x) => ok(x).payload.toString()), ['first', 'second']);
  assert.equal(f.stats.badFrames, 1);
  assert.equal(f.stats.garbageBytes, garbage.length + fake.length + 200);
});

test('stream framer: oversize claims are dropped and counted; end() counts leftovers', () => {
  const f = new HepStreamFramer({ maxFrameLength: 100 });
  const big = encodeHep(base({ payload: 'y'.repeat(200) }));
  const small = encodeHep(base({ payload: 'z' }));
  assert.ok(small.length <= 100);
  const out = f.push(Buffer.concat([big, small]));
  assert.equal(out.length, 1);
  assert.equal(ok(out[0]).payload.toString(), 'z');
  assert.equal(f.stats.oversizeFrames, 1);
  assert.equal(f.stats.badFrames, 1);
  assert.deepEqual(f.push(small.subarray(0, 10)), []);
  assert.equal(f.bufferedBytes, 10);
  assert.equal(f.end(), 10);
  assert.equal(f.bufferedBytes, 0);
});
