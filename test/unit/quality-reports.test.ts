/**
 * Quality reports endpoints write themselves: quality headers in a BYE or its 200, and RFC 6035
 * session reports (SIP PUBLISH application/vq-rtcpxr, HEP type 35). Header samples are the ones
 * vendors document as their devices' output:
 *  - AudioCodes (Mediant/MediaPack SIP User's Manual, version 6.2, parameter QoSStatistics: the
 *    X-RTP-Stat of a BYE): `PS=207;OS=49680;;PR=314;OR=50240;PL=0;JI=600;LA=40;`
 *  - Poly ATA 400 series admin guide ("X-RTP-Stat"): `PS=1234,OS=34560,PR=1236,OR=24720,JI=1,DU=1230,PL=0,EN=G711U,DE=G711U,MOS=4.0`
 *  - TelcoBridges wiki ("Custom SIP BYE headers format A"): P-RTP-Stat as `PS=.., PR=.., OR=.., PL=.., JI=.., DU=..`
 *  - Siemens (OpenScape, X-Siemens-RTP-stats): `;`-separated with IPL, PTL, EN, DE, PR, JI, LA, PL...
 * The RFC 6035 report below follows the layout of RFC 6035 section 4 (values are this test's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nativeIndexer } from '../../src/ingest/load-native-index.ts';
import { QUALITY_HEADERS, qualityFromHeader, rtpAgentFromJson, vqFromText } from '../../src/media/quality-reports.ts';
import { mos } from '../../src/media/emodel.ts';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { HEP_PROTO_TYPE_RTP_AGENT, HEP_PROTO_TYPE_VQ } from '../../src/protocol/hep/decode.ts';
import { invite, reply, request } from '../support/sip-builder.ts';

const AUDIOCODES = 'PS=207;OS=49680;;PR=314;OR=50240;PL=0;JI=600;LA=40;';
const POLY = 'PS=1234,OS=34560,PR=1236,OR=24720,JI=1,DU=1230,PL=0,EN=G711U,DE=G711U,MOS=4.0';
const TELCOBRIDGES = 'PS=1500, PR=1480, OR=236800, PL=20, JI=12, DU=30';
const SIEMENS = 'TB=2024-01-01T10:00:00Z;TE=2024-01-01T10:01:00Z;IPL=10.0.0.5;PTL=5004;IPR=10.0.0.9;PTR=5006;EN=G729;DE=G729;PR=2990;JI=8;LA=30;PL=10;PD=0;PS=3000;OS=60000;OR=59800';

const VQ = (callId: string, nlr = '2.5', extra = 'QualityEst: RLQ=80 RCQ=78 MOSLQ=3.9 MOSCQ=3.8') =>
  [
    'VQSessionReport: CallTerm',
    `CallID: ${callId}`,
    'LocalID: <sip:alice@example.org>',
    'RemoteID: <sip:bob@example.net>',
    'LocalAddr: IP=192.0.2.10 PORT=4000 SSRC=0x1a2b',
    'RemoteAddr: IP=198.51.100.7 PORT=6000 SSRC=0x3c4d',
    'LocalMetrics:',
    'Timestamps: START=2026-12-01T10:00:00Z STOP=2026-12-01T10:01:00Z',
    'SessionDesc: PT=18 PD=G729 SR=8000 FD=20 PPS=50 PLC=3 SSUP=off',
    'JitterBuffer: JBA=3 JBR=2 JBN=40 JBM=80 JBX=120',
    `PacketLoss: NLR=${nlr} JDR=1.0`,
    'Delay: RTD=120 ESD=40 IAJ=6 MAJ=5',
    extra,
    'RemoteMetrics:',
    'PacketLoss: NLR=9.0 JDR=0.0',
    '',
  ].join('\r\n');

test('quality headers of real devices: received, lost, jitter, latency, their own MOS and codec', () => {
  assert.deepEqual(qualityFromHeader(AUDIOCODES), { expected: 314, lost: 0, jitterMs: 600, delayMs: 40, mos: undefined, codec: undefined });
  assert.deepEqual(qualityFromHeader(POLY), { expected: 1236, lost: 0, jitterMs: 1, delayMs: 0, mos: 4, codec: 'PCMU' });
  assert.deepEqual(qualityFromHeader(TELCOBRIDGES), { expected: 1500, lost: 20, jitterMs: 12, delayMs: 0, mos: undefined, codec: undefined });
  assert.deepEqual(qualityFromHeader(SIEMENS), { expected: 3000, lost: 10, jitterMs: 8, delayMs: 30, mos: undefined, codec: 'G729' });
  assert.equal(typeof qualityFromHeader('PS=10;OS=20'), 'string', 'no PR=');
  assert.equal(typeof qualityFromHeader(''), 'string');
});

test('RFC 6035 session report: its LocalMetrics (loss of PPS × duration, IAJ, half the RTD, MOSCQ), not the remote ones', () => {
  const r = vqFromText(VQ('abc@host'));
  assert.deepEqual(r, { callId: 'abc@host', figures: { expected: 3000, lost: 75, jitterMs: 6, delayMs: 60, mos: 3.8, codec: 'G729' } });
  assert.equal(typeof vqFromText('VQSessionReport: CallTerm\r\nLocalMetrics:\r\nPacketLoss: NLR=1'), 'string', 'no CallID');
  assert.equal(typeof vqFromText('CallID: x\r\nPacketLoss: NLR=1'), 'string', 'no LocalMetrics');
  assert.equal(typeof vqFromText('CallID: x\r\nLocalMetrics:\r\nDelay: RTD=1'), 'string', 'no NLR');
});

const T = 1_796_000_000_000;
const frame = (payload: Buffer | string, timeMs: number, protoType?: number) => encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.2', srcPort: 5060, dstPort: 5060, timeMs, payload, ...(protoType !== undefined ? { protoType } : {}) });

function call(pipe: SipPipeline, callId: string, customer: string, t: number, bye: { byeHeader?: string; okHeader?: string; name?: string }) {
  const leg = { callId, fromTag: 'f', customer };
  pipe.onFrame(frame(invite(leg, { branch: `z9hG4bK-${callId}` }), t));
  pipe.onFrame(frame(reply(200, 'OK', leg, { branch: `z9hG4bK-${callId}`, toTag: 't' }), t + 100));
  const withHeader = (b: Buffer, h: string | undefined) => (h === undefined ? b : Buffer.from(b.toString().replace('Content-Length: 0', `${bye.name ?? 'X-RTP-Stat'}: ${h}\r\nContent-Length: 0`)));
  pipe.onFrame(frame(withHeader(request('BYE', leg, { seq: 2, branch: `z9hG4bK-b${callId}`, toTag: 't' }), bye.byeHeader), t + 60_000));
  pipe.onFrame(frame(withHeader(reply(200, 'OK', leg, { seq: 2, method: 'BYE', branch: `z9hG4bK-b${callId}`, toTag: 't' }), bye.okHeader), t + 60_010));
}

test('a call with X-RTP-Stat in its BYE and in the 200: both streams count, a MOS the device computed is kept as reported', () => {
  let now = T;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  call(pipe, 'q1@test', 'poly', T, { byeHeader: POLY, okHeader: TELCOBRIDGES });
  const g = (n: string) => stats.getStat(n);
  assert.equal(g('LOSSpoly'), Number(((100 * 20) / (1236 + 1500)).toFixed(2)));
  assert.equal(g('JITTERpoly'), (1 + 12) / 2);
  assert.equal(g('JITTER_maxpoly'), 12);
  // the call's worst stream: Poly's own 4.0, or the E-model of the TelcoBridges stream
  const eModel = mos(undefined, (100 * 20) / 1500, 12);
  assert.equal(g('MOSpoly'), Number(Math.min(4, eModel).toFixed(2)));
  assert.equal(g('sipstats:mos_reported'), eModel < 4 ? null : 1);
  assert.equal(g('sipstats:quality_reports'), 2);
});

test('every quality header name, in any case, is read (the cheap test before them skips none), by the JavaScript parser and the native frame indexer', () => {
  let n = 0;
  const native = nativeIndexer();
  assert.ok(native.indexer !== null, native.why);
  for (const indexer of [null, native.indexer])
    for (const name of QUALITY_HEADERS)
      for (const spelt of [name, name.toLowerCase(), name.toUpperCase()]) {
        let now = T;
        const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
        const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)), indexer });
        call(pipe, `case${++n}@test`, 'poly', T, { byeHeader: POLY, name: spelt });
        assert.equal(stats.getStat('sipstats:quality_reports'), 1, `${spelt} (${indexer === null ? 'JavaScript' : 'native'})`);
        assert.equal(stats.getStat('JITTERpoly'), 1, spelt);
      }
});

test('RFC 6035 reports: over HEP type 35 during the call, and a PUBLISH after it (too late for the MOS: its stream still counts)', () => {
  let now = T;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  const g = (n: string) => stats.getStat(n);
  // during the call, as HEP type 35
  const leg = { callId: 'vq1@test', fromTag: 'f', customer: 'vq' };
  pipe.onFrame(frame(invite(leg, { branch: 'z9hG4bK-vq1' }), T));
  pipe.onFrame(frame(reply(200, 'OK', leg, { branch: 'z9hG4bK-vq1', toTag: 't' }), T + 100));
  pipe.onFrame(frame(VQ('vq1@test'), T + 30_000, HEP_PROTO_TYPE_VQ));
  pipe.onFrame(frame(request('BYE', leg, { seq: 2, branch: 'z9hG4bK-bvq1', toTag: 't' }), T + 60_000));
  pipe.onFrame(frame(reply(200, 'OK', leg, { seq: 2, method: 'BYE', branch: 'z9hG4bK-bvq1', toTag: 't' }), T + 60_010));
  assert.equal(g('LOSSvq'), 2.5);
  assert.equal(g('MOSvq'), 3.8);
  assert.equal(g('sipstats:mos_reported'), 1);
  // a second call whose report is published after its BYE transaction: LOSS counts, MOS does not
  call(pipe, 'vq2@test', 'late', T + 1000, {});
  const publish = Buffer.from(['PUBLISH sip:collector@example.net SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-pub', 'From: <sip:alice@example.org>;tag=p', 'To: <sip:collector@example.net>', 'Call-ID: publish-1@test', 'CSeq: 1 PUBLISH', 'Event: vq-rtcpxr', 'Content-Type: application/vq-rtcpxr', `Content-Length: ${Buffer.byteLength(VQ('vq2@test', '10.0'))}`, '', VQ('vq2@test', '10.0')].join('\r\n'));
  pipe.onFrame(frame(publish, T + 61_500));
  assert.equal(g('LOSSlate'), 10);
  assert.equal(g('MOSlate'), null);
  // a report of no call, and an unreadable one
  pipe.onFrame(frame(VQ('nobody@test'), T + 62_000, HEP_PROTO_TYPE_VQ));
  pipe.onFrame(frame('not a report', T + 62_000, HEP_PROTO_TYPE_VQ));
  assert.equal(g('sipstats:quality_reports_unmatched'), 1);
  assert.equal(g('sipstats:quality_report_errors'), 1);
});

/** An RTP agent's report (HEP type 34) as HEPIC's rtpagent writes one (field names and layout; values ours). */
const AGENT = (callId: string, type: 'FINAL' | 'PERIODIC', o: { expected: number; lost: number; jitter: number; mos: number; dir: number }) =>
  JSON.stringify({
    CORRELATION_ID: callId,
    RTP_SIP_CALL_ID: callId,
    DELTA: 19.98,
    JITTER: o.jitter + 1,
    REPORT_TS: 1796000000.5,
    TL_BYTE: 0,
    SKEW: 0,
    TOTAL_PK: o.expected - o.lost,
    EXPECTED_PK: o.expected,
    PACKET_LOSS: o.lost,
    SEQ: 0,
    MAX_JITTER: o.jitter * 2,
    MAX_DELTA: 20.02,
    MAX_SKEW: 0.17,
    MEAN_JITTER: o.jitter,
    MIN_MOS: o.mos - 0.1,
    MEAN_MOS: o.mos,
    MOS: o.mos + 0.05,
    RFACTOR: 80.2,
    SRC_IP: '192.0.2.10',
    SRC_PORT: 26872,
    DST_IP: '198.51.100.7',
    DST_PORT: 51354,
    OUT_ORDER: 0,
    SSRC_CHG: 0,
    CODEC_PT: 8,
    CLOCK: 8000,
    CODEC_NAME: 'PCMA',
    DIR: o.dir,
    REPORT_NAME: '192.0.2.10:26872',
    PARTY: o.dir,
    TYPE: type,
  });

