import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accepted, nativeUdp, RECORD_HEAD } from '../../src/ingest/native-udp.ts';
import type { NativeUdp } from '../../src/ingest/native-udp.ts';

const fake = (recordHead?: number): NativeUdp => ({ open: () => [null, 0], close: () => {}, ...(recordHead === undefined ? {} : { recordHead }) });

test('a native UDP module built from an older source (no or another record header) is not used, and says why', () => {
  for (const m of [fake(), fake(4)]) {
    const r = accepted(m);
    assert.equal(r.native, null);
    assert.match(r.why, /older source.*npm run build/);
  }
  assert.equal(accepted(fake(RECORD_HEAD)).native !== null, true);
});

test('the module built from this source writes records of this source\'s format', () => {
  const n = nativeUdp();
  // (the CI builds it; without a C compiler the JavaScript thread is used and says so)
  if (n.native === null) assert.match(n.why, /not built/);
  else assert.equal(n.native.recordHead, RECORD_HEAD);
});
