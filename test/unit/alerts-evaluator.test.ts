import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { PrefixTable } from '../../src/kpi/dimensions.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { AlertEvaluator } from '../../src/alerts/evaluator.ts';
import { parseAlertsConfig } from '../../src/alerts/rules.ts';
import type { AlertRule } from '../../src/alerts/rules.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

function rules(doc: unknown[]): AlertRule[] {
  const r = parseAlertsConfig(doc, undefined);
  assert.deepEqual(r.problems, []);
  return [...r.value.rules];
}

function setup() {
  let now = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const feed = (name: string, ok: number, bad: number, profile = '10m-perc') => {
    for (let i = 0; i < ok; i++) stats.updateStatSeries(profile, name, 1);
    for (let i = 0; i < bad; i++) stats.updateStatSeries(profile, name, -1);
  };
  return { stats, feed, now: () => now, advance: (ms: number) => (now += ms) };
}

describe('alert rules in the native configuration', () => {
  test('the example of docs/alerts.md is accepted as written', () => {
    const r = parseNativeText(`
alerts:
  - name: asr_low
    kpi: ASR
    window: 10m
    by: customer
    match: { customer: "acme|globex" }
    below: 40
    clear: 45
    min_samples: 20
    for: 60s
    severity: warning
    labels: { team: noc }
notify:
  - url: http://127.0.0.1:9093/api/v2/alerts
    format: alertmanager
`);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    const rule = r.value.alerts!.rules[0];
    assert.deepEqual(
      { ...rule },
      {
        name: 'asr_low',
        target: { type: 'kpi', kpi: 'ASR', window: '10m' },
        by: ['customer'],
        match: { customer: 'acme|globex' },
        op: 'below',
        threshold: 40,
        clear: 45,
        minSamples: 20,
        forMs: 60_000,
        severity: 'warning',
        labels: { team: 'noc' },
        annotations: {},
      },
    );
    assert.equal(r.value.alerts!.notify[0].format, 'alertmanager');
    assert.equal(r.value.alerts!.notify[0].resendMs, 60_000);
  });

  test('every problem is listed with its path and code; the configuration is refused', () => {
    const r = parseNativeText(`
alerts:
  - name: asr_low
    kpi: ASR
    window: 5m
    by: customer
    below: 40
  - name: asr_low
    kpi: ASR
    below: 1
  - name: "bad name"
    kpi: NOPE:x:y
    above: 1
    below: 2
  - name: pdd
    kpi: PDD
    by: carrier
    match: { customer: "(" , carrier: "(" }
    above: 3000
    clear: 4000
    for: soon
    labels: { alertname: x, "1x": y }
    colour: red
  - name: nothreshold
    kpi: NER
notify:
  - url: https://example.com/hook
  - { url: "http://127.0.0.1:1/x", format: slack, timeout: 0s, max_queue: 0 }
`);
    assert.ok(!r.ok);
    const got = r.issues.map((i) => `${i.path}: ${i.code}`).sort();
    assert.deepEqual(got, [
      'alerts[0].window: E_CFG_BAD_ALERT',
      'alerts[1].name: E_CFG_DUPLICATE',
      'alerts[2]: E_CFG_BAD_ALERT',
      'alerts[2].kpi: E_CFG_BAD_ALERT',
      'alerts[2].name: E_CFG_BAD_ALERT',
      'alerts[3].clear: E_CFG_BAD_ALERT',
      'alerts[3].colour: E_CFG_UNKNOWN_PARAM',
      'alerts[3].for: E_CFG_BAD_ALERT',
      'alerts[3].labels.1x: E_CFG_BAD_ALERT',
      'alerts[3].labels.alertname: E_CFG_BAD_ALERT',
      'alerts[3].match.carrier: E_CFG_BAD_ALERT',
      'alerts[3].match.customer: E_CFG_BAD_ALERT',
      'alerts[4]: E_CFG_BAD_ALERT',
      'notify[0].url: E_CFG_BAD_NOTIFY',
      'notify[1].format: E_CFG_BAD_NOTIFY',
      'notify[1].max_queue: E_CFG_BAD_NOTIFY',
      'notify[1].timeout: E_CFG_BAD_NOTIFY',
    ].sort());
  });

  test('series names and group selectors are targets too', () => {
    const [a, b] = rules([
      { name: 'invites', kpi: 'stats:INVITE_per_min', above: 100 },
      { name: 'errors', kpi: 'sipstats:', above: 0 },
    ]);
    assert.deepEqual(a.target, { type: 'stat', name: 'stats:INVITE_per_min' });
    assert.deepEqual(b.target, { type: 'group', group: 'sipstats' });
  });
});

