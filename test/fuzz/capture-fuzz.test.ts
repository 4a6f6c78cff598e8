/**
 * Random bytes, truncations and mutations into every new decoder (link layers, IP,
 * fragments, tunnels, TCP reassembly, SCTP, WebSocket, HEP compressed, the streaming pcap reader).
 * Nothing throws; whatever is not read is counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deflateSync } from 'node:zlib';
import { CaptureDecoder } from '../../src/protocol/net/capture.ts';
import { totalSip, totalSkipped } from '../../src/protocol/net/capture-counts.ts';
import { WsStream } from '../../src/protocol/net/websocket.ts';
import { contentLength, findStartLine, headerEnd, startLineAt } from '../../src/protocol/net/sip-frame.ts';
import { PcapStreamReader } from '../../src/protocol/pcap/capture-reader.ts';
import { readPcap } from '../support/pcap-read.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { inflatePayload } from '../../src/ingest/inflate.ts';
import {
  erspan,
  ethernetFrame,
  fragmentIp,
  greHeader,
  ipPacket,
  sctpPacket,
  tcpConversation,
  udpPacket,
  vxlanHeader,
  writePcap,
  writePcapng,
  wsFrame,
} from '../support/pcap-write.ts';

const LINKS = [0, 1, 9, 12, 14, 50, 51, 101, 108, 113, 228, 229, 276, 147];
const SIP = Buffer.from('INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: f1\r\nCSeq: 1 INVITE\r\nContent-Length: 5\r\n\r\nv=0\r\n');

/** Valid frames of every kind, to be cut and mutated. */
function seeds(): { link: number; data: Buffer }[] {
  const ip = udpPacket('10.0.0.1', '10.0.0.2', 5062, 5072, SIP);
  const ip6 = udpPacket('2001:db8::1', '2001:db8::2', 5062, 5072, SIP);
  const out: { link: number; data: Buffer }[] = [
    { link: 1, data: ethernetFrame(ip, { vlans: [1, 2], qinq: true }) },
    { link: 1, data: ethernetFrame(ip6, { pppoeSession: 3 }) },
    { link: 1, data: ethernetFrame(ip, { mpls: [16, 17] }) },
    { link: 101, data: ipPacket({ srcIp: '1.1.1.1', dstIp: '2.2.2.2', protocol: 47, payload: erspan(ethernetFrame(ip), 3, 1, 1, true) }) },
    { link: 101, data: ipPacket({ srcIp: '1.1.1.1', dstIp: '2.2.2.2', protocol: 47, payload: erspan(ethernetFrame(ip6), 2) }) },
    { link: 101, data: ipPacket({ srcIp: '1.1.1.1', dstIp: '2.2.2.2', protocol: 47, payload: greHeader(ip, { protocol: 0x0800, key: 1, seq: 2, checksum: true }) }) },
    { link: 101, data: udpPacket('1.1.1.1', '2.2.2.2', 1, 4789, vxlanHeader(ethernetFrame(ip))) },
    { link: 101, data: ipPacket({ srcIp: '1.1.1.1', dstIp: '2.2.2.2', protocol: 4, payload: ip }) },
    { link: 101, data: sctpPacket('10.0.0.1', '10.0.0.2', 5060, 5060, [{ tsn: 1, data: SIP, end: false }, { tsn: 2, data: SIP, begin: false }]) },
    { link: 101, data: udpPacket('1.1.1.1', '2.2.2.2', 1, 9060, encodeHep({ srcIp: '1.1.1.1', dstIp: '2.2.2.2', srcPort: 1, dstPort: 2, payload: deflateSync(SIP), compressedPayload: true })) },
  ];
  for (const f of fragmentIp(udpPacket('10.0.0.1', '10.0.0.2', 5062, 5072, Buffer.concat([SIP, Buffer.alloc(900, 0x61)])), 256)) out.push({ link: 101, data: f });
  for (const f of fragmentIp(udpPacket('2001:db8::1', '2001:db8::2', 5062, 5072, Buffer.concat([SIP, Buffer.alloc(900, 0x61)])), 256)) out.push({ link: 101, data: f });
  const ws = tcpConversation({ ip: '10.0.0.1', port: 1000 }, { ip: '10.0.0.2', port: 80 }, [
    { fromA: true, data: 'GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n' },
    { fromA: false, data: 'HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\n' },
    { fromA: true, data: wsFrame(SIP, { mask: Buffer.from([9, 8, 7, 6]) }) },
  ], 40);
  for (const c of ws) out.push({ link: 101, data: c.packet });
  for (const c of tcpConversation({ ip: '10.0.0.1', port: 1001 }, { ip: '10.0.0.2', port: 5060 }, [{ fromA: true, data: Buffer.concat([SIP, SIP]) }], 50)) out.push({ link: 101, data: c.packet });
  return out;
}

