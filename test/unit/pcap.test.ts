import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPcap } from '../support/pcap-read.ts';
import { decodeUdp, newLinkStats, LinkType } from '../support/pcap-link.ts';
import { buildUdpFrame, writePcap, writePcapng } from '../support/pcap-write.ts';
import { PcapStreamReader } from '../../src/protocol/pcap/capture-reader.ts';

const INVITE = 'INVITE sip:bob@example.com SIP/2.0\r\nFrom: "Zoë" <sip:zoe@example.com>;tag=1\r\nCall-ID: pcap-1\r\n\r\n';

test('pcap round trip: Ethernet + IPv4 (+ VLAN) + UDP, both byte orders, micro and nano seconds', () => {
  for (const littleEndian of [false, true]) {
    for (const nanosecond of [false, true]) {
      const frames = [
        buildUdpFrame({ srcIp: '192.0.2.10', dstIp: '198.51.100.7', srcPort: 5060, dstPort: 5080, payload: INVITE }, 'ethernet'),
        buildUdpFrame({ srcIp: '10.1.2.3', dstIp: '10.3.2.1', srcPort: 1234, dstPort: 5060, payload: 'SIP/2.0 100 Trying\r\n\r\n', vlan: 42 }, 'ethernet'),
      ];
      const file = writePcap(
        [
          { timeMs: 1700000000123.456, data: frames[0] },
          { timeMs: 1700000001000, data: frames[1] },
        ],
        { linkType: LinkType.ETHERNET, littleEndian, nanosecond },
      );
      const { packets, stats } = readPcap(file);
      assert.equal(stats.format, 'pcap');
      assert.equal(stats.error, null);
      assert.equal(stats.packets, 2);
      assert.equal(packets.length, 2);
      assert.equal(packets[0].linkType, 1);
      assert.ok(Math.abs(packets[0].timeMs - 1700000000123.456) < 0.001, `${packets[0].timeMs}`);
      assert.equal(packets[1].timeMs, 1700000001000);
      const ls = newLinkStats();
      const a = decodeUdp(packets[0].linkType, packets[0].data, ls);
      assert.deepEqual(a && { ...a, payload: a.payload.toString('utf8') }, {
        ipVersion: 4,
        srcIp: '192.0.2.10',
        dstIp: '198.51.100.7',
        srcPort: 5060,
        dstPort: 5080,
        payload: INVITE,
      });
      const b = decodeUdp(packets[1].linkType, packets[1].data, ls);
      assert.equal(b?.srcIp, '10.1.2.3');
      assert.equal(b?.dstPort, 5060);
      assert.equal(b?.payload.toString(), 'SIP/2.0 100 Trying\r\n\r\n');
      assert.equal(ls.udp, 2);
    }
  }
});

test('pcap round trip: raw IPv6 + UDP', () => {
  const frame = buildUdpFrame({ srcIp: '2001:db8::10', dstIp: 'fe80::1:2:3:4', srcPort: 5061, dstPort: 5062, payload: INVITE }, 'raw');
  const { packets, stats } = readPcap(writePcap([{ timeMs: 42.5, data: frame }], { linkType: LinkType.RAW }));
  assert.equal(stats.error, null);
  assert.equal(packets.length, 1);
  assert.equal(packets[0].linkType, 101);
  assert.equal(packets[0].timeMs, 42.5);
  const u = decodeUdp(packets[0].linkType, packets[0].data);
  assert.equal(u?.ipVersion, 6);
  assert.equal(u?.srcIp, '2001:db8::10');
  assert.equal(u?.dstIp, 'fe80::1:2:3:4');
  assert.equal(u?.srcPort, 5061);
  assert.equal(u?.payload.toString('utf8'), INVITE);
});

// ------------------------------------------------------------------ pcapng built by hand

interface NgOptions {
  le: boolean;
}

