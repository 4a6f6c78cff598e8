import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';
import type { Leg } from '../support/sip-builder.ts';

function setup(opts: { inviteTimeoutMs?: number } = {}) {
  let now = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { ...opts, onPacketTime: (t) => (now = t) });
  const at = (dt: number) => now + dt;
  const send = (buf: Buffer, t: number) => pipe.onSip(buf, { timeMs: t, srcIp: '127.0.0.1' });
  return { stats, pipe, send, at, get now() { return now; } };
}

let n = 0;
const leg = (customer?: string): Leg => ({ callId: `call-${++n}@test`, fromTag: `ft${n}`, customer });

/** An answered call: INVITE, 100, 180 at +ring, 200 at +answer, ACK, BYE at +bye. */
function answered(send: (b: Buffer, t: number) => void, t0: number, l: Leg, ring: number, answer: number, bye: number) {
  const br = newBranch();
  send(invite(l, { branch: br }), t0);
  send(reply(100, 'Trying', l, { branch: br }), t0 + 5);
  send(reply(180, 'Ringing', l, { branch: br, toTag: 'tt' }), t0 + ring);
  send(reply(200, 'OK', l, { branch: br, toTag: 'tt' }), t0 + answer);
  send(request('ACK', l, { seq: 1, toTag: 'tt' }), t0 + answer + 1);
  send(request('BYE', l, { seq: 2, toTag: 'tt' }), t0 + bye);
  send(reply(200, 'OK', l, { seq: 2, method: 'BYE', branch: 'x', toTag: 'tt' }), t0 + bye + 1);
}

function failed(send: (b: Buffer, t: number) => void, t0: number, l: Leg, code: number, after: number) {
  const br = newBranch();
  send(invite(l, { branch: br }), t0);
  send(reply(code, 'Failed', l, { branch: br, toTag: 'tf' }), t0 + after);
  send(request('ACK', l, { seq: 1, branch: br, toTag: 'tf' }), t0 + after + 1);
}

test('answered and failed calls give ASR, NER, CCR, PDD, AST, ACD per customer and overall', () => {
  const h = setup();
  const t = h.now;
  answered(h.send, t, leg('acme'), 200, 1000, 3000); // PDD 200, AST 1000, ACD 3 s
  answered(h.send, t + 10, leg('acme'), 400, 2000, 7000); // PDD 400, AST 2000, ACD 7 s
  failed(h.send, t + 20, leg('globex'), 486, 300); // busy: NER +1, CCR +1, PDD 300
  failed(h.send, t + 30, leg('globex'), 404, 100); // 4xx: NER -1, CCR +1
  failed(h.send, t + 40, leg(), 503, 50); // 5xx: CCR -1 (no customer: global only)
  const s = h.stats;
  s.engine.clock; // eslint: keep
  const g = (n: string) => s.getStat(n);
  // 2 answered of 5
  assert.equal(g('ASR'), 40);
  assert.equal(g('NER'), 60); // 2 answered + busy = 3/5
  assert.equal(g('CCR'), 80); // all but the 503
  assert.equal(g('PDD'), Math.trunc((200 + 400 + 300 + 100 + 50) / 5));
  assert.equal(g('AST'), 1500);
  assert.equal(g('ACD'), 5);
  assert.equal(g('ASRacme'), 100);
  assert.equal(g('ASRglobex'), 0);
  assert.equal(g('NERglobex'), 50);
  assert.equal(g('CCRglobex'), 100);
  assert.equal(g('ASR_10m'), 40);
  assert.equal(g('ASR_1hacme'), 100);
  assert.equal(g('PDD_10mglobex'), 200);
  assert.ok(g('PDD_p95') !== null && Math.abs(g('PDD_p95')! - 300) <= 3); // rank floor(0.95*4) of 50,100,200,300,400
  assert.ok(g('CCR')! >= g('ASR')!);
  assert.ok(g('AST')! >= g('PDD')!);
  // INVITE_per_min (docs/kpis.md): the 5 initial INVITEs of the last minute
  assert.equal(g('INVITE_per_min'), 5);
});

