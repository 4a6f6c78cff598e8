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

/**
 * Two capture agents an hour apart feeding one server: the packets of the agent on time set the
 * tracker's timeline, and the calls of the agent an hour behind timed out at the next tick (their
 * INVITEs looked an hour old). The docs asked agents to agree within the INVITE timeout. Now an
 * agent off by more than AGENT_CLOCK_TOLERANCE_MS has its times moved onto the server's clock by a
 * constant of its own: its calls are timed on one timeline with everyone's, their durations stay exact.
 */
test('live HEP from two agents an hour apart: neither times out the other\'s calls; durations stay exact', () => {
  let server = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => server });
  const pipe = new SipPipeline(stats.engine, { clock: () => server, customer: { kind: 'hep-node' } });
  const behind = (b: Buffer, dt = 0) => pipe.onSip(b, { timeMs: server - 3600_000 + dt, srcIp: '127.0.0.1', nodeId: 1, nodeName: 'edge-a' });
  const onTime = (b: Buffer, dt = 0) => pipe.onSip(b, { timeMs: server + dt, srcIp: '127.0.0.1', nodeId: 2, nodeName: 'edge-b' });
  const a = { callId: 'two-agents-a@test', fromTag: 'ft' };
  const brA = newBranch();
  behind(invite(a, { branch: brA }));
  // while a's phone rings for 5 s, the other agent's calls come and go, and the server ticks
  for (let s = 0; s < 5; s++) {
    server += 1000;
    const b = { callId: `two-agents-b${s}@test`, fromTag: 'ft' };
    const brB = newBranch();
    onTime(invite(b, { branch: brB }));
    onTime(reply(486, 'Busy Here', b, { branch: brB, toTag: 'tb' }), 300);
    pipe.tick(server);
  }
  behind(reply(180, 'Ringing', a, { branch: brA, toTag: 'ta' }));
  behind(reply(200, 'OK', a, { branch: brA, toTag: 'ta' }));
  behind(request('ACK', a, { seq: 1, toTag: 'ta' }));
  for (let s = 0; s < 30; s++) {
    server += 1000;
    onTime(request('OPTIONS', { callId: `two-agents-ping${s}@test`, fromTag: 'fp' }, { seq: 1 }));
    pipe.tick(server);
  }
  behind(request('BYE', a, { seq: 2, toTag: 'ta' }));
  behind(reply(200, 'OK', a, { seq: 2, method: 'BYE', branch: 'b', toTag: 'ta' }));
  assert.equal(stats.getStat('sipstats:calls_timed_out'), null);
  assert.equal(stats.getStat('ASRedge-a'), 100);
  assert.equal(stats.getStat('ASRedge-b'), 0);
  assert.equal(stats.getStat('PDDedge-a'), 5000);
  assert.equal(stats.getStat('ACDedge-a'), 35);
  assert.equal(stats.getStat('sipstats:capture_clock_adjustments'), 1);
});

test('agents within the tolerance keep their own capture times (exact PDD whatever the arrival); a clock set right is counted', () => {
  let server = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => server });
  const pipe = new SipPipeline(stats.engine, { clock: () => server });
  let agentOff = -2000; // an agent 2 s behind: within the tolerance
  const send = (b: Buffer, captureDt: number, arrivalDelay: number) => {
    const capture = server + agentOff + captureDt;
    const saved = server;
    server += arrivalDelay;
    pipe.onSip(b, { timeMs: capture, srcIp: '127.0.0.1', nodeId: 7 });
    server = saved;
  };
  const call = (id: string, pdd: number) => {
    const l = { callId: id, fromTag: 'ft', customer: id.split('@')[0] };
    const br = newBranch();
    send(invite(l, { branch: br }), 0, 3);
    send(reply(180, 'Ringing', l, { branch: br, toTag: 't' }), pdd, 250); // arrives late: PDD is still the capture's
    send(reply(603, 'Decline', l, { branch: br, toTag: 't' }), pdd + 10, 1);
  };
  call('near@test', 1234);
  assert.equal(stats.getStat('PDDnear'), 1234);
  assert.equal(stats.getStat('sipstats:capture_clock_adjustments'), null);
  agentOff = -3600_000; // the agent's clock steps back an hour: shifted onto the server's
  server += 10_000;
  call('far@test', 800);
  assert.equal(stats.getStat('PDDfar'), 800);
  agentOff = 0; // and set right again: its own times
  server += 10_000;
  call('fixed@test', 1500);
  assert.equal(stats.getStat('PDDfixed'), 1500);
  assert.equal(stats.getStat('sipstats:capture_clock_adjustments'), 2);
});
