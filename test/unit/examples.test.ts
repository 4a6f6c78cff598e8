import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

// The README's library example is examples/library.mjs verbatim, and it prints what its comments say.
test('examples/library.mjs runs (through the package export) and prints what its comments promise', () => {
  const src = readFileSync(new URL('../../examples/library.mjs', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(src.trim()), 'README.md must contain examples/library.mjs verbatim');
  const r = spawnSync(process.execPath, ['examples/library.mjs'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // every `console.log(...); // expected` line, and `// {...}` lines right after a console.log
  const expected: string[] = [];
  const lines = src.split('\n');
  lines.forEach((l, i) => {
    const m = /console\.log\(.*\);\s*\/\/ (.*)$/.exec(l);
    if (m) expected.push(m[1].replace(/ \(.*\)$/, ''));
    else if (/^console\.log\(/.test(l) && /^\/\/ /.test(lines[i + 1] ?? '')) expected.push(lines[i + 1].slice(3));
  });
  assert.deepEqual(r.stdout.trim().split('\n'), expected);
});
