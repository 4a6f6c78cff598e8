import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import { DIMENSIONS, identify, identityOf, KPI_MODPARAMS, KPIS, NOW, sanitizeDimensionValue, seriesName, WINDOWS } from '../../src/kpi/catalogue.ts';
import { normaliseNumber, PrefixTable } from '../../src/kpi/dimensions.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import type { TrackerOptions } from '../../src/kpi/call-tracker.ts';
import { formatKpiTable } from '../../src/kpi/kpi-table.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';
import type { Leg } from '../support/sip-builder.ts';

const CUSTOMER = '192.0.2.10';
const PLATFORM = '10.0.0.1';
const PLATFORM_B = '10.0.0.2';
const CARRIER_A = '198.51.100.7';
const CARRIER_B = '198.51.100.8';

const table = PrefixTable.parseCsv('prefix,name\n44,44\n1,1\n49,49\n4420,44-london\n').table;

function setup(opts: TrackerOptions = {}) {
  let now = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, {
    platform: ['10.0.0.0/24'],
    carrier: { kind: 'cidr', map: { [`${CARRIER_A}/32`]: 'carrier_a', [`${CARRIER_B}/32`]: 'carrier_b' } },
    destination: { table, strip: ['+', '00'] },
    ...opts,
    onPacketTime: (t) => (now = t),
  });
  const send = (from: string, to: string, buf: Buffer, t: number, extra: { correlationId?: string } = {}) =>
    pipe.onSip(buf, { timeMs: t, srcIp: from, dstIp: to, ...extra });
  const g = (n: string) => stats.getStat(n);
  return { stats, pipe, send, g, t0: now };
}

let n = 0;
const leg = (customer?: string): Leg => ({ callId: `leg-${++n}@test`, fromTag: `ft${n}`, customer });

