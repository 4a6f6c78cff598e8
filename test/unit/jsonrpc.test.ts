import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { handleJsonRpc, handleJsonRpcValue, MAX_BATCH } from '../../src/mi/jsonrpc.ts';
import type { MiHandler, MiParams, MiReply } from '../../src/mi/types.ts';

/** A fake MI handler: `echo` returns its params, `fail` a JSON-RPC error, `boom` throws; it records calls. */
function fake(): MiHandler & { calls: { method: string; params: MiParams }[] } {
  const calls: { method: string; params: MiParams }[] = [];
  return {
    calls,
    miCommands: () => ['echo', 'fail', 'boom', 'undef'],
    async mi(method: string, params?: MiParams): Promise<MiReply> {
      calls.push({ method, params });
      if (method === 'echo') return { result: params ?? 'none' };
      if (method === 'fail') return { error: { code: 404, message: 'Statistics Not Found' } };
      if (method === 'undef') return { result: undefined };
      if (method === 'boom') throw new Error('kaput');
      return { error: { code: -32601, message: 'Method not found' } };
    },
  };
}

const rpc = async (body: unknown, h = fake()) => {
  const out = await handleJsonRpc(typeof body === 'string' ? body : JSON.stringify(body), h);
  return out === null ? null : JSON.parse(out);
};

test('a request is answered with its result and its id, as sent (number, string, null, 0)', async () => {
  for (const id of [1, 'abc', null, 0, 2.5, '']) {
    assert.deepEqual(await rpc({ jsonrpc: '2.0', method: 'echo', params: [['a', 'b:']], id }), { jsonrpc: '2.0', result: [['a', 'b:']], id });
  }
});

test('params are passed to the handler untouched: {} and [] and absent', async () => {
  const h = fake();
  await rpc({ jsonrpc: '2.0', method: 'echo', params: {}, id: 1 }, h);
  await rpc({ jsonrpc: '2.0', method: 'echo', params: [], id: 2 }, h);
  await rpc({ jsonrpc: '2.0', method: 'echo', id: 3 }, h);
  await rpc({ jsonrpc: '2.0', method: 'echo', params: { statistics: ['all'] }, id: 4 }, h);
  assert.deepEqual(
    h.calls.map((c) => c.params),
    [{}, [], undefined, { statistics: ['all'] }],
  );
});

test('unparseable JSON is -32700 Parse error with id null', async () => {
  for (const body of ['', '{', '{"jsonrpc":"2.0","method":"echo","id":1', 'nul', '\u0000', '[1,]', '{"a":1}}']) {
    assert.deepEqual(await rpc(body), { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }, body);
  }
});

test('envelope errors are -32600 Invalid Request, with the id when it is readable', async () => {
  const cases: [unknown, unknown][] = [
    [{ method: 'echo', id: 1 }, 1],
    [{ jsonrpc: '1.0', method: 'echo', id: 1 }, 1],
    [{ jsonrpc: 2, method: 'echo', id: 'x' }, 'x'],
    [{ jsonrpc: '2.0', method: 5, id: 1 }, 1],
    [{ jsonrpc: '2.0', id: 1 }, 1],
    [{ jsonrpc: '2.0', method: 'echo', id: {} }, null],
    [{ jsonrpc: '2.0', method: 'echo', id: [1] }, null],
    [{ jsonrpc: '2.0', method: 'echo', id: true }, null],
    [{ jsonrpc: '2.0', method: 'echo', params: 'x', id: 7 }, 7],
    [{ jsonrpc: '2.0', method: 'echo', params: 3, id: 7 }, 7],
    [{ jsonrpc: '2.0', method: 'echo', params: null, id: 7 }, 7],
    [1, null],
    [JSON.stringify('x'), null],
    [null, null],
    [true, null],
  ];
  for (const [req, id] of cases) {
    const h = fake();
    const r = await rpc(req, h);
    assert.equal(r.jsonrpc, '2.0', JSON.stringify(req));
    assert.equal(r.error.code, -32600, JSON.stringify(req));
    assert.equal(r.error.message, 'Invalid Request');
    assert.deepEqual(r.id, id, JSON.stringify(req));
    assert.equal(h.calls.length, 0, 'an invalid request runs nothing');
  }
});

test('an invalid request without id is still answered (it is not a notification)', async () => {
  assert.equal((await rpc({ jsonrpc: '2.0', method: 7 })).error.code, -32600);
});

