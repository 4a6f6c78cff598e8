/**
 * A BYE captured before the call's 200 OK (the two crossed on their way to the capture point) was
 * remembered as a request seen and then forgotten as far as the call went: the 200 answered the call,
 * the BYE's retransmissions were duplicates of a request already seen, and the call stayed up (CC)
 * with no ACD until the 4-hour idle limit. The call now ends as it is answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

test('a BYE seen before the 200 ends the call when the 200 arrives (ACD counted, nothing left up)', () => {
  const T0 = 1_795_508_400_000;
  let now = T0;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  const send = (b: Buffer, t: number) => pipe.onSip(b, { timeMs: t, srcIp: '127.0.0.1' });
  const l = { callId: 'crossed@test', fromTag: 'f', customer: 'acme' };
  const br = newBranch();
  send(invite(l, { branch: br }), T0);
  send(request('BYE', l, { seq: 2, toTag: 't' }), T0 + 3000);
  send(reply(200, 'OK', l, { branch: br, toTag: 't' }), T0 + 3001);
  send(request('BYE', l, { seq: 2, toTag: 't' }), T0 + 3500); // its retransmission
  assert.equal(stats.getStat('ASRacme'), 100);
  assert.equal(stats.getStat('ACDacme'), 3, 'ended at the 200, 3 s after the INVITE');
  for (let t = T0 + 4000; t <= T0 + 60_000; t += 1000) pipe.tick(t);
  assert.equal(stats.getStat('sipstats:calls_tracked'), 0);
  assert.equal(stats.getStat('sipstats:calls_unended'), null);
});
