import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/native.ts';
import { KPIS, seriesName, WINDOWS, profileOf } from '../../src/kpi/catalogue.ts';

/**
 * examples/grafana/sipstats-dashboard.json queries only metrics and labels that a real /metrics
 * scrape exports (every view fed, an alert firing): every selector, every `by (...)`, every
 * `{{label}}` of a legend or an annotation, every label_values() of a variable.
 */

const dashboard = JSON.parse(readFileSync('examples/grafana/sipstats-dashboard.json', 'utf8'));
let srv: Running;
let exported: Map<string, Set<string>>;

before(async () => {
  const now = Date.now();
  const cfg = parseNativeText(
    'alerts:\n  - { name: asr_low, kpi: ASR, window: 10m, by: customer, below: 40, labels: { team: noc } }\n' +
      '  - { name: pdd_high, kpi: PDD, window: 10m, by: carrier, above: 1000 }\n  - { name: ner_low, kpi: NER, window: 1h, by: destination, below: 50 }\n',
  );
  assert.ok(cfg.ok);
  srv = await start({ config: cfg.value, listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, log: () => {}, env: {}, clock: () => now });
  for (const scope of [{}, { customer: 'acme' }, { carrier: 'carrier_a' }, { destination: '44' }, { carrier: 'carrier_a', destination: '44' }])
    for (const w of WINDOWS)
      for (const k of KPIS) srv.stats.updateStatSeries(profileOf(k, w), seriesName(k, w, scope), k.kind === 'ratio' ? -1 : 1500);
  assert.equal(srv.alerts.tick(now).length, 3, 'one alert by customer, by carrier and by destination');
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
  exported = new Map();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /gm)) {
    const labels = exported.get(m[1]) ?? new Set(['__name__']);
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(l[1]);
    exported.set(m[1], labels);
  }
  assert.ok(exported.has('sipstats_alert') && exported.has('sipstats_kpi'));
});
after(() => srv?.close());

/** Every PromQL expression of the dashboard, where it is. */
function expressions(): { where: string; expr: string; legend?: string }[] {
  const out: { where: string; expr: string; legend?: string }[] = [];
  const visit = (p: { title?: string; targets?: { expr?: string; legendFormat?: string }[]; panels?: unknown[] }) => {
    for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ where: `panel "${p.title}"`, expr: t.expr, legend: t.legendFormat });
    for (const c of (p.panels ?? []) as never[]) visit(c);
  };
  for (const p of dashboard.panels) visit(p);
  for (const a of dashboard.annotations.list) if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: a.expr, legend: `${a.titleFormat ?? ''} ${a.textFormat ?? ''} ${(a.tagKeys ?? '').split(',').map((k: string) => `{{${k}}}`).join(' ')}` });
  for (const v of dashboard.templating.list)
    if (v.type === 'query') {
      const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(v.query.query);
      assert.ok(m, `variable ${v.name}: ${v.query.query}`);
      out.push({ where: `variable $${v.name}`, expr: m[1], legend: `{{${m[2]}}}` });
    }
  return out;
}

test('the dashboard has KPI panels, customer/carrier/destination variables, a heat map and alert annotations', () => {
  const types = new Set<string>();
  const walk = (ps: { type: string; panels?: never[] }[]) => ps.forEach((p) => (types.add(p.type), walk(p.panels ?? [])));
  walk(dashboard.panels);
  for (const t of ['heatmap', 'timeseries', 'stat', 'table']) assert.ok(types.has(t), t);
  assert.deepEqual(dashboard.templating.list.map((v: { name: string }) => v.name), ['datasource', 'window', 'customer', 'carrier', 'destination']);
  assert.ok(dashboard.annotations.list.some((a: { expr?: string }) => a.expr?.includes('sipstats_alert')));
  assert.ok(expressions().length >= 15);
});

test('every metric and label the dashboard queries is one /metrics exports', () => {
  const problems: string[] = [];
  for (const { where, expr, legend } of expressions()) {
    const metrics = new Set<string>();
    const labels = new Set<string>();
    // selectors: name{matchers} or {__name__=~"re", matchers}
    for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^}]*)\}/g)) {
      const matchers = [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)];
      if (m[1] !== undefined) metrics.add(m[1]);
      else {
        const re = matchers.find((x) => x[1] === '__name__');
        if (re === undefined) problems.push(`${where}: selector without a metric name`);
        else {
          const rx = new RegExp(`^(?:${re[3]})$`);
          const hit = [...exported.keys()].filter((n) => rx.test(n));
          if (hit.length === 0) problems.push(`${where}: no exported metric matches ${re[3]}`);
          hit.forEach((h) => metrics.add(h));
        }
      }
      for (const x of matchers) labels.add(x[1]);
    }
    for (const m of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/\b(sipstats_[a-zA-Z0-9_]+)\b(?!\s*\{)/g)) metrics.add(m[1]);
    for (const m of expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) for (const l of m[1].split(',')) if (l.trim()) labels.add(l.trim());
    for (const m of (legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) labels.add(m[1]);
    if (metrics.size === 0) problems.push(`${where}: no metric in ${expr}`);
    for (const name of metrics) {
      const have = exported.get(name);
      if (have === undefined) {
        problems.push(`${where}: metric ${name} is not exported`);
        continue;
      }
      // a label must exist on the metric, except ="" matchers (absent) that also hold where it is absent
      for (const l of labels) if (!have.has(l) && !new RegExp(`\\b${l}\\s*=\\s*""`).test(expr)) problems.push(`${where}: ${name} has no label ${l}`);
    }
  }
  assert.deepEqual(problems, []);
});