test('a notification (no id) runs the command and gets no reply, even when it fails', async () => {
  const h = fake();
  assert.equal(await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: [1] }), h), null);
  assert.equal(await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', method: 'fail' }), h), null);
  assert.equal(await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', method: 'nope' }), h), null);
  assert.deepEqual(
    h.calls.map((c) => c.method),
    ['echo', 'fail', 'nope'],
  );
});

test('handler errors are passed through with their code, message and data', async () => {
  assert.deepEqual(await rpc({ jsonrpc: '2.0', method: 'fail', id: 's' }), { jsonrpc: '2.0', error: { code: 404, message: 'Statistics Not Found' }, id: 's' });
  assert.deepEqual(await rpc({ jsonrpc: '2.0', method: 'nope', id: 1 }), { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 1 });
});

test('a throwing handler gives -32603 Internal error, never an exception', async () => {
  const r = await rpc({ jsonrpc: '2.0', method: 'boom', id: 9 });
  assert.equal(r.error.code, -32603);
  assert.equal(r.error.message, 'Internal error');
  assert.equal(r.id, 9);
});

test('an undefined result is sent as null (the reply must carry "result")', async () => {
  assert.deepEqual(await rpc({ jsonrpc: '2.0', method: 'undef', id: 1 }), { jsonrpc: '2.0', result: null, id: 1 });
});

test('batch: replies in order, notifications left out, invalid members answered one by one', async () => {
  const h = fake();
  const r = await rpc(
    [
      { jsonrpc: '2.0', method: 'echo', params: ['a'], id: 1 },
      { jsonrpc: '2.0', method: 'echo', params: ['n'] },
      1,
      { jsonrpc: '2.0', method: 'fail', id: 'x' },
      { foo: 'bar' },
    ],
    h,
  );
  assert.deepEqual(r, [
    { jsonrpc: '2.0', result: ['a'], id: 1 },
    { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null },
    { jsonrpc: '2.0', error: { code: 404, message: 'Statistics Not Found' }, id: 'x' },
    { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request', data: "'jsonrpc' must be \"2.0\"" }, id: null },
  ]);
  assert.deepEqual(
    h.calls.map((c) => c.params),
    [['a'], ['n'], undefined],
  );
});

test('an empty batch is one -32600 reply (an object, not an array)', async () => {
  const r = await rpc([]);
  assert.ok(!Array.isArray(r));
  assert.equal(r.error.code, -32600);
  assert.equal(r.id, null);
});

test('a batch of notifications only gets no reply at all', async () => {
  const h = fake();
  assert.equal(await handleJsonRpc(JSON.stringify([{ jsonrpc: '2.0', method: 'echo' }, { jsonrpc: '2.0', method: 'fail' }]), h), null);
  assert.equal(h.calls.length, 2);
});

test('a batch larger than MAX_BATCH is refused whole', async () => {
  const h = fake();
  const batch = Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ jsonrpc: '2.0', method: 'echo', id: i }));
  const r = (await handleJsonRpcValue(batch, h)) as { error: { code: number } };
  assert.equal(r.error.code, -32600);
  assert.equal(h.calls.length, 0);
});

test('property: any JSON text gets null or a valid JSON-RPC 2.0 reply, and never throws', async () => {
  const valid = (r: any) => {
    assert.equal(r.jsonrpc, '2.0');
    assert.ok('id' in r);
    assert.ok(r.id === null || typeof r.id === 'string' || typeof r.id === 'number');
    assert.ok(('result' in r) !== ('error' in r));
    if ('error' in r) assert.ok(Number.isInteger(r.error.code) && typeof r.error.message === 'string');
  };
  const request = fc.record(
    {
      jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue()),
      method: fc.oneof(fc.constantFrom('echo', 'fail', 'boom', 'nope'), fc.jsonValue()),
      id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue()),
      params: fc.oneof(fc.array(fc.jsonValue()), fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(fc.jsonValue(), request, fc.array(fc.oneof(request, fc.jsonValue()), { maxLength: 5 }));
  await fc.assert(
    fc.asyncProperty(fc.oneof(body.map((b) => JSON.stringify(b)), fc.string()), async (text) => {
      const out = await handleJsonRpc(text, fake());
      if (out === null) return;
      const r = JSON.parse(out);
      if (Array.isArray(r)) {
        assert.ok(r.length > 0);
        r.forEach(valid);
      } else valid(r);
    }),
    { numRuns: 300 },
  );
});