function ngBlock(o: NgOptions, type: number, body: Buffer): Buffer {
  const pad = (4 - (body.length % 4)) % 4;
  const len = 12 + body.length + pad;
  const b = Buffer.alloc(len);
  const w = (v: number, at: number): number => (o.le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  w(type, 0);
  w(len, 4);
  body.copy(b, 8);
  w(len, len - 4);
  return b;
}

function u32(o: NgOptions, ...vs: number[]): Buffer {
  const b = Buffer.alloc(4 * vs.length);
  vs.forEach((v, i) => (o.le ? b.writeUInt32LE(v, 4 * i) : b.writeUInt32BE(v, 4 * i)));
  return b;
}

function u16(o: NgOptions, ...vs: number[]): Buffer {
  const b = Buffer.alloc(2 * vs.length);
  vs.forEach((v, i) => (o.le ? b.writeUInt16LE(v, 2 * i) : b.writeUInt16BE(v, 2 * i)));
  return b;
}

function shb(o: NgOptions): Buffer {
  // byte-order magic, version 1.0, section length -1 (unknown)
  return ngBlock(o, 0x0a0d0d0a, Buffer.concat([u32(o, 0x1a2b3c4d), u16(o, 1, 0), Buffer.alloc(8, 0xff)]));
}

function idb(o: NgOptions, linkType: number, tsresol?: number): Buffer {
  const opts =
    tsresol === undefined ? Buffer.alloc(0) : Buffer.concat([u16(o, 9, 1), Buffer.from([tsresol, 0, 0, 0]), u16(o, 0, 0)]);
  return ngBlock(o, 1, Buffer.concat([u16(o, linkType, 0), u32(o, 65535), opts]));
}

function epb(o: NgOptions, iface: number, ts: bigint, data: Buffer): Buffer {
  const hi = Number(ts >> 32n);
  const lo = Number(ts & 0xffffffffn);
  return ngBlock(o, 6, Buffer.concat([u32(o, iface, hi, lo, data.length, data.length), data]));
}

function spb(o: NgOptions, data: Buffer): Buffer {
  return ngBlock(o, 3, Buffer.concat([u32(o, data.length), data]));
}

test('pcapng: SHB + IDB (µs default, ns and 2^-20 via if_tsresol) + EPB + SPB, both byte orders', () => {
  const eth = buildUdpFrame({ srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 5060, dstPort: 5060, payload: INVITE }, 'ethernet');
  const raw = buildUdpFrame({ srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 5060, dstPort: 5060, payload: 'BYE sip:x SIP/2.0\r\n\r\n' }, 'raw');
  for (const le of [false, true]) {
    const o = { le };
    const file = Buffer.concat([
      shb(o),
      idb(o, LinkType.ETHERNET), // interface 0: microseconds
      idb(o, LinkType.RAW, 9), // interface 1: nanoseconds
      idb(o, LinkType.ETHERNET, 0x80 | 20), // interface 2: 2^-20 s
      ngBlock(o, 5, Buffer.alloc(12)), // an interface statistics block: skipped
      epb(o, 0, 1700000000123456n, eth),
      epb(o, 1, 1700000000987654321n, raw),
      epb(o, 2, (1700000000n << 20n) + (1n << 19n), eth), // +0.5 s
      spb(o, eth),
    ]);
    const { packets, stats } = readPcap(file);
    assert.equal(stats.format, 'pcapng');
    assert.equal(stats.error, null, JSON.stringify(stats.error));
    assert.equal(stats.skippedBlocks, 1);
    assert.equal(packets.length, 4);
    assert.equal(packets[0].timeMs, 1700000000123.456);
    assert.equal(packets[0].linkType, 1);
    assert.ok(Math.abs(packets[1].timeMs - 1700000000987.654321) < 0.001, `${packets[1].timeMs}`);
    assert.equal(packets[1].linkType, 101);
    assert.equal(packets[1].interfaceId, 1);
    assert.equal(packets[2].timeMs, 1700000000500);
    assert.equal(packets[3].timeMs, packets[2].timeMs, 'SPB packets take the previous timestamp');
    assert.equal(decodeUdp(packets[0].linkType, packets[0].data)?.payload.toString('utf8'), INVITE);
    assert.equal(decodeUdp(packets[1].linkType, packets[1].data)?.dstIp, '2001:db8::2');
    assert.equal(decodeUdp(packets[3].linkType, packets[3].data)?.srcIp, '192.0.2.1');
  }
});

test('pcapng: a second section with the other byte order resets interfaces', () => {
  const eth = buildUdpFrame({ srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 1, dstPort: 2, payload: 'x' }, 'ethernet');
  const be = { le: false };
  const le = { le: true };
  const file = Buffer.concat([shb(be), idb(be, 1), epb(be, 0, 1000000n, eth), shb(le), idb(le, 101), epb(le, 0, 2000000n, eth), epb(le, 1, 0n, eth)]);
  const { packets, stats } = readPcap(file);
  assert.deepEqual(packets.map((p) => [p.timeMs, p.linkType]), [[1000, 1], [2000, 101]]);
  assert.equal(stats.error?.code, 'PCAP_BAD_INTERFACE');
});

test('truncated and malformed files never throw and keep the packets before the damage', () => {
  const frame = buildUdpFrame({ srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 1, dstPort: 2, payload: INVITE }, 'ethernet');
  const pcap = writePcap([{ timeMs: 1, data: frame }, { timeMs: 2, data: frame }], { linkType: 1 });
  const o = { le: true };
  const ngBlocks = [shb(o), idb(o, 1), epb(o, 0, 1000n, frame), epb(o, 0, 2000n, frame)];
  const ng = Buffer.concat(ngBlocks);
  // cuts that fall between records/blocks leave a shorter but valid file
  const pcapBoundaries = new Set([24, 24 + 16 + frame.length]);
  const ngBoundaries = new Set(ngBlocks.map((_, i) => Buffer.concat(ngBlocks.slice(0, i + 1)).length));
  for (const [file, boundaries] of [[pcap, pcapBoundaries], [ng, ngBoundaries]] as const) {
    for (let cut = 0; cut < file.length; cut++) {
      const { packets, stats } = readPcap(file.subarray(0, cut));
      assert.ok(packets.length < 2);
      if (boundaries.has(cut)) {
        assert.equal(stats.error, null, `cut at ${cut}`);
        continue;
      }
      assert.ok(stats.error !== null, `cut at ${cut} must be reported`);
      assert.ok(['PCAP_TRUNCATED', 'PCAP_BAD_MAGIC', 'PCAP_BAD_BLOCK'].includes(stats.error.code), stats.error.code);
    }
  }
  assert.equal(readPcap(Buffer.from('not a capture file')).stats.error?.code, 'PCAP_BAD_MAGIC');
  // a pcapng block whose trailer disagrees with its header
  const bad = Buffer.from(ng);
  bad.writeUInt32LE(999, ng.length - 4);
  const r = readPcap(bad);
  assert.equal(r.packets.length, 1);
  assert.equal(r.stats.error?.code, 'PCAP_BAD_BLOCK');
  // random bytes after a valid header
  for (let seed = 1; seed < 200; seed++) {
    const junk = Buffer.from(Array.from({ length: 64 }, (_, i) => (seed * 131 + i * 71) & 0xff));
    readPcap(Buffer.concat([pcap.subarray(0, 24), junk]));
    readPcap(Buffer.concat([shb(o), junk]));
  }
});

// ------------------------------------------------------------------ link layers

test('link layers: SLL, SLL2, null/loopback in either byte order', () => {
  const ip4 = buildUdpFrame({ srcIp: '203.0.113.5', dstIp: '203.0.113.6', srcPort: 5060, dstPort: 5070, payload: 'sll' }, 'raw');
  const ip6 = buildUdpFrame({ srcIp: '::1', dstIp: '::2', srcPort: 5060, dstPort: 5070, payload: 'v6' }, 'raw');
  const sll = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]), ip4]);
  assert.equal(decodeUdp(LinkType.LINUX_SLL, sll)?.payload.toString(), 'sll');
  const sll2 = Buffer.concat([Buffer.from([0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]), ip6]);
  assert.equal(decodeUdp(LinkType.LINUX_SLL2, sll2)?.srcIp, '::1');
  const nullLe = Buffer.concat([Buffer.from([2, 0, 0, 0]), ip4]);
  const nullBe = Buffer.concat([Buffer.from([0, 0, 0, 30]), ip6]);
  assert.equal(decodeUdp(LinkType.NULL, nullLe)?.dstIp, '203.0.113.6');
  assert.equal(decodeUdp(LinkType.NULL, nullBe)?.dstIp, '::2');
});

