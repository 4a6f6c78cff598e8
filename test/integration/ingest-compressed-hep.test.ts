/** The live HEP listener takes compressed payloads (chunk 0x0010) over UDP and TCP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { listenHep } from '../../src/ingest/ingest.ts';
import { inflatePayload } from '../../src/ingest/inflate.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { invite, newBranch, reply } from '../support/sip-builder.ts';

const wait = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
};

test('compressed HEP (zlib, gzip, raw deflate) over UDP and TCP feeds the KPIs; a bomb or junk is counted', async () => {
  const stats = createStats({ config: KPI_MODPARAMS });
  const pipe = new SipPipeline(stats.engine, { inflate: inflatePayload });
  const hep = await listenHep({ host: '127.0.0.1', port: 0 }, pipe, stats.engine);
  try {
    const now = Date.now();
    let k = 0;
    const frame = (sip: Buffer, dt: number) =>
      encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: 5060, dstPort: 5070, timeMs: now + dt, payload: [deflateSync, gzipSync, deflateRawSync][k++ % 3](sip), compressedPayload: true });
    const call = (id: string, code: number, customer: string) => {
      const l = { callId: id, fromTag: 'f', customer };
      const br = newBranch();
      return [frame(invite(l, { branch: br }), 0), frame(reply(180, 'Ringing', l, { branch: br, toTag: 't' }), 100), frame(reply(code, 'X', l, { branch: br, toTag: 't' }), 300)];
    };
    const bomb = encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: 1, dstPort: 2, payload: deflateSync(Buffer.alloc(10_000_000)), compressedPayload: true });
    const junk = encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: 1, dstPort: 2, payload: Buffer.from('no deflate here'), compressedPayload: true });
    const s = createSocket('udp4');
    for (const b of [...call('u1', 200, 'acme'), ...call('u2', 503, 'acme'), bomb, junk]) await new Promise<void>((r) => s.send(b, hep.udp.port, '127.0.0.1', () => r()));
    s.close();
    await new Promise<void>((resolve, reject) => {
      const c = connect(hep.tcp.port, '127.0.0.1', () => {
        const stream = Buffer.concat([...call('t1', 200, 'globex'), ...call('t2', 200, 'globex')]);
        c.write(stream.subarray(0, 77));
        setTimeout(() => c.end(stream.subarray(77), () => resolve()), 5);
      });
      c.on('error', reject);
    });
    await wait(() => stats.getStat('ASRglobex') === 100 && stats.getStat('ASRacme') === 50, 'KPIs');
    assert.equal(stats.getStat('ASR'), 75);
    assert.equal(stats.getStat('sipstats:skipped_hep_inflate_errors'), 2);
    assert.equal(stats.getStat('sipstats:read_hep'), 12);
    assert.equal(stats.getStat('sipstats:sip_decode_errors') ?? 0, 0);
  } finally {
    await hep.close();
  }
});
