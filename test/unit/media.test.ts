import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RtpStream, readRtp, isRtcp } from '../../src/media/rtp-stream.ts';
import type { RtpHeader } from '../../src/media/rtp-stream.ts';
import { CODECS, mos, mosOfR, rFactor } from '../../src/media/emodel.ts';
import { sdpAudio } from '../../src/media/sdp.ts';
import { addrOf, MediaTracker } from '../../src/media/media-tracker.ts';
import type { MediaLeg } from '../../src/media/media-tracker.ts';

/** A leg as the media tracker takes it (the call tracker's Leg has the same field). */
const newLeg = (): MediaLeg => ({ media: undefined });
import { rtpPacket } from '../support/rtp-capture.ts';

/** A media sink counting into `counts` (self-statistics by name). */
function countingSink(counts: Record<string, number>) {
  return {
    selfStat: (n: string, d: number) => void (counts[n] = (counts[n] ?? 0) + d),
    counter: (_g: string, n: string) => ({
      get value() {
        return counts[n] ?? 0;
      },
      set value(v: number) {
        counts[n] = v;
      },
    }),
  };
}

/** Feeds packets (seq, arrival ms) of a 20 ms G.711 stream whose timestamps follow the sequence. */
function stream(packets: readonly [number, number][], ssrc = 1): RtpStream {
  const s = new RtpStream(ssrc, 8000);
  for (const [seq, t] of packets) s.add(seq & 0xffff, (seq * 160) >>> 0, 8, false, t);
  return s;
}

test('expected and lost follow RFC 3550 A.3: sequence wrap-around, reordering, duplicates', () => {
  // across the wrap: 65530 .. 65535, 0 .. 9 = 16 packets, none lost
  const wrap = stream(Array.from({ length: 16 }, (_, i) => [65530 + i, i * 20] as [number, number]));
  assert.equal(wrap.expected, 16);
  assert.equal(wrap.lost, 0);
  // two lost across the wrap
  const lostAcross = stream([65534, 65535, 2, 3].map((q, i) => [q, i * 20] as [number, number]));
  assert.equal(lostAcross.expected, 6);
  assert.equal(lostAcross.lost, 2);
  // reordered: 1 2 4 3 5: nothing lost, the late one does not move the highest number back
  const reordered = stream([1, 2, 4, 3, 5].map((q, i) => [q, i * 20] as [number, number]));
  assert.equal(reordered.expected, 5);
  assert.equal(reordered.lost, 0);
  // duplicates count as received: lost goes negative, as tshark shows it
  const dup = stream([1, 2, 2, 3].map((q, i) => [q, i * 20] as [number, number]));
  assert.equal(dup.expected, 3);
  assert.equal(dup.lost, -1);
});

test('property: expected − lost = received, and a stream with k of n packets dropped loses exactly k', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 3, max: 400 }), fc.array(fc.nat(), { maxLength: 50 }), (seq0, n, drops) => {
      const dropped = new Set(drops.map((d) => 1 + (d % (n - 2)))); // never the first or the last
      const pk: [number, number][] = [];
      for (let i = 0; i < n; i++) if (!dropped.has(i)) pk.push([seq0 + i, i * 20]);
      const s = stream(pk);
      assert.equal(s.expected, n);
      assert.equal(s.lost, dropped.size);
      assert.equal(s.expected - s.lost, s.received);
    }),
    { numRuns: 300 },
  );
});

test('jitter: RFC 3550 6.4.1 in ms; a steady stream has none, alternating delay converges to the step', () => {
  const steady = stream(Array.from({ length: 100 }, (_, i) => [i, i * 20] as [number, number]));
  assert.equal(steady.meanJitter, 0);
  assert.equal(steady.maxJitter, 0);
  // every other packet 10 ms late: |D| = 10 at every packet, J → 10
  const alt = stream(Array.from({ length: 2000 }, (_, i) => [i, i * 20 + (i % 2) * 10] as [number, number]));
  assert.ok(Math.abs(alt.jitter - 10) < 1e-6, `J ${alt.jitter}`);
  assert.ok(alt.maxJitter <= 10 && alt.maxJitter > 9.99);
  // the first two packets: J = |D| / 16
  const two = stream([
    [0, 0],
    [1, 36],
  ]);
  assert.equal(two.jitter, 1);
  // an unknown clock rate gives no jitter
  const unknown = new RtpStream(1, 0);
  unknown.add(0, 0, 96, false, 0);
  unknown.add(1, 160, 96, false, 50);
  assert.equal(unknown.meanJitter, 0);
});

