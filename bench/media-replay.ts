/**
 * Media replay benchmark: `sipstats replay` of a generated capture of at least 200 MB where RTP
 * outnumbers SIP as on a real network (300 G.711 calls, up to ~150 at once, 20 ms packets both ways,
 * loss and jitter on some), against `tshark -q -z rtp,streams -r FILE` (Debian tshark) on the same
 * file in the same run: wall time, MB/s, peak RSS of both, and the ratio (the target: ≥ 10×).
 *   npm run bench -- media-replay          (SIPSTATS_MEDIA_MB=400 for a larger file)
 *   SIPSTATS_MEDIA_KEEP=FILE node --import tsx bench/media-replay.ts   only writes the capture
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUdpFrame } from '../test/support/pcap-write.ts';
import type { BenchResult } from './lib.ts';
import { pcapFileHeader, printResults, timed } from './lib.ts';
import { rng, rtpPacket } from '../test/support/rtp-capture.ts';

const T0 = 1_790_000_000_000;
const PROXY = '10.0.0.1';

interface Call {
  n: number;
  start: number;
  end: number;
  loss: number;
  jitter: number;
  ssrcA: number;
  ssrcB: number;
  seqA: number;
  seqB: number;
  ts: number;
}

const ip = (net: number, n: number) => `10.${net}.${(n >> 8) & 255}.${n & 255}`;

function sip(c: Call, kind: 'invite' | 'ringing' | 'ok' | 'ack' | 'bye' | 'byeok'): Buffer {
  const id = `media-bench-${c.n}`;
  const caller = ip(1, c.n);
  const callee = ip(2, c.n);
  const sdp = (addr: string, port: number) => `v=0\r\no=- 1 1 IN IP4 ${addr}\r\ns=-\r\nc=IN IP4 ${addr}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n`;
  const [first, cseq, tag, body, toProxy] = {
    invite: [`INVITE sip:+4420000${c.n}@${PROXY} SIP/2.0`, '1 INVITE', '', sdp(caller, 20000 + 2 * c.n), true],
    ringing: ['SIP/2.0 180 Ringing', '1 INVITE', ';tag=b', '', false],
    ok: ['SIP/2.0 200 OK', '1 INVITE', ';tag=b', sdp(callee, 30000 + 2 * c.n), false],
    ack: [`ACK sip:b@${callee} SIP/2.0`, '1 ACK', ';tag=b', '', true],
    bye: [`BYE sip:b@${callee} SIP/2.0`, '2 BYE', ';tag=b', '', true],
    byeok: ['SIP/2.0 200 OK', '2 BYE', ';tag=b', '', false],
  }[kind] as [string, string, string, string, boolean];
  const lines = [first, `Via: SIP/2.0/UDP ${caller}:5060;branch=z9hG4bK${c.n}${cseq.replace(' ', '')}`, `From: <sip:a@customer.example>;tag=a`, `To: <sip:+4420000${c.n}@${PROXY}>${tag}`, `Call-ID: ${id}`, `CSeq: ${cseq}`, `X-Customer: cust${c.n % 20}`];
  if (body) lines.push('Content-Type: application/sdp');
  lines.push(`Content-Length: ${body.length}`, '', body);
  const payload = lines.join('\r\n');
  return toProxy ? buildUdpFrame({ srcIp: caller, dstIp: PROXY, srcPort: 5060, dstPort: 5060, payload }, 'ethernet') : buildUdpFrame({ srcIp: PROXY, dstIp: caller, srcPort: 5060, dstPort: 5060, payload }, 'ethernet');
}

/** Writes the capture; returns its size, RTP and SIP packet counts. */
function generate(file: string, minBytes: number): { bytes: number; rtp: number; sip: number; calls: number } {
  const random = rng(42);
  const fd = openSync(file, 'w');
  const head = pcapFileHeader();
  writeSync(fd, head);
  let bytes = 24;
  let rtp = 0;
  let sipN = 0;
  const out: Buffer[] = [];
  let outLen = 0;
  const record = (t: number, data: Buffer) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(t / 1000), 0);
    h.writeUInt32LE(Math.round((t % 1000) * 1000), 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    out.push(h, data);
    outLen += 16 + data.length;
    if (outLen > 4 << 20) flush();
  };
  const flush = () => {
    const b = Buffer.concat(out, outLen);
    writeSync(fd, b);
    bytes += b.length;
    out.length = 0;
    outLen = 0;
  };
  // ~230 bytes an RTP record, 50 a second each way: calls of 30 s starting over the first 30 s
  const perCall = 2 * 50 * 30 * 230;
  const n = Math.max(10, Math.ceil(minBytes / perCall));
  const calls: Call[] = Array.from({ length: n }, (_, i) => {
    const start = T0 + 2000 + Math.floor(random() * 30_000);
    return { n: i + 1, start, end: start + 30_000, loss: i % 4 === 1 ? 0.02 : 0, jitter: i % 4 === 2 ? 8 : 1, ssrcA: Math.floor(random() * 2 ** 32), ssrcB: Math.floor(random() * 2 ** 32), seqA: Math.floor(random() * 65536), seqB: Math.floor(random() * 65536), ts: Math.floor(random() * 2 ** 32) };
  });
  const end = Math.max(...calls.map((c) => c.end)) + 1000;
  const frame = (src: string, sport: number, dst: string, dport: number, p: Buffer) => buildUdpFrame({ srcIp: src, dstIp: dst, srcPort: sport, dstPort: dport, payload: p }, 'ethernet');
  for (let tick = T0; tick < end; tick += 20) {
    const batch: [number, Buffer, boolean][] = [];
    for (const c of calls) {
      const sipAt = (t: number, k: Parameters<typeof sip>[1]) => {
        if (t >= tick && t < tick + 20) batch.push([t, sip(c, k), true]);
      };
      sipAt(c.start - 1500, 'invite');
      sipAt(c.start - 1000, 'ringing');
      sipAt(c.start - 40, 'ok');
      sipAt(c.start - 20, 'ack');
      sipAt(c.end + 40, 'bye');
      sipAt(c.end + 60, 'byeok');
      if (tick < c.start || tick >= c.end) continue;
      const i = (tick - c.start) / 20;
      const off = (c.n * 7) % 12;
      for (const [src, sport, dst, dport, ssrc, seq] of [
        [ip(1, c.n), 20000 + 2 * c.n, ip(2, c.n), 30000 + 2 * c.n, c.ssrcA, c.seqA],
        [ip(2, c.n), 30000 + 2 * c.n, ip(1, c.n), 20000 + 2 * c.n, c.ssrcB, c.seqB],
      ] as const) {
        if (c.loss > 0 && random() < c.loss) continue;
        batch.push([tick + off + random() * c.jitter, frame(src, sport, dst, dport, rtpPacket(seq + i, c.ts + i * 160, ssrc, i === 0)), false]);
      }
    }
    batch.sort((a, b) => a[0] - b[0]);
    for (const [t, d, isSip] of batch) {
      record(t, d);
      if (isSip) sipN++;
      else rtp++;
    }
  }
  flush();
  closeSync(fd);
  return { bytes, rtp, sip: sipN, calls: n };
}


