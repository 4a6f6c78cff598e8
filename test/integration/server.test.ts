import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { compareReply, CONFORMANCE_DIR, declaredGroups, loadCfg, loadVectors, touchedNames } from '../support/conformance.ts';

/** One HTTP exchange on 127.0.0.1 (no keep-alive agent surprises: each call says what it sends). */
function http(
  url: string,
  opts: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const rpc = async (url: string, method: string, params: unknown, id: unknown = 1, headers: Record<string, string> = {}) => {
  const body: Record<string, unknown> = { jsonrpc: '2.0', method, id };
  if (params !== undefined) body.params = params;
  const r = await http(`${url}/mi`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['content-type'], 'application/json');
  return JSON.parse(r.text);
};

describe('conformance vectors replayed over HTTP, shaped as opensips-cli sends them', () => {
  const vectors = loadVectors();
  let now = vectors[0].at;
  let srv: Running;
  before(async () => {
    srv = await start({ configPath: join(CONFORMANCE_DIR, 'opensips-statistics.cfg'), listen: '127.0.0.1:0', hepListen: null, clock: () => now, print: () => {} });
  });
  after(() => srv.close());

  test('every line of opensips-statistics.jsonl gets the recorded reply', async () => {
    const cfg = loadCfg();
    const groups = declaredGroups(cfg);
    // The vectors read some statistics (acc_stale*, *_exp*) whose update lines are not in the file:
    // compareReply tolerates an expected key missing from our reply only for a name that no line of
    // the file (nor the cfg) ever creates.
    const touched = touchedNames(vectors, cfg);
    const failures: string[] = [];
    let which: string[] = [];
    for (const [i, v] of vectors.entries()) {
      now = v.at;
      // opensips-cli asks `which` with params {} before each command
      const w = await rpc(srv.url, 'which', {}, String(10000 + i));
      assert.ok(Array.isArray(w.result) && w.result.every((x: unknown) => typeof x === 'string'), JSON.stringify(w));
      which = w.result;
      if (v.method !== 'get_statistic') assert.ok(which.includes(v.method), `which lists ${v.method}`);
      const reply = await rpc(srv.url, v.method, v.params, String(i));
      assert.equal(reply.jsonrpc, '2.0');
      assert.equal(reply.id, String(i), 'the string id comes back');
      const diff = compareReply(v, reply, groups, touched);
      if (diff !== null) failures.push(`line ${i + 1} (${v.phase} ${v.method} ${JSON.stringify(v.params)}): ${diff}`);
    }
    assert.deepEqual(failures, []);
    for (const alias of ['statistics:get', 'statistics:list', 'statistics:reset', 'statistics:reset_all']) assert.ok(which.includes(alias), alias);
  });
});

describe('the server on the default configuration', () => {
  let now = 1_795_508_514_000;
  let srv: Running;
  before(async () => {
    srv = await start({ listen: '127.0.0.1:0', hepListen: null, clock: () => now, print: () => {}, env: {} });
  });
  after(() => srv.close());

  test('opensips-cli sequence: which {}, then get_statistics [["ASR","stats_10m:"]] with a string id', async () => {
    assert.equal((await rpc(srv.url, 'update_stat_series', { profile: '10m-perc', name: 'ASR_10m', value: 1 })).result, 'OK');
    assert.equal((await rpc(srv.url, 'update_stat_series', ['10m-perc', 'ASR_10m', '+1'])).result, 'OK');
    assert.equal((await rpc(srv.url, 'update_stat_series', { profile: '10m-perc', name: 'ASR_10m', value: -1 })).result, 'OK');
    assert.equal((await rpc(srv.url, 'update_stat_series', { profile: 'perc', name: 'ASR', value: 1 })).result, 'OK');
    const w = await rpc(srv.url, 'which', {}, '8271');
    assert.equal(w.id, '8271');
    assert.ok(w.result.includes('get_statistics'));
    const r = await rpc(srv.url, 'get_statistics', [['ASR', 'stats_10m:']], '12345');
    assert.deepEqual(r, { jsonrpc: '2.0', result: { 'stats:ASR': 100, 'stats_10m:ASR_10m': 66 }, id: '12345' });
    const named = await rpc(srv.url, 'get_statistics', { statistics: ['ASR', 'stats_10m:'] }, '12346');
    assert.deepEqual(named.result, r.result);
    const alias = await rpc(srv.url, 'statistics:get', { statistics: ['stats_10m:'] });
    assert.deepEqual(alias.result, { 'stats_10m:ASR_10m': 66 });
    // a command without args: opensips-cli sends {}
    assert.equal((await rpc(srv.url, 'get_statistics', {})).error.code, -32602);
    assert.equal(typeof (await rpc(srv.url, 'list_statistics', {})).result, 'object');
  });

  test('/mi/... is the MI too; a notification gets 204 and no body; other methods 405 with Allow', async () => {
    assert.deepEqual((await http(`${srv.url}/mi/get_statistics`, { method: 'POST', body: '{"jsonrpc":"2.0","method":"which","params":{},"id":1}' })).status, 200);
    const n = await http(`${srv.url}/mi`, { method: 'POST', body: '{"jsonrpc":"2.0","method":"update_stat","params":{"name":"notified","value":1}}' });
    assert.equal(n.status, 204);
    assert.equal(n.text, '');
    assert.deepEqual((await rpc(srv.url, 'get_statistics', [['notified']])).result, { 'dynamic:notified': 1 });
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await http(`${srv.url}/mi`, { method });
      assert.equal(r.status, 405);
      assert.equal(r.headers.allow, 'POST');
    }
    const m = await http(`${srv.url}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(m.status, 405);
    assert.equal(m.headers.allow, 'GET, HEAD');
  });

  test('JSON-RPC errors are HTTP 200: parse error, invalid request, unknown method; any content type is accepted', async () => {
    const p = await http(`${srv.url}/mi`, { method: 'POST', body: '{"jsonrpc":', headers: { 'content-type': 'text/plain' } });
    assert.equal(p.status, 200);
    assert.deepEqual(JSON.parse(p.text), { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    const i = await http(`${srv.url}/mi`, { method: 'POST', body: '{"jsonrpc":"1.0","method":"which","id":3}' });
    assert.equal(JSON.parse(i.text).error.code, -32600);
    assert.equal(JSON.parse(i.text).id, 3);
    assert.equal((await rpc(srv.url, 'get_statistic', {})).error.code, -32601);
    const b = await http(`${srv.url}/mi`, { method: 'POST', body: '[]' });
    assert.equal(JSON.parse(b.text).error.code, -32600);
    const allNotes = await http(`${srv.url}/mi`, { method: 'POST', body: '[{"jsonrpc":"2.0","method":"which"},{"jsonrpc":"2.0","method":"nope"}]' });
    assert.equal(allNotes.status, 204);
  });

  test('GET /metrics: Prometheus text with the right content type; HEAD too', async () => {
    now += 1000;
    await rpc(srv.url, 'update_stat_series', { profile: '10m-perc', name: 'ASR_10macme', value: 1 });
    await rpc(srv.url, 'update_stat', { name: 'calls_seen', value: 3 });
    const r = await http(`${srv.url}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(r.text, /^sipstats_kpi\{kpi="ASR",window="10m",customer="acme",group="stats_10m"\} 100$/m);
    assert.match(r.text, /^# TYPE sipstats_calls_seen_total counter$/m);
    assert.match(r.text, /^sipstats_calls_seen_total\{group="dynamic"\} 3$/m);
    const h = await http(`${srv.url}/metrics`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.text, '');
  });

  test('GET /health: status, uptime, version; unknown paths 404', async () => {
    const r = await http(`${srv.url}/health`);
    assert.equal(r.status, 200);
    const h = JSON.parse(r.text);
    assert.equal(h.status, 'ok');
    assert.equal(typeof h.uptime, 'number');
    assert.match(h.version, /^\d+\.\d+\.\d+/);
    assert.equal((await http(`${srv.url}/nope`)).status, 404);
    assert.equal((await http(`${srv.url}/mix`, { method: 'POST', body: '{}' })).status, 404);
  });

  test('a body past 1 MiB gets 413 and the connection is closed; the server goes on', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
    const r = await http(`${srv.url}/mi`, { method: 'POST', body: big });
    assert.equal(r.status, 413);
    assert.equal(r.headers.connection, 'close');
    const exact = Buffer.concat([Buffer.from('{"jsonrpc":"2.0","method":"which","id":1}'), Buffer.alloc(1024 * 1024 - 41, 0x20)]);
    assert.equal(exact.length, 1024 * 1024);
    assert.equal((await http(`${srv.url}/mi`, { method: 'POST', body: exact })).status, 200);
  });

  test('a failing route gives 500 JSON and the server stays up', async () => {
    srv.http.addRoute({
      methods: ['GET'],
      path: '/boom',
      auth: false,
      handle() {
        throw new Error('route bug');
      },
    });
    const logged: string[] = [];
    const origWrite = process.stderr.write;
    process.stderr.write = ((s: string) => (logged.push(String(s)), true)) as typeof process.stderr.write;
    let r;
    try {
      r = await http(`${srv.url}/boom`);
    } finally {
      process.stderr.write = origWrite;
    }
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: 'Internal Server Error', code: 'E_HTTP_INTERNAL' });
    assert.ok(logged.some((l) => l.includes('route bug')));
    assert.equal((await http(`${srv.url}/health`)).status, 200);
  });
});

