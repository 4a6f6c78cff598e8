/**
 * Replay benchmark: `sipstats replay` throughput on two generated captures of at least 200 MB,
 * one mixing SIP over UDP and SIP over TCP (persistent connections between proxies, port 5060),
 * one of SIP over UDP alone, against `tshark -q -z sip,stat -r FILE` (Debian tshark) on the same
 * file in the same run: MB/s, SIP messages/s, peak RSS of both (/usr/bin/time -v when present),
 * and the ratio. Each call has its own SDP media ports (offer and answer).
 *   npm run bench -- replay            (SIPSTATS_REPLAY_MB=400 for a larger mix; SIPSTATS_REPLAY_UDP_MB=0: no UDP capture)
 *   SIPSTATS_REPLAY_KEEP=FILE [SIPSTATS_REPLAY_MB=N] [SIPSTATS_REPLAY_TCP_SHARE=0] node --import tsx bench/replay.ts
 *                                      only writes the capture (0: UDP only) and exits
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpPacket, udpPacket, ethernetFrame, TcpFlags } from '../test/support/pcap-write.ts';
import type { BenchResult } from './lib.ts';
import { pcapFileHeader, printResults, timed } from './lib.ts';

/** A call's SDP: each call has its own media port on each side, as an SBC or phone gives it. */
const sdp = (addr: string, port: number, id: number) =>
  `v=0\r\no=- ${id} 1 IN IP4 ${addr}\r\ns=-\r\nc=IN IP4 ${addr}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n`;

/** The 7 messages of call n (INVITE, 100, 180, 200, ACK, BYE, 200) and their offsets in ms. */
function callMessages(n: number, transport: 'UDP' | 'TCP'): { dt: number; fromA: boolean; data: Buffer }[] {
  const id = `${n.toString(36)}-bench@10.20.30.40`;
  const br = `z9hG4bK${n.toString(36)}`;
  const via = (b: string) => `Via: SIP/2.0/${transport} 10.20.30.40:5060;branch=${b};rport`;
  const from = `From: "Caller" <sip:+3120555${n % 10000}@carrier.example.net>;tag=${n.toString(16)}`;
  const to = 'To: <sip:+49307770000@pbx.example.com>';
  const tt = ';tag=as6f1c';
  const common = (cseq: string, tag: string) => [from, to + tag, `Call-ID: ${id}`, `CSeq: ${cseq}`];
  const offer = sdp('10.20.30.40', 16384 + 2 * (n % 16000), n);
  const answer = sdp('203.0.113.5', 40000 + 2 * (n % 12000), n);
  const body = (b: string) => ['Content-Type: application/sdp', `Content-Length: ${b.length}`, '', b];
  const none = ['Content-Length: 0', '', ''];
  const customer = `cust${n % 50}`;
  const msgs: [number, boolean, string[]][] = [
    [0, true, ['INVITE sip:+49307770000@pbx.example.com SIP/2.0', via(br), 'Max-Forwards: 69', ...common('1 INVITE', ''), 'Contact: <sip:c@10.20.30.40>', `X-Customer: ${customer}`, 'User-Agent: Acme-SBC/4.2', ...body(offer)]],
    [10, false, ['SIP/2.0 100 Trying', via(br), ...common('1 INVITE', ''), ...none]],
    [200, false, ['SIP/2.0 180 Ringing', via(br), ...common('1 INVITE', tt), 'Contact: <sip:p@203.0.113.5>', ...none]],
    [n % 5 === 0 ? 900 : 1200, false, [n % 5 === 0 ? 'SIP/2.0 486 Busy Here' : 'SIP/2.0 200 OK', via(br), ...common('1 INVITE', tt), 'Contact: <sip:p@203.0.113.5>', ...(n % 5 === 0 ? none : body(answer))]],
    [1210, true, ['ACK sip:p@203.0.113.5 SIP/2.0', via(br + 'a'), ...common('1 ACK', tt), ...none]],
    [31200, true, ['BYE sip:p@203.0.113.5 SIP/2.0', via(br + 'b'), ...common('2 BYE', tt), ...none]],
    [31210, false, ['SIP/2.0 200 OK', via(br + 'b'), ...common('2 BYE', tt), ...none]],
  ];
  return msgs.filter((m, i) => !(n % 5 === 0 && i >= 5)).map(([dt, fromA, lines]) => ({ dt, fromA, data: Buffer.from(lines.join('\r\n')) }));
}

