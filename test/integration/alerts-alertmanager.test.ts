import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';
import { startAlertmanager, startReceiver, waitFor } from '../support/alertmanager.ts';
import type { AlertmanagerInstance, Receiver } from '../support/alertmanager.ts';

/**
 * A real Prometheus Alertmanager (Debian `prometheus-alertmanager`, on loopback, no gossip) and
 * plain JSON webhook receivers, against a server fed with SIP traffic: one customer's ASR drops
 * below the rule, the alert reaches Alertmanager within `for` + 2 s with the customer label, and
 * resolves once the ASR is back past `clear`. Receivers that answer 500 or hang delay nothing else
 * and get every change, once, when they recover.
 */

const FOR_MS = 2000;

describe('alerts delivered to a real Alertmanager and to JSON webhooks', () => {
  let am: AlertmanagerInstance;
  let good: Receiver;
  let failing: Receiver;
  let hanging: Receiver;
  let srv: Running;
  let n = 0;

  before(async () => {
    am = await startAlertmanager();
    good = await startReceiver('ok');
    failing = await startReceiver('fail');
    hanging = await startReceiver('hang');
    const cfg = parseNativeText(`
alerts:
  - name: asr_low
    kpi: ASR
    window: 1m
    by: customer
    match: { customer: "acme|globex" }
    below: 40
    clear: 45
    min_samples: 10
    for: ${FOR_MS / 1000}s
    severity: critical
    labels: { team: noc }
notify:
  - { url: "${am.url}/api/v2/alerts", format: alertmanager }
  - { url: "${good.url}", format: json }
  - { url: "${failing.url}", format: json, max_backoff: 1s }
  - { url: "${hanging.url}", format: json, timeout: 1s, max_backoff: 1s }
`);
    assert.ok(cfg.ok, JSON.stringify(!cfg.ok && cfg.issues));
    srv = await start({ config: cfg.value, listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, log: () => {}, env: {} });
  });

  after(async () => {
    await srv?.close();
    await Promise.all([good?.close(), failing?.close(), hanging?.close()]);
    await am?.stop();
  });

  /** One call of `customer` answered (200) or refused (486), on the server's clock. */
  function call(customer: string, code: 200 | 486): void {
    const c = { callId: `am-${++n}@test`, fromTag: `f${n}`, customer };
    const b = newBranch();
    const t = Date.now();
    const meta = (dt: number, fromUac: boolean) => ({ timeMs: t + dt, srcIp: fromUac ? '127.0.0.1' : '127.0.0.2', dstIp: fromUac ? '127.0.0.2' : '127.0.0.1' });
    srv.pipeline.onSip(invite(c, { branch: b }), meta(0, true));
    srv.pipeline.onSip(reply(180, 'Ringing', c, { branch: b, toTag: 't' }), meta(1, false));
    srv.pipeline.onSip(reply(code, code === 200 ? 'OK' : 'Busy Here', c, { branch: b, toTag: 't' }), meta(2, false));
    if (code !== 200) srv.pipeline.onSip(request('ACK', c, { seq: 1, branch: b, toTag: 't' }), meta(3, true));
  }

  const amAlert = async (customer: string) => (await am.alerts()).find((a) => a.labels.alertname === 'asr_low' && a.labels.customer === customer);
  const byStatus = (r: Receiver, status: string) => r.acknowledged.filter((b) => b.status === status && (b.labels as Record<string, string>).customer === 'acme');

  test('ASR of acme below 40: firing in Alertmanager within for + 2 s, with the customer label; globex stays quiet', async () => {
    for (let i = 0; i < 10; i++) call('acme', 200);
    for (let i = 0; i < 20; i++) call('globex', 200);
    for (let i = 0; i < 30; i++) call('acme', 486);
    assert.equal(srv.stats.getStat('ASRacme'), 25);
    const t0 = Date.now();
    const a = await waitFor('the acme alert in Alertmanager', FOR_MS + 5000, () => amAlert('acme'));
    const elapsed = Date.now() - t0;
    assert.ok(elapsed <= FOR_MS + 2000, `reached Alertmanager after ${elapsed} ms (for = ${FOR_MS} ms)`);
    assert.deepEqual(
      { ...a.labels },
      { alertname: 'asr_low', severity: 'critical', kpi: 'ASR', window: '1m', customer: 'acme', team: 'noc' },
    );
    assert.equal(a.status.state, 'active');
    assert.match(a.annotations.summary, /ASR \(1m\) of customer acme is 25, below 40/);
    assert.ok(new Date(a.endsAt).getTime() > Date.now() + 60_000, 'a firing alert is valid for 4 x resend');
    assert.equal(await amAlert('globex'), undefined);

    // the plain webhook got it too, and the sick receivers did not hold it back
    const fired = await waitFor('the firing notification at the JSON receiver', 2000, () => (byStatus(good, 'firing').length > 0 ? byStatus(good, 'firing') : undefined));
    assert.equal(fired.length, 1);
    assert.equal(fired[0].alertname, 'asr_low');
    assert.equal(fired[0].value, 25);
    assert.ok(failing.requests >= 1 && hanging.requests >= 1, 'the failing and hanging receivers were tried');

    // reading it: MI list_alerts and /metrics
    const l = (await srv.stats.mi('list_alerts')) as { result: { active: { alertname: string; state: string; dimension: unknown; value: number; since: string }[] } };
    assert.equal(l.result.active.length, 1);
    assert.deepEqual([l.result.active[0].state, l.result.active[0].dimension, l.result.active[0].value], ['firing', { customer: 'acme' }, 25]);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /^sipstats_alert\{alertname="asr_low",severity="critical",customer="acme",team="noc",state="firing"\} 1$/m);
    // the evaluation and the MI are not slowed by the receiver that hangs
    const m0 = performance.now();
    await srv.stats.mi('list_alerts');
    assert.ok(performance.now() - m0 < 100);
  });

  test('ASR back past clear (45): resolved in Alertmanager; exactly one firing and one resolved at the JSON receiver', async () => {
    // 42 %: above `below` but not past `clear`: still firing
    for (let i = 0; i < 5; i++) call('acme', 200);
    for (let i = 0; i < 1; i++) call('acme', 486);
    assert.equal(srv.stats.getStat('ASRacme'), 32);
    for (let i = 0; i < 6; i++) call('acme', 200);
    assert.equal(srv.stats.getStat('ASRacme'), 40);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(await amAlert('acme'), 'between below and clear: still firing');
    assert.equal(byStatus(good, 'resolved').length, 0);
    for (let i = 0; i < 20; i++) call('acme', 200);
    assert.ok(srv.stats.getStat('ASRacme')! >= 45);
    await waitFor('the acme alert to leave Alertmanager', 5000, async () => ((await amAlert('acme')) === undefined ? true : undefined));
    await waitFor('the resolved notification', 3000, () => (byStatus(good, 'resolved').length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500)); // nothing more arrives
    assert.deepEqual(
      good.acknowledged.map((b) => [b.status, (b.labels as Record<string, string>).customer, b.seq]),
      [
        ['firing', 'acme', 1],
        ['resolved', 'acme', 2],
      ],
    );
    const [f, r] = good.acknowledged;
    assert.equal(f.startsAt, r.startsAt);
    assert.equal(r.reason, 'recovered');
    assert.notEqual(f.id, r.id);
  });

  test('the receivers that failed (500) and hung catch up when they recover: each change once, in order', async () => {
    assert.equal(failing.acknowledged.length, 0);
    assert.equal(hanging.acknowledged.length, 0);
    failing.mode = 'ok';
    hanging.mode = 'ok';
    for (const r of [failing, hanging])
      await waitFor('the recovered receiver to catch up', 10_000, () => (r.acknowledged.length >= 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500));
    for (const r of [failing, hanging]) assert.deepEqual(r.acknowledged.map((b) => [b.status, b.seq, b.id]), good.acknowledged.map((b) => [b.status, b.seq, b.id]));
    const l = (await srv.stats.mi('list_alerts')) as { result: { active: unknown[]; recent: { alertname: string; state: string; dimension: unknown }[]; notify: { queued: number; failed: number }[] } };
    assert.deepEqual(l.result.active, []);
    assert.deepEqual([l.result.recent[0].state, l.result.recent[0].dimension], ['resolved', { customer: 'acme' }]);
    assert.deepEqual(l.result.notify.map((x) => x.queued), [0, 0, 0, 0]);
    assert.ok(l.result.notify[2].failed > 0 && l.result.notify[3].failed > 0);
    assert.ok(srv.stats.getStat('sipstats:alerts_notifications_failed')! > 0);
  });
});
