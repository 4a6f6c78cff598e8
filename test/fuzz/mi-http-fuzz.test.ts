import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';

/**
 * The MI endpoint under hostile input: random bytes, random JSON, huge, truncated and split
 * bodies, clients that stop sending. The server runs in this process, so a crash fails the run.
 * Small server timeouts keep it fast; no assertion depends on how long anything takes (a hung
 * connection shows up as the test's own timeout).
 */

const LIMITS = { headersTimeout: 300, requestTimeout: 600, checkInterval: 50, idleTimeout: 3000, keepAliveTimeout: 300, drainTimeout: 300 };
const MIB = 1024 * 1024;

let srv: Running;
let port = 0;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

before(async () => {
  srv = await start({ listen: '127.0.0.1:0', hepListen: null, http: LIMITS, print: () => {}, env: {} });
  port = Number(new URL(srv.url).port);
});
after(async () => {
  agent.destroy();
  await srv.close();
});

function assertJsonRpcReply(text: string): void {
  const r = JSON.parse(text);
  const one = (x: any) => {
    assert.equal(x.jsonrpc, '2.0', text);
    assert.ok('id' in x && (x.id === null || typeof x.id === 'string' || typeof x.id === 'number'), text);
    assert.ok(('result' in x) !== ('error' in x), text);
    if ('error' in x) assert.ok(Number.isInteger(x.error.code) && typeof x.error.message === 'string', text);
  };
  if (Array.isArray(r)) {
    assert.ok(r.length > 0);
    r.forEach(one);
  } else one(r);
}

/** POST /mi through a keep-alive agent. */
function post(body: Buffer | string): Promise<{ status: number; text: string; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mi', method: 'POST', agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString('utf8'), type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function assertMiAnswer(r: { status: number; text: string; type?: string }): void {
  if (r.status === 204) return assert.equal(r.text, '');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.type, 'application/json');
  assertJsonRpcReply(r.text);
}

/**
 * Writes raw bytes on a fresh TCP connection, in the given pieces (one event-loop turn apart),
 * optionally half-closes, and collects everything until the server closes.
 */
