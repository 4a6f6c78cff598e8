import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS } from '../../src/errors.ts';

test('docs/errors.md lists exactly the codes of src/errors.ts, with their MI codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(E_[A-Z_]+)` \| (-?\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(
    rows.map((r) => r[0]).sort(),
    Object.keys(ERRORS).sort(),
  );
  for (const [code, mi] of rows) assert.equal(ERRORS[code as keyof typeof ERRORS].mi, mi, String(code));
});
