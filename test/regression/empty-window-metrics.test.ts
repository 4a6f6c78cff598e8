/**
 * An empty window was exported as 0. Once a carrier's traffic stopped, /metrics kept
 * `sipstats_kpi{kpi="ASR",window="1m",carrier="carrier_b"} 0` for a carrier that answered every
 * attempt, and the exported Prometheus rules fired `carrier_asr_low` for it. The MI keeps OpenSIPS'
 * 0; /metrics leaves the value out and says how many samples each KPI's window holds
 * (`sipstats_kpi_samples`), so PromQL can ask for a minimum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { PrometheusSerializer } from '../../src/export/prometheus.ts';

test('a KPI whose window holds no sample is left out of /metrics, and its sample count says 0; the MI still says 0', () => {
  let now = 1_795_508_400_000;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const ser = new PrometheusSerializer();
  const scrape = () => ser.serialize((cb) => stats.forEachStat(cb));
  // carrier_b answers two attempts, then its traffic stops
  stats.updateStatSeries('perc', 'ASR~carrier=carrier_b', 1);
  stats.updateStatSeries('10m-perc', 'ASR_10m~carrier=carrier_b', 1);
  stats.updateStatSeries('perc', 'ASR~carrier=carrier_b', 1);
  stats.updateStatSeries('10m-perc', 'ASR_10m~carrier=carrier_b', 1);
  let text = scrape();
  assert.match(text, /^sipstats_kpi\{kpi="ASR",window="1m",carrier="carrier_b",group="stats"\} 100$/m);
  assert.match(text, /^sipstats_kpi_samples\{kpi="ASR",window="1m",carrier="carrier_b",group="stats"\} 2$/m);
  assert.match(text, /^# TYPE sipstats_kpi_samples gauge$/m);

  now += 120_000; // two minutes without traffic: the 1-minute window is empty, the 10-minute one is not
  text = scrape();
  assert.equal(stats.getStat('ASR~carrier=carrier_b'), 0, "the MI keeps OpenSIPS' 0");
  assert.doesNotMatch(text, /^sipstats_kpi\{kpi="ASR",window="1m",carrier="carrier_b"/m, 'no false 0 for Prometheus');
  assert.match(text, /^sipstats_kpi_samples\{kpi="ASR",window="1m",carrier="carrier_b",group="stats"\} 0$/m);
  assert.match(text, /^sipstats_kpi\{kpi="ASR",window="10m",carrier="carrier_b",group="stats_10m"\} 100$/m);
  assert.match(text, /^sipstats_kpi_samples\{kpi="ASR",window="10m",carrier="carrier_b",group="stats_10m"\} 2$/m);

  // and a fresh serializer writes the same (the cached one keeps both lines of each KPI)
  assert.equal(new PrometheusSerializer().serialize((cb) => stats.forEachStat(cb)), text);
});
