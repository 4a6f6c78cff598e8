import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Stats } from '../../src/index.ts';
import { start } from '../../src/app/server.ts';
import { parseNativeConfig } from '../../src/config/yaml-format.ts';
import { attachCluster } from '../../src/cluster/attach.ts';
import type { ClusterHandle, RedisTarget } from '../../src/cluster/attach.ts';
import { keySlot } from '../../src/cluster/slot.ts';
import { startRedisCluster, startSentinels } from '../support/redis-ha.ts';
import { assertClusterEqualsRef, feeder, haEvents, haStats, waitUntil } from '../support/cluster-traffic.ts';

// Real Redis Cluster (3 masters + 3 replicas) and Sentinel (master + replica + 3 sentinels) set-ups,
// started by the tests on loopback. Each test kills a master mid-test right after it acknowledged a
// push its replica never got (the replication link is cut first): the promoted replica lacks that
// write, and the full re-push after the failover heals it. The cluster values then equal one engine
// fed everything: nothing lost, nothing counted twice.

const quiet = () => undefined;
const PREFIX = 'test:';

interface Rig {
  now: number;
  /** Warnings of the nodes about the client giving up (then connecting again). */
  revived: string[];
  ref: Stats;
  stats: Stats[];
  handles: ClusterHandle[];
  apply: (ev: ReturnType<ReturnType<typeof haEvents>>) => void;
  next: () => ReturnType<ReturnType<typeof haEvents>>;
}

async function rig(target: RedisTarget, t: { after(fn: () => unknown): void }): Promise<Rig> {
  const r = { now: Math.ceil(Date.now() / 60_000) * 60_000 + 60_000, revived: [] } as unknown as Rig;
  const log = (_level: string, m: string) => void (/gave up/.test(m) && r.revived.push(m));
  const clock = () => r.now;
  r.ref = haStats(clock);
  r.stats = ['a', 'b', 'c'].map(() => haStats(clock));
  r.handles = [];
  for (const [i, id] of ['a', 'b', 'c'].entries()) {
    const h = await attachCluster(r.stats[i], { redis: target, nodeId: id, flushIntervalMs: 3_600_000, log, maxReconnectDelayMs: 100, keyPrefix: PREFIX });
    t.after(() => h.close());
    r.handles.push(h);
  }
  await Promise.all(r.handles.map((h) => h.ready(15_000)));
  r.apply = feeder(r.stats, r.ref);
  r.next = haEvents(11);
  return r;
}

/** `steps` steps of 1.7 s (engine clock) of traffic, a flush of every node each `flushEvery` steps. */
async function run(r: Rig, steps: number, flushEvery: number, mustFlush = true): Promise<void> {
  for (let i = 0; i < steps; i++) {
    r.now += 1700;
    r.apply(r.next());
    if (i % flushEvery === flushEvery - 1) {
      const res = await Promise.all(r.handles.map((h) => h.flush()));
      if (mustFlush) assert.ok(res.every((x) => x.ok), JSON.stringify(res));
    }
  }
}

/** The newest `perc` slot hash (where the last push of ASR went). */
function percKey(r: Rig): string {
  const p = r.ref.engine.profileList().find((x) => x.def.name === 'perc')!;
  return `${PREFIX}{perc}:percentage-60-6:${p.slotAt(r.now)}`;
}

/**
 * Cuts the replication link of `masterPort`, pushes new parts of `perc` ASR_lost from every node (the master
 * acknowledges them), and checks that the replica did not get them: the state a master killed right
 * after acknowledging leaves behind. Retries if the replica reconnected in between.
 */
async function ackedButNotReplicated(r: Rig, masterPort: number, replicaPort: number, cluster: boolean): Promise<string> {
  const m = new Redis({ host: '127.0.0.1', port: masterPort, lazyConnect: true });
  const rep = new Redis({ host: '127.0.0.1', port: replicaPort, lazyConnect: true });
  try {
    await m.connect();
    await rep.connect();
    if (cluster) await rep.call('READONLY');
    // connections already open stay authenticated; the replica's next sync is refused (NOAUTH), so
    // it cannot fetch the write from the backlog before the master dies
    await m.call('CONFIG', 'SET', 'requirepass', 'no-more-syncs');
    for (let attempt = 0; attempt < 5; attempt++) {
      await m.call('CLIENT', 'KILL', 'TYPE', 'replica');
      r.now += 500;
      // a series no other traffic touches: only a full re-push can bring it back
      for (const s of r.stats) s.updateStatSeries('perc', 'ASR_lost', attempt % 2 === 0 ? -1 : 1);
      for (let i = 0; i < r.stats.length; i++) r.ref.updateStatSeries('perc', 'ASR_lost', attempt % 2 === 0 ? -1 : 1);
      const res = await Promise.all(r.handles.map((h) => h.flush()));
      assert.ok(res.every((x) => x.ok), JSON.stringify(res));
      const key = percKey(r);
      const onMaster = await m.hgetall(key);
      const onReplica = await rep.hgetall(key);
      if (JSON.stringify(onMaster) !== JSON.stringify(onReplica)) return key;
    }
    throw new Error('could not leave a write acknowledged but not replicated');
  } finally {
    m.disconnect();
    rep.disconnect();
  }
}

