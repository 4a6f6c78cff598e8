import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStats } from '../../src/index.ts';
import { compareReply, declaredGroups, loadCfg, loadVectors, touchedNames } from '../support/conformance.ts';

test('every OpenSIPS conformance vector replays through createStats().mi()', async () => {
  const cfg = loadCfg();
  const vectors = loadVectors();
  assert.ok(vectors.length > 100);
  let now = vectors[0].at;
  const stats = createStats({ config: cfg, clock: () => now });
  const groups = declaredGroups(cfg);
  const touched = touchedNames(vectors, cfg);
  const failures: string[] = [];
  for (const [i, v] of vectors.entries()) {
    now = v.at;
    const reply = (await stats.mi(v.method, v.params as never)) as never;
    const diff = compareReply(v, reply, groups, touched);
    if (diff !== null) failures.push(`line ${i + 1} (${v.phase} ${v.method} ${JSON.stringify(v.params)}): ${diff}`);
  }
  assert.deepEqual(failures, []);
});

test('the rejected profile lines are refused, each with its line number', () => {
  const text = loadCfg('rejected-profiles.cfg');
  assert.throws(() => createStats({ config: text }), (e: any) => {
    assert.equal(e.code, 'E_CONFIG');
    const lines = e.issues.map((i: any) => i.line);
    assert.ok(lines.includes(1) && lines.includes(2), `issues: ${JSON.stringify(e.issues)}`);
    assert.ok(e.issues.every((i: any) => i.code === 'E_CFG_BAD_PROFILE'));
    assert.match(e.message, /percentage_factor=50/);
    assert.match(e.message, /median/);
    return true;
  });
});
