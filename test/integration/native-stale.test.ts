/**
 * A native module built from an older source (another record format, another index layout) is
 * not used: built here, from this source with the old constant, then loaded as the loaders load
 * theirs. (test/unit/native-udp-format.test.ts checks the same against fake modules.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error a plain .mjs script, no type declarations
import { buildNative } from '../../scripts/build-native.mjs';
import { accepted, RECORD_HEAD } from '../../src/ingest/native-udp.ts';
import type { NativeUdp } from '../../src/ingest/native-udp.ts';
import { acceptedIndexer } from '../../src/protocol/native-index.ts';
import type { NativeIndexModule } from '../../src/protocol/native-index.ts';

const build = buildNative as (name: string, out?: string, extra?: string[]) => string | null;
const dir = mkdtempSync(join(tmpdir(), 'sipstats-stale-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const load = (name: string, extra: string[]): unknown => {
  const out = join(dir, `${name}-${extra.join('')}.node`);
  const why = build(name, out, extra);
  assert.equal(why, null, `could not build ${name}: ${why}`);
  return createRequire(import.meta.url)(out);
};

test('a UDP receiver built with another record format is refused, with the rebuild command', () => {
  const r = accepted(load('udp-recv', [`-DRECORD_HEAD=${RECORD_HEAD - 4}`]) as NativeUdp);
  assert.equal(r.native, null);
  assert.match(r.why, /npm run build/);
  assert.notEqual(accepted(load('udp-recv', []) as NativeUdp).native, null, 'the same source as is: accepted');
});

test('a frame indexer built with another layout is refused, with the rebuild command', () => {
  const r = acceptedIndexer(load('sip-index', ['-DIX_LAYOUT=1']) as NativeIndexModule);
  assert.equal(r.indexer, null);
  assert.match(r.why, /npm run build/);
  assert.notEqual(acceptedIndexer(load('sip-index', []) as NativeIndexModule).indexer, null, 'the same source as is: accepted');
});
