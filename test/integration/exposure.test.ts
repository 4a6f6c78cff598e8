import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';

const base = { hepListen: null, dataDir: null, print: () => {}, env: {} } as const;

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; cookie: string | null }> {
  const r = await fetch(url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const text = await r.text();
  return { status: r.status, json: text === '' ? null : JSON.parse(text), cookie: r.headers.get('set-cookie') };
}

const miCall = (url: string, method: string, params: unknown, token?: string) => post(url, '/mi', { jsonrpc: '2.0', id: 1, method, params }, token ? { authorization: `Bearer ${token}` } : {});

test('the MI is not served beyond loopback without a token, unless --allow-unauthenticated says so', async () => {
  await assert.rejects(start({ ...base, listen: '0.0.0.0:0' }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_CONFIG');
    assert.match(e.message, /refusing to serve the MI on 0\.0\.0\.0:0 without a token/);
    assert.match(e.message, /--token .*--allow-unauthenticated/);
    return true;
  });
  const logs: string[] = [];
  const open = await start({ ...base, listen: '0.0.0.0:0', allowUnauthenticated: true, log: (l, m) => logs.push(`${l}: ${m}`) });
  try {
    assert.ok(logs.some((l) => /^warn: serving the MI on 0\.0\.0\.0:\d+ without a token/.test(l)), logs.join('\n'));
  } finally {
    await open.close();
  }
  const withToken = await start({ ...base, listen: '0.0.0.0:0', token: 'adm1n' });
  await withToken.close();
  // loopback needs nothing
  const local = await start({ ...base, listen: '127.0.0.1:0' });
  await local.close();
  // a read-only token alone would leave the admin commands to nobody or everybody: refused
  await assert.rejects(start({ ...base, listen: '127.0.0.1:0', readToken: 'r3ad' }), /a read-only token needs an admin token too/);
});

test('HEP beyond loopback without an auth key is started with a warning', async () => {
  const logs: string[] = [];
  const r = await start({ ...base, listen: '127.0.0.1:0', hepListen: '0.0.0.0:0', log: (l, m) => logs.push(`${l}: ${m}`) });
  try {
    assert.ok(logs.some((l) => /^warn: HEP on 0\.0\.0\.0:0 without an auth key takes packets from anyone/.test(l)), logs.join('\n'));
  } finally {
    await r.close();
  }
  const quiet: string[] = [];
  const k = await start({ ...base, listen: '127.0.0.1:0', hepListen: '0.0.0.0:0', hepAuthKey: 'k3y', log: (l, m) => quiet.push(m) });
  await k.close();
  assert.ok(!quiet.some((m) => m.includes('HEP on')), quiet.join('\n'));
});

test('a read-only token reads (MI, /metrics, dashboard JSON) and is refused on commands that change statistics', async () => {
  const r: Running = await start({ ...base, listen: '127.0.0.1:0', token: 'adm1n', readToken: 'r3ad' });
  try {
    const url = r.url;
    assert.equal((await miCall(url, 'update_stat', { name: 'calls', value: 3 }, 'adm1n')).json.result !== undefined, true);
    const read = await miCall(url, 'get_statistics', { statistics: ['calls'] }, 'r3ad');
    assert.deepEqual(read.json.result, { 'dynamic:calls': 3 });
    for (const [method, params] of [
      ['reset_statistics', { statistics: ['calls'] }],
      ['update_stat', { name: 'calls', value: 1 }],
      ['clear_statistics', { statistics: ['all'] }],
      ['reset_stat', { name: 'calls' }],
    ] as const) {
      const w = await miCall(url, method, params, 'r3ad');
      assert.equal(w.json.error?.code, 403, `${method}: ${JSON.stringify(w.json)}`);
      assert.equal(w.json.error?.data?.code, 'E_READ_ONLY');
    }
    assert.equal(r.stats.getStat('calls'), 3, 'nothing changed');
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer r3ad' } });
    assert.equal(metrics.status, 200);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await fetch(`${url}/api/kpis`, { headers: { authorization: 'Bearer r3ad' } })).status, 200);
    // the admin token still does everything
    assert.equal((await miCall(url, 'reset_statistics', { statistics: ['calls'] }, 'adm1n')).json.error, undefined);
    assert.equal(r.stats.getStat('calls'), 0);
  } finally {
    await r.close();
  }
});

test('dashboard sessions: a token traded for an HttpOnly cookie that authenticates GET reads only', async () => {
  const r = await start({ ...base, listen: '127.0.0.1:0', token: 'adm1n' });
  try {
    const url = r.url;
    assert.equal((await post(url, '/api/session', { token: 'wrong' })).status, 401);
    assert.equal((await post(url, '/api/session', 'not an object')).status, 401);
    const ok = await post(url, '/api/session', { token: 'adm1n' });
    assert.equal(ok.status, 200);
    assert.match(ok.cookie ?? '', /^sipstats_session=[A-Za-z0-9_-]{20,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = ok.cookie!.split(';')[0];
    assert.equal((await fetch(`${url}/api/kpis`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${url}/metrics`, { headers: { cookie } })).status, 200);
    // not for the MI: a POST needs the bearer token (a cookie rides along on cross-site requests)
    assert.equal((await post(url, '/mi', { jsonrpc: '2.0', id: 1, method: 'which' }, { cookie })).status, 401);
    const out = await fetch(`${url}/api/session`, { method: 'DELETE', headers: { cookie } });
    assert.equal(out.status, 200);
    assert.equal((await fetch(`${url}/api/kpis`, { headers: { cookie } })).status, 401, 'session ended');
    assert.equal((await fetch(`${url}/api/kpis`, { headers: { cookie: 'sipstats_session=forgedforgedforgedforged' } })).status, 401);
  } finally {
    await r.close();
  }
});
