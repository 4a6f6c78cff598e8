import assert from 'node:assert/strict';
import { createStats, parseOpenSipsConfig } from '../../src/index.ts';
import type { Stats } from '../../src/index.ts';
import type { ClusterHandle } from '../../src/cluster/attach.ts';

/** Profiles of every algorithm family the cluster merges, for the Redis Cluster/Sentinel tests. */
export const HA_CFG = `
modparam("statistics", "variable", "calls")
modparam("statistics", "stat_series_profile", "perc: algorithm=percentage window=60 slots=6 group=stats")
modparam("statistics", "stat_series_profile", "avg: algorithm=average window=600 slots=10 group=stats_10m")
modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate window=60 group=acc")
modparam("statistics", "stat_series_profile", "pm: algorithm=percentage window=30 slots=3 min_samples=3 precision=2 group=stats")
`;
/** Everything the traffic touches (not the per-node self-statistics of group sipstats). */
export const HA_ITEMS = ['stats:', 'stats_10m:', 'acc:', 'script:'];

export function haStats(clock: () => number): Stats {
  const r = parseOpenSipsConfig(HA_CFG);
  if (!r.ok) throw new Error('config');
  return createStats({ config: r.value, clock });
}

export type Ev = [profile: string, name: string, value: number];

/** Deterministic events (xorshift32): several per step over the four profiles and a counter. */
export function haEvents(seed: number): () => Ev[] {
  let x = seed >>> 0 || 1;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  return () => {
    const ev: Ev[] = [];
    for (let i = 0; i < 10; i++) {
      const c = ['', '_x', '_y', '_z'][rnd(4)];
      const k = rnd(5);
      if (k === 0) ev.push(['perc', `ASR${c}`, rnd(10) < 6 ? 1 : -1]);
      else if (k === 1) ev.push(['avg', `PDD${c}`, 100 + rnd(2900)]);
      else if (k === 2) ev.push(['acc', `INV${c}`, rnd(5) - 1]);
      else if (k === 3) ev.push(['pm', `NER${c}`, rnd(4) === 0 ? -1 : 1]);
      else ev.push(['', 'calls', 1 + rnd(2)]);
    }
    return ev;
  };
}

/** Applies events round robin over `nodes` (disjoint traffic) and to `ref` (everything). */
export function feeder(nodes: readonly Stats[], ref: Stats): (ev: Ev[]) => void {
  let k = 0;
  return (ev) => {
    for (const [profile, name, v] of ev) {
      for (const s of [nodes[k % nodes.length], ref]) {
        if (profile === '') s.updateStat(name, v);
        else s.updateStatSeries(profile, name, v);
      }
      k++;
    }
  };
}

/** Flushes every handle (all must succeed), then asserts every node reads exactly what `ref` holds. */
export async function assertClusterEqualsRef(handles: readonly ClusterHandle[], ref: Stats, when: string): Promise<Record<string, number | null>> {
  const r = await Promise.all(handles.map((h) => h.flush()));
  assert.ok(r.every((x) => x.ok && x.pending === 0), `${when}: flush ${JSON.stringify(r)}`);
  const want = (await ref.mi('get_statistics', { statistics: HA_ITEMS })) as { result: Record<string, number | null> };
  assert.ok(Object.keys(want.result).length >= 12, `${when}: ${JSON.stringify(want)}`);
  for (const [i, h] of handles.entries()) assert.deepEqual(await h.getStatistics(HA_ITEMS), want.result, `${when}, read on node ${i}`);
  const some = ['ASR_x', 'stats_10m:PDD_y', 'acc:INV', 'NER_z', 'calls', 'nosuch'];
  const wantSome = (await ref.mi('get_statistics', { statistics: some })) as { result: Record<string, number | null> };
  assert.deepEqual(await handles[handles.length - 1].getStatistics(some), wantSome.result, `${when}: single names`);
  return want.result;
}

export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