describe('legs: calls in, attempts out (kpi.platform)', () => {
  test('a proxy failover (one Call-ID): 503 from carrier A, 200 from carrier B is one answered call and one attempt per carrier', () => {
    const h = setup();
    const t = h.t0;
    const c = leg('acme');
    const bc = newBranch();
    const ba = newBranch();
    const bb = newBranch();
    const ruri = '+442071234567@10.0.0.1';
    h.send(CUSTOMER, PLATFORM, invite(c, { branch: bc, ruri }), t);
    h.send(PLATFORM, CUSTOMER, reply(100, 'Trying', c, { branch: bc }), t + 2);
    h.send(PLATFORM, CARRIER_A, invite(c, { branch: ba, ruri: '442071234567@198.51.100.7' }), t + 3);
    h.send(CARRIER_A, PLATFORM, reply(503, 'Unavailable', c, { branch: ba, toTag: 'a' }), t + 50);
    h.send(PLATFORM, CARRIER_A, request('ACK', c, { seq: 1, branch: ba, toTag: 'a' }), t + 51);
    h.send(PLATFORM, CARRIER_B, invite(c, { branch: bb, ruri: '442071234567@198.51.100.8' }), t + 60);
    h.send(CARRIER_B, PLATFORM, reply(180, 'Ringing', c, { branch: bb, toTag: 'b' }), t + 160);
    h.send(PLATFORM, CUSTOMER, reply(180, 'Ringing', c, { branch: bc, toTag: 'b' }), t + 161);
    h.send(CARRIER_B, PLATFORM, reply(200, 'OK', c, { branch: bb, toTag: 'b' }), t + 1060);
    h.send(PLATFORM, CUSTOMER, reply(200, 'OK', c, { branch: bc, toTag: 'b' }), t + 1061);
    h.send(CUSTOMER, PLATFORM, request('BYE', c, { seq: 2, toTag: 'b' }), t + 5061);
    h.send(PLATFORM, CARRIER_B, request('BYE', c, { seq: 2, toTag: 'b' }), t + 5062);
    // global and customer: one answered call, PDD to the customer's ringing, ACD from its INVITE
    assert.equal(h.g('ASR'), 100);
    assert.equal(h.stats.engine.value(h.stats.engine.lookup('ASR')!), 100);
    assert.equal(h.g('ASRacme'), 100);
    assert.equal(h.g('PDD'), 161);
    assert.equal(h.g('AST'), 1061);
    assert.equal(h.g('ACD'), 5);
    assert.equal(h.g('FOR'), 100, 'the call took two attempts');
    assert.equal(h.g('ASR~dest=44-london'), 100, 'destination: longest prefix of the normalised number');
    // carriers: A one failed attempt, B one answered attempt
    assert.equal(h.g('ASR~carrier=carrier_a'), 0);
    assert.equal(h.g('CCR~carrier=carrier_a'), 0);
    assert.equal(h.g('ASR~carrier=carrier_b'), 100);
    assert.equal(h.g('PDD~carrier=carrier_b'), 100, 'attempt PDD runs from the attempt INVITE');
    assert.equal(h.g('AST~carrier=carrier_b'), 1000);
    assert.equal(h.g('ACD~carrier=carrier_b'), 5);
    assert.equal(h.g('ASR~carrier=carrier_b~dest=44-london'), 100);
    assert.equal(h.g('sipstats:calls_started'), 1);
    assert.equal(h.g('sipstats:attempts_started'), 2);
    assert.equal(h.g('sipstats:calls_failed_over'), 1);
    // one call counted once: a single sample behind the global ASR
    const cell = { v: null as number | null, n: null as number | null };
    const s = h.stats.engine.lookup('ASR')!;
    assert.ok(s.kind === 1);
    s.profile.readWithCount(s, h.stats.engine.clock(), cell);
    assert.equal(cell.n, 1);
  });

  test('a B2BUA (a Call-ID per leg) linked by X-CID: failover is one call; global counts the inbound leg only', () => {
    const h = setup({ correlation: { header: 'X-CID' } });
    const t = h.t0;
    const a = leg('acme');
    const ba = newBranch();
    h.send(CUSTOMER, PLATFORM, invite(a, { branch: ba, ruri: '004930123456@10.0.0.1' }), t);
    const b1 = leg();
    const bb1 = newBranch();
    h.send(PLATFORM, CARRIER_A, invite(b1, { branch: bb1, ruri: '4930123456@198.51.100.7', headers: [`X-CID: ${a.callId}`] }), t + 5);
    h.send(CARRIER_A, PLATFORM, reply(408, 'Timeout', b1, { branch: bb1, toTag: 'x' }), t + 200);
    const b2 = leg();
    const bb2 = newBranch();
    h.send(PLATFORM, CARRIER_B, invite(b2, { branch: bb2, ruri: '4930123456@198.51.100.8', headers: [`X-CID: ${a.callId}`] }), t + 210);
    h.send(CARRIER_B, PLATFORM, reply(200, 'OK', b2, { branch: bb2, toTag: 'y' }), t + 900);
    h.send(PLATFORM, CUSTOMER, reply(200, 'OK', a, { branch: ba, toTag: 'z' }), t + 901);
    h.send(CUSTOMER, PLATFORM, request('BYE', a, { seq: 2, toTag: 'z' }), t + 3901);
    h.send(PLATFORM, CARRIER_B, request('BYE', b2, { seq: 2, toTag: 'y' }), t + 3902);
    assert.equal(h.g('ASR'), 100);
    assert.equal(h.g('sipstats:calls_started'), 1);
    assert.equal(h.g('ASR~carrier=carrier_a'), 0);
    assert.equal(h.g('NER~carrier=carrier_a'), 100, '408 is a network success by the outcome table');
    assert.equal(h.g('ASR~carrier=carrier_b'), 100);
    assert.equal(h.g('ACD~carrier=carrier_b'), 3);
    assert.equal(h.g('ASR~dest=49'), 100);
    assert.equal(h.g('FOR'), 100);
    assert.equal(h.g('sipstats:attempts_uncorrelated'), null);
  });

  test('the HEP correlation id links a B2BUA leg; without any link the attempt still counts for its carrier', () => {
    const h = setup({ correlation: { hep: true } });
    const t = h.t0;
    const a = leg();
    const ba = newBranch();
    h.send(CUSTOMER, PLATFORM, invite(a, { branch: ba }), t);
    const b = leg();
    const bb = newBranch();
    h.send(PLATFORM, CARRIER_A, invite(b, { branch: bb }), t + 5, { correlationId: a.callId });
    h.send(CARRIER_A, PLATFORM, reply(486, 'Busy', b, { branch: bb, toTag: 'x' }), t + 100);
    h.send(PLATFORM, CUSTOMER, reply(486, 'Busy', a, { branch: ba, toTag: 'y' }), t + 101);
    const u = leg();
    const bu = newBranch();
    h.send(PLATFORM, CARRIER_B, invite(u, { branch: bu }), t + 200);
    h.send(CARRIER_B, PLATFORM, reply(200, 'OK', u, { branch: bu, toTag: 'q' }), t + 300);
    h.pipe.tick(t + 2500); // (FOR is decided 2 s after the call's final reply: a late-traced attempt still counts)
    assert.equal(h.g('FOR'), 0, 'one attempt: no failover');
    assert.equal(h.g('sipstats:attempts_uncorrelated'), 1);
    assert.equal(h.g('ASR~carrier=carrier_b'), 100);
    assert.equal(h.g('sipstats:calls_started'), 1);
  });

  test('a carrier challenge (407) and the re-sent INVITE with a new branch are one attempt', () => {
    const h = setup();
    const t = h.t0;
    const c = leg();
    const bc = newBranch();
    h.send(CUSTOMER, PLATFORM, invite(c, { branch: bc }), t);
    const b1 = newBranch();
    h.send(PLATFORM, CARRIER_A, invite(c, { branch: b1 }), t + 1);
    h.send(CARRIER_A, PLATFORM, reply(407, 'Proxy Auth', c, { branch: b1, toTag: 'p' }), t + 20);
    const b2 = newBranch();
    h.send(PLATFORM, CARRIER_A, invite(c, { branch: b2, seq: 2, auth: true }), t + 30);
    h.send(CARRIER_A, PLATFORM, reply(200, 'OK', c, { branch: b2, seq: 2, toTag: 'q' }), t + 500);
    h.send(PLATFORM, CUSTOMER, reply(200, 'OK', c, { branch: bc, toTag: 'q' }), t + 501);
    assert.equal(h.g('sipstats:attempts_started'), 1);
    assert.equal(h.g('ASR~carrier=carrier_a'), 100);
    assert.equal(h.g('AST~carrier=carrier_a'), 499);
    h.pipe.tick(t + 2600);
    assert.equal(h.g('FOR'), 0);
  });

  test('a flood of outbound INVITEs with one Call-ID and ever new branches is bounded: past 64 attempts of the dialog, untracked and counted', () => {
    const h = setup();
    const t = h.t0;
    const c = leg();
    h.send(CUSTOMER, PLATFORM, invite(c, { branch: newBranch() }), t);
    const N = 20_000;
    for (let i = 0; i < N; i++) h.send(PLATFORM, CARRIER_A, invite(c, { branch: newBranch() }), t + 1 + i / 100);
    assert.equal(h.g('sipstats:attempts_started'), 64);
    assert.equal(h.g('sipstats:attempts_untracked'), N - 64);
    // an attempt of another dialog is tracked as ever
    h.send(PLATFORM, CARRIER_B, invite(leg(), { branch: newBranch() }), t + 300);
    assert.equal(h.g('sipstats:attempts_started'), 65);
  });

  test('what is tracked under a Call-ID is let go once its legs and remembered requests are released', () => {
    const h = setup();
    const t = h.t0;
    for (let i = 0; i < 50; i++) {
      const c = leg();
      const bc = newBranch();
      const ba = newBranch();
      h.send(CUSTOMER, PLATFORM, invite(c, { branch: bc }), t + i);
      h.send(PLATFORM, CARRIER_A, invite(c, { branch: ba }), t + i + 1);
      h.send(CARRIER_A, PLATFORM, reply(200, 'OK', c, { branch: ba, toTag: 'a' }), t + i + 100);
      h.send(PLATFORM, CUSTOMER, reply(200, 'OK', c, { branch: bc, toTag: 'a' }), t + i + 101);
      h.send(CUSTOMER, PLATFORM, request('ACK', c, { seq: 1, toTag: 'a' }), t + i + 102);
      h.send(CUSTOMER, PLATFORM, request('BYE', c, { seq: 2, toTag: 'a' }), t + i + 2500);
      h.send(PLATFORM, CARRIER_A, request('BYE', c, { seq: 2, toTag: 'a' }), t + i + 2501);
    }
    assert.equal(h.g('ACD'), 2);
    assert.equal(h.g('ACD~carrier=carrier_a'), 2);
    assert.ok(h.pipe.tracker.trackedDialogs >= 50);
    h.pipe.tick(t + 2600 + 33_000);
    assert.equal(h.pipe.tracker.trackedDialogs, 0);
    assert.equal(h.pipe.tracker.trackedCalls + h.pipe.tracker.trackedAttempts, 0);
  });

  test('traffic between platform addresses, and traffic that never touches the platform, is neither a call nor an attempt', () => {
    const h = setup();
    const t = h.t0;
    const c = leg();
    h.send(PLATFORM, PLATFORM_B, invite(c), t);
    h.send('203.0.113.1', '203.0.113.2', invite(leg()), t + 1);
    assert.equal(h.g('sipstats:calls_started'), null);
    assert.equal(h.g('sipstats:attempts_started'), null);
    assert.equal(h.g('sipstats:sip_internal'), 1);
    assert.equal(h.g('sipstats:sip_outside_platform'), 1);
  });

  test('replay table --by carrier and --by carrier,destination print the same values as the MI', () => {
    const h = setup();
    const t = h.t0;
    const c = leg('acme');
    const bc = newBranch();
    const ba = newBranch();
    h.send(CUSTOMER, PLATFORM, invite(c, { branch: bc, ruri: '+15551234@x' }), t);
    h.send(PLATFORM, CARRIER_A, invite(c, { branch: ba, ruri: '15551234@y' }), t + 1);
    h.send(CARRIER_A, PLATFORM, reply(486, 'Busy', c, { branch: ba, toTag: 'a' }), t + 101);
    h.send(PLATFORM, CUSTOMER, reply(486, 'Busy', c, { branch: bc, toTag: 'a' }), t + 102);
    const byCarrier = formatKpiTable(h.stats.engine, 'carrier');
    assert.match(byCarrier, /KPIs over 1 minute, by carrier/);
    assert.match(byCarrier, /^carrier_a +0 +100 +100 +100 /m);
    const cross = formatKpiTable(h.stats.engine, 'carrier,destination');
    assert.match(cross, /^carrier_a × 1 +0 /m);
    const dflt = formatKpiTable(h.stats.engine);
    assert.match(dflt, /^\(all\) /m);
    assert.match(dflt, /^acme /m);
    assert.doesNotMatch(dflt, /carrier_a/, 'the default table is all traffic and customers');
  });

  test('dimension values are capped (fold into other) and expire when idle, series and all', () => {
    const h = setup({ maxCarriers: 2, dimensionIdleMs: 3_600_000, destination: null });
    let t = h.t0;
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']) {
      const c = leg();
      const b = newBranch();
      h.send(CUSTOMER, PLATFORM, invite(c), t);
      h.send(PLATFORM, ip, invite(c, { branch: b }), t + 1);
      h.send(ip, PLATFORM, reply(503, 'x', c, { branch: b, toTag: 'x' }), t + 2);
      t += 10;
    }
    // no cidr entry for these addresses: a carrier is then named by its address
    assert.equal(h.g('CCR~carrier=198.51.100.1'), 0);
    assert.equal(h.g('CCR~carrier=198.51.100.3'), null, 'third carrier folded');
    assert.equal(h.g('CCR~carrier=other'), 0);
    assert.equal(h.g('sipstats:carriers_folded'), 2);
    // an hour and more later, a tick drops the idle carriers' series
    h.pipe.tick(t + 3_700_000);
    assert.equal(h.stats.engine.lookup('CCR~carrier=198.51.100.1'), undefined);
    assert.equal(h.pipe.tracker.scopes.count('carrier'), 0);
    assert.ok((h.g('sipstats:scopes_expired') ?? 0) >= 3);
  });
});

