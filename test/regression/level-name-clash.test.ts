/**
 * CC of customer `Rome` is `CCRome`, which CCR (1 minute) of customer `ome` spells too (the
 * OpenSIPS-style names the capacity KPIs keep). When the series holds the name first, the level
 * was refused without a word; it is now counted in sipstats:kpi_update_errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { invite, newBranch } from '../support/sip-builder.ts';

test('a level whose name a series already holds (CC of customer Rome = CCR of customer ome) is refused and counted, not skipped silently', () => {
  const stats = createStats({ config: KPI_MODPARAMS });
  const pipe = new SipPipeline(stats.engine);
  stats.updateStatSeries('perc', 'CCRome', 1); // CCR of customer ome, first
  pipe.onSip(invite({ callId: 'rome@test', fromTag: 'f', customer: 'Rome' }, { branch: newBranch() }), { timeMs: 1_795_508_400_000, srcIp: '127.0.0.1' });
  assert.equal(stats.getStat('CCRome'), 100, 'the series keeps its name');
  assert.ok((stats.getStat('sipstats:kpi_update_errors') ?? 0) >= 1);
});
