/**
 * A KPI kept under another profile than a snapshot saved it in (CC_avg: `avg` until 2026-12-07,
 * `tavg` since) was restored under its old profile, and took the name: every CC_avg update of that
 * scope then failed (E_NAME_TAKEN, counted in `sipstats:kpi_update_errors`) for as long as the old
 * series lived. A restore now leaves such a series out, and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats, exportState, restoreState } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { invite, newBranch, reply } from '../support/sip-builder.ts';

const T0 = 1_795_508_400_000;

test('a snapshot\'s CC_avg of the old profile is left out at restore (reported), and CC_avg of the new one is fed without errors', () => {
  let now = T0;
  // what an older version saved: CC_avg of acme under `avg`, ASR of acme under its own profile
  const old = createStats({ config: KPI_MODPARAMS, clock: () => now });
  old.updateStatSeries('avg', 'CC_avgacme', 3);
  old.updateStatSeries('perc', 'ASRacme', 1);
  const saved = exportState(old.engine);

  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  const report = restoreState(stats.engine, saved);
  assert.deepEqual(report.skipped, [{ name: 'CC_avgacme', reason: "its feeder keeps it under profile 'tavg' now" }]);
  assert.equal(stats.getStat('ASRacme'), 100, 'the rest is restored');

  const l = { callId: 'moved@test', fromTag: 'f', customer: 'acme' };
  const br = newBranch();
  pipe.onSip(invite(l, { branch: br }), { timeMs: T0 + 100, srcIp: '127.0.0.1' });
  pipe.onSip(reply(200, 'OK', l, { branch: br, toTag: 't' }), { timeMs: T0 + 200, srcIp: '127.0.0.1' });
  for (let t = T0 + 5000; t <= T0 + 60_000; t += 5000) pipe.tick(t);
  assert.equal(stats.getStat('sipstats:kpi_update_errors'), null, 'no update refused');
  assert.equal(stats.getStat('CC_avg_10macme'), 0, '55 call-seconds over a 10-minute window: under one call');
  const s = stats.engine.lookup('CC_avgacme');
  assert.ok(s !== undefined && s.kind === 1 && s.profile.def.name === 'tavg', 'CC_avg is the tracker\'s, under tavg');
});