/** Feeds and flushes (failures allowed) every 50 ms of real time until `done` settles. */
async function feedWhile<T>(r: Rig, done: Promise<T>): Promise<{ value: T; failed: number }> {
  let settled = false;
  const p = done.finally(() => (settled = true));
  let failed = 0;
  while (!settled) {
    r.now += 300;
    r.apply(r.next());
    const res = await Promise.all(r.handles.map((h) => h.flush()));
    failed += res.filter((x) => !x.ok).length;
    await Promise.race([p.catch(() => {}), new Promise((res) => setTimeout(res, 50))]);
  }
  return { value: await p, failed };
}

/** Feeds and flushes until a flush of every node succeeds with nothing pending. */
async function allPushed(r: Rig, what: string): Promise<void> {
  let last: unknown;
  await waitUntil(what, async () => {
    r.now += 100;
    r.apply(r.next());
    const res = await Promise.all(r.handles.map((h) => h.flush()));
    last = res;
    return res.every((x) => x.ok && x.pending === 0);
  }, 20_000).catch((e: Error) => {
    throw new Error(`${e.message}: last flushes ${JSON.stringify(last)}, status ${JSON.stringify(r.handles.map((h) => h.status()))}`);
  });
}

test('Redis Cluster, 3 masters with replicas: three nodes equal one node fed everything, through a master killed with an unreplicated write', { timeout: 90_000 }, async (t) => {
  const rc = await startRedisCluster(); // fails naming the Debian package when redis-server / redis-cli are missing
  t.after(() => rc.dispose());

  // our key slots are Redis' own
  const admin = new Redis({ host: '127.0.0.1', port: rc.nodes[0].port });
  t.after(() => admin.disconnect());
  for (const k of ['test:{perc}:percentage-60-6:29925', 'test:counters:a', 'test:nodes', 'a{}{b}', '{}', 'x{y}z{w}', '{user1000}.following', 'héllo{é}', '']) {
    assert.equal(keySlot(k), Number(await admin.call('CLUSTER', 'KEYSLOT', k)), `slot of ${JSON.stringify(k)}`);
  }

  const seeds = rc.seeds.slice(0, 2).map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) }));
  const r = await rig({ mode: 'cluster', nodes: seeds }, t);
  const st = r.handles[0].status();
  assert.equal(st.mode, 'cluster');
  assert.deepEqual(
    st.redisNodes.filter((n) => n.role === 'master').reduce((a, n) => a + (n.slots ?? 0), 0),
    16384,
    JSON.stringify(st.redisNodes),
  );
  assert.equal(st.redisNodes.filter((n) => n.role === 'master').length, 3, JSON.stringify(st.redisNodes));
  assert.equal(st.redisNodes.filter((n) => n.role === 'replica').length, 3, JSON.stringify(st.redisNodes));
  const mi = (await r.stats[1].mi('cluster_status')) as { result: { mode: string; redisNodes: unknown[] } };
  assert.equal(mi.result.mode, 'cluster');

  // the server takes the deployment from its configuration file's redis section; MI cluster_status shows it
  const cfg = parseNativeConfig({ listen: '127.0.0.1:0', profiles: [], redis: { cluster: rc.seeds.slice(2, 4), nodeId: 'srv' } });
  assert.ok(cfg.ok, JSON.stringify(cfg));
  const srv = await start({ config: cfg.value, hepListen: null, dataDir: null, print: () => {}, log: quiet, env: {} });
  try {
    await srv.cluster!.ready(10_000);
    const reply = await (await fetch(`${srv.url}/mi`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'cluster_status' }) })).json();
    assert.equal(reply.result.mode, 'cluster');
    assert.equal(reply.result.nodeId, 'srv');
    assert.equal(reply.result.redis, `cluster via ${rc.seeds.slice(2, 4).join(',')}`);
    assert.deepEqual(
      reply.result.redisNodes.map((n: { role: string }) => n.role).sort(),
      ['master', 'master', 'master', 'replica', 'replica', 'replica'],
    );
  } finally {
    await srv.close();
  }

  // 1. normal operation, long enough for slots of the 60 s profiles to expire
  await run(r, 60, 3);
  await assertClusterEqualsRef(r.handles, r.ref, 'Redis Cluster, before the failover');
  // the keys really are spread over several masters (one pipeline per key slot)
  const masters = await rc.masters();
  let holding = 0;
  for (const port of masters) {
    const c = new Redis({ host: '127.0.0.1', port });
    if ((await c.dbsize()) > 0) holding++;
    c.disconnect();
  }
  assert.ok(holding >= 2, `keys on ${holding} master(s)`);

  // 2. the master of {perc} acknowledges a push its replica never gets, and is killed
  const owner = await rc.ownerOf(percKey(r));
  const lostKey = await ackedButNotReplicated(r, owner.master, owner.replicas[0], true);
  const resyncsBefore = r.handles.map((h) => h.status().resyncs);
  const { value: fo, failed } = await feedWhile(r, rc.killMaster(owner.master));
  assert.ok(fo.promoted > 0 && fo.promoted !== owner.master);

  // 3. keep feeding; once every node pushes again the values are exact: the lost write was re-pushed
  await allPushed(r, 'every node to push to the new topology');
  await run(r, 10, 2);
  const after = await assertClusterEqualsRef(r.handles, r.ref, `Redis Cluster, after master ${owner.master} was killed (${failed} failed flush(es) meanwhile; ${lostKey} lost on the promoted replica)`);
  assert.equal(typeof after['stats:ASR_lost'], 'number', 'the series of the lost write is still in its window');
  for (const [i, h] of r.handles.entries()) {
    const s = h.status();
    assert.ok(s.resyncs > resyncsBefore[i], `node ${i} re-pushed everything: ${JSON.stringify(s)}`);
    assert.ok(s.redisUp);
    assert.ok(!s.redisNodes.some((n) => n.address.endsWith(`:${owner.master}`) && n.role === 'master'), JSON.stringify(s.redisNodes));
  }
  // a redundant flush changes nothing
  await assertClusterEqualsRef(r.handles, r.ref, 'Redis Cluster, redundant flush');
});

