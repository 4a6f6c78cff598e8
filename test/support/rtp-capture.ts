/**
 * Captures of whole calls with their media, for the media-quality tests and the replay benchmark:
 * per call an INVITE with an SDP offer, 180, a 200 with the answer, ACK, RTP both ways (G.711 A-law,
 * 20 ms packets) with a chosen loss and jitter per direction, BYE and its 200. Deterministic (a
 * seeded generator): the same arguments give the same bytes.
 */
import { buildUdpFrame, writePcap } from './pcap-write.ts';
import type { PcapRecordInput } from './pcap-write.ts';
import { seededRandom } from '../../src/demo/traffic.ts';

export interface MediaCallSpec {
  /** X-Customer of the call. */
  customer: string;
  /** Seconds of RTP. */
  seconds: number;
  /** Packet loss (0..1) and jitter (ms: each packet arrives up to this late, uniformly) of the caller → callee stream, and back. */
  lossOut?: number;
  jitterOut?: number;
  lossBack?: number;
  jitterBack?: number;
  /** No RTP at all from the callee (one-way audio). */
  silentBack?: boolean;
  /** Start of the call (ms after the capture's start). */
  startMs?: number;
}

/** A small seeded generator (mulberry32: src/demo/traffic.ts's, so that a capture can be made again). */
export const rng = seededRandom;

const T0 = 1_790_000_000_000;
const PROXY = '10.0.0.1';

function sdp(ip: string, port: number): string {
  return ['v=0', `o=- 1 1 IN IP4 ${ip}`, 's=-', `c=IN IP4 ${ip}`, 't=0 0', `m=audio ${port} RTP/AVP 8 101`, 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20', ''].join('\r\n');
}

function sip(first: string, callId: string, cseq: string, extra: string[], body = ''): string {
  const h = [first, `Via: SIP/2.0/UDP 10.1.0.1:5060;branch=z9hG4bK${callId}${cseq.replace(' ', '')}`, 'From: <sip:alice@customer.example>;tag=a1', `To: <sip:+4420000000@${PROXY}>${cseq.startsWith('1 INVITE') && first.startsWith('INVITE') ? '' : ';tag=b2'}`, `Call-ID: ${callId}`, `CSeq: ${cseq}`, ...extra];
  if (body) h.push('Content-Type: application/sdp');
  h.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
  return h.join('\r\n');
}

/** One RTP packet: PT 8, the given sequence, timestamp and SSRC, 160 bytes of payload. */
export function rtpPacket(seq: number, ts: number, ssrc: number, marker = false, pt = 8): Buffer {
  const b = Buffer.alloc(12 + 160, 0xd5);
  b[0] = 0x80;
  b[1] = (marker ? 0x80 : 0) | pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  return b;
}

/** The records of one call number `n` (addresses from n), on the capture's clock. */
export function mediaCallRecords(n: number, c: MediaCallSpec, random: () => number): PcapRecordInput[] {
  const out: PcapRecordInput[] = [];
  const caller = `10.1.${(n >> 8) & 255}.${n & 255}`;
  const callee = `10.2.${(n >> 8) & 255}.${n & 255}`;
  const aPort = 20000 + 2 * (n % 1000);
  const bPort = 30000 + 2 * (n % 1000);
  const callId = `media-${n}`;
  const t0 = T0 + (c.startMs ?? 0);
  const add = (t: number, src: string, sport: number, dst: string, dport: number, payload: string | Buffer) => out.push({ timeMs: t, data: buildUdpFrame({ srcIp: src, dstIp: dst, srcPort: sport, dstPort: dport, payload }, 'ethernet') });
  add(t0, caller, 5060, PROXY, 5060, sip(`INVITE sip:+4420000000@${PROXY} SIP/2.0`, callId, '1 INVITE', [`X-Customer: ${c.customer}`, `Contact: <sip:alice@${caller}>`], sdp(caller, aPort)));
  add(t0 + 50, PROXY, 5060, caller, 5060, sip('SIP/2.0 180 Ringing', callId, '1 INVITE', []));
  add(t0 + 1000, PROXY, 5060, caller, 5060, sip('SIP/2.0 200 OK', callId, '1 INVITE', [`Contact: <sip:bob@${callee}>`], sdp(callee, bPort)));
  add(t0 + 1010, caller, 5060, PROXY, 5060, sip(`ACK sip:bob@${callee} SIP/2.0`, callId, '1 ACK', []));
  const start = t0 + 1020;
  const packets = Math.round((c.seconds * 1000) / 20);
  const stream = (src: string, sport: number, dst: string, dport: number, loss: number, jitter: number) => {
    const ssrc = Math.floor(random() * 0xffffffff);
    const seq0 = Math.floor(random() * 65536);
    const ts0 = Math.floor(random() * 0xffffffff);
    for (let i = 0; i < packets; i++) {
      if (loss > 0 && random() < loss) continue;
      add(start + i * 20 + random() * jitter, src, sport, dst, dport, rtpPacket(seq0 + i, ts0 + i * 160, ssrc, i === 0));
    }
  };
  stream(caller, aPort, callee, bPort, c.lossOut ?? 0, c.jitterOut ?? 0);
  if (!c.silentBack) stream(callee, bPort, caller, aPort, c.lossBack ?? 0, c.jitterBack ?? 0);
  const end = start + packets * 20 + 100;
  add(end, caller, 5060, PROXY, 5060, sip(`BYE sip:bob@${callee} SIP/2.0`, callId, '2 BYE', []));
  add(end + 20, PROXY, 5060, caller, 5060, sip('SIP/2.0 200 OK', callId, '2 BYE', []));
  return out;
}

/** A pcap of these calls (records in time order). */
export function mediaCapture(calls: readonly MediaCallSpec[], seed = 1): Buffer {
  const random = rng(seed);
  const records = calls.flatMap((c, n) => mediaCallRecords(n + 1, c, random));
  records.sort((a, b) => a.timeMs - b.timeMs);
  return writePcap(records, { linkType: 1 });
}