test('retransmissions count once; 100 Trying and re-INVITEs are not outcomes', () => {
  const h = setup();
  const t = h.now;
  const l = leg('acme');
  const br = newBranch();
  h.send(invite(l, { branch: br }), t);
  h.send(invite(l, { branch: br }), t + 500); // retransmission
  h.send(reply(100, 'Trying', l, { branch: br }), t + 510);
  h.send(reply(200, 'OK', l, { branch: br, toTag: 'a' }), t + 800);
  h.send(reply(200, 'OK', l, { branch: br, toTag: 'a' }), t + 1300); // retransmitted 200
  h.send(request('ACK', l, { seq: 1, toTag: 'a' }), t + 1301);
  h.send(invite(l, { seq: 2, toTag: 'a' }), t + 2000); // re-INVITE
  h.send(reply(488, 'Not Acceptable Here', l, { seq: 2, branch: 'r', toTag: 'a' }), t + 2010);
  const bye = newBranch();
  h.send(request('BYE', l, { seq: 3, branch: bye, toTag: 'a' }), t + 4000);
  h.send(request('BYE', l, { seq: 3, branch: bye, toTag: 'a' }), t + 4500); // retransmitted BYE
  assert.equal(h.stats.getStat('ASR'), 100);
  assert.equal(h.stats.getStat('INVITE_per_min'), 1);
  assert.equal(h.stats.getStat('PDD'), 800); // no ringing: the first final reply
  assert.equal(h.stats.getStat('ACD'), 4);
  const asr = h.stats.engine.profile('perc')!;
  const series = h.stats.engine.lookup('ASR')!;
  assert.ok(series.kind === 1);
  assert.equal(asr.window(series, h.now)[0], 1, 'one success weight, not two');
  // INVITE_ratio: 1 initial INVITE (+1) against ACK, re-INVITE, BYE (each once): 1/4
  assert.equal(h.stats.getStat('INVITE_ratio'), 25);
});

test('a 401 challenge and the re-sent INVITE are one call; PDD and AST run from the first INVITE', () => {
  const h = setup();
  const t = h.now;
  const l = leg('acme');
  const b1 = newBranch();
  h.send(invite(l, { branch: b1 }), t);
  h.send(reply(401, 'Unauthorized', l, { branch: b1, toTag: 'p' }), t + 10);
  h.send(request('ACK', l, { seq: 1, branch: b1, toTag: 'p' }), t + 11);
  const b2 = newBranch();
  h.send(invite(l, { seq: 2, branch: b2, auth: true }), t + 50);
  h.send(reply(180, 'Ringing', l, { seq: 2, branch: b2, toTag: 'q' }), t + 250);
  h.send(reply(200, 'OK', l, { seq: 2, branch: b2, toTag: 'q' }), t + 1050);
  assert.equal(h.stats.getStat('ASR'), 100);
  assert.equal(h.stats.getStat('PDD'), 250);
  assert.equal(h.stats.getStat('AST'), 1050);
  assert.equal(h.stats.getStat('INVITE_per_min'), 1);
});

test('CANCEL → 487 is a failure; no final reply within the INVITE timeout is a failure', () => {
  const h = setup({ inviteTimeoutMs: 5000 });
  const t = h.now;
  const l = leg('acme');
  const br = newBranch();
  h.send(invite(l, { branch: br }), t);
  h.send(reply(180, 'Ringing', l, { branch: br, toTag: 'c' }), t + 100);
  h.send(request('CANCEL', l, { seq: 1, branch: br }), t + 900);
  h.send(reply(200, 'OK', l, { method: 'CANCEL', branch: br, toTag: 'c' }), t + 901);
  h.send(reply(487, 'Request Terminated', l, { branch: br, toTag: 'c' }), t + 902);
  assert.deepEqual([h.stats.getStat('ASR'), h.stats.getStat('NER'), h.stats.getStat('CCR')], [0, 0, 100]);
  const l2 = leg('acme');
  const b2 = newBranch();
  h.send(invite(l2, { branch: b2 }), t + 1000);
  h.send(reply(180, 'Ringing', l2, { branch: b2, toTag: 'n' }), t + 1100);
  h.pipe.tick(t + 5999);
  assert.equal(h.stats.getStat('CCRacme'), 100, 'not decided before the timeout');
  h.pipe.tick(t + 6000);
  assert.deepEqual([h.stats.getStat('ASRacme'), h.stats.getStat('NERacme'), h.stats.getStat('CCRacme')], [0, 0, 50]);
  assert.equal(h.stats.getStat('sipstats:calls_timed_out'), 1);
  assert.equal(h.stats.getStat('sipstats:calls_tracked'), 0);
});

