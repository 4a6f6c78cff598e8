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