function newDecoder(): { d: CaptureDecoder; emitted: () => number } {
  let n = 0;
  const d = new CaptureDecoder(
    {
      sip: (payload, meta) => {
        assert.ok(Buffer.isBuffer(payload));
        assert.equal(typeof meta.srcIp, 'string');
        n++;
      },
      hep: () => void n++,
    },
    { inflate: inflatePayload, tcp: { maxFlows: 16, maxOutOfOrder: 4096, maxTotalBytes: 16384 }, fragments: { maxDatagrams: 8, maxBytes: 8192 } },
  );
  return { d, emitted: () => n };
}

test('random frames of every link type never throw; each is counted', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...LINKS), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 5000 })), { maxLength: 40 }), (frames) => {
      const { d, emitted } = newDecoder();
      let t = 1e12;
      for (const [link, bytes, dt] of frames) {
        const b = Buffer.from(bytes);
        d.decode(link, b, 0, b.length, b.length + (dt % 3 === 0 ? 10 : 0), (t += dt));
      }
      d.finish();
      assert.equal(d.stats.frames, frames.length);
      // something was counted for the frames (read or skipped, by reason)
      assert.ok(frames.length === 0 || totalSip(d.stats) + d.stats.read.hep + totalSkipped(d.stats) > 0);
      assert.equal(totalSip(d.stats) + d.stats.read.hep, emitted());
    }),
    { numRuns: 400 },
  );
});

test('valid frames cut anywhere, or with random bytes changed, never throw; counters rise', () => {
  const base = seeds();
  // sanity: the seeds themselves decode
  const { d: d0 } = newDecoder();
  for (const s of base) d0.decode(s.link, s.data, 0, s.data.length, s.data.length, 1e12);
  d0.finish();
  assert.ok(totalSip(d0.stats) + d0.stats.read.hep >= 10, JSON.stringify(d0.stats));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(2000), fc.array(fc.tuple(fc.nat(2000), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
      (picks) => {
        const { d } = newDecoder();
        let t = 1e12;
        for (const [i, cut, muts, shuffle] of picks) {
          const s = base[shuffle ? (i * 7) % base.length : i];
          const data = Buffer.from(s.data);
          for (const [at, v] of muts) data[at % data.length] = v;
          const end = Math.min(data.length, cut % (data.length + 1));
          d.decode(s.link, data, 0, end, data.length, (t += 10));
        }
        d.finish();
        assert.equal(d.stats.frames, picks.length);
        assert.ok(totalSip(d.stats) + d.stats.read.hep + totalSkipped(d.stats) > 0);
      },
    ),
    { numRuns: 400 },
  );
});

