import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats, exportState, restoreState } from '../../src/index.ts';
import type { EngineState } from '../../src/index.ts';
import type { ProfileDef } from '../../src/core/types.ts';
import { encodeEngine } from '../../src/persist/attach.ts';
import { HEADER_BYTES, SNAPSHOT_VERSION, crc32, decodeSnapshot, encodeSnapshot, verifySnapshot } from '../../src/persist/snapshot-codec.ts';

const CFG = `
modparam("statistics", "variable", "calls")
modparam("statistics", "variable", "active/no_reset")
modparam("statistics", "stat_series_profile", "perc: algorithm=percentage window=60 slots=60 group=stats")
modparam("statistics", "stat_series_profile", "1h-avg: algorithm=average window=3600 slots=6 group=stats_1h")
modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate window=7 slots=3")
modparam("statistics", "stat_series_profile", "pm: algorithm=percentage window=60 min_samples=2 precision=2")
`;

function fedEngine() {
  let now = 1_795_508_400_123;
  const stats = createStats({ config: CFG, clock: () => now });
  stats.updateStat('calls', 7);
  stats.updateStat('active', -3);
  stats.updateStat('dyn', 2.5);
  for (let i = 0; i < 150; i++) {
    now += 733;
    stats.updateStatSeries('perc', 'ASR', i % 3 === 0 ? -1 : 2);
    stats.updateStatSeries('1h-avg', 'PDD_1h', 100 + i * 7);
    stats.updateStatSeries('acc', 'INV', i % 5 === 0 ? 0.25 : -1);
    stats.updateStatSeries('pm', 'NER', 1);
    stats.updateStatSeries('perc', 'ASR_cüst', 1); // non-ASCII name
  }
  return { stats, at: () => now };
}

test('an engine round-trips through the codec: same state, same values after restore', () => {
  const { stats, at } = fedEngine();
  const state = exportState(stats.engine);
  const bytes = encodeSnapshot(state);
  const r = decodeSnapshot(bytes);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(r.version, SNAPSHOT_VERSION);
  assert.deepEqual(r.value, JSON.parse(JSON.stringify(state)));
  const b = createStats({ config: CFG, clock: at });
  assert.deepEqual(restoreState(b.engine, r.value).skipped, []);
  for (const n of ['calls', 'active', 'dyn', 'ASR', 'PDD_1h', 'INV', 'NER', 'ASR_cüst']) assert.equal(b.getStat(n), stats.getStat(n), n);
});

test('encodeEngine (straight from the engine, with yields) writes the same bytes as encodeSnapshot(exportState)', async () => {
  const { stats } = fedEngine();
  const direct = await encodeEngine(stats.engine, { yieldEvery: 2 });
  const viaState = encodeSnapshot(exportState(stats.engine));
  assert.deepEqual(direct.bytes, viaState);
  assert.equal(direct.series, 5);
  assert.equal(direct.counters, 3);
});

test('crc32 is the IEEE CRC-32 (check value of "123456789")', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

// ---- property: random states round-trip exactly ---------------------------------------------------

const num = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: false }),
  fc.constantFrom(0, -0, 2 ** 50, -(2 ** 50), 2 ** 50 + 1, 2 ** 53, -(2 ** 60), Infinity, -Infinity, NaN, 0.1, 1e-300),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
);
const name = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' });
// profile definitions travel as JSON: their numbers are finite config values (no -0)
const profileArb: fc.Arbitrary<ProfileDef> = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
  algorithm: fc.constantFrom('accumulate', 'average', 'percentage'),
  window: fc.integer({ min: 1, max: 86400 }),
  slots: fc.integer({ min: 1, max: 3600 }),
  group: fc.stringMatching(/^[a-z]{1,6}$/),
  percentageFactor: fc.constantFrom(1, 100, 10000),
  precision: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
  minSamples: fc.integer({ min: 0, max: 5 }),
  options: fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0), { noNullPrototype: true }),
}, { noNullPrototype: true });