describe('several INVITE transactions of one call (CSeq 1, 2, 3)', () => {
  for (const order of ['200 first', '487s first'] as const) {
    test(`the 200 to CSeq 1 answers the call; the later transactions' 487 never fail it (${order})`, () => {
      let now = 1_795_508_400_000;
      const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
      const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = t) });
      const send = (b: Buffer, t: number) => pipe.onSip(b, { timeMs: t, srcIp: '127.0.0.1' });
      const t = now;
      const c = leg('acme');
      const br = [newBranch(), newBranch(), newBranch()];
      send(invite(c, { seq: 1, branch: br[0] }), t);
      send(invite(c, { seq: 2, branch: br[1] }), t + 100);
      send(invite(c, { seq: 3, branch: br[2] }), t + 200);
      send(request('CANCEL', c, { seq: 2, branch: br[1] }), t + 300);
      send(request('CANCEL', c, { seq: 3, branch: br[2] }), t + 301);
      const ok = () => send(reply(200, 'OK', c, { seq: 1, branch: br[0], toTag: 'a' }), t + 700);
      const cancelled = () => {
        send(reply(487, 'Terminated', c, { seq: 2, branch: br[1], toTag: 'b' }), t + 400);
        send(reply(487, 'Terminated', c, { seq: 3, branch: br[2], toTag: 'c' }), t + 401);
      };
      if (order === '200 first') {
        ok();
        cancelled();
      } else {
        cancelled();
        ok();
      }
      assert.equal(stats.getStat('ASR'), 100);
      assert.equal(stats.getStat('ASRacme'), 100);
      assert.equal(stats.getStat('AST'), 700, 'AST runs from the first INVITE');
      assert.equal(stats.getStat('PDD'), order === '200 first' ? 700 : 700, 'PDD from the first INVITE to the first final reply of the answering transaction');
      assert.equal(stats.getStat('sipstats:calls_started'), 1);
    });
  }

  test('every transaction failing fails the call once, with the last final reply', () => {
    let now = 1_795_508_400_000;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
    const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = t) });
    const send = (b: Buffer, t: number) => pipe.onSip(b, { timeMs: t, srcIp: '127.0.0.1' });
    const t = now;
    const c = leg();
    const b1 = newBranch();
    const b2 = newBranch();
    send(invite(c, { seq: 1, branch: b1 }), t);
    send(invite(c, { seq: 2, branch: b2 }), t + 10);
    send(reply(487, 'Terminated', c, { seq: 1, branch: b1, toTag: 'a' }), t + 20);
    send(reply(503, 'Unavailable', c, { seq: 2, branch: b2, toTag: 'b' }), t + 30);
    send(reply(503, 'Unavailable', c, { seq: 2, branch: b2, toTag: 'b' }), t + 31); // retransmission
    assert.equal(stats.getStat('ASR'), 0);
    assert.equal(stats.getStat('CCR'), 0, 'decided by the 503 (CCR failure), once');
    const s = stats.engine.lookup('CCR')!;
    const cell = { v: null as number | null, n: null as number | null };
    if (s.kind === 1) s.profile.readWithCount(s, now, cell);
    assert.equal(cell.n, 1);
  });
});

