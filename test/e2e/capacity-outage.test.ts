/**
 * A carrier outage end to end: the `drop` alert rule on CC, with a real Kamailio, real SIPp
 * carriers, a carrier killed and started again, and a real Prometheus Alertmanager.
 *
 * Traffic: acme places 2 calls/s, each held 4 s, to +44, whose route is carrier_a, carrier_b,
 * carrier_c (test/support/kamailio.ts ROUTES; Kamailio fails over on 503/408). Every carrier would
 * answer (X-Plan "a=200 b=200"), so while carrier_a is up it takes every call: CC of carrier_a ≈ 2 × 4
 * = 8, carrier_b 0. The rule under test (sipstats counts carrier attempts with kpi.platform):
 *   { name: carrier_outage, kpi: CC, window: 1m, by: carrier, drop: 50, for: 10s, min_samples: 6 }
 * fires when a carrier's CC is 50 % or more below its CC_avg (the time average of CC over the
 * minute: its call-seconds per second), once that average has 6 samples (5 s steps with calls up),
 * for 10 s; it resolves when CC is back above half the average.
 *
 * Timeline (t = the first call sipstats saw):
 *   0 s       traffic starts; CC of carrier_a reaches ≈ 8 within 4.5 s
 *   ≥ 65 s    a full minute of traffic in CC_avg's window (the time before the server started counts
 *             as no call up: before a minute, the average is below CC) and ≥ 7 samples (≥ 6
 *             needed): steady, no alert anywhere;
 *             carrier_a's SIPp UAS is killed (SIGKILL). Its calls up end as the customer's BYEs
 *             pass Kamailio (they get Kamailio's 408, seen by sipstats all the same) within the 4 s
 *             hold; new INVITEs to carrier_a time out (fr_timer 3 s, 408) and fail over to carrier_b.
 *   kill + ≈ 2 s    CC of carrier_a below half its average: the alert is pending
 *   kill + ≈ 12 s   `for` (10 s) over: firing, posted to Alertmanager (checked there: alertname
 *                   carrier_outage, carrier carrier_a, active), bound: 20 s after the kill; no alert
 *                   for carrier_b (its CC rose from 0: no average to drop from, then above it)
 *   then      a new SIPp UAS for carrier_a on the same address and port: Kamailio routes the next
 *             calls to it again, its CC climbs back above half its average and the alert resolves:
 *             gone from Alertmanager, `recent` in MI list_alerts with reason `recovered`, bound:
 *             12 s after the restart
 * About 90-95 s in all. The test prints CC and CC_avg (with its sample count) of both carriers every
 * second, and the alert states, as diagnostics.
 *
 * Needs Debian kamailio, sip-tester (sipp) and prometheus-alertmanager (tcpdump installed too, as
 * requireTools() checks it, but nothing is captured: no root needed). Run it alone:
 *   cd /work/main && node --import tsx --test test/e2e/capacity-outage.test.ts
 * SIPSTATS_KEEP_CAPTURE=1 keeps the run directory (configs, SIPp traces, Kamailio's log) and prints its path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import type { Stats } from '../../src/index.ts';
import { alertmanagerPath, startAlertmanager, waitFor } from '../support/alertmanager.ts';
import type { AlertmanagerInstance } from '../support/alertmanager.ts';
import { requireTools, sipstatsYaml, startPlatform, steadyCalls } from '../support/kamailio.ts';
import type { CustomerRun, Platform } from '../support/kamailio.ts';
import { readText, tail } from '../support/processes.ts';

const RATE = 2; // calls/s
const HOLD_MS = 4000;
const NOMINAL_CC = (RATE * HOLD_MS) / 1000; // 8
/** Steady traffic before the kill: at least this long, and CC_avg with at least KILL_SAMPLES samples. */
const STEADY_MS = 65_000;
const KILL_SAMPLES = 7;
const FOR_MS = 10_000;
/** From the kill to the alert in Alertmanager: the calls up end within the hold (4 s), then `for`, then a pass and the POST (see the header). */
const FIRE_BOUND_MS = HOLD_MS + FOR_MS + 6000;
/** From the new carrier_a to the alert gone: its first calls answered (0.5 s), CC past half the average (≈ 2 s), a pass and the POST. */
const RESOLVE_BOUND_MS = 12_000;