test('IPv4 options, IPv6 extension headers, fragments, non-UDP and junk are counted, not thrown', () => {
  const stats = newLinkStats();
  const base = buildUdpFrame({ srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 5060, dstPort: 5060, payload: 'opts' }, 'raw');
  // IPv4 with 8 bytes of options (IHL 7)
  const withOpts = Buffer.concat([base.subarray(0, 20), Buffer.from([1, 1, 1, 1, 1, 1, 1, 0]), base.subarray(20)]);
  withOpts[0] = 0x47;
  withOpts.writeUInt16BE(withOpts.length, 2);
  assert.equal(decodeUdp(101, withOpts, stats)?.payload.toString(), 'opts');
  // non-first fragment
  const frag = Buffer.from(base);
  frag.writeUInt16BE(0x0010, 6);
  assert.equal(decodeUdp(101, frag, stats), null);
  // first fragment (MF set, offset 0) with the UDP length larger than what is there: partial payload
  const first = Buffer.from(base);
  first.writeUInt16BE(0x2000, 6);
  first.writeUInt16BE(8 + 1000, 24);
  assert.equal(decodeUdp(101, first, stats)?.payload.toString(), 'opts');
  // TCP
  const tcp = Buffer.from(base);
  tcp[9] = 6;
  assert.equal(decodeUdp(101, tcp, stats), null);
  // IPv6 with hop-by-hop + destination options before UDP
  const v6 = buildUdpFrame({ srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 7, dstPort: 9, payload: 'ext' }, 'raw');
  const hbh = Buffer.from([60, 0, 0, 0, 0, 0, 0, 0]);
  const dst = Buffer.from([17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const ext = Buffer.concat([v6.subarray(0, 40), hbh, dst, v6.subarray(40)]);
  ext[6] = 0;
  ext.writeUInt16BE(ext.length - 40, 4);
  assert.equal(decodeUdp(101, ext, stats)?.payload.toString(), 'ext');
  // IPv6 non-first fragment
  const f6 = Buffer.concat([v6.subarray(0, 40), Buffer.from([17, 0, 0, 0x08, 0, 0, 0, 1]), v6.subarray(40)]);
  f6[6] = 44;
  f6.writeUInt16BE(f6.length - 40, 4);
  assert.equal(decodeUdp(101, f6, stats), null);
  // ARP over Ethernet, an unknown link type, and short/garbage frames
  const arp = Buffer.alloc(42);
  arp.writeUInt16BE(0x0806, 12);
  assert.equal(decodeUdp(1, arp, stats), null);
  assert.equal(decodeUdp(9999, base, stats), null);
  assert.deepEqual(stats, { udp: 3, unsupportedLink: 1, notIp: 1, notUdp: 1, fragments: 2, malformed: 0 });
  for (const lt of [0, 1, 101, 113, 276]) {
    for (let n = 0; n < 70; n++) {
      assert.equal(decodeUdp(lt, Buffer.alloc(n, 0x45), stats), null);
      assert.equal(decodeUdp(lt, Buffer.alloc(n, 0x60), stats), null);
    }
    assert.equal(decodeUdp(lt, base.subarray(0, 25), stats), null);
  }
  assert.equal(stats.udp, 3);
  assert.ok(stats.malformed > 100);
});

test('streaming reader: records inside a chunk are read in place, only one straddling a chunk boundary is joined; held bytes stay within one record', () => {
  // frames of different sizes, so that records fall across chunk boundaries at every offset
  const frames = Array.from({ length: 60 }, (_, i) => ({
    timeMs: 1_700_000_000_000 + i,
    data: buildUdpFrame({ srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 5060, dstPort: 5060, payload: INVITE + 'x'.repeat((i * 37) % 300) }, 'ethernet'),
  }));
  const biggest = Math.max(...frames.map((f) => f.data.length)) + 32;
  const files = {
    pcap: writePcap(frames, { linkType: 1 }),
    pcapng: writePcapng([{ linkType: 1 }], frames.map((f) => ({ interfaceId: 0, timeMs: f.timeMs, data: f.data }))),
  };
  for (const [name, file] of Object.entries(files)) {
    for (const size of [1, 7, 100, 333, 1000, 4096]) {
      const chunks = new Set<Buffer>();
      const got: Buffer[] = [];
      let joined = 0;
      const r = new PcapStreamReader((_link, b, s, e) => {
        if (!chunks.has(b)) joined++;
        got.push(Buffer.from(b.subarray(s, e)));
      });
      let boundaries = 0;
      for (let o = 0; o < file.length; o += size) {
        const chunk = Buffer.from(file.subarray(o, o + size)); // a buffer of its own, as a file read gives
        chunks.add(chunk);
        r.push(chunk);
        boundaries++;
        assert.ok(r.heldBytes <= biggest, `${name}/${size}: ${r.heldBytes} bytes held`);
      }
      assert.equal(r.end().error, null, `${name}/${size}`);
      assert.deepEqual(got, frames.map((f) => f.data), `${name}/${size}`);
      // a record is copied only when it straddles chunks: at most one per boundary
      assert.ok(joined <= Math.min(boundaries - 1, frames.length), `${name}/${size}: ${joined} records joined for ${boundaries - 1} boundaries`);
      if (size >= 1000) assert.ok(joined < frames.length / 2, `${name}/${size}: ${joined} of ${frames.length} records copied`);
    }
  }
});

test('streaming reader: damage is reported at the same file offset however the file is chunked', () => {
  const frame = buildUdpFrame({ srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 1, dstPort: 2, payload: INVITE }, 'ethernet');
  const frames = Array.from({ length: 5 }, (_, i) => ({ timeMs: 1 + i, data: frame }));
  const pcap = Buffer.from(writePcap(frames, { linkType: 1 }));
  pcap.writeUInt32BE(0x7fffffff, 24 + 3 * (16 + frame.length) + 8); // the 4th record claims 2 GiB
  const ng = Buffer.from(writePcapng([{ linkType: 1 }], frames.map((f) => ({ interfaceId: 0, timeMs: f.timeMs, data: f.data }))));
  const lastBlock = ng.length - ng.readUInt32LE(ng.length - 4);
  ng.writeUInt32LE(13, lastBlock + 4); // the last block's length is not a multiple of 4
  for (const file of [pcap, ng]) {
    const whole = readPcap(file).stats.error;
    assert.ok(whole !== null);
    for (const size of [1, 5, 64, 200, file.length]) {
      let n = 0;
      const r = new PcapStreamReader(() => void n++);
      for (let o = 0; o < file.length; o += size) r.push(Buffer.from(file.subarray(o, o + size)));
      const st = r.end();
      assert.deepEqual(st.error && { code: st.error.code, offset: st.error.offset }, { code: whole.code, offset: whole.offset }, `chunks of ${size}`);
      assert.equal(n, file === pcap ? 3 : 4);
    }
  }
});

test('streaming reader: a classic record claiming more than 64 MiB is damage even under a huge snap length (nothing held for it)', () => {
  const head = writePcap([], { linkType: 1, snaplen: 0xffffffff });
  const rec = Buffer.alloc(16);
  rec.writeUInt32BE(100 * 1024 * 1024, 8);
  rec.writeUInt32BE(100 * 1024 * 1024, 12);
  const r = new PcapStreamReader(() => assert.fail('no packet'));
  r.push(Buffer.concat([head, rec]));
  for (let i = 0; i < 4; i++) r.push(Buffer.alloc(1 << 20));
  assert.equal(r.heldBytes, 0);
  assert.equal(r.stats.error?.code, 'PCAP_BAD_BLOCK');
  assert.equal(r.stats.error?.offset, 24 + 8);
});