test('RTP header: fields, RTCP told apart, short or other versions refused', () => {
  const h: RtpHeader = { pt: 0, marker: false, seq: 0, ts: 0, ssrc: 0 };
  assert.ok(readRtp(rtpPacket(65535, 0xfffffff0, 0xdeadbeef, true, 0), 0, 172, h));
  assert.deepEqual(h, { pt: 0, marker: true, seq: 65535, ts: 0xfffffff0, ssrc: 0xdeadbeef });
  const rr = Buffer.from([0x81, 201, 0, 7, 0, 0, 0, 1]);
  assert.ok(isRtcp(rr, 0, rr.length));
  assert.ok(!readRtp(Buffer.concat([rr, Buffer.alloc(8)]), 0, 16, h));
  assert.ok(!readRtp(Buffer.alloc(11, 0x80), 0, 11, h));
  assert.ok(!readRtp(Buffer.from([0x40, 8, ...Array(10).fill(0)]), 0, 12, h));
  // a CSRC count the packet cannot hold
  assert.ok(!readRtp(Buffer.from([0x8f, 8, ...Array(10).fill(0)]), 0, 12, h));
});

test('E-model: G.711 clean is 4.41, loss and delay lower it, the curve is clamped to 1..4.5', () => {
  assert.equal(mos('PCMA', 0, 0).toFixed(2), '4.41');
  assert.equal(mos('PCMU', 0, 0).toFixed(2), '4.41');
  // G.729A: Ie 11
  assert.equal(mos('G729', 0, 0).toFixed(2), mosOfR(82.2).toFixed(2));
  // Ie,eff = 95 · 5 / (5 + 25.1) for G.711 at 5 % loss
  assert.equal(rFactor(CODECS.PCMA, 5, 0).toFixed(3), (93.2 - (95 * 5) / 30.1).toFixed(3));
  assert.ok(mos('PCMA', 5, 0) < 4 && mos('PCMA', 5, 0) > 3.5, `${mos('PCMA', 5, 0)}`);
  // jitter buffer: 2 × jitter of delay; past 177.3 ms the slope rises
  assert.equal(rFactor(CODECS.PCMA, 0, 200).toFixed(3), (93.2 - 0.024 * 200 - 0.11 * (200 - 177.3)).toFixed(3));
  assert.ok(mos('PCMA', 0, 100) < mos('PCMA', 0, 10));
  assert.equal(mosOfR(-5), 1);
  assert.equal(mosOfR(120), 4.5);
  // an unknown codec is rated as G.711
  assert.equal(mos('X-UNKNOWN', 1, 5), mos('PCMA', 1, 5));
  fc.assert(
    fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 1000, noNaN: true }), (loss, jit) => {
      const m = mos('G729', loss, jit);
      assert.ok(m >= 1 && m <= 4.5);
    }),
  );
});

test('SDP: audio streams with their address (media c= over session c=), port, payload types and codecs', () => {
  const body = ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'm=video 5000 RTP/AVP 96', 'm=audio 6000 RTP/SAVP 111', 'c=IN IP6 2001:db8::1', 'a=rtpmap:111 opus/48000/2', 'm=audio 0 RTP/AVP 8', ''].join('\r\n');
  const a = sdpAudio(body);
  assert.equal(a.length, 2);
  assert.deepEqual([a[0].addr, a[0].port, a[0].pts], ['192.0.2.1', 4000, [0, 101]]);
  assert.deepEqual(a[0].codecs.get(0), { name: 'PCMU', clock: 8000 });
  assert.deepEqual(a[0].codecs.get(101), { name: 'TELEPHONE-EVENT', clock: 8000 });
  assert.deepEqual([a[1].addr, a[1].port], ['2001:db8::1', 6000]);
  assert.deepEqual(a[1].codecs.get(111), { name: 'OPUS', clock: 48000 });
  assert.deepEqual(sdpAudio('not sdp at all'), []);
});

test('the tracker ties RTP to legs by the SDP address, keeps SSRCs apart, and tells one-way audio', () => {
  const counts: Record<string, number> = {};
  const m = new MediaTracker<MediaLeg>(countingSink(counts));
  const call = newLeg();
  const attempt = newLeg(); // a proxied call: both legs name the same addresses
  const offer = sdpAudio('v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\n');
  const answer = sdpAudio('v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 8\r\n');
  m.sdp(call, offer, true);
  m.sdp(attempt, offer, true);
  m.sdp(call, answer, false);
  m.sdp(attempt, answer, false);
  const answerer = addrOf('10.0.0.2');
  const offerer = addrOf('10.0.0.1');
  for (let i = 0; i < 10; i++) assert.ok(m.packet(rtpPacket(100 + i, i * 160, 7), 0, 172, answerer, 5000, offerer, 4000, i * 20));
  // an SSRC change mid-call: a second stream
  for (let i = 0; i < 5; i++) m.packet(rtpPacket(900 + i, i * 160, 8), 0, 172, answerer, 5000, offerer, 4000, 200 + i * 20);
  // RTP between addresses no SDP named (another port; another address on the same port)
  const stranger = addrOf('10.9.9.8');
  assert.ok(m.packet(rtpPacket(1, 0, 9), 0, 172, addrOf('10.9.9.9'), 7000, stranger, 4000, 0));
  assert.ok(m.packet(rtpPacket(1, 0, 9), 0, 172, addrOf('10.9.9.9'), 5000, stranger, 4000, 0));
  assert.ok(!m.packet(Buffer.from('hello, not rtp'), 0, 14, addrOf('10.9.9.9'), 7000, stranger, 4000, 0));
  assert.equal(counts.rtp_unmatched, 2);
  assert.equal(counts.rtp_packets, 15);
  const f = m.end(call)!;
  assert.deepEqual(f.streams.map((s) => [s.ssrc, s.received, s.lost, s.codec]), [
    [7, 10, 0, 'PCMA'],
    [8, 5, 0, 'PCMA'],
  ]);
  assert.ok(f.bothSides && f.toAnswerer && !f.toOfferer); // one-way audio
  // the attempt still sees the same streams; then the addresses are forgotten
  assert.equal(m.end(attempt)!.streams.length, 2);
  assert.equal(m.size, 0);
  assert.equal(m.end(call), null);
});