test('with forking the first 2xx wins; a failure on another leg does not decide the call', () => {
  const h = setup();
  const t = h.now;
  const l = leg();
  const br = newBranch();
  h.send(invite(l, { branch: br }), t);
  h.send(reply(486, 'Busy', l, { branch: 'z9hG4bK-downstream', toTag: 'b1' }), t + 100); // the proxy's leg to one phone
  h.send(reply(200, 'OK', l, { branch: br, toTag: 'b2' }), t + 300);
  h.send(reply(200, 'OK', l, { branch: br, toTag: 'b3' }), t + 310); // a second fork answering too
  assert.equal(h.stats.getStat('ASR'), 100);
  assert.equal(h.stats.getStat('AST'), 300);
});

test('BYE from the callee ends the call too; garbage and incomplete messages are counted, not thrown', () => {
  const h = setup();
  const t = h.now;
  const l = leg();
  const br = newBranch();
  h.send(invite(l, { branch: br }), t);
  h.send(reply(200, 'OK', l, { branch: br, toTag: 'x' }), t + 100);
  h.send(Buffer.from(`BYE sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-callee\r\nFrom: <sip:bob@example.net>;tag=x\r\nTo: <sip:alice@example.com>;tag=${l.fromTag}\r\nCall-ID: ${l.callId}\r\nCSeq: 1 BYE\r\n\r\n`), t + 2100);
  assert.equal(h.stats.getStat('ACD'), 2);
  h.send(Buffer.from('garbage\r\n\r\n'), t + 3000);
  h.send(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), t + 3000);
  h.pipe.onFrame(Buffer.from('HEP3 not really'));
  assert.equal(h.stats.getStat('sipstats:sip_decode_errors'), 1);
  assert.equal(h.stats.getStat('sipstats:sip_incomplete'), 1);
  assert.equal(h.stats.getStat('sipstats:hep_decode_errors'), 1);
  assert.equal(h.stats.getStat('ASR'), 100);
});

test('memory is bounded: past maxCalls the oldest pending call is evicted and counted', () => {
  let now = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { maxCalls: 100, onPacketTime: (t) => (now = t) });
  for (let i = 0; i < 250; i++) pipe.onSip(invite(leg()), { timeMs: now + i, srcIp: '127.0.0.1' });
  assert.ok(pipe.tracker.trackedCalls <= 100);
  assert.equal(stats.getStat('sipstats:calls_evicted'), 150);
});

test('a flood of in-dialog requests with one Call-ID is bounded work: past 64 remembered, requests are counted as unremembered', () => {
  // regression: retransmission memory chained per Call-ID was walked whole at every request (a flood
  // of distinct CSeqs in one dialog made each request cost a walk of all the earlier ones)
  const h = setup();
  const t = h.now;
  const l = leg();
  const N = 150_000;
  for (let i = 0; i < N; i++) h.send(request('INFO', l, { seq: 2 + i, toTag: 'tt' }), t + i / 10);
  assert.equal(h.stats.getStat('sipstats:requests_unremembered'), N - 64);
  // a remembered one is still recognised as a retransmission (not counted); a new one is not remembered
  h.send(request('INFO', l, { seq: 3, toTag: 'tt' }), t + N / 10);
  assert.equal(h.stats.getStat('sipstats:requests_unremembered'), N - 64);
  h.send(request('BYE', l, { seq: N + 2, toTag: 'tt' }), t + N / 10 + 1);
  assert.equal(h.stats.getStat('sipstats:requests_unremembered'), N - 64 + 1);
});
