/**
 * HEP3 decode and SIP parse, against hep-js (`decapsulate`), the decoder a Node user would pick.
 *
 * Workload: 10 002 HEP3 frames (IPv4/UDP) of realistic SIP — 1 667 calls of INVITE (SDP), 100, 180,
 * 200 (SDP), ACK, BYE, with the usual headers — encoded by our encoder. Contenders run in
 * alternating order, round after round, after a warm-up; figures are medians (bench/lib.ts).
 *   (a) decodeHep only
 *   (b) decodeHep + parseSip reading Call-ID, CSeq, To-tag, method/status, and X-Customer on initial
 *       INVITEs (what the KPI tracker reads)
 *   (b') as (b) but X-Customer looked up on every message (worst case)
 *   (b'') as (b), through the native frame indexer (native/sip-index.c), as `sipstats serve` reads
 *       frames (the JavaScript path for the frames it declines)
 *   (c) hep-js decapsulate only
 * It also records, as facts for the docs, whether hep-js keeps UTF-8 payloads and IPv6 addresses.
 */
// @ts-expect-error hep-js ships no type declarations
import hepjsModule from 'hep-js';
import { decodeHep, type HepPacket } from '../src/protocol/hep/decode.ts';
import { encodeHep } from '../src/protocol/hep/encode.ts';
import { headerName, parseSip, sipFromIndex } from '../src/protocol/sip/parse.ts';
import { hepFromIndex } from '../src/protocol/hep/decode.ts';
import { IX } from '../src/protocol/native-index.ts';
import type { BenchResult } from './lib.ts';
import { compare, host, INDEXER, INDEXER_WHY, printResults } from './lib.ts';

interface HepJsDecoded {
  rcinfo?: { srcIp?: string; dstIp?: string; srcPort?: number; timeSeconds?: number };
  payload?: string;
}
interface HepJs {
  decapsulate(frame: Buffer): HepJsDecoded | false | undefined;
  encapsulate(payload: string, rcinfo: Record<string, unknown>): Buffer;
}
const hepjs = hepjsModule as HepJs;

const CALLS = 1667;
const SDP =
  'v=0\r\no=- 3894567123 3894567123 IN IP4 10.20.30.40\r\ns=-\r\nc=IN IP4 10.20.30.40\r\nt=0 0\r\n' +
  'm=audio 16384 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n' +
  'a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n';

function sipMessages(i: number): string[] {
  const callId = `${(0x5f3a9c00 + i * 7919).toString(16)}-${i}@10.20.30.40`;
  const from = `"Caller ${i}" <sip:+3120555${String(i).padStart(4, '0')}@carrier.example.net>;tag=${(i * 2654435761) >>> 0}`;
  const toUri = `<sip:+4930777${String(i % 9973).padStart(4, '0')}@pbx.example.com>`;
  const toTag = `;tag=as${(i * 40503).toString(16)}`;
  const via1 = `Via: SIP/2.0/UDP 10.20.30.40:5060;branch=z9hG4bK${(i * 31).toString(36)}a;rport`;
  const via2 = `Via: SIP/2.0/UDP 192.0.2.10:5060;received=192.0.2.10;branch=z9hG4bK${(i * 17).toString(36)}b`;
  const common = (cseq: string, to: string) => [`From: ${from}`, `To: ${toUri}${to}`, `Call-ID: ${callId}`, `CSeq: ${cseq}`];
  const body = (text: string) => [`Content-Type: application/sdp`, `Content-Length: ${Buffer.byteLength(text)}`, '', text];
  const empty = ['Content-Length: 0', '', ''];
  const msg = (lines: string[]) => lines.join('\r\n');
  const ua = 'User-Agent: Acme-SBC/4.2.1';
  const allow = 'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, UPDATE, PRACK';
  return [
    msg([`INVITE sip:+4930777${String(i % 9973).padStart(4, '0')}@pbx.example.com SIP/2.0`, via1, via2, 'Max-Forwards: 69', ...common('1 INVITE', ''), 'Contact: <sip:caller@10.20.30.40:5060>', `X-Customer: cust${i % 50}`, ua, allow, 'Supported: replaces, timer', 'Session-Expires: 1800', ...body(SDP)]),
    msg(['SIP/2.0 100 Trying', via1, via2, ...common('1 INVITE', ''), ...empty]),
    msg(['SIP/2.0 180 Ringing', via1, via2, ...common('1 INVITE', toTag), 'Contact: <sip:pbx@203.0.113.5:5060>', ...empty]),
    msg(['SIP/2.0 200 OK', via1, via2, ...common('1 INVITE', toTag), 'Contact: <sip:pbx@203.0.113.5:5060>', allow, 'Supported: replaces', ...body(SDP)]),
    msg(['ACK sip:pbx@203.0.113.5:5060 SIP/2.0', via1.replace('a;rport', 'c;rport'), 'Max-Forwards: 70', ...common('1 ACK', toTag), ...empty]),
    msg(['BYE sip:pbx@203.0.113.5:5060 SIP/2.0', via1.replace('a;rport', 'd;rport'), 'Max-Forwards: 70', ...common('2 BYE', toTag), 'Reason: Q.850;cause=16;text="Normal call clearing"', ...empty]),
  ];
}