test('Redis Sentinel, master + replica + 3 sentinels: three nodes equal one node fed everything, through a master killed with an unreplicated write', { timeout: 90_000 }, async (t) => {
  const ss = await startSentinels('mymaster');
  t.after(() => ss.dispose());
  const r = await rig({ mode: 'sentinel', sentinels: ss.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), master: 'mymaster' }, t);
  const st = r.handles[0].status();
  assert.equal(st.mode, 'sentinel');
  assert.deepEqual(st.redisNodes[0], { address: `127.0.0.1:${ss.master.port}`, role: 'master' });
  assert.equal(st.redisNodes.filter((n) => n.role === 'sentinel').length, 3);

  await run(r, 40, 3);
  await assertClusterEqualsRef(r.handles, r.ref, 'Sentinel, before the failover');

  const lostKey = await ackedButNotReplicated(r, ss.master.port, ss.replica.port, false);
  const connections = r.handles.map((h) => h.status().connections);
  const { value: fo, failed } = await feedWhile(r, ss.killMaster());
  assert.equal(fo.promoted, ss.replica.port);
  await allPushed(r, 'every node to reconnect to the promoted master');
  // the sentinels' +switch-master may reach a node after it found the new master by itself: it then
  // reconnects once more (to the same master); wait for the connections to settle
  let seen = '';
  let since = Date.now();
  await waitUntil('the connections to settle', () => {
    const now = JSON.stringify(r.handles.map((h) => [h.status().connections, h.status().redisUp]));
    if (now !== seen || !r.handles.every((h) => h.status().redisUp)) {
      seen = now;
      since = Date.now();
    }
    return Date.now() - since > 1500;
  }, 20_000);
  t.diagnostic(`connections after the failover: ${r.handles.map((h, i) => h.status().connections - connections[i]).join(', ')}; client restarts: ${r.revived.length}`);
  await allPushed(r, 'every node to push after the connections settled');
  await run(r, 10, 2);
  const after = await assertClusterEqualsRef(r.handles, r.ref, `Sentinel, after the master was killed (${failed} failed flush(es) meanwhile; ${lostKey} lost on the promoted replica)`);
  assert.equal(typeof after['stats:ASR_lost'], 'number', 'the series of the lost write is still in its window');
  for (const [i, h] of r.handles.entries()) {
    const s = h.status();
    assert.ok(s.connections > connections[i], JSON.stringify(s));
    assert.deepEqual(s.redisNodes[0], { address: `127.0.0.1:${ss.replica.port}`, role: 'master' });
  }
});