describe('destinations and names', () => {
  test('normalisation strips the configured prefixes in order, each once; longest prefix wins; no match is unknown', () => {
    assert.equal(normaliseNumber('+44 (20) 7123-4567', ['+', '00']), '442071234567');
    assert.equal(normaliseNumber('1234#0049301', ['1234#', '00']), '49301');
    assert.equal(normaliseNumber('0000441', ['00']), '00441');
    assert.equal(table.match('442071234567'), '44-london');
    assert.equal(table.match('441611234567'), '44');
    assert.equal(table.match('999'), null);
    assert.equal(table.match(''), null);
  });

  test('bad prefix rows are reported with their line; quoted descriptions are read', () => {
    const r = PrefixTable.parseCsv('prefix,name,description\n44,44,"United Kingdom, the"\nabc,x\n45\n');
    assert.deepEqual(r.problems.map((p) => p.split(':')[0]), ['line 3', 'line 4']);
    assert.equal(r.table.descriptions.get('44'), 'United Kingdom, the');
  });

  test('property: series names of different scopes never collide, and identify() gives every scope back', () => {
    const value = fc.string({ minLength: 1, maxLength: 20 }).map((s) => sanitizeDimensionValue(s)).filter((s): s is string => s !== null);
    const scope = fc.record({ customer: fc.option(value, { nil: undefined }), carrier: fc.option(value, { nil: undefined }), destination: fc.option(value, { nil: undefined }) }).filter(
      (s) => s.customer === undefined || (s.carrier === undefined && s.destination === undefined),
    );
    fc.assert(
      fc.property(scope, scope, fc.constantFrom(...KPIS), fc.constantFrom(...KPIS), fc.constantFrom(...WINDOWS), fc.constantFrom(...WINDOWS), (s1, s2, k1, k2, w1, w2) => {
        const clean = (s: typeof s1) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined));
        // (a level, CC, is a value now: it has one name, window `now`, whatever the window)
        const v1 = k1.kind === 'level' ? NOW : w1;
        const v2 = k2.kind === 'level' ? NOW : w2;
        const a = seriesName(k1, v1, clean(s1));
        const b = seriesName(k2, v2, clean(s2));
        // (a level is a counter: its name is read as a level's; it may spell a series' name, CC of
        // customer Rome and CCR of customer ome, but never another level's nor another series')
        const id = identify(a, k1.kind === 'level');
        assert.ok(id !== null, a);
        assert.equal(id.kpi, k1.name);
        assert.equal(id.window, v1.name);
        for (const d of DIMENSIONS) assert.equal(id[d.name], clean(s1)[d.name], `${d.name} of ${a}`);
        // the labels the tracker gives the series it makes are the ones its name would give
        assert.deepStrictEqual(identityOf(k1, v1, clean(s1)), id);
        const same = k1 === k2 && v1.name === v2.name && JSON.stringify(clean(s1)) === JSON.stringify(clean(s2));
        if (!same && (k1.kind === 'level') === (k2.kind === 'level')) assert.notEqual(a, b);
      }),
      { numRuns: 3000 },
    );
  });

  test('without kpi.platform the series are exactly the customer and all-traffic ones (no carrier, destination or FOR)', () => {
    let now = 1_795_508_400_000;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
    const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = t) });
    const c = leg('acme');
    const b = newBranch();
    pipe.onSip(invite(c, { branch: b, ruri: '+4420@x' }), { timeMs: now, srcIp: '127.0.0.1', dstIp: '127.0.0.2' });
    pipe.onSip(reply(200, 'OK', c, { branch: b, toTag: 't' }), { timeMs: now + 10, srcIp: '127.0.0.2', dstIp: '127.0.0.1' });
    const names: string[] = [];
    stats.forEachStat((v) => v.kind === 'series' && names.push(v.name));
    assert.ok(names.length > 0);
    for (const name of names) assert.match(name, /^(ASR|NER|CCR|PDD|AST|PDD_p95|AST_p95|CC_max|CPS|CPS_max|SDR)(_10m|_1h)?(acme)?$|^INVITE_(per_min|ratio)$/);
  });
});