test('symmetric RTP: a stream sent from an SDP-named address to one no SDP named still counts (a capture that missed the answer)', () => {
  const counts: Record<string, number> = {};
  const m = new MediaTracker<MediaLeg>(countingSink(counts));
  const leg = newLeg();
  // the offer only: the relay's address 10.0.0.1:4000; the answer that named the far end was not captured
  m.sdp(leg, sdpAudio('v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\n'), true);
  const relay = addrOf('10.0.0.1');
  const far = addrOf('192.0.2.9');
  for (let i = 0; i < 20; i++) {
    if (i !== 7) m.packet(rtpPacket(i, i * 160, 1), 0, 172, far, 6000, relay, 4000, i * 20); // relay → far end (one lost)
    m.packet(rtpPacket(i, i * 160, 2), 0, 172, relay, 4000, far, 6000, i * 20); // far end → relay
  }
  assert.equal(counts.rtp_unmatched, undefined);
  const f = m.end(leg)!;
  assert.deepEqual(
    f.streams.map((s) => [s.ssrc, s.received, s.lost]).sort(),
    [
      [1, 19, 1],
      [2, 20, 0],
    ],
  );
  assert.ok(f.toOfferer && f.toAnswerer);
});

test('fuzz: random bytes through the RTP reader, the SDP reader and the tracker never throw', () => {
  const m = new MediaTracker<MediaLeg>(countingSink({}));
  const leg = newLeg();
  m.sdp(leg, sdpAudio('v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 8\r\n'), true);
  const addr = addrOf('10.0.0.1');
  const h: RtpHeader = { pt: 0, marker: false, seq: 0, ts: 0, ssrc: 0 };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 300 }), (bytes, text) => {
      const b = Buffer.from(bytes);
      readRtp(b, 0, b.length, h);
      m.packet(b, 0, b.length, addr, 4000, 1, 1, 0);
      sdpAudio(text);
      sdpAudio(b.toString('latin1'));
    }),
    { numRuns: 2000 },
  );
  assert.ok(m.end(leg) !== null);
});

test('property: under any order of offers, answers and re-INVITEs (more addresses than a side keeps), an address stays known while a leg names it, RTP to it counts for that leg, and every address is forgotten once its legs end', () => {
  const ADDRS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
  const PORTS = [4000, 4002, 4004];
  const op = fc.record({ leg: fc.nat(2), offer: fc.boolean(), streams: fc.array(fc.record({ a: fc.nat(2), p: fc.nat(2) }), { minLength: 1, maxLength: 6 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), fc.array(fc.nat(2), { maxLength: 3 }), (ops, endEarly) => {
      const m = new MediaTracker<MediaLeg>(countingSink({}));
      const legs = [newLeg(), newLeg(), newLeg()];
      // what each leg's sides name now, as the tracker should keep it: the last four addresses of each side
      const named = legs.map(() => ({ offer: [] as string[], answer: [] as string[] }));
      for (const o of ops) {
        const body = `v=0\r\n${o.streams.map((s) => `m=audio ${PORTS[s.p]} RTP/AVP 8\r\nc=IN IP4 ${ADDRS[s.a]}\r\n`).join('')}`;
        m.sdp(legs[o.leg], sdpAudio(body), o.offer);
        const side = o.offer ? named[o.leg].offer : named[o.leg].answer;
        for (const s of o.streams) {
          const key = `${ADDRS[s.a]}:${PORTS[s.p]}`;
          if (side.includes(key)) continue;
          if (side.length === 4) side.shift();
          side.push(key);
        }
      }
      const ended = new Set<number>();
      for (const i of endEarly) if (!ended.has(i)) (ended.add(i), m.end(legs[i]));
      // every address a live leg names takes its RTP (counted for the tracker, not unmatched)
      const live = new Set<string>();
      for (let i = 0; i < 3; i++) if (!ended.has(i)) for (const k of [...named[i].offer, ...named[i].answer]) live.add(k);
      assert.equal(m.size, live.size);
      let seq = 0;
      for (const k of live) {
        const [a, p] = k.split(':');
        assert.ok(m.packet(rtpPacket(seq++, 0, 5), 0, 172, addrOf(a), Number(p), addrOf('192.0.2.1'), 9000, seq));
      }
      for (let i = 0; i < 3; i++) if (!ended.has(i)) m.end(legs[i]);
      assert.equal(m.size, 0);
    }),
    { numRuns: 300 },
  );
});
