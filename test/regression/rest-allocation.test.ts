/**
 * A server at rest after a burst of new customers allocated ~15 MB/s (measured: 10 000 one-call
 * customers, HeapProfiler sampling 8 s after the burst): the dashboard history's pass (every
 * second for the 1-minute ratio and average profiles, slots of 1 s) made a view of every KPI series of every scope, and an
 * iterator result for each, to find that most were below its recordFrom; the engine's sweep (every
 * ten seconds) made a view of every series and level to find that no KPI profile has an idle
 * limit. Both now walk the scopes' places with a cursor: no object per series; and the history
 * reads again only a series updated since its pass before. What the history records is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { kpiHistory } from '../../src/kpi/kpi-history.ts';
import { ProfileRuntime } from '../../src/core/profile-runtime.ts';
import { StatKind } from '../../src/core/stat.ts';
import type { Series } from '../../src/core/stat.ts';
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
  const orig = ProfileRuntime.prototype.countLocal;
  let counted = 0;
  ProfileRuntime.prototype.countLocal = function (this: ProfileRuntime, local: number, t: number) {
    counted++;
    return orig.call(this, local, t);
  };
  let views: number;
  try {
    views = viewsMadeBy(() => history.sample(now));
  } finally {
    ProfileRuntime.prototype.countLocal = orig;
  }
  // (a series below recordFrom and not updated since the pass before is not read again)
  assert.equal(counted, 0, `series whose count a pass at rest read: ${counted}`);
  assert.equal(views, 0, `views made by a history pass at rest: ${views} (one per KPI series of the profiles due before)`);
  assert.equal(viewsMadeBy(() => stats.engine.sweep()), 0, 'views made by the sweep (no KPI profile has an idle limit)');
  assert.equal(history.get('stats:ASRbusy')?.v.length, history.points, 'a point every pass');
  // a customer below recordFrom that gets calls again is asked again, and recorded once past it
  for (let i = 0; i < 3; i++) call(3000 + i, 'once9');
  now += 10_000;
  history.sample(now);
  assert.deepEqual(history.get('stats:ASRonce9')?.v, [100]);
});

test('a KPI series refused at the cap is asked again once room frees up, though not updated since', () => {
  let now = T0;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  const history = kpiHistory(stats.engine, { recordFrom: 2, maxSeries: 1 });
  let n = 0;
  const call = (customer: string) => {
    const l = { callId: `cap-${++n}@test`, fromTag: `ft${n}`, customer };
    const br = newBranch();
    pipe.onSip(invite(l, { branch: br }), { timeMs: now + 10, srcIp: '127.0.0.1' });
    pipe.onSip(reply(200, 'OK', l, { branch: br, toTag: 't' }), { timeMs: now + 100, srcIp: '127.0.0.1' });
  };
  for (const c of ['a', 'a', 'b', 'b']) call(c);
  history.sample(now);
  const recorded = () => [...stats.engine.all()].filter((s) => s.kind === StatKind.Series && /[ab]$/.test(s.name) && history.getStat(s) !== undefined);
  assert.equal(recorded().length, 1, 'one customer series: the cap');
  // passes at rest: nothing updated
  for (let i = 0; i < 3; i++) history.sample((now += 1000));
  const kept = recorded()[0];
  stats.engine.removeSeries(kept as Series);
  history.sample((now += 1000)); // the removed one's ring goes: the decisions are dropped
  history.sample((now += 1000)); // every series asked again: one refused at the cap before takes the room
  const after = recorded().map((s) => s.name);
  assert.equal(after.length, 1, `one customer series recorded once room freed up: ${after.join(' ')}`);
  assert.notEqual(after[0], kept.name);
});
