/**
 * A /metrics scrape kept an entry, a name and the text of every statistic it had written, so that
 * a customer's KPI series cost ~19 KB more once Prometheus had scraped the server (measured with
 * 10 000 one-call customers: 3.5 KB of state, then 23 KB). The serializer now writes a KPI scope's
 * lines from the text of its place (KPI and window: a few hundred in all) and its owner's labels
 * (made once per scrape): what it keeps does not grow with customers. The text is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { PrometheusSerializer } from '../../src/export/prometheus.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

const T0 = 1_795_508_400_000;

test('a scrape keeps nothing per KPI series: what the serializer holds does not grow with customers, and it writes what a fresh one writes', () => {
  let now = T0;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  let n = 0;
  const customers = (count: number) => {
    for (let i = 0; i < count; i++) {
      const l = { callId: `scrape-${++n}@test`, fromTag: `ft${n}`, customer: `cust${n}` };
      const br = newBranch();
      const t = now + 10;
      pipe.onSip(invite(l, { branch: br }), { timeMs: t, srcIp: '127.0.0.1' });
      pipe.onSip(reply(200, 'OK', l, { branch: br, toTag: 't' }), { timeMs: t + 100, srcIp: '127.0.0.1' });
      if (i % 2 === 0) pipe.onSip(request('BYE', l, { seq: 2, toTag: 't' }), { timeMs: t + 2000, srcIp: '127.0.0.1' });
    }
  };
  const ser = new PrometheusSerializer();
  const scrape = () => ser.serialize((cb) => stats.forEachStat(cb));
  customers(10);
  const few = scrape();
  const keptFew = ser.kept;
  customers(200);
  const many = scrape();
  assert.ok(many.split('\n').length > few.split('\n').length + 200 * 20, 'the new customers are written');
  assert.match(many, /^sipstats_kpi\{kpi="ASR",window="10m",customer="cust201",group="stats_10m"\} 100$/m);
  assert.match(many, /^sipstats_kpi\{kpi="CC",window="now",customer="cust200",group="stats"\} 1$/m);
  // written in chunks (256 KB at most): every line whole, each family's lines together, one header each
  assert.ok(many.length > 3 * 256 * 1024, `${many.length} bytes: several chunks`);
  for (const l of many.split('\n')) if (l !== '' && !l.startsWith('#')) assert.match(l, /^[a-zA-Z_]+\{[^}\n]*\} -?[0-9.e+]+$/);
  const families = many.split('\n').filter((l) => !l.startsWith('#') && l !== '').map((l) => l.slice(0, l.indexOf('{')));
  const runs = families.filter((f, i) => f !== families[i - 1]);
  assert.equal(new Set(runs).size, runs.length, "a family's lines together");
  assert.equal((many.match(/^# TYPE sipstats_kpi gauge$/gm) ?? []).length, 1);
  assert.equal(ser.kept, keptFew, `statistics whose text the serializer keeps: ${keptFew} with 10 customers, ${ser.kept} with 210`);
  // the same bytes as a serializer that never saw a scrape before, and again on the next scrape
  assert.equal(new PrometheusSerializer().serialize((cb) => stats.forEachStat(cb)), many);
  assert.equal(scrape(), many);
});

test('/metrics/cluster (statistics made anew at each scrape, named KPI series among them): nothing kept per KPI line either, the same text', () => {
  let now = T0;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const fresh = new PrometheusSerializer({ freshViews: true });
  const scrape = () => fresh.serialize((cb) => stats.forEachStat(cb));
  const customers = (from: number, to: number) => {
    for (let c = from; c < to; c++) {
      stats.updateStatSeries('10m-perc', `ASR_10mcust${c}`, c % 3 === 0 ? -1 : 1);
      stats.updateStatSeries('10m-avg', `PDD_10m~carrier=carrier_${c}`, 100 + c);
    }
  };
  customers(0, 10);
  scrape();
  const keptFew = fresh.kept;
  customers(10, 500);
  now += 1000;
  const text = scrape();
  assert.equal(fresh.kept, keptFew, `statistics whose text the serializer keeps: ${keptFew} with 10 customers, ${fresh.kept} with 500`);
  assert.match(text, /^sipstats_kpi\{kpi="ASR",window="10m",customer="cust499",group="stats_10m"\} 100$/m);
  assert.match(text, /^sipstats_kpi\{kpi="PDD",window="10m",carrier="carrier_498",group="stats_10m"\} 598$/m);
  assert.equal(text, new PrometheusSerializer().serialize((cb) => stats.forEachStat(cb)), 'what the per-line cache writes');
});