/** Runs of sipstats and of tshark on the capture, alternating. */
const RUNS = 3;

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-bench-media-'));
  try {
    const file = join(dir, 'media.pcap');
    const g0 = Date.now();
    const gen = generate(file, Number(process.env.SIPSTATS_MEDIA_MB ?? 205) * 1e6);
    const mb = statSync(file).size / 1e6;
    console.log(`  generated ${mb.toFixed(0)} MB: ${gen.calls} calls, ${gen.rtp} RTP and ${gen.sip} SIP packets, in ${((Date.now() - g0) / 1000).toFixed(1)} s`);
    // three runs of each, alternating; the medians are compared (a run of one second moves by 20 % on a shared machine)
    type Child = { seconds: number; calls: number; rtp: number; loss: number; jitter: number; mos: number };
    const runs: { ours: ReturnType<typeof timed>; o: Child; cli: ReturnType<typeof timed>; ts: ReturnType<typeof timed> | null }[] = [];
    const bin = new URL('../bin/sipstats.js', import.meta.url).pathname;
    const haveTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).error === undefined;
    const child = new URL('./_replay-child.mjs', import.meta.url).pathname;
    for (let i = 0; i < RUNS; i++) {
      // both on the whole machine, as a user runs them (sipstats reads the file ahead on the other core)
      const ours = timed(process.execPath, [child, file], true);
      if (ours.status !== 0) throw new Error(`replay child failed: ${ours.stdout}`);
      const o = JSON.parse(ours.stdout.trim().split('\n').pop()!) as Child;
      console.log(`  sipstats: ${o.seconds.toFixed(2)} s replay (${ours.seconds.toFixed(2)} s with node start), ${o.calls} calls, ${o.rtp} RTP packets tied to them; LOSS_1h ${o.loss} %, JITTER_1h ${o.jitter} ms, MOS_1h ${o.mos}`);
      // and what a user types, wall to wall: `sipstats replay FILE` (node's start, the modules, the table printed)
      const cli = timed(process.execPath, [bin, 'replay', file], true);
      if (cli.status !== 0) throw new Error(`sipstats replay failed: ${cli.stdout}`);
      console.log(`  sipstats replay FILE: ${cli.seconds.toFixed(2)} s wall`);
      const ts = haveTshark ? timed('tshark', ['-q', '-z', 'rtp,streams', '-r', file], true) : null;
      if (ts !== null) console.log(`  tshark: ${ts.seconds.toFixed(2)} s`);
      runs.push({ ours, o, cli, ts });
    }
    const mid = <T,>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)];
    const { ours, o } = mid(runs, (r) => r.o.seconds);
    const { cli } = mid(runs, (r) => r.cli.seconds);
    // and sipstats on one core (bench/run.ts's pin), against tshark on the whole machine: a ratio that can only understate
    const pinned = timed(process.execPath, [child, file]);
    const p1 = JSON.parse(pinned.stdout.trim().split('\n').pop()!) as Child;
    console.log(`  sipstats on one core: ${p1.seconds.toFixed(2)} s replay`);
    const results: BenchResult[] = [
      { name: 'sipstats replay of SIP + RTP (media quality on)', value: mb / o.seconds, unit: 'MB/s', note: `${mb.toFixed(0)} MB in ${o.seconds.toFixed(2)} s (median of ${RUNS}: ${runs.map((r) => r.o.seconds.toFixed(2)).join(', ')}); ${o.rtp} RTP packets of ${gen.rtp}` },
      { name: 'sipstats replay peak RSS (SIP + RTP)', value: ours.maxRssMB, unit: 'MB', note: 'whole process (/usr/bin/time -v)' },
    ];
    if (!haveTshark) {
      results.push({ name: 'tshark', value: NaN, unit: '', note: 'not installed (apt-get install tshark): no comparison' });
      return results;
    }
    const ts = mid(runs, (r) => r.ts!.seconds).ts!;
    const streams = ts.stdout.split('\n').filter((l) => /0x[0-9A-F]{8}/i.test(l)).length;
    results.push(
      { name: 'tshark -q -z rtp,streams throughput', value: mb / ts.seconds, unit: 'MB/s', note: `${ts.seconds.toFixed(2)} s (median of ${RUNS}: ${runs.map((r) => r.ts!.seconds.toFixed(2)).join(', ')}), ${streams} streams` },
      { name: 'tshark peak RSS (rtp,streams)', value: ts.maxRssMB, unit: 'MB' },
      { name: 'sipstats replay vs tshark rtp,streams (time ratio)', value: ts.seconds / o.seconds, unit: '×', note: `target >= 10; both on the whole machine; with node start: ${(ts.seconds / ours.seconds).toFixed(1)}×` },
      { name: 'the same, sipstats held to one core', value: ts.seconds / p1.seconds, unit: '×', note: `${p1.seconds.toFixed(2)} s (no read-ahead on another core); tshark as above` },
      { name: '`sipstats replay FILE` vs tshark, wall to wall', value: ts.seconds / cli.seconds, unit: '×', note: `${cli.seconds.toFixed(2)} s (median of ${RUNS}: ${runs.map((r) => r.cli.seconds.toFixed(2)).join(', ')}), node's start and the printed table included; tshark's start is in its time too` },
    );
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.SIPSTATS_MEDIA_KEEP !== undefined && import.meta.url === `file://${process.argv[1]}`) generate(process.env.SIPSTATS_MEDIA_KEEP, Number(process.env.SIPSTATS_MEDIA_MB ?? 205) * 1e6);
else if (import.meta.url === `file://${process.argv[1]}`) printResults('Media replay vs tshark', await run());
