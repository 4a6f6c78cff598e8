/**
 * Alert evaluation benchmark: the cost of one evaluation pass (what the server's 1-second timer runs)
 * with 10 000 alert instances — `asr_low` by customer over 10 000 customers, each with ASR, NER and
 * PDD series in the 10-minute window (30 000 KPI series, 1 in 10 customers below the threshold), the
 * clock moving 1 s per pass. Target: < 20 ms per pass on one core.
 *
 * Peer (a Prometheus rule evaluation is not available in-process): the same rule evaluated the naive
 * way, reading each instance's value by name through MI `get_statistics` and comparing it with the
 * threshold (no state machine, no sample counts: it does less work than the evaluator).
 */
import { createStats } from '../src/index.ts';
import { KPI_MODPARAMS } from '../src/kpi/catalogue.ts';
import { AlertEvaluator } from '../src/alerts/evaluator.ts';
import { parseAlertsConfig } from '../src/alerts/rules.ts';
import type { BenchResult } from './lib.ts';
import { median, printResults } from './lib.ts';

const CUSTOMERS = 10_000;
const PASSES = 30;

function run(): BenchResult[] {
  let now = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const names: string[] = [];
  for (let c = 0; c < CUSTOMERS; c++) {
    const cust = `cust${c}`;
    names.push(`ASR_10m${cust}`);
    const bad = c % 10 === 0;
    for (let i = 0; i < 30; i++) {
      stats.updateStatSeries('10m-perc', `ASR_10m${cust}`, bad ? (i % 4 === 0 ? 1 : -1) : i % 2 === 0 ? 1 : 1);
      stats.updateStatSeries('10m-perc', `NER_10m${cust}`, 1);
      if (i < 10) stats.updateStatSeries('10m-avg', `PDD_10m${cust}`, 1000 + i * 100);
    }
  }
  const cfg = parseAlertsConfig([{ name: 'asr_low', kpi: 'ASR', window: '10m', by: 'customer', below: 40, clear: 45, min_samples: 20, for: '5s' }], undefined);
  if (cfg.problems.length > 0) throw new Error(JSON.stringify(cfg.problems));
  const rule = cfg.value.rules[0];
  const ev = new AlertEvaluator(stats.engine, cfg.value.rules);

  // the first passes bind every statistic to its rules (at most 5 000 per pass)
  const bindMs: number[] = [];
  while (ev.size < CUSTOMERS || bindMs.length < 7) {
    const t0 = performance.now();
    ev.evaluate(now);
    bindMs.push(performance.now() - t0);
  }
  const firstMs = Math.max(...bindMs);
  if (ev.size !== CUSTOMERS) throw new Error(`expected ${CUSTOMERS} instances, got ${ev.size}`);
  const passMs: number[] = [];
  let changes = 0;
  for (let i = 0; i < PASSES; i++) {
    now += 1000;
    const a = performance.now();
    changes += ev.evaluate(now).length;
    passMs.push(performance.now() - a);
  }
  const firing = ev.active().filter((i) => i.state === 'firing').length;

  // the naive peer: one get_statistics by name per instance, then the comparison
  const naiveMs: number[] = [];
  let naiveBreaches = 0;
  for (let i = 0; i < 10; i++) {
    now += 1000;
    const a = performance.now();
    let breaches = 0;
    for (const n of names) {
      const r = stats.registry.call('get_statistics', { statistics: [n] }) as { result?: Record<string, number | string> };
      const v = Number(r.result?.[`stats_10m:${n}`]);
      if (v < rule.threshold) breaches++;
    }
    naiveMs.push(performance.now() - a);
    naiveBreaches = breaches;
  }
  if (naiveBreaches !== firing) throw new Error(`naive peer saw ${naiveBreaches} breaches, evaluator ${firing} firing`);
  const ev50 = median(passMs);
  const naive50 = median(naiveMs);
  return [
    { name: `evaluation pass, ${CUSTOMERS} instances (30 000 KPI series)`, value: ev50, unit: 'ms', note: `median of ${PASSES}; target < 20 ms; ${firing} firing, ${changes} changes` },
    { name: 'longest binding pass (new statistics: 5 000 bound per pass)', value: firstMs, unit: 'ms', note: `${bindMs.length} passes to bind 30 000 statistics` },
    { name: 'peer: get_statistics by name per instance + compare', value: naive50, unit: 'ms', note: `median of ${naiveMs.length}` },
    { name: 'evaluator speed-up over the peer', value: naive50 / ev50, unit: 'x' },
    { name: 'evaluation cost per instance', value: (ev50 * 1e6) / CUSTOMERS, unit: 'ns' },
  ];
}

printResults('alerts', run());