/** Writes the capture: calls alternate UDP / TCP (32 persistent TCP connections), ~2 000 calls/s. */
function generate(file: string, minBytes: number, tcpShare = 2): { bytes: number; messages: number; udp: number; tcp: number } {
  const fd = openSync(file, 'w');
  const head = pcapFileHeader();
  let bytes = 24;
  writeSync(fd, head);
  const T0 = 1_795_508_400_000;
  const CONNS = 32;
  const seq = Array.from({ length: CONNS }, (_, i) => ({ a: 1000 + i * 7919, b: 9_000_000 + i * 104729 }));
  const out: Buffer[] = [];
  let outLen = 0;
  // pending packets sorted by time: a simple time-bucketed queue (ms resolution)
  type Item = Buffer | { c: number; fromA: boolean; data: Buffer };
  const queue = new Map<number, Item[]>();
  let messages = 0;
  let udp = 0;
  let tcp = 0;
  const push = (t: number, frame: Item) => {
    let list = queue.get(t);
    if (list === undefined) queue.set(t, (list = []));
    list.push(frame);
  };
  const rec = (t: number, item: Item) => {
    let frame: Buffer;
    if (Buffer.isBuffer(item)) frame = item;
    else {
      // TCP: sequence numbers in the order the segments are written (time order)
      const { c, fromA, data } = item;
      const a = { ip: `10.1.0.${c + 1}`, port: 40000 + c };
      const s = seq[c];
      frame = ethernetFrame(
        fromA
          ? tcpPacket({ srcIp: a.ip, dstIp: '10.2.0.1', srcPort: a.port, dstPort: 5060, seq: s.a, ack: s.b, payload: data })
          : tcpPacket({ srcIp: '10.2.0.1', dstIp: a.ip, srcPort: 5060, dstPort: a.port, seq: s.b, ack: s.a, payload: data }),
      );
      if (fromA) s.a = (s.a + data.length) >>> 0;
      else s.b = (s.b + data.length) >>> 0;
    }
    const h = Buffer.alloc(16);
    const sec = Math.floor(t / 1000);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(Math.round((t - sec * 1000) * 1000), 4);
    h.writeUInt32LE(frame.length, 8);
    h.writeUInt32LE(frame.length, 12);
    out.push(h, frame);
    outLen += 16 + frame.length;
    if (outLen > 8 << 20) {
      writeSync(fd, Buffer.concat(out, outLen));
      bytes += outLen;
      out.length = 0;
      outLen = 0;
    }
  };
  // handshakes of the TCP connections first
  for (let c = 0; c < CONNS; c++) {
    const a = { ip: `10.1.0.${c + 1}`, port: 40000 + c };
    rec(T0 - 100, ethernetFrame(tcpPacket({ srcIp: a.ip, dstIp: '10.2.0.1', srcPort: a.port, dstPort: 5060, seq: seq[c].a - 1, flags: TcpFlags.SYN })));
    rec(T0 - 100, ethernetFrame(tcpPacket({ srcIp: '10.2.0.1', dstIp: a.ip, srcPort: 5060, dstPort: a.port, seq: seq[c].b - 1, flags: TcpFlags.SYN | TcpFlags.ACK })));
  }
  let n = 0;
  let tNext = T0;
  const flushUpTo = (t: number) => {
    const keys = [...queue.keys()].filter((k) => k <= t).sort((x, y) => x - y);
    for (const k of keys) {
      for (const f of queue.get(k)!) rec(k, f);
      queue.delete(k);
    }
  };
  while (bytes + outLen < minBytes) {
    const overTcp = tcpShare > 0 && n % tcpShare === 1 % tcpShare;
    const c = n % CONNS;
    for (const m of callMessages(n, overTcp ? 'TCP' : 'UDP')) {
      const t = tNext + m.dt;
      messages++;
      if (overTcp) {
        tcp++;
        push(t, { c, fromA: m.fromA, data: m.data });
      } else {
        udp++;
        const ip = `10.3.${(n >> 8) & 255}.${n & 255}`;
        push(t, ethernetFrame(m.fromA ? udpPacket(ip, '10.2.0.2', 5060, 5060, m.data) : udpPacket('10.2.0.2', ip, 5060, 5060, m.data)));
      }
    }
    n++;
    tNext += 0.5;
    if (n % 512 === 0) flushUpTo(tNext - 1);
  }
  flushUpTo(Infinity);
  if (outLen > 0) writeSync(fd, Buffer.concat(out, outLen));
  bytes += outLen;
  closeSync(fd);
  return { bytes, messages, udp, tcp };
}


