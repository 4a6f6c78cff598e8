/**
 * examples/grafana/sipstats-dashboard.json against a real Prometheus (Debian `prometheus`) scraping
 * a real sipstats fed with real traffic (the HEP of a recorded Kamailio run: customers, carriers,
 * destinations, failover), alerts firing and notified to a real Alertmanager: every query of every
 * panel, annotation and variable, with the variables substituted as Grafana does (each window;
 * "All" and one value of each dimension), must run without error and return data, and every
 * `{{label}}` of a legend must be a label of what it returns. (A panel once answered "vector cannot
 * contain metrics with the same labelset": a test of the names alone let it through.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { readPcap } from '../support/pcap-read.ts';
import { decodeUdp } from '../support/pcap-link.ts';
import { sipstatsYaml } from '../support/kamailio.ts';
import { startAlertmanager, waitFor } from '../support/alertmanager.ts';
import type { AlertmanagerInstance } from '../support/alertmanager.ts';
import { startPrometheus } from '../support/prometheus.ts';
import type { PrometheusInstance } from '../support/prometheus.ts';

const dashboard = JSON.parse(readFileSync('examples/grafana/sipstats-dashboard.json', 'utf8'));
let srv: Running | undefined;
let am: AlertmanagerInstance | undefined;
let prom: PrometheusInstance | undefined;

/** Every PromQL expression of the dashboard, where it is, and the labels its legend names. */
function expressions(): { where: string; expr: string; legend: string }[] {
  const out: { where: string; expr: string; legend: string }[] = [];
  const visit = (p: { title?: string; targets?: { expr?: string; legendFormat?: string }[]; panels?: unknown[] }) => {
    for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ where: `panel "${p.title}"`, expr: t.expr, legend: t.legendFormat ?? '' });
    for (const c of (p.panels ?? []) as never[]) visit(c);
  };
  for (const p of dashboard.panels) visit(p);
  for (const a of dashboard.annotations.list)
    if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: a.expr, legend: `${a.titleFormat ?? ''} ${a.textFormat ?? ''}` });
  for (const v of dashboard.templating.list)
    if (v.type === 'query') {
      const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(v.query.query);
      assert.ok(m, `variable ${v.name}: ${v.query.query}`);
      out.push({ where: `variable $${v.name}`, expr: m[1], legend: `{{${m[2]}}}` });
    }
  return out;
}

