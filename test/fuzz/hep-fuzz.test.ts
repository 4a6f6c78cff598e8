import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeHep, type HepResult } from '../../src/protocol/hep/decode.ts';
import { encodeHep, type HepEncodeInput } from '../../src/protocol/hep/encode.ts';
import { HepStreamFramer } from '../../src/protocol/hep/hep-framer.ts';

const CODES = new Set(['HEP_TRUNCATED', 'HEP_BAD_MAGIC', 'HEP_BAD_LENGTH', 'HEP_BAD_CHUNK', 'HEP_NO_PAYLOAD']);

function checkResult(r: HepResult, input: Buffer): void {
  if (r.ok) {
    // a payload is always a view inside the input
    assert.equal(r.value.payload.buffer, input.buffer);
    assert.ok(r.value.payload.byteOffset >= input.byteOffset);
    assert.ok(r.value.payload.byteOffset + r.value.payload.length <= input.byteOffset + input.length);
  } else {
    assert.ok(CODES.has(r.error.code), r.error.code);
    assert.ok(r.error.offset >= 0 && r.error.offset <= Math.max(6, input.length));
  }
}

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const ipv6 = fc.ipV6();

/** RFC 5952 text via an independent implementation (WHATWG URL), with §5 mixed notation for ::ffff:a.b.c.d. */
function canonical(ip: string): string {
  if (!ip.includes(':')) return ip;
  const host = new URL(`http://[${ip}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** A random, valid packet description. */
const packet: fc.Arbitrary<HepEncodeInput> = fc
  .record({
    v6: fc.boolean(),
    a: ipv4,
    b: ipv4,
    c: ipv6,
    d: ipv6,
    protocol: fc.constantFrom(6, 17, 132),
    srcPort: fc.nat(0xffff),
    dstPort: fc.nat(0xffff),
    tsSec: fc.nat(0xffffffff),
    tsUsec: fc.nat(999999),
    captureId: fc.nat(0xffffffff),
    payload: fc.uint8Array({ maxLength: 400 }),
    authKey: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    nodeName: fc.option(fc.string({ unit: 'grapheme', maxLength: 20 }), { nil: undefined }),
    correlationId: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
    extra: fc.array(fc.record({ vendor: fc.integer({ min: 1, max: 0xffff }), type: fc.nat(0xffff), value: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 3 }),
  })
  .map((r) => ({
    srcIp: r.v6 ? r.c : r.a,
    dstIp: r.v6 ? r.d : r.b,
    protocol: r.protocol,
    srcPort: r.srcPort,
    dstPort: r.dstPort,
    tsSec: r.tsSec,
    tsUsec: r.tsUsec,
    captureId: r.captureId,
    payload: r.payload,
    authKey: r.authKey,
    nodeName: r.nodeName,
    correlationId: r.correlationId,
    extraChunks: r.extra,
  }));

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const buf = Buffer.from(bytes);
      checkResult(decodeHep(buf), buf);
    }),
    { numRuns: 1000 },
  );
});

test('random bytes behind a plausible header never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(400), (bytes, claimed) => {
      const buf = Buffer.alloc(6 + bytes.length);
      buf.write('HEP3', 0, 'latin1');
      buf.writeUInt16BE(Math.min(0xffff, claimed), 4);
      buf.set(bytes, 6);
      checkResult(decodeHep(buf), buf);
    }),
    { numRuns: 1000 },
  );
});

test('encode -> decode is the identity on random packets', () => {
  fc.assert(
    fc.property(packet, (p) => {
      const r = decodeHep(encodeHep(p));
      assert.ok(r.ok);
      const v = r.value;
      assert.equal(v.ipFamily, p.srcIp.includes(':') ? 10 : 2);
      assert.equal(v.srcIp, canonical(p.srcIp));
      assert.equal(v.dstIp, canonical(p.dstIp));
      assert.equal(v.protocol, p.protocol);
      assert.equal(v.srcPort, p.srcPort);
      assert.equal(v.dstPort, p.dstPort);
      assert.equal(v.tsSec, p.tsSec);
      assert.equal(v.tsUsec, p.tsUsec);
      assert.equal(v.timeMs, p.tsSec! * 1000 + p.tsUsec! / 1000);
      assert.equal(v.captureId, p.captureId);
      assert.deepEqual(new Uint8Array(v.payload), p.payload);
      assert.equal(v.authKey, p.authKey);
      assert.equal(v.nodeName, p.nodeName);
      assert.equal(v.correlationId, p.correlationId);
    }),
    { numRuns: 500 },
  );
});

test('valid frames with flipped bytes or cut short never throw', () => {
  fc.assert(
    fc.property(packet, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(), (p, flips, cut) => {
      const buf = encodeHep(p);
      for (const [at, v] of flips) buf[at % buf.length] = v;
      checkResult(decodeHep(buf), buf);
      const short = buf.subarray(0, cut % (buf.length + 1));
      checkResult(decodeHep(short), short);
    }),
    { numRuns: 1000 },
  );
});

/** Splits `all` at the given (sorted, deduplicated) points. */
function split(all: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((x) => x % (all.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, all.length]) {
    out.push(all.subarray(prev, c));
    prev = c;
  }
  return out;
}

test('frames split at random points come out of the framer exactly', () => {
  fc.assert(
    fc.property(fc.array(packet, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (ps, points) => {
      const frames = ps.map(encodeHep);
      const f = new HepStreamFramer();
      const out: Buffer[] = [];
      for (const piece of split(Buffer.concat(frames), points)) out.push(...f.push(piece));
      assert.deepEqual(out, frames);
      assert.equal(f.stats.frames, frames.length);
      assert.equal(f.stats.garbageBytes, 0);
      assert.equal(f.stats.badFrames, 0);
      assert.equal(f.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('garbage between frames is skipped and counted', () => {
  // garbage without 'H' (0x48) cannot contain or complete a "HEP3"
  const garbage = fc.uint8Array({ maxLength: 50 }).map((g) => Buffer.from(g.map((b) => (b === 0x48 ? 0x49 : b))));
  fc.assert(
    fc.property(fc.array(fc.tuple(garbage, packet), { minLength: 1, maxLength: 5 }), garbage, fc.array(fc.nat(), { maxLength: 20 }), (pairs, tail, points) => {
      const frames = pairs.map(([, p]) => encodeHep(p));
      const stream = Buffer.concat([...pairs.flatMap(([g], i) => [g, frames[i]]), tail]);
      const totalGarbage = pairs.reduce((n, [g]) => n + g.length, 0) + tail.length;
      const f = new HepStreamFramer();
      const out: Buffer[] = [];
      for (const piece of split(stream, points)) out.push(...f.push(piece));
      assert.deepEqual(out, frames);
      assert.equal(f.stats.garbageBytes, totalGarbage);
      assert.equal(f.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('the framer never throws and never holds more than one frame, whatever the bytes', () => {
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    packet.map(encodeHep),
    fc.tuple(fc.nat(0xffff), fc.uint8Array({ maxLength: 40 })).map(([len, rest]) => {
      const b = Buffer.alloc(6 + rest.length);
      b.write('HEP3', 0, 'latin1');
      b.writeUInt16BE(len, 4);
      b.set(rest, 6);
      return b;
    }),
  );
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 20 }), (chunks) => {
      const f = new HepStreamFramer();
      for (const c of chunks) {
        for (const frame of f.push(c)) {
          assert.equal(frame.readUInt32BE(0), 0x48455033);
          assert.equal(frame.readUInt16BE(4), frame.length);
          checkResult(decodeHep(frame), frame);
        }
        assert.ok(f.bufferedBytes <= 0xffff + 200, `buffered ${f.bufferedBytes}`);
      }
    }),
    { numRuns: 300 },
  );
});