describe('evaluation', () => {
  test('one instance per customer; pending, firing after `for`, resolved past `clear`; match filters', () => {
    const h = setup();
    const ev = new AlertEvaluator(h.stats.engine, rules([{ name: 'asr_low', kpi: 'ASR', window: '10m', by: 'customer', match: { customer: 'acme|globex' }, below: 40, clear: 45, min_samples: 10, for: '3s' }]));
    h.feed('ASR_10macme', 3, 7); // 30 %, 10 calls
    h.feed('ASR_10mglobex', 8, 2); // 80 %
    h.feed('ASR_10minitech', 0, 10); // 0 %, not matched
    h.feed('ASR_10m', 11, 19); // all traffic: no rule
    assert.deepEqual(ev.evaluate(h.now()), []);
    assert.equal(ev.size, 2, 'acme and globex only');
    assert.deepEqual(
      ev.active().map((i) => [i.key, i.state, i.value, i.samples]),
      [['asr_low|customer=acme', 'pending', 30, 10]],
    );
    h.advance(2000);
    assert.deepEqual(ev.evaluate(h.now()), []);
    h.advance(1000);
    const fired = ev.evaluate(h.now());
    assert.equal(fired.length, 1);
    assert.equal(fired[0].status, 'firing');
    assert.deepEqual(fired[0].labels, { alertname: 'asr_low', severity: 'warning', kpi: 'ASR', window: '10m', customer: 'acme' });
    assert.equal(fired[0].startsAt, h.now() - 3000);
    // 42 %: past `below` but not past `clear`: still firing
    h.feed('ASR_10macme', 5, 0); // 8 / 15 = 53 % — too far; make it 42
    h.feed('ASR_10macme', 0, 4); // 8 / 19 = 42 %
    assert.equal(h.stats.getStat('ASR_10macme'), 42);
    assert.deepEqual(ev.evaluate(h.advance(1000)), []);
    assert.equal(ev.active()[0].state, 'firing');
    h.feed('ASR_10macme', 2, 0); // 10 / 21 = 47 %
    const resolved = ev.evaluate(h.advance(1000));
    assert.deepEqual(
      resolved.map((c) => [c.status, c.key, c.value, c.reason, c.seq]),
      [['resolved', 'asr_low|customer=acme', 47, 'recovered', 2]],
    );
    assert.deepEqual(ev.active(), []);
    assert.equal(ev.recent()[0].key, 'asr_low|customer=acme');
  });

  test('min_samples: a window with fewer calls never fires; an empty window decides nothing', () => {
    const h = setup();
    const ev = new AlertEvaluator(h.stats.engine, rules([{ name: 'asr_low', kpi: 'ASR', by: 'customer', below: 50, min_samples: 5 }]));
    h.feed('ASRacme', 0, 4, 'perc');
    assert.deepEqual(ev.evaluate(h.now()), []);
    h.feed('ASRacme', 0, 1, 'perc');
    assert.equal(ev.evaluate(h.advance(1000))[0]?.status, 'firing', 'no `for`: fires at the pass that sees 5 calls');
    // the 1-minute window empties: no value, the alert holds its state
    assert.deepEqual(ev.evaluate(h.advance(61_000)), []);
    assert.equal(ev.active()[0].state, 'firing');
  });

  test('by carrier, destination and carrier,destination: traffic through SipPipeline with kpi.platform', () => {
    let now = 1_795_508_400_000;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
    const pipe = new SipPipeline(stats.engine, {
      platform: ['10.0.0.0/24'],
      carrier: { kind: 'cidr', map: { '198.51.100.7/32': 'carrier_a', '198.51.100.8/32': 'carrier_b' } },
      destination: { table: PrefixTable.parseCsv('prefix,name\n44,44\n49,49\n').table, strip: ['+', '00'] },
      onPacketTime: (t) => (now = t),
    });
    const ev = new AlertEvaluator(
      stats.engine,
      rules([
        { name: 'carrier_asr', kpi: 'ASR', by: 'carrier', below: 50 },
        { name: 'pdd_high', kpi: 'PDD', by: 'carrier', above: 1000 },
        { name: 'dest_ner', kpi: 'NER', by: 'destination', below: 50 },
        { name: 'route_asr', kpi: 'ASR', by: 'carrier,destination', match: { destination: '44' }, below: 50 },
      ]),
    );
    let n = 0;
    const call = (carrierIp: string, number: string, code: number, t: number, pddMs: number) => {
      const c = { callId: `c${++n}@t`, fromTag: `f${n}`, customer: 'acme' };
      const bc = newBranch();
      const ba = newBranch();
      pipe.onSip(invite(c, { branch: bc, ruri: `${number}@10.0.0.1` }), { timeMs: t, srcIp: '192.0.2.10', dstIp: '10.0.0.1' });
      pipe.onSip(invite(c, { branch: ba, ruri: `${number}@${carrierIp}` }), { timeMs: t + 1, srcIp: '10.0.0.1', dstIp: carrierIp });
      pipe.onSip(reply(180, 'Ringing', c, { branch: ba, toTag: 'x' }), { timeMs: t + 1 + pddMs, srcIp: carrierIp, dstIp: '10.0.0.1' });
      pipe.onSip(reply(180, 'Ringing', c, { branch: bc, toTag: 'x' }), { timeMs: t + 2 + pddMs, srcIp: '10.0.0.1', dstIp: '192.0.2.10' });
      pipe.onSip(reply(code, code === 200 ? 'OK' : 'Busy', c, { branch: ba, toTag: 'x' }), { timeMs: t + 10 + pddMs, srcIp: carrierIp, dstIp: '10.0.0.1' });
      pipe.onSip(reply(code, code === 200 ? 'OK' : 'Busy', c, { branch: bc, toTag: 'x' }), { timeMs: t + 11 + pddMs, srcIp: '10.0.0.1', dstIp: '192.0.2.10' });
      if (code !== 200) pipe.onSip(request('ACK', c, { seq: 1, branch: ba, toTag: 'x' }), { timeMs: t + 12 + pddMs, srcIp: '10.0.0.1', dstIp: carrierIp });
    };
    const t0 = now;
    for (let i = 0; i < 4; i++) call('198.51.100.7', '+442071234567', 200, t0 + i * 10, 100);
    for (let i = 0; i < 4; i++) call('198.51.100.8', '+4930123456', 486, t0 + 100 + i * 10, 2500);
    for (let i = 0; i < 2; i++) call('198.51.100.8', '+442071234567', 486, t0 + 200 + i * 10, 2500);
    now = t0 + 1000;
    const changes = ev.evaluate(now);
    const fired = changes.map((c) => `${c.rule} ${JSON.stringify(c.labels)}`).sort();
    assert.deepEqual(fired, [
      'carrier_asr {"alertname":"carrier_asr","severity":"warning","kpi":"ASR","window":"1m","carrier":"carrier_b"}',
      'pdd_high {"alertname":"pdd_high","severity":"warning","kpi":"PDD","window":"1m","carrier":"carrier_b"}',
      'route_asr {"alertname":"route_asr","severity":"warning","kpi":"ASR","window":"1m","carrier":"carrier_b","destination":"44"}',
    ]);
    // NER: a busy call is network-effective, so no destination alert
    assert.equal(stats.getStat('NER~dest=49'), 100);
  });

  test('a removed rule resolves its firing alerts; a kept rule keeps its state across setRules', () => {
    const h = setup();
    const r = rules([
      { name: 'a', kpi: 'ASR', window: '10m', by: 'customer', below: 50 },
      { name: 'b', kpi: 'ASR', window: '10m', by: 'customer', below: 60 },
    ]);
    const ev = new AlertEvaluator(h.stats.engine, r);
    h.feed('ASR_10macme', 1, 1);
    assert.equal(ev.evaluate(h.now()).length, 1, 'b fires (50 < 60)');
    ev.setRules(rules([{ name: 'b', kpi: 'ASR', window: '10m', by: 'customer', below: 55 }]));
    assert.deepEqual(ev.evaluate(h.advance(1000)), [], 'still firing under the new definition');
    ev.setRules(rules([{ name: 'a', kpi: 'ASR', window: '10m', by: 'customer', below: 50 }]));
    const c = ev.evaluate(h.advance(1000));
    assert.deepEqual(c.map((x) => [x.rule, x.status, x.reason]), [['b', 'resolved', 'rule removed']]);
  });

  test('a statistic that goes away resolves its alert (reason gone); counters and group selectors', () => {
    const h = setup();
    const ev = new AlertEvaluator(h.stats.engine, rules([{ name: 'asr', kpi: 'ASR', by: 'customer', below: 50 }, { name: 'errs', kpi: 'sipstats:', above: 2 }, { name: 'one', kpi: 'dynamic:x', above: 0 }]));
    h.feed('ASRacme', 0, 1, 'perc');
    h.stats.engine.selfStat('kpi_update_errors', 3);
    h.stats.updateStat('x', 1);
    assert.deepEqual(ev.evaluate(h.now()).map((c) => c.key).sort(), ['asr|customer=acme', 'errs|stat=kpi_update_errors', 'one']);
    h.stats.engine.removeSeries(h.stats.engine.lookup('ASRacme') as never);
    const c = ev.evaluate(h.advance(1000));
    assert.deepEqual(c.map((x) => [x.key, x.status, x.reason]), [['asr|customer=acme', 'resolved', 'gone']]);
  });

  test('state survives exportState/restoreState (a restart)', () => {
    const h = setup();
    const r = rules([{ name: 'asr', kpi: 'ASR', window: '10m', by: 'customer', below: 50, for: '10s' }, { name: 'old', kpi: 'ASR', window: '10m', by: 'customer', below: 90 }]);
    const ev = new AlertEvaluator(h.stats.engine, r);
    h.feed('ASR_10macme', 1, 2);
    h.feed('ASR_10mglobex', 1, 0);
    ev.evaluate(h.now());
    const saved = JSON.parse(JSON.stringify(ev.exportState()));
    assert.equal(saved.seq, 1);
    const ev2 = new AlertEvaluator(h.stats.engine, [r[0]]);
    ev2.restoreState(saved);
    // pending since the first pass: fires 10 s after it, not 10 s after the restart; `old` resolves (rule removed)
    const c = ev2.evaluate(h.advance(10_000));
    assert.deepEqual(c.map((x) => [x.key, x.status, x.seq, x.reason]), [['asr|customer=acme', 'firing', 2, undefined], ['old|customer=acme', 'resolved', 3, 'rule removed']]);
  });
});
