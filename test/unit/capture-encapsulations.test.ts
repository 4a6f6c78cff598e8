/**
 * The same calls carried by every encapsulation and transport the capture decoder reads
 * give the same KPIs as plain SIP over UDP, and the replay says what it read.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import {
  erspan,
  ethernetFrame,
  fragmentIp,
  greHeader,
  ipPacket,
  loopbackFrame,
  sctpPacket,
  sllFrame,
  tcpConversation,
  udpPacket,
  vxlanHeader,
  writePcap,
  writePcapng,
  wsFrame,
} from '../support/pcap-write.ts';
import type { PcapRecordInput } from '../support/pcap-write.ts';
import { callMessages, replayImage, T0 } from '../support/capture-calls.ts';
import type { CallMessage } from '../support/capture-calls.ts';

const A = { ip: '10.0.0.1', port: 5062 };
const B = { ip: '10.0.0.2', port: 5072 };
const A6 = { ip: '2001:db8::1', port: 5062 };
const B6 = { ip: '2001:db8::2', port: 5072 };
const MSGS = callMessages();

/** Plain UDP IP packets of the calls (optionally IPv6), with their times. */
function udpIp(v6 = false): { timeMs: number; ip: Buffer }[] {
  const [a, b] = v6 ? [A6, B6] : [A, B];
  return MSGS.map((m, i) => {
    const [s, d] = m.fromA ? [a, b] : [b, a];
    return { timeMs: m.timeMs, ip: udpPacket(s.ip, d.ip, s.port, d.port, m.data, i + 1) };
  });
}

const eth = (recs: { timeMs: number; ip: Buffer }[], wrap: (ip: Buffer) => Buffer = (ip) => ethernetFrame(ip), linkType = 1) =>
  writePcap(recs.map((r) => ({ timeMs: r.timeMs, data: wrap(r.ip) })), { linkType });

/** IP packets of one TCP connection carrying the calls; `mangle` may reorder/repeat segments. */
function tcpIp(mss: number, mangle: (pkts: { timeMs: number; ip: Buffer; message: number }[]) => { timeMs: number; ip: Buffer }[] = (p) => p): { timeMs: number; ip: Buffer }[] {
  const conv = tcpConversation(A, B, MSGS, mss);
  const pkts = conv.map((c) => ({ timeMs: c.message < 0 ? (c.fromA && conv.indexOf(c) < 3 ? T0 - 50 : MSGS[MSGS.length - 1].timeMs + 10) : MSGS[c.message].timeMs, ip: c.packet, message: c.message }));
  return mangle(pkts);
}

let baseline: Record<string, number>;

