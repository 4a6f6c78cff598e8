import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { startRedis } from '../support/redis-server.ts';

// Two real servers (the composition root, as `sipstats serve --redis URL --node-id ID` runs it)
// sharing one real redis-server: MI cluster_get_statistics and /metrics/cluster merge both nodes.
test('two servers on one Redis: cluster_get_statistics and /metrics/cluster merge the nodes exactly', async () => {
  const redis = await startRedis();
  const nodes: Running[] = [];
  try {
    let now = 1_795_508_400_000;
    for (const id of ['a', 'b']) nodes.push(await start({ listen: '127.0.0.1:0', hepListen: null, dataDir: null, redis: redis.url, nodeId: id, clock: () => now, print: () => {}, log: () => {}, env: {} }));
    const [a, b] = nodes;
    await Promise.all(nodes.map((n) => n.cluster!.ready(5000)));
    // node a: 3 answered; node b: 1 answered, 4 failed → cluster ASR 4/8 = 50
    for (let i = 0; i < 3; i++) a.stats.updateStatSeries('perc', 'ASR', 1);
    b.stats.updateStatSeries('perc', 'ASR', 1);
    for (let i = 0; i < 4; i++) b.stats.updateStatSeries('perc', 'ASR', -1);
    a.stats.updateStatSeries('avg', 'PDD', 100);
    b.stats.updateStatSeries('avg', 'PDD', 300);
    now += 10;
    await Promise.all(nodes.map((n) => n.cluster!.flush()));
    assert.equal(a.stats.getStat('ASR'), 100);
    const reply = await (await fetch(`${a.url}/mi`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'cluster_get_statistics', params: [['ASR', 'PDD']] }) })).json();
    assert.deepEqual(reply.result, { 'stats:ASR': 50, 'stats:PDD': 200 });
    const text = await (await fetch(`${b.url}/metrics/cluster`)).text();
    assert.match(text, /sipstats_cluster_kpi\{[^}]*kpi="ASR"[^}]*\} 50/);
    assert.match(text, /sipstats_cluster_kpi\{[^}]*kpi="PDD"[^}]*\} 200/);
    // the local /metrics still shows the node's own value
    assert.match(await (await fetch(`${b.url}/metrics`)).text(), /sipstats_kpi\{[^}]*kpi="ASR"[^}]*\} 20/);
  } finally {
    for (const n of nodes) await n.close();
    await redis.dispose();
  }
});
