/**
 * The benchmark's reference pipelines (bench/reference.ts) are loaded from this clone's history
 * beside today's: they must run as they ran, with their own commit's frame indexer. Today's native
 * module has another layout, which their code refuses: with it they read every frame in JavaScript,
 * and today's looked faster than it is. Their extracted directories are removed when asked (a worker
 * thread terminated from outside gets no exit event).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { BEFORE_CAPACITY, loadBeforeCapacity, removeExtracted } from '../../bench/reference.ts';

const inClone = spawnSync('git', ['cat-file', '-e', `${BEFORE_CAPACITY.commit}^{commit}`]).status === 0;
const extracted = () => new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('sipstats-reference-')));

test('the pipeline before the capacity KPIs runs with its own commit\'s frame indexer, and its directory goes when asked', { skip: inClone ? false : `commit ${BEFORE_CAPACITY.commit} is not in this clone (a shallow one)` }, async () => {
  const before = extracted();
  const ref = await loadBeforeCapacity({ platform: ['10.0.0.0/24'], carrierMap: { '198.51.100.1/32': 'carrier_01' }, strip: ['+'] });
  assert.ok(ref.make !== null, ref.why);
  assert.doesNotMatch(ref.indexer, /another source|not built|turned off/, `its indexer: ${ref.indexer}`);
  assert.ok(typeof ref.make(() => Date.now()).onFrame === 'function');
  const made = [...extracted()].filter((d) => !before.has(d));
  assert.equal(made.length, 1, 'one directory extracted');
  removeExtracted();
  assert.ok(!extracted().has(made[0]), `${made[0]} removed`);
});

test('a reference worker removes its directory before it answers QUIT (the main thread terminates it then: on one core it left one in /tmp at every run)', { skip: inClone ? false : `commit ${BEFORE_CAPACITY.commit} is not in this clone (a shallow one)` }, () => {
  const before = extracted();
  // one A/B round of the pipeline before the capacity KPIs and today's, each in a worker, on one core
  // when taskset is there (where the main thread's wake-up beat the worker's removal)
  const script = `const m = await import(${JSON.stringify(new URL('../../bench/kpi-dimensions.ts', import.meta.url).href)}); await m.beforeVsToday(1);`;
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const r = pinned ? spawnSync('taskset', ['-c', '0', ...node], { encoding: 'utf8' }) : spawnSync(node[0], node.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([...extracted()].filter((d) => !before.has(d)), [], 'no reference directory left behind');
});