describe('the same calls through every encapsulation', () => {
  before(async () => {
    const { kpis, r } = await replayImage(eth(udpIp()));
    baseline = kpis;
    assert.equal(r.read.udp, MSGS.length);
    assert.equal(r.skipped, 0, JSON.stringify(r.skippedBy));
    // sanity: the calls give the KPIs they were built for
    assert.equal(kpis['stats:ASR'], 50);
    assert.equal(kpis['stats:ASRacme'], 50);
    assert.equal(kpis['stats:PDD'], 287); // (200 + 300 + 400 + 250) / 4
    assert.equal(kpis['stats:ACD'], 4); // INVITE to BYE: (5 + 3) / 2 s
    assert.equal(kpis['sipstats:calls_started'], 4);
  });

  const same = async (name: string, image: Buffer, transport: 'udp' | 'tcp' | 'sctp' | 'ws' | 'hep', expectSkipped: Record<string, number> = {}) => {
    const { kpis, r } = await replayImage(image, name.endsWith('ng') ? 'c.pcapng' : 'c.pcap');
    assert.deepEqual(kpis, baseline, `${name}: KPIs`);
    if (transport === 'hep') assert.equal(r.read.hep, MSGS.length, `${name}: HEP frames`);
    else assert.equal(r.read[transport], MSGS.length, `${name}: ${transport} messages`);
    const skipped = Object.fromEntries(Object.entries(r.skippedBy).filter(([, v]) => v > 0));
    for (const [k, v] of Object.entries(expectSkipped)) assert.equal(skipped[k], v, `${name}: skipped ${k}`);
    for (const k of Object.keys(skipped)) assert.ok(k in expectSkipped, `${name}: unexpected skip ${k} (${JSON.stringify(skipped)})`);
    return r;
  };

  test('VLAN, QinQ, PPPoE, MPLS', async () => {
    await same('vlan', eth(udpIp(), (ip) => ethernetFrame(ip, { vlans: [42] })), 'udp');
    await same('qinq', eth(udpIp(), (ip) => ethernetFrame(ip, { vlans: [100, 42], qinq: true })), 'udp');
    await same('pppoe', eth(udpIp(), (ip) => ethernetFrame(ip, { pppoeSession: 0x1234 })), 'udp');
    await same('pppoe-vlan-v6', eth(udpIp(true), (ip) => ethernetFrame(ip, { pppoeSession: 7, vlans: [5] })), 'udp');
    await same('mpls', eth(udpIp(), (ip) => ethernetFrame(ip, { mpls: [100, 200] })), 'udp');
  });

  test('Linux cooked v1/v2, BSD loopback (null and loop), raw IP, IPv6', async () => {
    await same('sll', eth(udpIp(), (ip) => sllFrame(ip), 113), 'udp');
    await same('sll2', eth(udpIp(true), (ip) => sllFrame(ip, true), 276), 'udp');
    await same('null', eth(udpIp(), (ip) => loopbackFrame(ip, 0), 0), 'udp');
    await same('loop', eth(udpIp(true), (ip) => loopbackFrame(ip, 108), 108), 'udp');
    await same('raw', eth(udpIp(), (ip) => ip, 101), 'udp');
    await same('raw v6 (228/229 style)', eth(udpIp(true), (ip) => ip, 229), 'udp');
  });

  test('GRE (IPv4, Ethernet, key/seq/checksum), ERSPAN II and III, VXLAN, IP-in-IP, 6in4', async () => {
    const outer = (payload: Buffer, protocol: number) => ethernetFrame(ipPacket({ srcIp: '192.168.0.1', dstIp: '192.168.0.2', protocol, payload }));
    await same('gre-ip', eth(udpIp(), (ip) => outer(greHeader(ip, { protocol: 0x0800, key: 5, seq: 9, checksum: true }), 47)), 'udp');
    await same('gre-eth', eth(udpIp(), (ip) => outer(greHeader(ethernetFrame(ip, { vlans: [3] }), { protocol: 0x6558 }), 47)), 'udp');
    await same('erspan2', eth(udpIp(), (ip) => outer(erspan(ethernetFrame(ip), 2), 47)), 'udp');
    await same('erspan3', eth(udpIp(), (ip) => outer(erspan(ethernetFrame(ip), 3), 47)), 'udp');
    await same('erspan3-sub', eth(udpIp(true), (ip) => outer(erspan(ethernetFrame(ip), 3, 1, 1, true), 47)), 'udp');
    await same('vxlan', eth(udpIp(), (ip) => ethernetFrame(udpPacket('192.168.0.1', '192.168.0.2', 40000, 4789, vxlanHeader(ethernetFrame(ip))))), 'udp');
    await same('ipip', eth(udpIp(), (ip) => outer(ip, 4)), 'udp');
    await same('6in4', eth(udpIp(true), (ip) => outer(ip, 41)), 'udp');
  });

  test('IPv4 and IPv6 fragments, out of order and repeated', async () => {
    for (const v6 of [false, true]) {
      const recs: { timeMs: number; ip: Buffer }[] = [];
      let fragmented = 0;
      for (const r of udpIp(v6)) {
        if (r.ip.length < 1400) {
          recs.push(r);
          continue;
        }
        fragmented++;
        const frags = fragmentIp(r.ip, 600, 0x4000 + fragmented);
        // last first, then the rest backwards, one twice
        const order = [...frags].reverse();
        order.splice(1, 0, frags[frags.length - 2]);
        for (const f of order) recs.push({ timeMs: r.timeMs, ip: f });
      }
      assert.equal(fragmented, 2);
      await same(v6 ? 'frag6' : 'frag4', eth(recs), 'udp');
    }
  });

  test('TCP: in order, several messages per segment, one message over many segments', async () => {
    await same('tcp-mss1400', eth(tcpIp(1400)), 'tcp', { no_payload: 5 });
    await same('tcp-mss100', eth(tcpIp(100)), 'tcp', { no_payload: 5 });
    // the whole stream of each direction in one segment per message time: coalesce back-to-back messages
    const conv = tcpConversation(A, B, [{ fromA: true, data: Buffer.concat([MSGS[0].data, MSGS[1].data]) }], 65000);
    assert.equal(conv.filter((c) => c.payloadLength > 0).length, 1);
  });

  test('TCP: segments out of order, retransmitted and overlapping', async () => {
    const r = await same(
      'tcp-ooo',
      eth(
        tcpIp(300, (pkts) => {
          const out: { timeMs: number; ip: Buffer }[] = [];
          // within each message: reverse the segments, and send the first one twice
          let i = 0;
          while (i < pkts.length) {
            let j = i + 1;
            while (j < pkts.length && pkts[j].message === pkts[i].message && pkts[i].message >= 0) j++;
            const group = pkts.slice(i, j);
            if (group.length > 1) {
              out.push(...[...group].reverse());
              out.push(group[0]);
            } else out.push(...group);
            i = j;
          }
          return out;
        }),
      ),
      'tcp',
      { no_payload: 5 },
    );
    assert.equal(r.skippedBy.tcp_gap, 0);
  });

  test('TCP: overlapping segments that cover each other partly', async () => {
    // cut the stream of direction A→B into 3 overlapping segments per message by rebuilding it
    const { tcpPacket } = await import('../support/pcap-write.ts');
    const recs: { timeMs: number; ip: Buffer }[] = [];
    let seqA = 1001;
    let seqB = 5_000_001;
    recs.push({ timeMs: T0 - 50, ip: tcpPacket({ srcIp: A.ip, dstIp: B.ip, srcPort: A.port, dstPort: B.port, seq: 1000, flags: 0x02 }) });
    recs.push({ timeMs: T0 - 50, ip: tcpPacket({ srcIp: B.ip, dstIp: A.ip, srcPort: B.port, dstPort: A.port, seq: 5_000_000, flags: 0x12 }) });
    for (const m of MSGS) {
      const [s, d] = m.fromA ? [A, B] : [B, A];
      const seq0 = m.fromA ? seqA : seqB;
      const n = m.data.length;
      const cuts = [
        [Math.floor(n / 3), n],
        [0, Math.floor((2 * n) / 3)],
        [Math.floor(n / 4), Math.floor(n / 2) + 1],
      ];
      for (const [x, y] of cuts) recs.push({ timeMs: m.timeMs, ip: tcpPacket({ srcIp: s.ip, dstIp: d.ip, srcPort: s.port, dstPort: d.port, seq: seq0 + x, payload: m.data.subarray(x, y) }) });
      if (m.fromA) seqA += n;
      else seqB += n;
    }
    await same('tcp-overlap', eth(recs), 'tcp', { no_payload: 2 });
  });

  test('TCP: a capture that starts mid-stream resynchronises at the next start line', async () => {
    // drop the handshake and the first segment (half of the first INVITE): the rest is read
    const pkts = tcpIp(1000, (p) => p.filter((x, i) => i >= 3 && !(x.message === 0 && x.ip === p.find((y) => y.message === 0)!.ip)));
    const { r } = await replayImage(eth(pkts));
    assert.equal(r.read.tcp, MSGS.length - 1);
    assert.ok(r.skippedBy.not_sip >= 1, JSON.stringify(r.skippedBy));
  });

  test('TCP: a segment never captured is a gap; the stream goes on at the next message', async () => {
    const pkts = tcpIp(500, (p) => {
      const inv = p.findIndex((x) => x.message === 0);
      return p.filter((_, i) => i !== inv + 1); // the second segment of the first INVITE
    });
    const { r } = await replayImage(eth(pkts));
    assert.equal(r.read.tcp, MSGS.length - 1);
    assert.ok(r.skippedBy.tcp_gap >= 1, JSON.stringify(r.skippedBy));
  });

  test('SCTP: whole messages, several chunks per packet, user messages split over chunks', async () => {
    const recs: { timeMs: number; ip: Buffer }[] = [];
    let tsn = 100;
    for (const m of MSGS) {
      const [s, d] = m.fromA ? [A, B] : [B, A];
      if (m.data.length > 1200) {
        // split in 3 DATA chunks over 2 packets
        const k = Math.ceil(m.data.length / 3);
        const parts = [m.data.subarray(0, k), m.data.subarray(k, 2 * k), m.data.subarray(2 * k)];
        recs.push({ timeMs: m.timeMs, ip: sctpPacket(s.ip, d.ip, s.port, d.port, [{ tsn: tsn++, data: parts[0], end: false }, { tsn: tsn++, data: parts[1], begin: false, end: false }]) });
        recs.push({ timeMs: m.timeMs, ip: sctpPacket(s.ip, d.ip, s.port, d.port, [{ tsn: tsn++, data: parts[2], begin: false }]) });
      } else recs.push({ timeMs: m.timeMs, ip: sctpPacket(s.ip, d.ip, s.port, d.port, [{ tsn: tsn++, data: m.data }]) });
    }
    await same('sctp', eth(recs), 'sctp');
  });

  test('WebSocket (RFC 7118): handshake, masked client frames, fragmented messages', async () => {
    const hs = Buffer.from('GET /sip HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n');
    const ok = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n');
    const mask = Buffer.from([1, 2, 3, 4]);
    const stream = [
      { fromA: true, data: hs },
      { fromA: false, data: ok },
      ...MSGS.map((m) => {
        if (m.data.length > 1000 && m.fromA) {
          const k = 700;
          return { fromA: true, data: Buffer.concat([wsFrame(m.data.subarray(0, k), { mask, fin: false }), wsFrame(m.data.subarray(k), { mask, opcode: 0 }), wsFrame('', { mask, opcode: 9 })]) };
        }
        return { fromA: m.fromA, data: m.fromA ? wsFrame(m.data, { mask }) : wsFrame(m.data) };
      }),
    ];
    const conv = tcpConversation(A, { ip: B.ip, port: 8080 }, stream, 600);
    const recs = conv.map((c) => ({ timeMs: c.message < 0 ? (conv.indexOf(c) < 3 ? T0 - 60 : MSGS[MSGS.length - 1].timeMs + 10) : c.message < 2 ? T0 - 55 : MSGS[c.message - 2].timeMs, ip: c.packet }));
    await same('ws', eth(recs), 'ws', { no_payload: 5 });
  });

  test('HEP: compressed payloads (zlib, gzip, raw deflate) in UDP, and HEP in TCP', async () => {
    const heps = MSGS.map((m, i) => {
      const [s, d] = m.fromA ? [A, B] : [B, A];
      const z = [deflateSync, gzipSync, deflateRawSync][i % 3](m.data);
      return { timeMs: m.timeMs, frame: encodeHep({ srcIp: s.ip, dstIp: d.ip, srcPort: s.port, dstPort: d.port, timeMs: m.timeMs, payload: z, compressedPayload: true }) };
    });
    await same('hep-z', eth(heps.map((h) => ({ timeMs: h.timeMs + 5, ip: udpPacket('172.16.0.1', '172.16.0.9', 40000, 9060, h.frame) }))), 'hep');
    const plain = MSGS.map((m) => {
      const [s, d] = m.fromA ? [A, B] : [B, A];
      return encodeHep({ srcIp: s.ip, dstIp: d.ip, srcPort: s.port, dstPort: d.port, timeMs: m.timeMs, payload: m.data });
    });
    const conv = tcpConversation({ ip: '172.16.0.1', port: 40001 }, { ip: '172.16.0.9', port: 9060 }, plain.map((f) => ({ fromA: true, data: f })), 700);
    await same('hep-tcp', eth(conv.map((c) => ({ timeMs: T0 + 9000, ip: c.packet }))), 'hep', { no_payload: 5 });
  });

  test('pcapng with interfaces of different link types', async () => {
    const ips = udpIp();
    const image = writePcapng(
      [{ linkType: 1 }, { linkType: 101, tsresol: 9 }, { linkType: 113 }],
      ips.map((r, i) => ({ interfaceId: i % 3, timeMs: r.timeMs, data: i % 3 === 0 ? ethernetFrame(r.ip) : i % 3 === 1 ? r.ip : sllFrame(r.ip) })),
    );
    await same('multi-iface.pcapng', image, 'udp');
  });
});

