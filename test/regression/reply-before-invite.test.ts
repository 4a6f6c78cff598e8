/**
 * Regression: a carrier's immediate final reply whose HEP arrives before the HEP of the INVITE it
 * answers (Kamailio's siptrace traces an outgoing INVITE from one process and the incoming 503 from
 * another: seen in the routing closed loop, test/e2e/routing-kamailio.test.ts, where carrier_a had 3
 * ASR samples for 5 attempts and the proxy kept trying it) was dropped: the attempt stayed pending
 * until its INVITE timeout, so the carrier's ASR missed its failures. The reply is now kept 2 s for
 * its INVITE and applied then.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';

const PLATFORM = '10.0.0.1';
const CUSTOMER = '10.0.0.5';
const CARRIER = '192.0.2.1';

const frame = (src: string, dst: string, t: number, lines: string[]) => encodeHep({ srcIp: src, dstIp: dst, srcPort: 5060, dstPort: 5060, timeMs: t, payload: Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`) });

test("a carrier's 503 delivered before the platform's INVITE to it still counts for the carrier (and the INVITE's late HEP starts nothing twice)", () => {
  let now = 1_796_000_000_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, {
    platform: [`${PLATFORM}/32`],
    carrier: { kind: 'cidr', map: { [`${CARRIER}/32`]: 'carrier_a' } },
    onPacketTime: (t) => (now = Math.max(now, t)),
  });
  const t = now;
  const head = (first: string, branch: string, cseq: string, tag = '') => [first, `Via: SIP/2.0/UDP 10.0.0.9;branch=${branch}`, 'From: <sip:c@x>;tag=f1', `To: <sip:+442071234567@x>${tag}`, 'Call-ID: early@test', `CSeq: ${cseq}`];
  pipe.onFrame(frame(CUSTOMER, PLATFORM, t, head(`INVITE sip:+442071234567@${PLATFORM} SIP/2.0`, 'z9hG4bKc', '1 INVITE')));
  // the carrier's reply, delivered first; then the platform's INVITE to it (captured 1 ms before the reply)
  pipe.onFrame(frame(CARRIER, PLATFORM, t + 6, head('SIP/2.0 503 Service Unavailable', 'z9hG4bKa', '1 INVITE', ';tag=a')));
  pipe.onFrame(frame(PLATFORM, CARRIER, t + 5, head(`INVITE sip:+442071234567@${CARRIER} SIP/2.0`, 'z9hG4bKa', '1 INVITE')));
  assert.equal(stats.getStat('ASR~carrier=carrier_a'), 0, 'the 503 decided the attempt');
  assert.equal(stats.getStat('sipstats:replies_before_invite'), 1);
  assert.equal(stats.getStat('sipstats:attempts_started'), 1);
  assert.equal(stats.getStat('CC_early~carrier=carrier_a'), 0, 'nothing left ringing');
  // a reply whose INVITE never comes is counted, after 2 s, as unmatched
  pipe.onFrame(frame(CARRIER, PLATFORM, t + 10, head('SIP/2.0 486 Busy Here', 'z9hG4bKnever', '1 INVITE', ';tag=b')));
  pipe.tick(t + 3000);
  assert.equal(stats.getStat('sipstats:replies_unmatched'), 1);
});