const stateArb: fc.Arbitrary<EngineState> = fc
  .uniqueArray(profileArb, { minLength: 1, maxLength: 4, selector: (p) => p.name })
  .chain((profiles) =>
    fc.record({
      at: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double()),
      profiles: fc.constant(profiles),
      counters: fc.array(fc.record({ group: name, name, value: num }, { noNullPrototype: true }), { maxLength: 6 }),
      series: fc.array(
        fc.record({
          profile: fc.constantFrom(...profiles.map((p) => p.name)),
          name,
          width: fc.integer({ min: 1, max: 4 }),
          first: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
          gaps: fc.array(fc.integer({ min: -5, max: 2 ** 20 }), { maxLength: 8 }),
          values: fc.array(num, { minLength: 40, maxLength: 40 }),
        }),
        { maxLength: 6 },
      ),
    }),
  )
  .map((r) => ({
    at: r.at,
    profiles: r.profiles,
    counters: r.counters,
    series: r.series.map((s) => {
      let slot = s.first;
      const rows = [s.first, ...s.gaps.map((g) => (slot += g))].map((k, i) => [k, ...s.values.slice(i * s.width, i * s.width + s.width)]);
      return { profile: s.profile, name: s.name, slots: rows.filter((row) => row.length === s.width + 1) };
    }),
  }));

test('property: decode(encode(state)) equals state exactly (-0, NaN, ±Infinity, huge and fractional numbers)', () => {
  fc.assert(
    fc.property(stateArb, (state) => {
      const r = decodeSnapshot(encodeSnapshot(state));
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepStrictEqual(r.value, state);
    }),
    { numRuns: 300 },
  );
});

// ---- bad input: codes, never a throw ---------------------------------------------------------------

const good = () => encodeSnapshot(exportState(fedEngine().stats.engine));

test('every truncation gives E_SNAPSHOT_TRUNCATED', () => {
  const b = good();
  for (let n = 0; n < b.length; n += n < 64 ? 1 : 97) {
    const r = decodeSnapshot(b.subarray(0, n));
    assert.equal(r.ok, false, `length ${n}`);
    if (!r.ok) assert.equal(r.error.code, 'E_SNAPSHOT_TRUNCATED', `length ${n}: ${r.error.message}`);
  }
});

test('property: any single flipped bit is detected (E_SNAPSHOT_CORRUPT, or a header code)', () => {
  const b = good();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: b.length * 8 - 1 }), (bit) => {
      const c = b.slice();
      c[bit >> 3] ^= 1 << (bit & 7);
      const r = decodeSnapshot(c);
      assert.equal(r.ok, false);
      if (!r.ok && bit >= HEADER_BYTES * 8) assert.equal(r.error.code, 'E_SNAPSHOT_CORRUPT');
    }),
    { numRuns: 500 },
  );
});

test('property: random bytes never throw, and never decode', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withMagic) => {
      const b = withMagic ? new Uint8Array([...new TextEncoder().encode('SIPSTATS'), ...bytes]) : bytes;
      const r = decodeSnapshot(b);
      assert.equal(r.ok, false);
    }),
    { numRuns: 500 },
  );
});

test('wrong magic, other version, trailing bytes, a body that passes the CRC but does not parse', () => {
  const b = good();
  const magic = b.slice();
  magic[0] = 0x58;
  const r1 = decodeSnapshot(magic);
  assert.equal(!r1.ok && r1.error.code, 'E_SNAPSHOT_MAGIC');
  const r1b = decodeSnapshot(new TextEncoder().encode('{"json":"not a snapshot"}'));
  assert.equal(!r1b.ok && r1b.error.code, 'E_SNAPSHOT_MAGIC');

  const v2 = b.slice();
  new DataView(v2.buffer).setUint16(8, SNAPSHOT_VERSION + 1);
  const r2 = decodeSnapshot(v2);
  assert.equal(!r2.ok && r2.error.code, 'E_SNAPSHOT_VERSION');
  assert.match(!r2.ok ? r2.error.message : '', /version 3; this build reads versions 1 and 2/);

  const longer = new Uint8Array(b.length + 1);
  longer.set(b);
  const r3 = decodeSnapshot(longer);
  assert.equal(!r3.ok && r3.error.code, 'E_SNAPSHOT_CORRUPT');

  // a checksummed body that is garbage: tag 9 is unknown
  const bad = b.slice(0, HEADER_BYTES + 10);
  bad.fill(0, HEADER_BYTES);
  bad[HEADER_BYTES + 9] = 9;
  const v = new DataView(bad.buffer);
  v.setUint32(12, 10);
  v.setUint32(16, crc32(bad, HEADER_BYTES));
  const r4 = decodeSnapshot(bad);
  assert.equal(!r4.ok && r4.error.code, 'E_SNAPSHOT_CORRUPT');
  assert.match(!r4.ok ? r4.error.message : '', /unknown record tag 9/);
  assert.equal(verifySnapshot(bad).ok, false);
  assert.equal(verifySnapshot(b).ok, true);
});