describe('what replay skips is counted by reason', () => {
  test('not IP, unsupported protocol, truncated, not SIP, TLS, incomplete fragments, bad HEP', async () => {
    const recs: PcapRecordInput[] = [];
    const t = T0;
    const arp = ethernetFrame(Buffer.alloc(28), { etherType: 0x0806 });
    recs.push({ timeMs: t, data: arp });
    recs.push({ timeMs: t, data: ethernetFrame(ipPacket({ srcIp: '1.1.1.1', dstIp: '2.2.2.2', protocol: 1, payload: Buffer.alloc(8) })) });
    const inv = MSGS[0].data;
    const full = ethernetFrame(udpPacket(A.ip, B.ip, A.port, B.port, inv));
    recs.push({ timeMs: t, data: full.subarray(0, 200), origLen: full.length });
    recs.push({ timeMs: t, data: ethernetFrame(udpPacket(A.ip, B.ip, 16384, 16386, Buffer.from([0x80, 0x08, 0, 1, 0, 0, 0, 0]))) });
    const frags = fragmentIp(udpPacket(A.ip, B.ip, A.port, B.port, inv), 800);
    recs.push({ timeMs: t, data: ethernetFrame(frags[0]) });
    recs.push({ timeMs: t, data: ethernetFrame(udpPacket(A.ip, B.ip, 40000, 9060, Buffer.from('HEP3\x00\x03')) )});
    recs.push({ timeMs: t, data: ethernetFrame(udpPacket(A.ip, B.ip, 40000, 9060, encodeHep({ srcIp: A.ip, dstIp: B.ip, srcPort: 1, dstPort: 2, payload: Buffer.from('not zlib at all'), compressedPayload: true }))) });
    const tls = tcpConversation(A, { ip: B.ip, port: 5061 }, [{ fromA: true, data: Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]) }]);
    for (const c of tls) recs.push({ timeMs: t, data: ethernetFrame(c.packet) });
    recs.push({ timeMs: t, data: Buffer.alloc(6) }); // too short for Ethernet
    const { r } = await replayImage(writePcap(recs, { linkType: 1 }));
    const s = r.skippedBy;
    assert.equal(s.not_ip, 1);
    assert.equal(s.unsupported_protocol, 1);
    assert.equal(s.truncated, 1);
    assert.equal(s.not_sip, 1);
    assert.equal(s.fragments_incomplete, 1);
    assert.equal(s.hep_decode_errors, 1);
    assert.equal(s.hep_inflate_errors, 1);
    assert.equal(s.tls, 1);
    assert.equal(s.malformed, 1);
    assert.equal(r.sipMessages, 0);
    assert.equal(r.skipped, Object.values(s).reduce((a, b) => a + b, 0));
    // and as self-statistics
    const reply = await r.stats.mi('get_statistics', [['sipstats:']]);
    const all = ('result' in reply ? reply.result : {}) as Record<string, number>;
    assert.equal(all['sipstats:skipped_tls'], 1);
    assert.equal(all['sipstats:skipped_not_ip'], 1);
  });

  test('an unknown link type is named, not silently dropped', async () => {
    const { r } = await replayImage(writePcap([{ timeMs: T0, data: Buffer.alloc(40) }], { linkType: 147 }));
    assert.equal(r.skippedBy.unsupported_link, 1);
  });
});
