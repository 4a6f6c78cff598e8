/**
 * Regression: FOR (the share of calls that took more than one attempt) was decided with the call's
 * final reply, so a failover whose second INVITE's HEP came after the 200 the platform relays to the
 * customer counted as no failover. Kamailio's siptrace sends the two from different processes: in
 * the routing closed loop (test/e2e/routing-kamailio.test.ts) FOR read 33 % for 3 failovers of 6
 * calls. FOR is now decided 2 s after the final reply (as a reply before its INVITE waits 2 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';

const PLATFORM = '10.0.0.1';
const CUSTOMER = '10.0.0.5';
const CARRIER_A = '192.0.2.1';
const CARRIER_B = '192.0.2.2';

const frame = (src: string, dst: string, t: number, lines: string[]) => encodeHep({ srcIp: src, dstIp: dst, srcPort: 5060, dstPort: 5060, timeMs: t, payload: Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`) });

test("a failover whose second INVITE is traced after the 200 relayed to the customer is a failover (FOR), and a call of one attempt is not", () => {
  let now = 1_796_000_000_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, {
    platform: [`${PLATFORM}/32`],
    carrier: { kind: 'cidr', map: { [`${CARRIER_A}/32`]: 'carrier_a', [`${CARRIER_B}/32`]: 'carrier_b' } },
    onPacketTime: (t) => (now = Math.max(now, t)),
  });
  const t = now;
  const head = (first: string, callId: string, branch: string, cseq: string, tag = '') => [first, `Via: SIP/2.0/UDP 10.0.0.9;branch=${branch}`, 'From: <sip:c@x>;tag=f1', `To: <sip:+442071234567@x>${tag}`, `Call-ID: ${callId}`, `CSeq: ${cseq}`];
  // call 1: carrier_a refuses, carrier_b answers; the INVITE to carrier_b is traced last
  pipe.onFrame(frame(CUSTOMER, PLATFORM, t, head(`INVITE sip:+442071234567@${PLATFORM} SIP/2.0`, 'fo@test', 'z9hG4bKc', '1 INVITE')));
  pipe.onFrame(frame(PLATFORM, CARRIER_A, t + 1, head(`INVITE sip:+442071234567@${CARRIER_A} SIP/2.0`, 'fo@test', 'z9hG4bKa', '1 INVITE')));
  pipe.onFrame(frame(CARRIER_A, PLATFORM, t + 10, head('SIP/2.0 503 Service Unavailable', 'fo@test', 'z9hG4bKa', '1 INVITE', ';tag=a')));
  pipe.onFrame(frame(CARRIER_B, PLATFORM, t + 40, head('SIP/2.0 200 OK', 'fo@test', 'z9hG4bKb', '1 INVITE', ';tag=b')));
  pipe.onFrame(frame(PLATFORM, CUSTOMER, t + 41, head('SIP/2.0 200 OK', 'fo@test', 'z9hG4bKc', '1 INVITE', ';tag=b')));
  pipe.onFrame(frame(PLATFORM, CARRIER_B, t + 20, head(`INVITE sip:+442071234567@${CARRIER_B} SIP/2.0`, 'fo@test', 'z9hG4bKb', '1 INVITE')));
  // call 2: one attempt
  pipe.onFrame(frame(CUSTOMER, PLATFORM, t + 100, head(`INVITE sip:+442071234567@${PLATFORM} SIP/2.0`, 'one@test', 'z9hG4bKd', '1 INVITE')));
  pipe.onFrame(frame(PLATFORM, CARRIER_B, t + 101, head(`INVITE sip:+442071234567@${CARRIER_B} SIP/2.0`, 'one@test', 'z9hG4bKe', '1 INVITE')));
  pipe.onFrame(frame(CARRIER_B, PLATFORM, t + 150, head('SIP/2.0 200 OK', 'one@test', 'z9hG4bKe', '1 INVITE', ';tag=e')));
  pipe.onFrame(frame(PLATFORM, CUSTOMER, t + 151, head('SIP/2.0 200 OK', 'one@test', 'z9hG4bKd', '1 INVITE', ';tag=e')));
  assert.equal(stats.getStat('sipstats:calls_failed_over'), 1);
  pipe.tick(t + 3000);
  assert.equal(stats.getStat('FOR'), 50, 'one of the two calls failed over');
  assert.equal(stats.getStat('ASR~carrier=carrier_b'), 100);
});
