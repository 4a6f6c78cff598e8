/**
 * Routing answers through a running server: MI `route_carriers` and `GET /api/route` (JSON and the
 * text forms), from the carrier × destination KPIs of the traffic it saw (calls through a platform:
 * carrier_a answers 503 to +44, the platform fails over to carrier_b, which answers), with a read
 * token; a reload changes the rule; bad questions are refused with their reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';

const PLATFORM = '10.0.0.1';
const CUSTOMER = '10.0.0.5';
const CARRIER_A = '192.0.2.1';
const CARRIER_B = '192.0.2.2';

const CONFIG = (rule: string) => `
auth: { token: admin-secret, readToken: read-secret }
kpi:
  customer: { kind: cidr, map: { "${CUSTOMER}/32": acme } }
  platform: ["${PLATFORM}/32"]
  carrier: { kind: cidr, map: { "${CARRIER_A}/32": carrier_a, "${CARRIER_B}/32": carrier_b, "192.0.2.3/32": carrier_c } }
routing: ${rule}
`;

function msg(lines: string[]): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
}

/** One call to `number` through the platform: carrier_a 503, then carrier_b 200 (a failover), at time t. */
function failoverCall(n: number, number: string, t: number): { src: string; dst: string; t: number; payload: Buffer }[] {
  const id = `route-${n}@test`;
  const head = (first: string, branch: string, cseq: string, toTag = '') => [first, `Via: SIP/2.0/UDP 10.0.0.9;branch=${branch}`, `From: <sip:c@x>;tag=f${n}`, `To: <sip:${number}@x>${toTag}`, `Call-ID: ${id}`, `CSeq: ${cseq}`];
  const inv = (br: string) => msg(head(`INVITE sip:${number}@${PLATFORM} SIP/2.0`, br, '1 INVITE'));
  const rep = (code: string, br: string, tag: string) => msg(head(`SIP/2.0 ${code}`, br, '1 INVITE', `;tag=${tag}`));
  return [
    { src: CUSTOMER, dst: PLATFORM, t, payload: inv(`z9hG4bKc${n}`) },
    { src: PLATFORM, dst: CARRIER_A, t: t + 5, payload: inv(`z9hG4bKa${n}`) },
    { src: CARRIER_A, dst: PLATFORM, t: t + 50, payload: rep('503 Service Unavailable', `z9hG4bKa${n}`, 'a') },
    { src: PLATFORM, dst: CARRIER_B, t: t + 60, payload: inv(`z9hG4bKb${n}`) },
    { src: CARRIER_B, dst: PLATFORM, t: t + 300, payload: rep('200 OK', `z9hG4bKb${n}`, 'b') },
    { src: PLATFORM, dst: CUSTOMER, t: t + 310, payload: rep('200 OK', `z9hG4bKc${n}`, 'b') },
  ];
}

test('route_carriers (MI) and GET /api/route: carrier_b first, the carrier never tried kept as unknown, carrier_a (crit) last; text forms; reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-route-'));
  const file = join(dir, 'sipstats.yaml');
  writeFileSync(file, CONFIG('{ kpi: ASR, window: 1m, min_samples: 3, warn: 50, crit: 20 }'));
  const config = await loadConfigFile(file);
  const srv = await start({ config, configPath: file, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: () => {}, env: {} });
  try {
    const t0 = Date.now();
    for (let n = 0; n < 4; n++) for (const f of failoverCall(n, '+442071234567', t0 + n * 1000)) srv.pipeline.onFrame(encodeHep({ srcIp: f.src, dstIp: f.dst, srcPort: 5060, dstPort: 5060, timeMs: f.t, payload: f.payload }));
    assert.equal(srv.stats.getStat('ASR~carrier=carrier_a~dest=44'), 0);
    assert.equal(srv.stats.getStat('ASR~carrier=carrier_b~dest=44'), 100);

    const mi = async (params: unknown, token = 'read-secret') => {
      const r = await fetch(`${srv.url}/mi`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ jsonrpc: '2.0', method: 'route_carriers', params, id: 1 }) });
      return (await r.json()) as { result?: { destination: string; kpi: string; carriers: { carrier: string; state: string; score: number | null; samples: number; kpis: Record<string, number | null> }[] }; error?: { code: number; data?: unknown } };
    };
    const r = await mi({ number: '+44 20 7123 4567', carriers: ['carrier_a', 'carrier_c', 'carrier_b'] });
    assert.ok(r.result !== undefined, JSON.stringify(r));
    assert.equal(r.result!.destination, '44');
    assert.deepEqual(
      r.result!.carriers.map((c) => [c.carrier, c.state, c.score, c.samples]),
      [
        ['carrier_b', 'ok', 100, 4],
        ['carrier_c', 'unknown', null, 0],
        ['carrier_a', 'crit', 0, 4],
      ],
    );
    assert.equal(r.result!.carriers[0].kpis.ASR, 100);
    // no list: every carrier of kpi.carrier
    assert.deepEqual((await mi({ number: '0044207' })).result!.carriers.map((c) => c.carrier), ['carrier_b', 'carrier_c', 'carrier_a']);
    // another destination, positional params (number, customer, carriers): nothing known there
    const fr = await mi(['+33123456', 'acme', ['carrier_a', 'carrier_b']]);
    assert.equal((fr.result as unknown as { customer: string }).customer, 'acme');
    assert.deepEqual(fr.result!.carriers.map((c) => [c.carrier, c.state]), [
      ['carrier_a', 'unknown'],
      ['carrier_b', 'unknown'],
    ]);
    // bad questions
    assert.equal((await mi({})).error!.code, -32602);
    assert.equal((await mi({ number: '+44', carriers: [5] })).error!.code, -32602);
    assert.equal((await mi({ number: '' })).error!.code, -32602);
    // a carrier named as the tracker names them (sanitised: `carrier a` is carrier_a)
    assert.equal((await mi({ number: '+442071234567', carriers: ['carrier a'] })).result!.carriers[0].state, 'crit');

    // HTTP, with the read token
    const get = (q: string, token = 'read-secret') => fetch(`${srv.url}/api/route?${q}`, { headers: { authorization: `Bearer ${token}` } });
    const json = (await (await get('number=%2B442071234567&carriers=carrier_a,carrier_b')).json()) as { carriers: { carrier: string }[] };
    assert.deepEqual(json.carriers.map((c) => c.carrier), ['carrier_b', 'carrier_a']);
    const text = await get('number=%2B442071234567&carriers=carrier_a,carrier_c,carrier_b&format=text');
    assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await text.text(), 'carrier_b\ncarrier_c\ncarrier_a\n');
    assert.equal(await (await get('number=%2B442071234567&carriers=carrier_a,carrier_b&format=csv')).text(), 'carrier_b,carrier_a\n');
    assert.equal((await get('carriers=carrier_a')).status, 400);
    assert.equal((await get('number=1&format=xml')).status, 400);
    assert.equal((await get('number=1', 'wrong')).status, 401);

    // a reload: the rule's min_samples rises past what the traffic has
    writeFileSync(file, CONFIG('{ kpi: ASR, window: 1m, min_samples: 5 }'));
    await srv.reload();
    assert.deepEqual(
      (await mi({ number: '+442071234567', carriers: ['carrier_a', 'carrier_b'] })).result!.carriers.map((c) => [c.carrier, c.state]),
      [
        ['carrier_a', 'unknown'],
        ['carrier_b', 'unknown'],
      ],
      'min_samples 5: four calls are too few',
    );
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
