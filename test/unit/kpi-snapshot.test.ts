import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { kpiSnapshot } from '../../src/web/routes.ts';

test('/api/kpis sends at most maxCells carrier × destination pairs per window, the busiest, and counts the rest', () => {
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => 1_800_000_000_000 });
  for (let i = 0; i < 3; i++) stats.updateStatSeries('perc', 'ASR~carrier=a~dest=44', 1);
  stats.updateStatSeries('perc', 'ASR~carrier=b~dest=44', -1);
  for (let i = 0; i < 2; i++) stats.updateStatSeries('perc', 'ASR~carrier=a~dest=49', 1);
  const snap = kpiSnapshot(stats.engine, { window: '1m', maxCells: 2 });
  const w = snap.windows['1m']!;
  assert.deepEqual(Object.keys(w.carrierDestinations).sort(), ['a|44', 'a|49']);
  assert.equal(w.carrierDestinationsOmitted, 1);
  const all = kpiSnapshot(stats.engine, { window: '1m' }).windows['1m']!;
  assert.equal(Object.keys(all.carrierDestinations).length, 3);
  assert.equal(all.carrierDestinationsOmitted, 0);
});