const RULES = (amUrl: string) => `
alerts:
  - { name: carrier_outage, kpi: CC, window: 1m, by: carrier, drop: 50, for: ${FOR_MS / 1000}s, min_samples: 6, severity: critical }
notify:
  - { url: "${amUrl}/api/v2/alerts", format: alertmanager }
`;

interface AlertView {
  alertname: string;
  state: string;
  dimension: Record<string, string>;
  value: number | null;
  samples: number | null;
  since: string;
  firedAt: string | null;
  resolvedAt: string | null;
  reason?: string;
}
interface AlertList {
  result: { active: AlertView[]; recent: AlertView[] };
}

/** A level (CC) and a 1-minute average with its sample count (CC_avg), of one carrier. */
function carrierNow(stats: Stats, carrier: string): { cc: number | null; avg: number | null; n: number | null } {
  const cc = stats.getStat(`CC~carrier=${carrier}`);
  const s = stats.engine.lookup(`CC_avg~carrier=${carrier}`);
  if (s === undefined || s.kind !== 1) return { cc, avg: stats.getStat(`CC_avg~carrier=${carrier}`), n: null };
  const cell = { v: null as number | null, n: null as number | null };
  s.profile.readWithCount(s, stats.engine.clock(), cell);
  return { cc, avg: cell.v, n: cell.n };
}

interface Row {
  t: number;
  a: ReturnType<typeof carrierNow>;
  b: ReturnType<typeof carrierNow>;
  alertA: string;
  alertB: string;
}

