/**
 * One entry for a HEP frame: SipPipeline.onFrame decodes (native indexer or JavaScript), inflates
 * and counts, for the server's listeners and the benchmarks alike. (There were two: onHep, which the
 * benchmarks timed, counted no `read_hep` and could not inflate; the listeners' handler did both.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { inflatePayload } from '../../src/ingest/inflate.ts';
import { nativeIndexer } from '../../src/ingest/load-native-index.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { invite, newBranch } from '../support/sip-builder.ts';

const frame = (payload: Buffer, compressed = false) =>
  encodeHep({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5060, dstPort: 5060, timeMs: 1_795_508_400_000, payload: compressed ? deflateSync(payload) : payload, compressedPayload: compressed });

for (const indexer of [null, nativeIndexer().indexer] as const) {
  test(`onFrame counts what it reads and skips (${indexer === null ? 'JavaScript decoder' : 'native indexer'})`, () => {
    const stats = createStats({ config: KPI_MODPARAMS });
    const pipe = new SipPipeline(stats.engine, { indexer, inflate: inflatePayload });
    pipe.onFrame(frame(invite({ callId: 'f1@test', fromTag: 'a', customer: 'acme' }, { branch: newBranch() })), 7);
    assert.equal(stats.getStat('sipstats:read_hep'), 1);
    assert.equal(stats.getStat('sipstats:hep_packets'), 1);
    assert.equal(stats.getStat('sipstats:calls_started'), 1);
    pipe.onFrame(Buffer.from('HEP3 not really'));
    assert.equal(stats.getStat('sipstats:hep_decode_errors'), 1);
    assert.equal(stats.getStat('sipstats:skipped_hep_decode_errors'), 1);
    assert.equal(stats.getStat('sipstats:read_hep'), 1);
  });
}

test('onFrame inflates a compressed payload with the inflater it was given; without one the frame is counted skipped', () => {
  const msg = invite({ callId: 'z1@test', fromTag: 'a', customer: 'acme' }, { branch: newBranch() });
  const stats = createStats({ config: KPI_MODPARAMS });
  new SipPipeline(stats.engine, { inflate: inflatePayload }).onFrame(frame(msg, true));
  assert.equal(stats.getStat('sipstats:read_hep'), 1);
  assert.equal(stats.getStat('sipstats:calls_started'), 1);
  const bare = createStats({ config: KPI_MODPARAMS });
  new SipPipeline(bare.engine).onFrame(frame(msg, true));
  assert.equal(bare.getStat('sipstats:skipped_hep_inflate_errors'), 1);
  assert.equal(bare.getStat('sipstats:calls_started'), null);
});