function workload(): Buffer[] {
  const frames: Buffer[] = [];
  let t = 1_760_000_000_000;
  for (let i = 0; i < CALLS; i++) {
    for (const m of sipMessages(i)) {
      t += 3.217;
      frames.push(
        encodeHep({ srcIp: `10.20.${i & 255}.${(i >> 8) & 255}`, dstIp: '203.0.113.5', srcPort: 5060, dstPort: 5060, timeMs: t, captureId: 2001, nodeName: 'sbc-ams-1', authKey: 'myHep', payload: m }),
      );
    }
  }
  return frames;
}

const X_CUSTOMER = headerName('X-Customer');

/** Facts about hep-js for the docs, found by decoding frames of ours and encoding with it. */
function hepjsFacts(): { utf8Decode: boolean; utf8Encode: boolean; ipv6: boolean } {
  const text = 'MESSAGE sip:x@y SIP/2.0\r\nFrom: "Zoë Ñandú 日本" <sip:z@y>;tag=1\r\nContent-Length: 0\r\n\r\n';
  const frame = encodeHep({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5060, dstPort: 5060, payload: text });
  const d = hepjs.decapsulate(frame);
  const utf8Decode = !!d && d.payload === text;
  const theirs = hepjs.encapsulate(text, { protocolFamily: 2, protocol: 17, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5060, dstPort: 5060, timeSeconds: 1, timeUseconds: 0, payloadType: 1, captureId: 1 });
  const back = decodeHep(theirs);
  const utf8Encode = back.ok && back.value.payload.toString('utf8') === text;
  const v6 = hepjs.decapsulate(encodeHep({ srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 5060, dstPort: 5060, payload: text }));
  const ipv6 = !!v6 && v6.rcinfo?.srcIp === '2001:db8::1' && v6.rcinfo?.dstIp === '2001:db8::2';
  return { utf8Decode, utf8Encode, ipv6 };
}