test('RTP agent reports (HEP type 34): the final report of each stream counts (packets, mean jitter, the MOS as reported); interim ones are counted apart', () => {
  const r = rtpAgentFromJson(AGENT('a1@test', 'FINAL', { expected: 1500, lost: 30, jitter: 4.5, mos: 4.1, dir: 0 }));
  assert.deepEqual(r, { callId: 'a1@test', final: true, figures: { expected: 1500, lost: 30, jitterMs: 4.5, delayMs: 0, mos: 4.1, codec: 'PCMA' } });
  // without EXPECTED_PK: received + lost
  const { EXPECTED_PK: _, ...noExpected } = JSON.parse(AGENT('a1@test', 'FINAL', { expected: 100, lost: 4, jitter: 1, mos: 4, dir: 0 })) as Record<string, unknown>;
  assert.equal((rtpAgentFromJson(JSON.stringify(noExpected)) as { figures: { expected: number } }).figures.expected, 100);

  let now = T;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  const g = (n: string) => stats.getStat(n);
  const agent = (json: string, t: number, correlationId?: string) =>
    pipe.onFrame(encodeHep({ srcIp: '192.0.2.10', dstIp: '198.51.100.7', srcPort: 26872, dstPort: 51354, timeMs: t, payload: json, protoType: HEP_PROTO_TYPE_RTP_AGENT, ...(correlationId !== undefined ? { correlationId } : {}) }));
  const leg = { callId: 'agent1@test', fromTag: 'f', customer: 'fs' };
  pipe.onFrame(frame(invite(leg, { branch: 'z9hG4bK-ag1' }), T));
  pipe.onFrame(frame(reply(200, 'OK', leg, { branch: 'z9hG4bK-ag1', toTag: 't' }), T + 100));
  agent(AGENT('agent1@test', 'PERIODIC', { expected: 500, lost: 0, jitter: 1, mos: 4.4, dir: 0 }), T + 10_000, 'agent1@test');
  // the two directions' final reports: one tied by the HEP correlation id, one by the Call-ID it names
  agent(AGENT('agent1@test', 'FINAL', { expected: 1500, lost: 30, jitter: 4, mos: 4.1, dir: 0 }), T + 30_000, 'agent1@test');
  agent(AGENT('agent1@test', 'FINAL', { expected: 1500, lost: 0, jitter: 2, mos: 4.3, dir: 1 }), T + 30_001);
  pipe.onFrame(frame(request('BYE', leg, { seq: 2, branch: 'z9hG4bK-bag1', toTag: 't' }), T + 30_100));
  pipe.onFrame(frame(reply(200, 'OK', leg, { seq: 2, method: 'BYE', branch: 'z9hG4bK-bag1', toTag: 't' }), T + 30_110));
  assert.equal(g('LOSSfs'), 1, '30 lost of 3000 expected');
  assert.equal(g('JITTERfs'), 3);
  assert.equal(g('JITTER_maxfs'), 4);
  assert.equal(g('MOSfs'), 4.1, "the call's worst stream, as the agent reported it");
  assert.equal(g('sipstats:mos_reported'), 1);
  assert.equal(g('sipstats:quality_reports'), 2);
  assert.equal(g('sipstats:rtp_agent_interim'), 1);
  // bad ones: counted with a reason, the figures kept
  for (const bad of ['not json', '[1,2]', '{"TYPE":"FINAL"}', '{"EXPECTED_PK":-3,"TYPE":"FINAL"}', '{"EXPECTED_PK":10,"MEAN_JITTER":-1,"TYPE":"FINAL"}']) {
    assert.equal(typeof rtpAgentFromJson(bad), 'string', bad);
    agent(bad, T + 31_000, 'agent1@test');
  }
  assert.equal(g('sipstats:quality_report_errors'), 5);
  agent(AGENT('nobody@test', 'FINAL', { expected: 10, lost: 0, jitter: 1, mos: 4, dir: 0 }), T + 31_000, 'nobody@test');
  assert.equal(g('sipstats:quality_reports_unmatched'), 1);
  assert.equal(g('LOSSfs'), 1);
  assert.equal(g('MOSfs'), 4.1);
});