describe('the bearer token', () => {
  let srv: Running;
  before(async () => {
    srv = await start({ listen: '127.0.0.1:0', hepListen: null, print: () => {}, env: { SIPSTATS_TOKEN: 's3cret' } });
  });
  after(() => srv.close());

  test('is required for /mi and /metrics (401 with WWW-Authenticate), not for /health', async () => {
    for (const [path, method] of [
      ['/mi', 'POST'],
      ['/metrics', 'GET'],
    ]) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 's3cret' }, { authorization: 'Basic s3cret' }] as Record<string, string>[]) {
        const r = await http(`${srv.url}${path}`, { method, headers, body: method === 'POST' ? '{"jsonrpc":"2.0","method":"which","id":1}' : undefined });
        assert.equal(r.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="sipstats"');
      }
    }
    assert.equal((await http(`${srv.url}/health`)).status, 200);
  });

  test('opens /mi and /metrics when given', async () => {
    const ok = await rpc(srv.url, 'which', {}, 1, { authorization: 'Bearer s3cret' });
    assert.ok(Array.isArray(ok.result));
    assert.equal((await http(`${srv.url}/metrics`, { headers: { authorization: 'bearer s3cret' } })).status, 200);
  });

  test('--token wins over the environment', async () => {
    const other = await start({ listen: '127.0.0.1:0', hepListen: null, print: () => {}, token: 'flag', env: { SIPSTATS_TOKEN: 's3cret' } });
    try {
      assert.equal((await http(`${other.url}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status, 401);
      assert.equal((await http(`${other.url}/metrics`, { headers: { authorization: 'Bearer flag' } })).status, 200);
    } finally {
      await other.close();
    }
  });
});

test('start() prints "listening on http://HOST:PORT" with the chosen port, and close() lets an in-flight request finish', async () => {
  const lines: string[] = [];
  const srv = await start({ listen: '127.0.0.1:0', hepListen: null, print: (l) => lines.push(l), env: {} });
  assert.deepEqual(lines, [`listening on ${srv.url}`, `dashboard: ${srv.url}/`]);
  assert.match(srv.url, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  // a request whose body is still being sent when close() starts
  const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${srv.url}/mi`, { method: 'POST', headers: { 'content-length': '41' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    // once the server holds the request (headers in, body not yet), close, then send the rest
    srv.http.server.once('request', () => {
      void srv.close();
      setImmediate(() => req.end('"method":"which","id":1}'));
    });
    req.write('{"jsonrpc":"2.0",');
  });
  const r = await reply;
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(JSON.parse(r.text).result));
  await srv.close();
  await assert.rejects(http(`${srv.url}/health`), /ECONNREFUSED/);
});