function raw(pieces: Buffer[], opts: { end?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (c) => got.push(c));
    s.on('error', () => {}); // a reset after a reply is fine; what was received is checked
    s.on('close', () => resolve(Buffer.concat(got)));
    s.on('connect', async () => {
      for (const p of pieces) {
        if (s.destroyed) break;
        s.write(p);
        await new Promise((r) => setImmediate(r));
      }
      if (opts.end && !s.destroyed) s.end();
    });
  });
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses zero or more HTTP/1.1 responses; throws on anything that is not one. */
function parseResponses(buf: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let text = buf.toString('latin1');
  while (text.length > 0) {
    const end = text.indexOf('\r\n\r\n');
    assert.ok(end > 0, `a complete header block: ${JSON.stringify(text.slice(0, 200))}`);
    const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(statusLine);
    assert.ok(m, `status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      assert.ok(c > 0, `header line: ${JSON.stringify(l)}`);
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    let rest = text.slice(end + 4);
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      // (Node answers some broken requests itself, chunked)
      for (;;) {
        const nl = rest.indexOf('\r\n');
        assert.ok(nl > 0, 'chunk size line');
        const size = parseInt(rest.slice(0, nl), 16);
        assert.ok(Number.isInteger(size) && size >= 0, 'chunk size');
        assert.equal(rest.slice(nl + 2 + size, nl + 4 + size), '\r\n', 'chunk end');
        body += rest.slice(nl + 2, nl + 2 + size);
        rest = rest.slice(nl + 4 + size);
        if (size === 0) break;
      }
    } else {
      const len = headers['content-length'] === undefined ? 0 : Number(headers['content-length']);
      body = rest.slice(0, len);
      assert.equal(body.length, len, 'whole body received');
      rest = rest.slice(len);
    }
    out.push({ status: Number(m[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') });
    text = rest;
  }
  return out;
}

/** Every response is a proper HTTP one; a 200 from /mi carries a valid JSON-RPC reply. */
function assertProperHttp(buf: Buffer): RawResponse[] {
  const rs = parseResponses(buf);
  for (const r of rs) {
    assert.ok(r.status >= 200 && r.status < 600, `status ${r.status}`);
    if (r.status === 200 && r.headers['content-type'] === 'application/json' && r.body.startsWith('{"jsonrpc"')) assertJsonRpcReply(r.body);
    if (r.status === 200 && r.body.startsWith('[')) assertJsonRpcReply(r.body);
  }
  return rs;
}

const head = (len: number | null, extra = '') =>
  `POST /mi HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${len === null ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${len}\r\n`}${extra}\r\n`;

const request1 = (id: unknown, method = 'get_statistics', params: unknown = [['all']]) => JSON.stringify({ jsonrpc: '2.0', method, params, id });

describe('MI over HTTP under fuzzing', () => {
  test('random bytes as the body: a JSON-RPC reply (mostly -32700), never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => assertMiAnswer(await post(Buffer.from(bytes)))),
      { numRuns: 150 },
    );
  });

  test('random JSON values and request-shaped objects: a valid JSON-RPC reply or 204', async () => {
    const method = fc.oneof(fc.constantFrom('get_statistics', 'list_statistics', 'reset_statistics', 'reset_all_statistics', 'clear_statistics', 'which', 'statistics:get', 'update_stat', 'update_stat_series', 'reset_stat', 'nope'), fc.jsonValue());
    const params = fc.oneof(
      fc.constant({}),
      fc.array(fc.oneof(fc.string(), fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }), fc.jsonValue()), { maxLength: 4 }),
      fc.dictionary(fc.constantFrom('statistics', 'name', 'value', 'profile', 'x'), fc.oneof(fc.string(), fc.integer(), fc.array(fc.string(), { maxLength: 3 }), fc.jsonValue())),
      fc.jsonValue(),
    );
    const req = fc.record({ jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue()), method, params, id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue()) }, { requiredKeys: [] });
    const body = fc.oneof(req, fc.array(req, { maxLength: 6 }), fc.jsonValue());
    await fc.assert(
      fc.asyncProperty(body, async (b) => assertMiAnswer(await post(JSON.stringify(b)))),
      { numRuns: 250 },
    );
    // and the server still does its job afterwards
    assertMiAnswer(await post(request1(1, 'which', {})));
  });

  test('random bytes as the whole HTTP stream: proper HTTP replies or a plain close', { timeout: 60_000 }, async () => {
    const prefix = fc.constantFrom('', 'POST /mi HTTP/1.1\r\n', 'POST /mi HTTP/1.1\r\nContent-Length: 5\r\n\r\n', 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n', 'POST /mi HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n');
    await fc.assert(
      fc.asyncProperty(prefix, fc.uint8Array({ maxLength: 300 }), async (p, bytes) => {
        assertProperHttp(await raw([Buffer.from(p, 'latin1'), Buffer.from(bytes)], { end: true }));
      }),
      { numRuns: 60 },
    );
  });

  test('a valid request split at random points gets the same reply as sent whole', { timeout: 60_000 }, async () => {
    const whole = Buffer.from(head(Buffer.byteLength(request1('x')), 'Connection: close\r\n') + request1('x'));
    const expected = parseResponses(await raw([whole]));
    assert.equal(expected.length, 1);
    assert.equal(expected[0].status, 200);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 8 }), async (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), whole.length];
        const pieces = at.slice(1).map((e, i) => whole.subarray(at[i], e));
        const got = assertProperHttp(await raw(pieces));
        assert.equal(got.length, 1);
        assert.equal(got[0].status, 200);
        assert.deepEqual(JSON.parse(got[0].body), JSON.parse(expected[0].body));
      }),
      { numRuns: 40 },
    );
  });

  test('bodies past 1 MiB get 413 (declared length, chunked, or announced with Expect: 100-continue)', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MIB + 1, max: 2 * MIB }), fc.boolean(), async (size, chunked) => {
        const body = Buffer.alloc(size, 0x61);
        const pieces = chunked
          ? [Buffer.from(head(null)), Buffer.from(`${size.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]
          : [Buffer.from(head(size)), body];
        const rs = assertProperHttp(await raw(pieces));
        assert.equal(rs.length, 1);
        assert.equal(rs[0].status, 413);
        assert.equal(rs[0].headers.connection, 'close');
      }),
      { numRuns: 6 },
    );
    const rs = assertProperHttp(await raw([Buffer.from(head(50 * MIB, 'Expect: 100-continue\r\n'))]));
    assert.deepEqual(
      rs.map((r) => r.status),
      [413],
    );
  });

  test('truncated bodies and clients that stop sending are timed out (408) or closed, never left hanging', { timeout: 60_000 }, async () => {
    const cases: Buffer[][] = [
      [Buffer.from(head(100) + '{"jsonrpc":"2.0",')], // body shorter than announced
      [Buffer.from(head(null) + '10\r\n{"jsonrpc":"2.0"')], // chunked, never finished
      [Buffer.from('POST /mi HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le')], // headers cut
      [Buffer.from('POST /mi HT')], // request line cut
      [], // connects and says nothing
    ];
    const results = await Promise.all(cases.map((pieces) => raw(pieces)));
    for (const buf of results) {
      const rs = assertProperHttp(buf);
      assert.ok(rs.length <= 1);
      if (rs.length === 1) assert.equal(rs[0].status, 408, JSON.stringify(rs[0]));
    }
    // a client that trickles its body one byte at a time, slower than the request timeout allows
    const slow = await new Promise<Buffer>((resolve) => {
      const s = connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      const body = request1(1);
      let i = 0;
      let timer: NodeJS.Timeout | undefined;
      s.on('data', (c) => got.push(c));
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(timer);
        resolve(Buffer.concat(got));
      });
      s.on('connect', () => {
        s.write(head(Buffer.byteLength(body)));
        // 1 byte per 100 ms: the whole body would take seconds, the request timeout is 600 ms
        timer = setInterval(() => {
          if (!s.destroyed && i < body.length) s.write(body[i++]);
        }, 100);
      });
    });
    const rs = assertProperHttp(slow);
    assert.ok(rs.length === 0 || rs[0].status === 408, JSON.stringify(rs));
  });

  test('after all that the server is up and answers', async () => {
    assertMiAnswer(await post(request1(7, 'which', {})));
    const r = assertProperHttp(await raw([Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
    assert.equal(r[0].status, 200);
    assert.equal(JSON.parse(r[0].body).status, 'ok');
  });
});