test('fuzz: any quality header or report text is read or refused with a reason, never thrown', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      const a = qualityFromHeader(s);
      const b = vqFromText(s);
      const c = rtpAgentFromJson(s);
      assert.ok(typeof a === 'string' || (a.expected >= a.lost && a.lost >= 0));
      assert.ok(typeof b === 'string' || (b.figures.expected >= b.figures.lost && b.callId !== ''));
      assert.ok(typeof c === 'string' || (c.figures.expected >= c.figures.lost && c.figures.jitterMs >= 0));
    }),
    { numRuns: 3000 },
  );
  // JSON objects of the report's fields with any values
  const field = fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.boolean());
  fc.assert(
    fc.property(fc.record({ EXPECTED_PK: field, TOTAL_PK: field, PACKET_LOSS: field, MEAN_JITTER: field, JITTER: field, MEAN_MOS: field, MOS: field, CODEC_NAME: field, CODEC_PT: field, TYPE: field, RTP_SIP_CALL_ID: field }, { requiredKeys: [] }), (o) => {
      const c = rtpAgentFromJson(JSON.stringify(o));
      assert.ok(typeof c === 'string' || (Number.isInteger(c.figures.expected) && c.figures.expected >= c.figures.lost && c.figures.jitterMs >= 0 && (c.figures.mos === undefined || (c.figures.mos >= 1 && c.figures.mos <= 5))));
    }),
    { numRuns: 2000 },
  );
});