test('carrier_a killed mid-traffic: carrier_outage fires in Alertmanager for carrier_a only, and resolves once a new carrier_a answers', { timeout: 180_000 }, async (t) => {
  requireTools();
  alertmanagerPath();
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-outage-'));
  let am: AlertmanagerInstance | undefined;
  let srv: Running | undefined;
  let platform: Platform | undefined;
  let sampler: ReturnType<typeof setInterval> | undefined;
  const rows: Row[] = [];
  const marks: string[] = [];
  let pids: number[] = [];
  let uac: CustomerRun | undefined;
  try {
    am = await startAlertmanager();
    const parsed = parseNativeText(sipstatsYaml(false) + RULES(am.url));
    assert.ok(parsed.ok, `configuration: ${JSON.stringify(!parsed.ok && parsed.issues)}`);
    const warnings: string[] = [];
    srv = await start({ config: parsed.value, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (level, m) => warnings.push(`${level}: ${m}`), env: {} });
    const stats = srv.stats;
    const hepPort = Number(srv.hepAddress!.split(':').pop());
    platform = await startPlatform({ mode: 'proxy', dir, hepPort, lifetimeMs: 180_000, trace: process.env.SIPSTATS_KEEP_CAPTURE !== undefined });

    const list = async () => ((await stats.mi('list_alerts')) as AlertList).result;
    const activeOf = async (carrier: string) => (await list()).active.find((a) => a.alertname === 'carrier_outage' && a.dimension.carrier === carrier);
    const inAm = async (carrier: string) => (await am!.alerts()).find((a) => a.labels.alertname === 'carrier_outage' && a.labels.carrier === carrier);
    const state = (a: AlertView | undefined) => (a === undefined ? '-' : `${a.state} ${a.value}%`);

    // the traffic: far more calls than the run places (stopped at the end)
    uac = await platform.startCustomer('acme', steadyCalls('acme', 400, '+4420794', { a: 200, b: 200 }, HOLD_MS), RATE, 4 * NOMINAL_CC, [408]);
    await waitFor('the first call in sipstats', 15_000, () => ((stats.getStat('dialog:processed_dialogs') ?? 0) > 0 ? true : undefined));
    const t0 = Date.now();
    const since = (ms: number) => ((ms - t0) / 1000).toFixed(1);
    const mark = (what: string) => {
      const a = carrierNow(stats, 'carrier_a');
      marks.push(`t=${since(Date.now())} s ${what}: carrier_a CC ${a.cc}, CC_avg ${a.avg} (${a.n} samples)`);
      return a;
    };
    // once a second: both carriers' CC and CC_avg, and their alerts
    sampler = setInterval(() => {
      void list().then((l) => {
        const of = (c: string) => state(l.active.find((a) => a.alertname === 'carrier_outage' && a.dimension.carrier === c));
        rows.push({ t: (Date.now() - t0) / 1000, a: carrierNow(stats, 'carrier_a'), b: carrierNow(stats, 'carrier_b'), alertA: of('carrier_a'), alertB: of('carrier_b') });
      });
    }, 1000);

    // 1. steady: CC_avg of carrier_a with enough samples, CC ≈ 8 on carrier_a, none on carrier_b, no alert
    await waitFor(`${STEADY_MS / 1000} s of traffic and ${KILL_SAMPLES} CC_avg samples of carrier_a`, STEADY_MS + 20_000, () =>
      Date.now() - t0 >= STEADY_MS && (carrierNow(stats, 'carrier_a').n ?? 0) >= KILL_SAMPLES ? true : undefined,
    );
    assert.ok(uac.child.exitCode === null, `the customer's SIPp stopped early:\n${tail(readText(uac.outLog))}`);
    const before = mark('before the kill');
    const b0 = carrierNow(stats, 'carrier_b');
    assert.ok(Math.abs(before.cc! - NOMINAL_CC) <= 2, `CC of carrier_a ${before.cc}, expected ${NOMINAL_CC} ±2`);
    assert.ok(before.avg! >= NOMINAL_CC - 3, `CC_avg of carrier_a ${before.avg}, expected about ${NOMINAL_CC}`);
    assert.equal(b0.cc ?? 0, 0, 'carrier_b takes no call while carrier_a answers (no CC yet, or 0)');
    assert.deepEqual((await list()).active, [], 'no alert while the traffic is steady');
    assert.deepEqual(await am.alerts(), []);

    // 2. the outage: carrier_a's UAS killed; firing within the bound, in Alertmanager
    await platform.killCarrier('a', 'SIGKILL');
    const tKill = Date.now();
    mark('killed');
    const fired = await waitFor('the carrier_a alert in Alertmanager', FIRE_BOUND_MS + 20_000, () => inAm('carrier_a'));
    const tFired = Date.now();
    const atFire = mark('in Alertmanager');
    const b1 = carrierNow(stats, 'carrier_b');
    assert.ok(tFired - tKill <= FIRE_BOUND_MS, `the alert reached Alertmanager ${tFired - tKill} ms after the kill (bound ${FIRE_BOUND_MS} ms)`);
    assert.equal(fired.status.state, 'active');
    assert.deepEqual({ ...fired.labels }, { alertname: 'carrier_outage', severity: 'critical', kpi: 'CC', window: '1m', carrier: 'carrier_a' });
    const view = await activeOf('carrier_a');
    assert.ok(view !== undefined && view.state === 'firing', `list_alerts: ${JSON.stringify(view)}`);
    const pendingAt = Date.parse(view.since);
    const firedAt = Date.parse(view.firedAt!);
    assert.ok(firedAt - pendingAt >= FOR_MS, `fired ${firedAt - pendingAt} ms after the drop began (for: ${FOR_MS} ms)`);
    assert.ok(pendingAt - tKill <= HOLD_MS + 1500, `the drop began ${pendingAt - tKill} ms after the kill (the calls up end within the ${HOLD_MS} ms hold)`);
    assert.equal(atFire.cc, 0, 'no attempt of carrier_a up: its calls ended, its new attempts time out');
    assert.ok(view.value! >= 50, `the drop ${view.value} %`);
    assert.ok(b1.cc! >= NOMINAL_CC / 2, `carrier_b took the calls over: CC ${b1.cc}`);
    assert.equal(await activeOf('carrier_b'), undefined, 'no alert for carrier_b (its CC rose)');
    assert.equal(await inAm('carrier_b'), undefined, 'no carrier_b alert in Alertmanager');
    marks.push(`carrier_outage carrier_a: pending at t=${since(pendingAt)} s (kill + ${pendingAt - tKill} ms), fired at t=${since(firedAt)} s, in Alertmanager at t=${since(tFired)} s (kill + ${tFired - tKill} ms); carrier_b CC ${b1.cc}`);

    // 3. carrier_a back: a new UAS on the same address and port; resolved within the bound
    await platform.startCarrier('a');
    const tBack = Date.now();
    mark('carrier_a started again');
    await waitFor('the carrier_a alert to leave Alertmanager', RESOLVE_BOUND_MS + 20_000, async () => ((await inAm('carrier_a')) === undefined ? true : undefined));
    const tGone = Date.now();
    const atResolve = mark('gone from Alertmanager');
    const recent = (await list()).recent.find((a) => a.alertname === 'carrier_outage' && a.dimension.carrier === 'carrier_a');
    assert.ok(recent !== undefined, 'list_alerts: the carrier_a alert among the recent (resolved) ones');
    assert.equal(recent.state, 'resolved');
    assert.equal(recent.reason, 'recovered');
    assert.equal(await activeOf('carrier_a'), undefined);
    const resolvedAt = Date.parse(recent.resolvedAt!);
    marks.push(`resolved at t=${since(resolvedAt)} s (restart + ${resolvedAt - tBack} ms, drop ${recent.value} %), gone from Alertmanager at t=${since(tGone)} s (restart + ${tGone - tBack} ms)`);
    assert.ok(tGone - tBack <= RESOLVE_BOUND_MS, `the alert left Alertmanager ${tGone - tBack} ms after carrier_a came back (bound ${RESOLVE_BOUND_MS} ms)`);
    assert.ok(recent.value! < 50, `resolved at a drop of ${recent.value} %`);
    assert.ok(atResolve.cc! > 0 && atResolve.cc! * 2 > atResolve.avg!, `carrier_a CC ${atResolve.cc} back above half its average ${atResolve.avg}`);

    // never an alert for carrier_b, at any second of the run
    clearInterval(sampler);
    sampler = undefined;
    assert.deepEqual(rows.filter((r) => r.alertB !== '-').map((r) => `t=${r.t.toFixed(1)} s: ${r.alertB}`), [], 'carrier_b: never pending nor firing');
    assert.equal(await inAm('carrier_b'), undefined);
    assert.ok(uac.child.exitCode === null, `the customer's SIPp ran to the end:\n${tail(readText(uac.outLog))}`);
    assert.deepEqual(warnings, []);
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    t.diagnostic('t (s) | carrier_a CC, CC_avg (samples) | carrier_b CC, CC_avg (samples) | alert carrier_a | alert carrier_b');
    for (const r of rows) t.diagnostic(`${r.t.toFixed(1)} | ${r.a.cc}, ${r.a.avg} (${r.a.n}) | ${r.b.cc}, ${r.b.avg} (${r.b.n}) | ${r.alertA} | ${r.alertB}`);
    for (const m of marks) t.diagnostic(m);
    if (platform !== undefined) {
      pids = platform.pids();
      await platform.close();
    }
    if (uac !== undefined) {
      const errors = readText(uac.errorsLog).trim();
      if (errors !== '') t.diagnostic(`the customer's SIPp logged (${uac.errorsLog}): ${errors.split('\n').length} lines, first: ${errors.split('\n').slice(0, 3).join(' / ')}`);
    }
    await srv?.close();
    await am?.stop();
    if (process.env.SIPSTATS_KEEP_CAPTURE === undefined) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`capacity outage e2e: run kept in ${dir}\n`);
  }
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} still running`);
});