test('TCP: random segment order, repeats and drops never throw, stay within bounds, and messages stay whole', () => {
  const conv = tcpConversation({ ip: '10.0.0.1', port: 1001 }, { ip: '10.0.0.2', port: 5080 }, Array.from({ length: 6 }, () => ({ fromA: true, data: SIP })), 23);
  fc.assert(
    fc.property(fc.array(fc.nat(conv.length - 1), { maxLength: 120 }), (order) => {
      const got: string[] = [];
      const d = new CaptureDecoder({ sip: (p) => void got.push(p.toString()), hep: () => {} }, { tcp: { maxOutOfOrder: 300 } });
      let t = 1e12;
      for (const i of order) d.decode(101, conv[i].packet, 0, conv[i].packet.length, conv[i].packet.length, (t += 1));
      d.finish();
      for (const g of got) assert.equal(g, SIP.toString());
      assert.equal(d.heldBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('WebSocket and SIP framing helpers on random bytes never throw', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (chunks) => {
      const ws = new WsStream(1024);
      let errors = 0;
      for (const c of chunks) ws.push(Buffer.from(c), { message: () => {}, error: () => void errors++ });
      assert.ok(ws.bufferedBytes <= 1024 + 14 + 300 * 10);
      const b = Buffer.concat(chunks.map((c) => Buffer.from(c)));
      startLineAt(b, 0, b.length);
      const p = findStartLine(b, 0, b.length);
      assert.ok(p >= 0 && p <= b.length);
      const h = headerEnd(b, 0, b.length);
      if (h > 0) contentLength(b, 0, h);
    }),
    { numRuns: 500 },
  );
});

test('compressed HEP: random or truncated compressed payloads are counted as inflate errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(300), (junk, cut) => {
      const z = deflateSync(SIP);
      for (const payload of [Buffer.from(junk), z.subarray(0, Math.min(z.length, cut))]) {
        if (payload.length === 0) continue;
        const frame = encodeHep({ srcIp: '1.1.1.1', dstIp: '2.2.2.2', srcPort: 1, dstPort: 2, payload, compressedPayload: true });
        const pkt = udpPacket('1.1.1.1', '2.2.2.2', 1, 9060, frame);
        const { d } = newDecoder();
        d.decode(101, pkt, 0, pkt.length, pkt.length, 1e12);
        assert.equal(d.stats.read.hep + d.stats.skipped.hep_inflate_errors, 1);
      }
    }),
    { numRuns: 300 },
  );
});

test('streaming pcap reader: any chunking gives the packets readPcap gives; damage never throws', () => {
  const frames = seeds().map((s, i) => ({ timeMs: 1e12 + i * 1.5, data: s.data }));
  const files = [
    writePcap(frames, { linkType: 101 }),
    writePcap(frames, { linkType: 101, littleEndian: true, nanosecond: true }),
    writePcapng([{ linkType: 101 }, { linkType: 1, tsresol: 9 }], frames.map((f, i) => ({ interfaceId: i % 2, timeMs: f.timeMs, data: f.data }))),
  ];
  fc.assert(
    fc.property(fc.nat(files.length - 1), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 50 }), fc.nat(20000), fc.array(fc.tuple(fc.nat(20000), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), (fi, sizes, cut, muts) => {
      const whole = Buffer.from(files[fi]);
      const damaged = muts.length > 0 || cut < whole.length;
      for (const [at, v] of muts) whole[at % whole.length] = v;
      const file = whole.subarray(0, Math.min(whole.length, damaged ? cut : whole.length));
      const want = readPcap(file);
      const got: { link: number; len: number; t: number }[] = [];
      const r = new PcapStreamReader((link, b, s, e, _o, t) => void got.push({ link, len: e - s, t }));
      let o = 0;
      for (let k = 0; o < file.length; k++) {
        const n = sizes[k % sizes.length];
        r.push(file.subarray(o, o + n));
        o += n;
      }
      const st = r.end();
      if (want.stats.error === null) {
        assert.equal(st.error, null);
        assert.deepEqual(got, want.packets.map((p) => ({ link: p.linkType, len: p.data.length, t: p.timeMs })));
      } else {
        assert.ok(got.length <= want.packets.length + 1);
      }
    }),
    { numRuns: 400 },
  );
});
