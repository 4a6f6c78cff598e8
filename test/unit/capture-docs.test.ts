/** docs/kpis.md lists every transport and skip reason of the capture decoder (one definition). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SKIP_REASONS, TRANSPORTS } from '../../src/protocol/net/stats.ts';

test('docs/kpis.md lists what replay reads and every skip reason, with the same words', () => {
  const doc = readFileSync(new URL('../../docs/kpis.md', import.meta.url), 'utf8');
  for (const [k, v] of [...Object.entries(TRANSPORTS), ...Object.entries(SKIP_REASONS)]) {
    assert.ok(doc.includes(`| \`${k}\` | ${v} |`), `docs/kpis.md: row for ${k}`);
  }
});
