import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createStats, parseOpenSipsConfig } from '../../src/index.ts';
import type { Stats, StatView } from '../../src/index.ts';
import { attachCluster } from '../../src/cluster/attach.ts';
import type { ClusterHandle } from '../../src/cluster/attach.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisInstance } from '../support/redis-server.ts';

const CFG = `
modparam("statistics", "variable", "calls")
modparam("statistics", "stat_series_profile", "perc: algorithm=percentage window=60 slots=6 group=stats")
modparam("statistics", "stat_series_profile", "avg: algorithm=average window=600 slots=10 group=stats_10m")
modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate window=60 group=acc")
modparam("statistics", "stat_series_profile", "pm: algorithm=percentage window=30 slots=3 min_samples=3 precision=2 group=stats")
`;
/** Everything the traffic touches (not the per-node self-statistics of group sipstats). */
const ITEMS = ['stats:', 'stats_10m:', 'acc:', 'script:'];
const quiet = () => undefined;

function newStats(clock: () => number): Stats {
  const r = parseOpenSipsConfig(CFG);
  if (!r.ok) throw new Error('config');
  return createStats({ config: r.value, clock });
}

/** A deterministic traffic set: (profile, series, value) events, several per step. */
function* traffic(seed: number, steps: number): Generator<{ step: number; ev: [string, string, number][] }> {
  let x = seed >>> 0 || 1;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  for (let step = 0; step < steps; step++) {
    const ev: [string, string, number][] = [];
    for (let i = 0; i < 12; i++) {
      const cust = ['', '_c1', '_c2'][rnd(3)];
      switch (rnd(5)) {
        case 0:
          ev.push(['perc', `ASR${cust}`, rnd(10) < 6 ? 1 + rnd(2) : -1]);
          break;
        case 1:
          ev.push(['avg', `PDD${cust}`, rnd(3000)]);
          break;
        case 2:
          ev.push(['acc', `INV${cust}`, rnd(7) - 2]);
          break;
        case 3:
          ev.push(['pm', 'NER', rnd(3) === 0 ? -1 : 1]);
          break;
        default:
          ev.push(['', 'calls', 1 + rnd(3)]);
      }
    }
    yield { step, ev };
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The result of an MI call, whether the registry awaits an async command's result or hands it over. */
async function miResult(s: Stats, method: string, params: unknown): Promise<unknown> {
  const r = (await s.mi(method, params as never)) as { result?: unknown; error?: unknown };
  if ('error' in r) return r;
  const v = await r.result;
  return v !== null && typeof v === 'object' && 'error' in v ? v : { result: v };
}

test('cluster on a real redis-server: three nodes equal one node fed everything, through a Redis restart and dropped connections', { timeout: 120_000 }, async (t) => {
  const redis: RedisInstance = await startRedis(); // fails with "install the Debian package redis-server" when missing
  t.after(() => redis.dispose());
  // fake clock, near real time: TTLs are derived from it
  let now = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
  const clock = () => now;
  const ref = newStats(clock);
  const nodes = ['a', 'b', 'c'].map((id) => ({ id, stats: newStats(clock), h: undefined as unknown as ClusterHandle }));
  for (const n of nodes) {
    n.h = await attachCluster(n.stats, { redisUrl: redis.url, nodeId: n.id, flushIntervalMs: 3_600_000, log: quiet, maxReconnectDelayMs: 100, keyPrefix: 'test:' });
    t.after(() => n.h.close());
  }
  await Promise.all(nodes.map((n) => n.h.ready()));

  let k = 0;
  const apply = (ev: [string, string, number][]) => {
    for (const [profile, name, v] of ev) {
      const node = nodes[k++ % 3].stats;
      for (const s of [node, ref]) {
        if (profile === '') s.updateStat(name, v);
        else s.updateStatSeries(profile, name, v);
      }
    }
  };
  const flushAll = () => Promise.all(nodes.map((n) => n.h.flush()));
  const expectEqual = async (when: string) => {
    const r = await flushAll();
    assert.ok(r.every((x) => x.ok && x.pending === 0), `${when}: ${JSON.stringify(r)}`);
    const want = (await ref.mi('get_statistics', { statistics: ITEMS })) as { result: Record<string, number | null> };
    assert.ok(Object.keys(want.result).length >= 10, when);
    for (const n of nodes) assert.deepEqual(await n.h.getStatistics(ITEMS), want.result, `${when}, read on node ${n.id}`);
    assert.deepEqual(await miResult(nodes[0].stats, 'cluster_get_statistics', { statistics: ITEMS }), want, `${when}: MI`);
    // single names (HMGET of NODE|NAME fields) rather than whole groups
    const some = ['ASR_c2', 'stats_10m:PDD_c1', 'acc:INV', 'NER', 'calls', 'nosuch', 'stats:nosuch'];
    const wantSome = (await ref.mi('get_statistics', { statistics: some })) as { result: Record<string, number | null> };
    assert.deepEqual(await nodes[2].h.getStatistics(some), wantSome.result, `${when}: single names`);
    assert.deepEqual(await nodes[0].h.getStatistics(['nosuch']), {});
  };

  const steps = traffic(7, 400);
  const run = async (n: number, flushEvery: number) => {
    for (let i = 0; i < n; i++) {
      const { ev } = steps.next().value as { ev: [string, string, number][] };
      now += 1700;
      apply(ev);
      if (i % flushEvery === flushEvery - 1) await flushAll();
    }
  };

  // 1. normal operation, long enough for slots of every profile to expire
  await run(120, 3);
  await expectEqual('after 204 s of traffic');
  assert.equal(nodes[0].stats.getStat('sipstats:cluster_redis_up'), 1);

  // 2. Redis stops: nodes keep counting, report the outage, keep a bounded backlog
  await redis.stop();
  await waitFor('nodes to see Redis down', () => nodes.every((n) => !n.h.status().redisUp));
  await run(45, 3); // 76 s: longer than the 60 s windows, so part of the backlog expires unpushed
  const during = await flushAll();
  for (const r of during) assert.ok(!r.ok && r.pending > 0, JSON.stringify(r));
  for (const n of nodes) {
    assert.equal(n.stats.getStat('sipstats:cluster_redis_up'), 0);
    assert.ok(n.stats.getStat('sipstats:cluster_pending_slots')! > 0);
    assert.ok(n.stats.getStat('sipstats:cluster_push_errors')! >= 0);
  }
  await assert.rejects(nodes[1].h.getStatistics(ITEMS), /Redis/);
  const unavailable = (await miResult(nodes[1].stats, 'cluster_get_statistics', { statistics: ['all'] })) as { error: { code: number; message: string } };
  assert.equal(unavailable.error.code, 503);
  assert.match(unavailable.error.message, /Cluster values unavailable/);
  // local reads go on
  assert.equal(typeof nodes[2].stats.getStat('calls'), 'number');

  // 3. Redis comes back empty: every node re-pushes what is still live; nothing counted twice
  await redis.start();
  await Promise.all(nodes.map((n) => n.h.ready()));
  await run(10, 5);
  await expectEqual('after Redis restarted empty');
  for (const n of nodes) {
    assert.equal(n.stats.getStat('sipstats:cluster_redis_up'), 1);
    assert.equal(n.stats.getStat('sipstats:cluster_pending_slots'), 0);
  }

  // 4. connections dropped while Redis keeps its data: the full re-push overwrites, never adds
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  const connects = nodes.map((n) => n.h.status().connections);
  assert.ok(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal')) >= 3);
  await waitFor('nodes to reconnect', () => nodes.every((n, i) => n.h.status().connections > connects[i] && n.h.status().redisUp));
  await run(10, 2);
  await expectEqual('after connections were dropped');
  // pushing again with nothing new changes nothing
  await flushAll();
  await expectEqual('after a redundant flush');

  // 5. one hash per (profile, slot), the profile as hash tag (every key of a series in one Redis
  //    Cluster slot); each expires
  const keys = await admin.keys('test:{*');
  assert.ok(keys.length >= 10);
  for (const key of keys) {
    assert.match(key, /^test:\{(perc|avg|acc|pm)\}:(percentage|average|accumulate)-\d+-\d+(-n)?:\d+$/);
    assert.ok((await admin.pttl(key)) > 0, key);
  }

  // 6. the /metrics view: StatViews with cluster values
  const views: StatView[] = [];
  await nodes[2].h.forEachClusterStat((v) => views.push(v));
  const asr = views.find((v) => v.name === 'ASR');
  // (with the samples behind the value: /metrics exports them beside each KPI, as one node does)
  let refSamples: number | null | undefined;
  ref.forEachStat((v) => {
    if (v.name === 'ASR' && v.group === 'stats') refSamples = v.samples;
  });
  assert.ok(typeof refSamples === 'number' && refSamples > 0);
  assert.deepEqual(asr, { group: 'stats', name: 'ASR', kind: 'series', profile: 'perc', value: ref.getStat('ASR'), samples: refSamples, labels: { kpi: 'ASR', window: '1m', customer: undefined, carrier: undefined, destination: undefined } });
  const calls = views.find((v) => v.name === 'calls');
  assert.equal(calls?.value, ref.getStat('calls'));
  // self-statistics: counts are summed over the nodes; levels (cluster_redis_up, pending slots)
  // describe one process and are left out (summed, "three nodes up" read as cluster_redis_up 3)
  assert.equal(views.find((v) => v.name === 'cluster_redis_up'), undefined);
  assert.equal(views.find((v) => v.name === 'cluster_pending_slots'), undefined);
  const commands = views.find((v) => v.group === 'sipstats' && v.name === 'cluster_commands');
  assert.ok(commands !== undefined && typeof commands.value === 'number' && commands.value > 0, 'counts of the nodes are summed');
});

test('cluster_get_statistics checks its params like get_statistics, before any I/O', async (t) => {
  const s = newStats(Date.now);
  // nothing listens on port 9 of loopback: the node must still attach and answer param errors
  const h = await attachCluster(s, { redisUrl: 'redis://127.0.0.1:9', nodeId: 'solo', log: quiet, maxReconnectDelayMs: 1000 });
  t.after(() => h.close());
  for (const [params, data] of [
    [[], 'Too few or too many parameters'],
    [{ statistics: 5 }, "Bad type for parameter 'statistics'"],
    [{ statistics: [] }, "Empty array in parameter 'statistics'"],
    [{ stats: ['all'] }, 'Named parameters do not match'],
  ] as const) {
    const local = await s.mi('get_statistics', params as never);
    const cluster = await s.mi('cluster_get_statistics', params as never);
    assert.deepEqual(cluster, local);
    assert.deepEqual(cluster, { error: { code: -32602, message: 'Invalid params', data } });
  }
  assert.equal(s.getStat('sipstats:cluster_redis_up'), 0);
  assert.equal(h.status().redisUp, false);
  const which = (await s.mi('which')) as { result: string[] };
  assert.ok(which.result.includes('cluster_get_statistics') && which.result.includes('cluster_status'));
});

test('a node started before Redis counts locally, then connects and shares everything when Redis comes up', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.dispose());
  await redis.stop();
  let now = Math.ceil(Date.now() / 60_000) * 60_000;
  const s = newStats(() => now);
  const h = await attachCluster(s, { redisUrl: redis.url, nodeId: 'early', flushIntervalMs: 3_600_000, log: quiet, maxReconnectDelayMs: 100 });
  t.after(() => h.close());
  s.updateStatSeries('perc', 'ASR', 1);
  s.updateStatSeries('perc', 'ASR', -1);
  s.updateStat('calls', 4);
  const r = await h.flush();
  assert.equal(r.ok, false);
  let counters = 0;
  s.forEachStat((v) => (counters += v.kind === 'series' ? 0 : 1));
  assert.equal(r.pending, 1 + counters, 'one slot and every counter (self-statistics included) waiting');
  assert.equal(s.getStat('sipstats:cluster_redis_up'), 0);
  now += 1000;
  s.updateStatSeries('perc', 'ASR', 1);
  await redis.start();
  await h.ready();
  const ok = await h.flush();
  assert.ok(ok.ok, JSON.stringify(ok));
  assert.deepEqual(await h.getStatistics(['ASR', 'calls']), { 'stats:ASR': 66, 'script:calls': 4 });
  assert.equal(s.getStat('sipstats:cluster_redis_up'), 1);
});

test('concurrent calls (a KPI level) add up over the nodes and keep their labels in the cluster view', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.dispose());
  const now = Math.ceil(Date.now() / 60_000) * 60_000;
  const a = newStats(() => now);
  const b = newStats(() => now);
  const ha = await attachCluster(a, { redisUrl: redis.url, nodeId: 'a', flushIntervalMs: 3_600_000, log: quiet });
  const hb = await attachCluster(b, { redisUrl: redis.url, nodeId: 'b', flushIntervalMs: 3_600_000, log: quiet });
  t.after(() => Promise.all([ha.close(), hb.close()]));
  await ha.ready();
  await hb.ready();
  // what the call tracker keeps: CCacme, a labelled /no_reset counter of group stats
  a.engine.level('stats', 'CCacme', { kpi: 'CC', window: 'now', customer: 'acme' })!.value = 3;
  b.engine.level('stats', 'CCacme', { kpi: 'CC', window: 'now', customer: 'acme' })!.value = 4;
  assert.ok((await ha.flush()).ok && (await hb.flush()).ok);
  const views: StatView[] = [];
  await ha.forEachClusterStat((v) => views.push(v));
  const cc = views.find((v) => v.name === 'CCacme');
  assert.deepEqual(cc && { value: cc.value, kind: cc.kind, labels: cc.labels && { kpi: cc.labels.kpi, window: cc.labels.window, customer: cc.labels.customer } }, { value: 7, kind: 'no_reset', labels: { kpi: 'CC', window: 'now', customer: 'acme' } });
});

test('CC of a customer whose name makes it spell another KPI (CC of Rome is CCRome, as CCR of ome) is read back as CC in the cluster view', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.dispose());
  const now = Math.ceil(Date.now() / 60_000) * 60_000;
  const a = newStats(() => now);
  const ha = await attachCluster(a, { redisUrl: redis.url, nodeId: 'a', flushIntervalMs: 3_600_000, log: quiet });
  t.after(() => ha.close());
  await ha.ready();
  a.engine.level('stats', 'CCRome', { kpi: 'CC', window: 'now', customer: 'Rome' })!.value = 5;
  assert.ok((await ha.flush()).ok);
  const views: StatView[] = [];
  await ha.forEachClusterStat((v) => views.push(v));
  const cc = views.find((v) => v.name === 'CCRome');
  assert.deepEqual(cc && { value: cc.value, kind: cc.kind, kpi: cc.labels?.kpi, window: cc.labels?.window, customer: cc.labels?.customer }, { value: 5, kind: 'no_reset', kpi: 'CC', window: 'now', customer: 'Rome' });
});
