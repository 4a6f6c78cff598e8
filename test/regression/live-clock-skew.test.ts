import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

/**
 * A live server ticks on its own clock while packets carry the capture agent's. An agent 8 hours
 * behind (a time zone taken for UTC, a capture replayed with its old timestamps) made every pending
 * call time out at the server's next tick and every customer's series expire at the next idle
 * sweep: ASR 0 and series that vanished within seconds. The tracker now runs on the packets' timeline.
 */
for (const [what, skewMs] of [
  ['8 hours behind', -8 * 3600_000],
  ['3 days behind', -3 * 86_400_000],
  ['2 hours ahead', 2 * 3600_000],
  ['without a capture time (0)', null],
] as const) {
  test(`live HEP from an agent whose clock is ${what}: calls are timed on its clock, series stay`, () => {
    let server = 1_795_508_400_000;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => server });
    const pipe = new SipPipeline(stats.engine, { clock: () => server });
    const capture = (dt: number) => (skewMs === null ? 0 : server + skewMs + dt);
    const send = (b: Buffer, dt = 0) => pipe.onSip(b, { timeMs: capture(dt), srcIp: '127.0.0.1' });
    const l = { callId: `skew-${what}@test`, fromTag: 'ft', customer: 'acme' };
    const br = newBranch();
    send(invite(l, { branch: br }));
    for (let s = 0; s < 5; s++) {
      server += 1000;
      pipe.tick(server); // the server's once-a-second tick while the callee's phone rings
    }
    send(reply(180, 'Ringing', l, { branch: br, toTag: 'tt' }));
    send(reply(200, 'OK', l, { branch: br, toTag: 'tt' }));
    send(request('ACK', l, { seq: 1, toTag: 'tt' }));
    for (let s = 0; s < 30; s++) {
      server += 1000;
      pipe.tick(server); // a 30 s call; the tracker's idle expiry runs every 10 s
    }
    send(request('BYE', l, { seq: 2, toTag: 'tt' }));
    send(reply(200, 'OK', l, { seq: 2, method: 'BYE', branch: 'b', toTag: 'tt' }));
    assert.equal(stats.getStat('sipstats:calls_timed_out'), null);
    assert.equal(stats.getStat('ASR'), 100);
    assert.equal(stats.getStat('ASRacme'), 100);
    assert.equal(stats.getStat('ASR_1hacme'), 100);
    assert.equal(stats.getStat('sipstats:scopes_expired'), null);
    // and the agent's own clock still times the call: 35 s from INVITE to BYE
    assert.equal(stats.getStat('ACDacme'), 35);
  });
}

test('live HEP from an agent 2 hours ahead: a call with no reply still times out after the INVITE timeout, not 2 hours later', () => {
  let server = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => server });
  const pipe = new SipPipeline(stats.engine, { clock: () => server, inviteTimeoutMs: 120_000 });
  const l = { callId: 'ahead-noreply@test', fromTag: 'ft', customer: 'acme' };
  pipe.onSip(invite(l, { branch: newBranch() }), { timeMs: server + 2 * 3600_000, srcIp: '127.0.0.1' });
  for (let s = 0; s < 125; s++) {
    server += 1000;
    pipe.tick(server);
  }
  assert.equal(stats.getStat('sipstats:calls_timed_out'), 1);
  assert.equal(stats.getStat('ASRacme'), 0);
});