export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-bench-replay-'));
  try {
    // the TCP mix, then plain UDP: tshark is slow on TCP (the mix's ratio alone would flatter)
    const mb = Number(process.env.SIPSTATS_REPLAY_MB ?? 210);
    const udpMb = Number(process.env.SIPSTATS_REPLAY_UDP_MB ?? 210);
    return [...(await one(join(dir, 'mixed.pcap'), mb, 2, 'UDP + TCP SIP')), ...(udpMb > 0 ? await one(join(dir, 'udp.pcap'), udpMb, 0, 'plain UDP SIP') : [])];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Generates one capture (tcpShare 0: UDP only), replays it, and runs tshark on it. */
async function one(file: string, wantMb: number, tcpShare: number, what: string): Promise<BenchResult[]> {
  const g0 = Date.now();
  const gen = generate(file, wantMb * 1e6, tcpShare);
  const mb = statSync(file).size / 1e6;
  console.log(`  generated ${mb.toFixed(0)} MB (${gen.messages} SIP messages: ${gen.udp} UDP, ${gen.tcp} TCP) in ${((Date.now() - g0) / 1000).toFixed(1)} s`);

  // both tools on the whole machine, as a user runs them (sipstats reads the file ahead on the other core)
  const child = new URL('./_replay-child.mjs', import.meta.url).pathname;
  const ours = timed(process.execPath, [child, file], true);
  if (ours.status !== 0) throw new Error(`replay child failed: ${ours.stdout}`);
  const o = JSON.parse(ours.stdout.trim().split('\n').pop()!) as { seconds: number; sipMessages: number; read: Record<string, number>; skipped: number; skippedBy: Record<string, number>; maxRssMB: number; calls: number };
  console.log(`  sipstats: ${o.seconds.toFixed(2)} s replay (${ours.seconds.toFixed(2)} s with node start), read ${JSON.stringify(o.read)}, skipped ${o.skipped} ${JSON.stringify(o.skippedBy)}, ${o.calls} calls`);

  const haveTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).error === undefined;
  const results: BenchResult[] = [
    { name: `sipstats replay throughput (${what})`, value: mb / o.seconds, unit: 'MB/s', note: `${mb.toFixed(0)} MB in ${o.seconds.toFixed(2)} s` },
    { name: `sipstats replay SIP messages (${what})`, value: o.sipMessages / o.seconds, unit: 'msg/s', note: `${o.sipMessages} of ${gen.messages} read` },
    { name: `sipstats replay peak RSS (${what})`, value: ours.maxRssMB, unit: 'MB', note: 'whole process (/usr/bin/time -v); target < 150' },
  ];
  if (!haveTshark) {
    results.push({ name: 'tshark', value: NaN, unit: '', note: 'not installed (apt-get install tshark): no comparison' });
    return results;
  }
  const ts = timed('tshark', ['-q', '-z', 'sip,stat', '-r', file], true);
  // and sipstats on one core (bench/run.ts's pin), against tshark on the whole machine: a ratio that can only understate
  const pinned = timed(process.execPath, [child, file]);
  const p1 = JSON.parse(pinned.stdout.trim().split('\n').pop()!) as { seconds: number };
  const counted = sumSipStat(ts.stdout);
  console.log(`  tshark: ${ts.seconds.toFixed(2)} s, ${counted} SIP messages in its sip,stat`);
  results.push(
    { name: `tshark -q -z sip,stat throughput (${what})`, value: mb / ts.seconds, unit: 'MB/s', note: `${ts.seconds.toFixed(2)} s` },
    { name: `tshark SIP messages (${what})`, value: counted / ts.seconds, unit: 'msg/s', note: `${counted} counted` },
    { name: `tshark peak RSS (${what})`, value: ts.maxRssMB, unit: 'MB' },
    { name: `sipstats replay vs tshark, ${what} (time ratio)`, value: ts.seconds / o.seconds, unit: '×', note: `target >= 15; both on the whole machine; with node start: ${(ts.seconds / ours.seconds).toFixed(1)}×` },
    { name: `the same, sipstats held to one core (${what})`, value: ts.seconds / p1.seconds, unit: '×', note: `${p1.seconds.toFixed(2)} s; tshark as above` },
  );
  return results;
}

/** "Number of SIP messages: N" of `tshark -z sip,stat` output. */
function sumSipStat(text: string): number {
  const m = /Number of SIP messages:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : NaN;
}

if (process.env.SIPSTATS_REPLAY_KEEP !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  generate(process.env.SIPSTATS_REPLAY_KEEP, Number(process.env.SIPSTATS_REPLAY_MB ?? 20) * 1e6, Number(process.env.SIPSTATS_REPLAY_TCP_SHARE ?? 2));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  printResults('Replay vs tshark', await run());
}
