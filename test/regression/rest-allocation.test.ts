/**
 * A server at rest after a burst of new customers allocated ~15 MB/s (measured: 10 000 one-call
 * customers, HeapProfiler sampling 8 s after the burst): the dashboard history's pass (every
 * second for the 1-minute ratio and average profiles, slots of 1 s) made a view of every KPI series of every scope, and an
 * iterator result for each, to find that most were below its recordFrom; the engine's sweep (every
 * ten seconds) made a view of every series and level to find that no KPI profile has an idle
 * limit. Both now walk the scopes' places with a cursor: no object per series (1.6 MB/s left).
 * What the history records is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { kpiHistory } from '../../src/kpi/kpi-history.ts';
import { ProfileRuntime } from '../../src/core/profile-runtime.ts';
import { invite, newBranch, reply, request } from '../support/sip-builder.ts';

const T0 = 1_795_508_400_000;

/** Counts the series views made (ProfileRuntime.seriesAt answers a view for a kept series) while `f` runs. */
function viewsMadeBy(f: () => void): number {
  const orig = ProfileRuntime.prototype.seriesAt;
  let n = 0;
  ProfileRuntime.prototype.seriesAt = function (this: ProfileRuntime, local: number) {
    n++;
    return orig.call(this, local);
  };
  try {
    f();
  } finally {
    ProfileRuntime.prototype.seriesAt = orig;
  }
  return n;
}

test('the history pass and the sweep make no object per KPI series at rest; the history records what it did', () => {
  let now = T0;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  const history = kpiHistory(stats.engine, { recordFrom: 3 });
  const call = (n: number, customer: string) => {
    const l = { callId: `rest-${n}@test`, fromTag: `ft${n}`, customer };
    const br = newBranch();
    pipe.onSip(invite(l, { branch: br }), { timeMs: now + 10, srcIp: '127.0.0.1' });
    pipe.onSip(reply(200, 'OK', l, { branch: br, toTag: 't' }), { timeMs: now + 100, srcIp: '127.0.0.1' });
    pipe.onSip(request('BYE', l, { seq: 2, toTag: 't' }), { timeMs: now + 2000, srcIp: '127.0.0.1' });
  };
  // 300 customers seen once (below recordFrom: no history), one busy customer (recorded)
  for (let i = 0; i < 300; i++) call(i, `once${i}`);
  for (let i = 0; i < 5; i++) call(1000 + i, 'busy');
  history.sample(now);
  now += 10_000;
  history.sample(now);
  // what is recorded: the busy customer's ASR and all traffic's, not a customer seen once
  assert.deepEqual(history.get('stats:ASRbusy')?.v, [100, 100]);
  assert.deepEqual(history.get('stats:ASR')?.v, [100, 100]);
  assert.equal(history.get('stats:ASRonce7'), undefined, 'a customer seen once has no history');
  // a customer seen once who comes back past recordFrom is recorded from the next pass
  for (let i = 0; i < 3; i++) call(2000 + i, 'once7');
  now += 10_000;
  history.sample(now);
  assert.deepEqual(history.get('stats:ASRonce7')?.v, [100]);
  // at rest: passes of every profile (the 1-hour ones' slots are ten minutes) decide every series once...
  for (let i = 0; i < 125; i++) {
    now += 10_000;
    pipe.tick(now);
    history.sample(now);
  }
  // ...and then a pass makes no view
  now += 10_000;
  const views = viewsMadeBy(() => history.sample(now));
  assert.equal(views, 0, `views made by a history pass at rest: ${views} (one per KPI series of the profiles due before)`);
  assert.equal(viewsMadeBy(() => stats.engine.sweep()), 0, 'views made by the sweep (no KPI profile has an idle limit)');
  assert.equal(history.get('stats:ASRbusy')?.v.length, history.points, 'a point every pass');
});
