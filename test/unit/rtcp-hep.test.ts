/**
 * RTCP reports over HEP (type 5) tied to their calls by the correlation id: the frames a real
 * rtpengine 10.5 sent (test/fixtures/rtpengine-10.5, see its README), with the call's SIP around
 * them; the reader of rtpengine/heplify JSON and of raw RTCP packets; bad reports counted, never thrown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { HEP_PROTO_TYPE_RTCP } from '../../src/protocol/hep/decode.ts';
import { rtcpFromJson, rtcpFromPacket, ReportedStream } from '../../src/media/rtcp-report.ts';
import { mos } from '../../src/media/emodel.ts';
import { invite, reply, request } from '../support/sip-builder.ts';

const FIX = new URL('../fixtures/rtpengine-10.5/', import.meta.url);
const frames = Array.from({ length: 6 }, (_, i) => readFileSync(new URL(`rtcp-${i}.hep`, FIX)));
const T = 1_796_614_182_000; // the recording's time (rtpengine's HEP timestamps)

function sipFrame(payload: Buffer, timeMs: number): Buffer {
  return encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.2', srcPort: 5060, dstPort: 5060, timeMs, payload });
}

function pipeline() {
  let now = T;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  return { stats, pipe, at: (t: number) => (now = t) };
}

test("rtpengine's RTCP over HEP: LOSS, JITTER, JITTER_max, MOS of the call its correlation id names, at the call's end", () => {
  const { stats, pipe } = pipeline();
  const leg = { callId: 'call-1@test', fromTag: 'ft', customer: 'acme' };
  pipe.onFrame(sipFrame(invite(leg, { branch: 'z9hG4bK-1' }), T));
  pipe.onFrame(sipFrame(reply(200, 'OK', leg, { branch: 'z9hG4bK-1', toTag: 'tt' }), T + 100));
  for (const f of frames) pipe.onFrame(f);
  // a report of a call nobody tracks, and one without a correlation id
  pipe.onFrame(encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: 1, dstPort: 2, timeMs: T + 5000, protoType: HEP_PROTO_TYPE_RTCP, correlationId: 'other-call', payload: '{"ssrc":1,"type":201,"report_blocks":[]}' }));
  pipe.onFrame(encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: 1, dstPort: 2, timeMs: T + 5000, protoType: HEP_PROTO_TYPE_RTCP, payload: '{"ssrc":1,"type":201,"report_blocks":[]}' }));
  const g = (n: string) => stats.getStat(n);
  assert.equal(g('sipstats:rtcp_reports'), 6);
  assert.equal(g('sipstats:rtcp_unmatched'), 1);
  assert.equal(g('sipstats:rtcp_uncorrelated'), 1);
  assert.equal(g('LOSSacme'), null, 'nothing until the call ends');
  pipe.onFrame(sipFrame(request('BYE', leg, { seq: 2, branch: 'z9hG4bK-bye', toTag: 'tt' }), T + 6000));
  assert.equal(g('LOSSacme'), null, 'the media waits for what the BYE transaction reports');
  pipe.onFrame(sipFrame(reply(200, 'OK', leg, { seq: 2, method: 'BYE', branch: 'z9hG4bK-bye', toTag: 'tt' }), T + 6010));
  // what the reports said: SSRC 0x2222 received 0x1111 with 5 lost (fraction 25/256 from the first
  // report), highest 49 → 149, jitter 40 units; 0x1111 received 0x2222 with none lost, jitter 8
  // units: 8 kHz (G.711, no SDP read on live HEP)
  const lostOf1111 = 5;
  const expected1111 = 100 + Math.round((5 * 256) / 25) - 0; // after the first report + the interval before it
  const expected2222 = 100; // (no loss in the first report: its interval is left out)
  assert.equal(g('LOSSacme'), Number(((100 * lostOf1111) / (Math.round(100 + (5 * 256) / 25) + expected2222)).toFixed(2)), `${expected1111}`);
  assert.equal(g('JITTERacme'), (40 / 8 + 8 / 8) / 2);
  assert.equal(g('JITTER_maxacme'), 5);
  const worst = mos('PCMA', (100 * 5) / Math.round(100 + (5 * 256) / 25), 5);
  assert.equal(g('MOSacme'), Number(worst.toFixed(2)));
  assert.equal(g('NOMEDIA'), null, 'one-way audio is not judged from reports without the SDP');
});

test('rtpengine/heplify JSON and raw RTCP: report blocks, signed cumulative loss, XR round trip; bad reports give a reason', () => {
  const j = rtcpFromJson('{"ssrc":4369,"type":200,"report_count":1,"report_blocks":[{"source_ssrc":8738,"highest_seq_no":70000,"fraction_lost":12,"ia_jitter":80,"packets_lost":3,"lsr":0,"dlsr":0}],"report_blocks_xr":{"round_trip_delay":120}}');
  assert.deepEqual(j, { reporter: 4369, blocks: [{ source: 8738, fraction: 12, lost: 3, extHigh: 70000, jitter: 80 }], rttMs: 120 });
  // an RR of two blocks, the second with a negative cumulative loss (duplicates)
  const rr = Buffer.alloc(8 + 48);
  rr[0] = 0x82;
  rr[1] = 201;
  rr.writeUInt16BE(13, 2);
  rr.writeUInt32BE(0xaaaa, 4);
  rr.writeUInt32BE(0x1111, 8);
  rr[12] = 64;
  rr.writeUIntBE(7, 13, 3);
  rr.writeUInt32BE(0x10005, 16);
  rr.writeUInt32BE(160, 20);
  rr.writeUInt32BE(0x2222, 32);
  rr.writeUIntBE(0xfffffe, 37, 3);
  assert.deepEqual(rtcpFromPacket(rr), {
    reporter: 0xaaaa,
    blocks: [
      { source: 0x1111, fraction: 64, lost: 7, extHigh: 0x10005, jitter: 160 },
      { source: 0x2222, fraction: 0, lost: -2, extHigh: 0, jitter: 0 },
    ],
    rttMs: undefined,
  });
  for (const bad of ['', 'nope', '[]', '{"type":201}', '{"ssrc":1,"report_blocks":{}}', '{"ssrc":1,"report_blocks":[{"source_ssrc":2}]}']) assert.equal(typeof rtcpFromJson(bad), 'string', bad);
  assert.equal(typeof rtcpFromPacket(Buffer.from([0x81, 201, 0, 9, 0, 0, 0, 1])), 'string', 'longer than the datagram');
  // the reports of a stream add up across sequence wrap (extended numbers)
  const s = new ReportedStream(1, 2);
  s.add({ source: 2, fraction: 0, lost: 0, extHigh: 65500, jitter: 0 }, 1, undefined);
  s.add({ source: 2, fraction: 0, lost: 4, extHigh: 65536 + 100, jitter: 0 }, 3, undefined);
  assert.equal(s.expected, 136);
  assert.equal(s.lost, 4);
  assert.equal(s.meanJitter, 2);
  assert.equal(s.maxJitter, 3);
});

test('fuzz: any HEP type-5 payload is read or counted as rtcp_decode_errors; the pipeline never throws and keeps its statistics', () => {
  const { stats, pipe } = pipeline();
  const leg = { callId: 'fuzz@test', fromTag: 'ft' };
  pipe.onFrame(sipFrame(invite(leg, { branch: 'z9hG4bK-f' }), T));
  pipe.onFrame(sipFrame(reply(200, 'OK', leg, { branch: 'z9hG4bK-f', toTag: 'tt' }), T + 10));
  let sent = 0;
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.string({ maxLength: 200 }).map((s) => Buffer.from(s))), (payload) => {
      if (payload.length === 0) return;
      pipe.onFrame(encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: 1, dstPort: 2, timeMs: T + 20, protoType: HEP_PROTO_TYPE_RTCP, correlationId: 'fuzz@test', payload: Buffer.from(payload) }));
      sent++;
    }),
    { numRuns: 1000 },
  );
  const g = (n: string) => stats.getStat(n) ?? 0;
  assert.equal(g('sipstats:rtcp_reports') + g('sipstats:rtcp_decode_errors'), sent, 'every report read or counted');
  assert.equal(g('sipstats:calls_started'), 1);
  assert.equal(g('ASR'), 100, 'what was recorded stays');
});