export async function run(): Promise<BenchResult[]> {
  const frames = workload();
  const n = frames.length;
  let sink = 0;

  const ours = (): void => {
    for (let i = 0; i < n; i++) {
      const r = decodeHep(frames[i]);
      if (r.ok) sink += r.value.srcPort;
    }
  };
  const parse = (p: HepPacket, everyCustomer: boolean): void => {
    const s = parseSip(p.payload);
    if (!s.ok) return;
    const m = s.value;
    const id = m.callId;
    const cseq = m.cseq;
    const tag = m.toTag;
    sink += (id?.length ?? 0) + (cseq?.seq ?? 0) + (tag === null ? 1 : 2) + m.status + (m.method?.length ?? 0);
    if (everyCustomer || (m.method === 'INVITE' && tag === null)) sink += m.header(X_CUSTOMER)?.length ?? 0;
  };
  const oursParse = (): void => {
    for (let i = 0; i < n; i++) {
      const r = decodeHep(frames[i]);
      if (r.ok) parse(r.value, false);
    }
  };
  const oursParseAll = (): void => {
    for (let i = 0; i < n; i++) {
      const r = decodeHep(frames[i]);
      if (r.ok) parse(r.value, true);
    }
  };
  // (b) through the native frame indexer, as `sipstats serve` reads frames (the JS path for those it declines)
  const indexed = (): void => {
    for (let i = 0; i < n; i++) {
      const f = frames[i];
      if (INDEXER!.indexFrame(f)) {
        const p = hepFromIndex(f, IX);
        const m = sipFromIndex(f, IX);
        const id = m.callId;
        const cseq = m.cseq;
        const tag = m.toTag;
        sink += p.srcPort + (id?.length ?? 0) + (cseq?.seq ?? 0) + (tag === null ? 1 : 2) + m.status + (m.method?.length ?? 0);
        if (m.method === 'INVITE' && tag === null) sink += m.header(X_CUSTOMER)?.length ?? 0;
      } else {
        const r = decodeHep(f);
        if (r.ok) parse(r.value, false);
      }
    }
  };
  const theirs = (): void => {
    for (let i = 0; i < n; i++) {
      const r = hepjs.decapsulate(frames[i]);
      if (r) sink += r.rcinfo?.srcPort ?? 0;
    }
  };

  const rates = compare({ ours, oursParse, oursParseAll, ...(INDEXER === null ? {} : { indexed }), theirs }, n, 9);
  const facts = hepjsFacts();
  if (sink === 0) console.error('(sink)');
  const ratio = (x: number) => `${(x / rates.theirs).toFixed(1)}x hep-js`;
  return [
    { name: 'HEP3 decode (decodeHep)', value: rates.ours, unit: 'msg/s', note: ratio(rates.ours) },
    { name: 'HEP3 decode + SIP parse (Call-ID, CSeq, To-tag, method/status, X-Customer on initial INVITE)', value: rates.oursParse, unit: 'msg/s', note: ratio(rates.oursParse) },
    { name: 'same, X-Customer looked up on every message', value: rates.oursParseAll, unit: 'msg/s', note: ratio(rates.oursParseAll) },
    INDEXER === null
      ? { name: 'decode + parse as (b), through the native frame indexer', value: 0, unit: 'msg/s', note: `not measured: ${INDEXER_WHY}` }
      : { name: 'decode + parse as (b), through the native frame indexer', value: rates.indexed, unit: 'msg/s', note: `${ratio(rates.indexed)}; ${(rates.indexed / rates.oursParse).toFixed(1)}x the JavaScript decoder and parser` },
    { name: 'hep-js decapsulate', value: rates.theirs, unit: 'msg/s', note: `median of 9 alternating rounds over ${n} frames; ${host()}` },
    { name: 'hep-js decapsulate keeps a UTF-8 payload', value: facts.utf8Decode ? 1 : 0, unit: 'bool', note: 'decodes the payload chunk to a string with toString(): same text as ours' },
    { name: 'hep-js encapsulate keeps a UTF-8 payload', value: facts.utf8Encode ? 1 : 0, unit: 'bool', note: 'sizes the payload chunk by string length, not byte length' },
    { name: 'hep-js decapsulate reads IPv6 addresses', value: facts.ipv6 ? 1 : 0, unit: 'bool', note: 'chunks 0x0005/0x0006 are not decoded; ours gives RFC 5952 text' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResults('HEP3 decode + SIP parse vs hep-js', await run());
}