before(async () => {
  am = await startAlertmanager();
  // rules this traffic makes fire, one per view, notified to the Alertmanager
  const yaml =
    sipstatsYaml(false) +
    'alerts:\n' +
    '  - { name: asr_low, kpi: ASR, window: 1m, by: customer, below: 99, labels: { team: noc } }\n' +
    '  - { name: pdd_high, kpi: PDD, window: 1m, by: carrier, above: 1 }\n' +
    '  - { name: ner_low, kpi: NER, window: 1m, by: destination, below: 101 }\n' +
    `notify:\n  - { url: ${am.url}/api/v2/alerts, format: alertmanager }\n`;
  const cfg = parseNativeText(yaml);
  assert.ok(cfg.ok, JSON.stringify(!cfg.ok && cfg.issues));
  srv = await start({ config: cfg.value, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: () => {}, env: {} });
  // the recorded Kamailio run's HEP, capture times moved to now
  const { packets } = readPcap(readFileSync(new URL('../fixtures/kamailio-5.6/hep.pcap', import.meta.url)));
  const sock = createSocket('udp4');
  const port = Number(srv.hepAddress!.split(':').pop());
  for (const p of packets) {
    const b = Buffer.from(decodeUdp(p.linkType, p.data)!.payload);
    for (let o = 6; o + 6 <= b.length; o += b.readUInt16BE(o + 4))
      if (b.readUInt16BE(o + 2) === 0x0009) b.writeUInt32BE(b.readUInt32BE(o + 6) - Math.floor(packets[0].timeMs / 1000) + Math.floor(Date.now() / 1000), o + 6);
    await new Promise<void>((res, rej) => sock.send(b, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  }
  sock.close();
  const stats = srv.stats;
  await waitFor('every HEP frame', 10_000, () => ((stats.getStat('sipstats:hep_packets') ?? 0) >= packets.length ? true : undefined));
  await waitFor('an alert notification delivered to Alertmanager', 20_000, () => ((stats.getStat('sipstats:alerts_notifications_sent') ?? 0) > 0 ? true : undefined));
  const target = new URL(srv.url).host;
  prom = await startPrometheus([target]);
  const p = prom;
  // a few scrapes of the target, so rate() over them has two samples
  await waitFor('three scrapes of sipstats by Prometheus', 30_000, async () => {
    const r = await p.query('count_over_time(up{job="sipstats"}[1m]) >= 3 and on() up{job="sipstats"} == 1');
    return r.status === 'success' && (r.data?.result.length ?? 0) > 0 ? true : undefined;
  });
});

after(async () => {
  await prom?.stop();
  await srv?.close();
  await am?.stop();
});

test('the dashboard has KPI panels, customer/carrier/destination variables, a heat map and alert annotations', () => {
  const types = new Set<string>();
  const walk = (ps: { type: string; panels?: never[] }[]) => ps.forEach((p) => (types.add(p.type), walk(p.panels ?? [])));
  walk(dashboard.panels);
  for (const t of ['heatmap', 'timeseries', 'stat', 'table']) assert.ok(types.has(t), t);
  assert.deepEqual(dashboard.templating.list.map((v: { name: string }) => v.name), ['datasource', 'window', 'customer', 'carrier', 'destination']);
  assert.ok(dashboard.annotations.list.some((a: { expr?: string }) => a.expr?.includes('sipstats_alert')));
  assert.ok(expressions().length >= 15);
  // capacity: calls up now (a level: window="now") and calls per second over the chosen window, for all traffic, by customer and by carrier
  const exprs = expressions().map((e) => e.expr);
  for (const [kpi, window] of [['CC', 'now'], ['CPS', '$window']])
    for (const scope of ['customer="",carrier="",destination=""', 'customer=~"$customer",customer!="",carrier="",destination=""', 'carrier=~"$carrier",carrier!="",customer="",destination=""'])
      assert.ok(exprs.some((x) => x === `sipstats_kpi{kpi="${kpi}",window="${window}",${scope}}`), `a panel of ${kpi} for ${scope}`);
});

test('every query of the dashboard runs in a real Prometheus and returns data, for each window and dimension choice', { timeout: 120_000 }, async () => {
  const p = prom!;
  const vars = dashboard.templating.list as { name: string; type: string; query: string | { query: string }; allValue?: string }[];
  const windows = (vars.find((v) => v.name === 'window')!.query as string).split(',');
  // each dimension variable: All (its allValue), then one value its own query offers
  const choices: Record<string, string[]> = {};
  for (const v of vars)
    if (v.type === 'query') {
      const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec((v.query as { query: string }).query)!;
      const r = await p.query(m[1]);
      const values = [...new Set((r.data?.result ?? []).map((x) => x.metric[m[2]]))].sort();
      assert.ok(values.length > 0, `variable $${v.name} offers no value`);
      choices[v.name] = [v.allValue ?? '.*', values[0]];
    }
  assert.ok(choices.customer && choices.carrier && choices.destination);
  const problems: string[] = [];
  let ran = 0;
  for (const { where, expr, legend } of expressions())
    for (const window of windows)
      for (const pick of [0, 1]) {
        const q = expr
          .replace(/\$\{?window\}?/g, window)
          .replace(/\$\{?(customer|carrier|destination)\}?/g, (_, d: string) => choices[d][pick]);
        const r = await p.query(q);
        ran++;
        if (r.status !== 'success') {
          problems.push(`${where} [${window}, ${pick ? 'one value' : 'All'}]: ${r.error} — ${q}`);
          continue;
        }
        const result = r.data?.result ?? [];
        if (result.length === 0) {
          problems.push(`${where} [${window}, ${pick ? 'one value' : 'All'}]: no data — ${q}`);
          continue;
        }
        for (const l of legend.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g))
          if (!result.some((x) => x.metric[l[1]] !== undefined)) problems.push(`${where}: its legend names {{${l[1]}}}, which no series it returns has — ${q}`);
      }
  assert.deepEqual(problems, []);
  assert.ok(ran >= 90, `${ran} queries`);
});
