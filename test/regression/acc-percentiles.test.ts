/**
 * The two KPI feeders disagreed on percentiles: the call tracker fed PDD_p95 and AST_p95 (hard-coded
 * beside PDD and AST), the accounting-event feeder never fed AST_p95. Both now feed the percentiles
 * the catalogue links to a KPI (`of`), and the outcome ratios the catalogue marks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { AccKpiFeeder } from '../../src/kpi/acc-events.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';

test('accounting events feed AST_p95 beside AST, as the call tracker does (catalogue `of`)', () => {
  const stats = createStats({ config: KPI_MODPARAMS });
  const acc = new AccKpiFeeder(new SipPipeline(stats.engine).sink);
  for (const [id, ms] of [['c1', 300], ['c2', 500], ['c3', 900]] as const)
    assert.ok(acc.onEvent({ name: 'E_ACC_CDR', params: { method: 'INVITE', callid: id, sip_code: '200', setuptime_ms: ms, duration: 10, customer: 'acme' } }));
  assert.equal(stats.getStat('AST'), Math.trunc((300 + 500 + 900) / 3));
  assert.equal(stats.getStat('ASTacme'), Math.trunc((300 + 500 + 900) / 3));
  // what the percentile profile gives for these values, fed directly
  const direct = createStats({ config: KPI_MODPARAMS });
  for (const ms of [300, 500, 900]) direct.updateStatSeries('p95', 'AST_p95', ms);
  const p95 = direct.getStat('AST_p95');
  assert.ok(p95 !== null && p95 >= 300 && p95 <= 900);
  assert.equal(stats.getStat('AST_p95'), p95);
  assert.equal(stats.getStat('AST_p95acme'), p95);
  assert.ok(stats.getStat('AST_p95_10macme') !== null);
  assert.equal(stats.getStat('ASR'), 100);
  assert.equal(stats.getStat('sipstats:kpi_update_errors'), null);
});

test('with percentiles off, neither feeder feeds them', () => {
  const stats = createStats({ config: KPI_MODPARAMS });
  const acc = new AccKpiFeeder(new SipPipeline(stats.engine).sink, { percentiles: false });
  assert.ok(acc.onEvent({ name: 'E_ACC_CDR', params: { method: 'INVITE', callid: 'x', sip_code: '200', setuptime_ms: 300, duration: 10 } }));
  assert.equal(stats.getStat('AST'), 300);
  assert.equal(stats.getStat('AST_p95'), null);
});
