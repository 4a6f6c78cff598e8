/**
 * /metrics compressed as it is written when the scraper takes gzip (Prometheus asks at every
 * scrape): one gzip stream of pieces compressed one by one (export/gzip.ts). Checked against the
 * plain text by Node's gunzip and by the `gzip` program, an independent reader; the CRC-32 of
 * joined texts against the CRC-32 of the whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { PrometheusSerializer } from '../../src/export/prometheus.ts';
import { GzipText, crc32, crc32Combine, crc32Table } from '../../src/export/gzip.ts';
import { metricsRoute } from '../../src/export/metrics-route.ts';
import { acceptsGzip } from '../../src/http/encoding.ts';
import { invite, newBranch, reply } from '../support/sip-builder.ts';

const T0 = 1_795_508_400_000;

function busy(customers: number) {
  let now = T0;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { onPacketTime: (t) => (now = Math.max(now, t)) });
  for (let i = 0; i < customers; i++) {
    const l = { callId: `gz-${i}@test`, fromTag: `ft${i}`, customer: `cust${i}` };
    const br = newBranch();
    pipe.onSip(invite(l, { branch: br }), { timeMs: T0 + i, srcIp: '127.0.0.1' });
    pipe.onSip(reply(200, 'OK', l, { branch: br, toTag: 't' }), { timeMs: T0 + i + 100, srcIp: '127.0.0.1' });
  }
  return stats;
}

test('CRC-32 of two texts joined, from theirs, is the CRC-32 of the whole (Node\'s and the table-driven one agree)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 }), (a, b) => {
      const A = Buffer.from(a);
      const B = Buffer.from(b);
      assert.equal(crc32Combine(crc32(A), crc32(B), B.length), crc32(Buffer.concat([A, B])));
      assert.equal(crc32(B, crc32(A)), crc32(Buffer.concat([A, B])));
      assert.equal(crc32Table(B, crc32Table(A)), crc32(Buffer.concat([A, B])));
    }),
  );
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the check value of CRC-32');
  assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
});

test('a compressed scrape (many chunks, every family) unpacks to the plain scrape: Node\'s gunzip and the gzip program', () => {
  const stats = busy(300);
  const ser = new PrometheusSerializer();
  const plain = ser.serializeBytes((cb) => stats.forEachStat(cb), '# extra\n');
  assert.ok(plain.length > 4 * 256 * 1024, `${plain.length} bytes: several chunks of the KPI families`);
  for (const fresh of [false, true]) {
    const s = fresh ? new PrometheusSerializer() : ser;
    const gz = Buffer.concat(s.serializeChunks((cb) => stats.forEachStat(cb), '# extra\n', new GzipText()));
    assert.ok(gz.length < plain.length / 5, `compressed ${gz.length} of ${plain.length} bytes`);
    assert.equal(gunzipSync(gz).toString(), plain.toString());
    const r = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(r.stdout.toString(), plain.toString(), 'gzip -d reads the same text (CRC and length checked)');
  }
  // an empty scrape is a valid empty stream too
  assert.equal(gunzipSync(Buffer.concat(new PrometheusSerializer().serializeChunks(() => {}, '', new GzipText()))).length, 0);
});

test('GET /metrics: gzip when the scraper takes it (Content-Encoding, Vary), plain otherwise; q=0 refuses it', async () => {
  const stats = busy(50);
  const route = metricsRoute(stats);
  const srv = createServer((req, res) => void route.handle(req, res, {} as never));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/metrics`;
    const get = (enc?: string) =>
      new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
        import('node:http').then(({ get }) =>
          get(url, { headers: enc === undefined ? {} : { 'accept-encoding': enc } }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
          }).on('error', reject),
        );
      });
    const plain = await get();
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.match(plain.body.toString(), /^sipstats_kpi\{kpi="CC",window="now",customer="cust49",group="stats"\} 1$/m);
    const gz = await get('gzip'); // what Prometheus sends
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(Number(gz.headers['content-length']), gz.body.length);
    assert.equal(gunzipSync(gz.body).toString(), plain.body.toString());
    assert.equal((await get('gzip;q=0, identity')).headers['content-encoding'], undefined);
  } finally {
    srv.close();
  }
});

test('Accept-Encoding: gzip listed or *, unless q=0', () => {
  for (const [h, want] of [
    [undefined, false],
    ['gzip', true],
    ['deflate, gzip;q=1.0, *;q=0.5', true],
    ['br, deflate', false],
    ['*', true],
    ['gzip;q=0', false],
    ['GZIP; Q=0.001', true],
    ['identity', false],
  ] as const)
    assert.equal(acceptsGzip(h), want, String(h));
});
