import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { miParams } from '../../src/mi/client.ts';
import { CONFORMANCE_DIR } from '../support/conformance.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

/** Runs the CLI to completion; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, SIPSTATS_TOKEN: '', ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

test('mi ARGS are shaped like opensips-cli shapes them', () => {
  assert.deepEqual(miParams('get_statistics', ['ASR', 'stats_10m:']), [['ASR', 'stats_10m:']]);
  assert.deepEqual(miParams('statistics:get', ['all']), [['all']]);
  assert.deepEqual(miParams('get_statistics', []), {});
  assert.deepEqual(miParams('which', []), {});
  assert.deepEqual(miParams('get_statistics', ['statistics=ASR stats_10m:']), { statistics: ['ASR', 'stats_10m:'] });
  assert.deepEqual(miParams('update_stat', ['name=calls', 'value=+1']), { name: 'calls', value: '+1' });
  assert.deepEqual(miParams('update_stat', ['calls', '-1']), ['calls', '-1']);
  assert.deepEqual(miParams('update_stat', ['name=calls', '2']), ['name=calls', '2']);
});

describe('sipstats serve + sipstats mi, as processes', () => {
  let server: ChildProcess;
  let url = '';
  let dir = '';
  let resolveExit: (c: number | null) => void = () => {};
  const exited = new Promise<number | null>((resolve) => (resolveExit = resolve));
  let stdout = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipstats-cli-'));
    const cfg = join(dir, 'sipstats.yaml');
    writeFileSync(cfg, 'listen: 127.0.0.1:1\nauth: { token: tok }\nvariables: [calls]\nprofiles:\n  - { name: 10m-perc, algorithm: percentage, window: 600, slots: 10, group: stats_10m }\n');
    // --listen wins over the file's listen
    server = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', cfg, '--listen', '127.0.0.1:0', '--hep-listen', '127.0.0.1:0', '--no-persist'], { cwd: ROOT, env: { ...process.env, SIPSTATS_TOKEN: '' } });
    server.on('close', (code) => resolveExit(code));
    url = await new Promise<string>((resolve, reject) => {
      server.stdout!.on('data', (c) => {
        stdout += c;
        const m = /listening on (http:\/\/\S+)\n/.exec(stdout);
        if (m) resolve(m[1]);
      });
      server.on('close', (code) => reject(new Error(`server exited ${code} before listening`)));
    });
  });
  after(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('prints the chosen address', () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  });

  test('mi update_stat and get_statistics print the JSON result and exit 0', async () => {
    const u = await cli(['mi', '--url', `${url}/mi`, '--token', 'tok', 'update_stat_series', 'profile=10m-perc', 'name=ASR_10m', 'value=1']);
    assert.equal(u.code, 0, u.err);
    assert.deepEqual(JSON.parse(u.out), 'OK');
    // a negative value is an ARG, not an option; options may also come after METHOD
    const d = await cli(['mi', 'update_stat', 'calls', '-2', '--url', `${url}/mi`], { SIPSTATS_TOKEN: 'tok' });
    assert.equal(d.code, 0, d.err);
    const g = await cli(['mi', '--url', `${url}/mi`, 'get_statistics', 'ASR_10m', 'script:'], { SIPSTATS_TOKEN: 'tok' });
    assert.equal(g.code, 0, g.err);
    assert.deepEqual(JSON.parse(g.out), { 'stats_10m:ASR_10m': 100, 'script:calls': -2 });
  });

  test('mi errors: a JSON-RPC error, a missing token, an unreachable server exit 1 with a message', async () => {
    const e = await cli(['mi', '--url', `${url}/mi`, '--token', 'tok', 'get_statistics']);
    assert.equal(e.code, 1);
    assert.match(e.err, /-32602: Invalid params \(Too few or too many parameters\)/);
    const a = await cli(['mi', '--url', `${url}/mi`, 'which']);
    assert.equal(a.code, 1);
    assert.match(a.err, /HTTP 401/);
    const c = await cli(['mi', '--url', 'http://127.0.0.1:1/mi', 'which']);
    assert.equal(c.code, 1);
    assert.match(c.err, /cannot reach/);
  });

  test('SIGTERM shuts the server down cleanly with exit code 0', async () => {
    server.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

test('usage errors exit 2 with a clear message; replay needs one capture file; demo needs the HEP listener', async () => {
  const [flag, miFlag, cmd, noMethod, badListen, badConfig, replay, demo] = await Promise.all([
    cli(['serve', '--bogus']),
    cli(['mi', '--bogus', 'which']),
    cli(['frobnicate']),
    cli(['mi']),
    cli(['serve', '--listen', 'nowhere']),
    cli(['serve', '--config', join(CONFORMANCE_DIR, 'rejected-profiles.cfg')]),
    cli(['replay']),
    cli(['demo', '--no-hep', '--listen', '127.0.0.1:0']),
  ]);
  assert.equal(flag.code, 2);
  assert.match(flag.err, /Unknown option '--bogus'/);
  assert.equal(miFlag.code, 2);
  assert.match(miFlag.err, /Unknown option '--bogus'/);
  assert.equal(cmd.code, 2);
  assert.match(cmd.err, /unknown command 'frobnicate'/);
  assert.equal(noMethod.code, 2);
  assert.match(noMethod.err, /METHOD missing/);
  assert.equal(badListen.code, 2);
  assert.match(badListen.err, /--listen: .*HOST:PORT/);
  assert.equal(badConfig.code, 2);
  assert.match(badConfig.err, /line 1: .*\n.*line 2: /);
  assert.equal(replay.code, 2);
  assert.match(replay.err, /replay: give exactly one capture file/);
  assert.equal(demo.code, 2);
  assert.match(demo.err, /the demo sends HEP/);
});

test('bin/sipstats.js runs the built CLI from dist/', () => {
  const bin = readFileSync(join(ROOT, 'bin', 'sipstats.js'), 'utf8');
  assert.match(bin, /^#!\/usr\/bin\/env node\n/);
  assert.match(bin, /import\('\.\.\/dist\/cli\/main\.js'\)/);
});

test('sipstats demo: the server plus built-in HEP traffic through a platform; customers, carriers (failover), destinations and calls up within seconds; SIGTERM exits 0', { timeout: 90_000 }, async () => {
  const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', '--listen', '127.0.0.1:0', '--hep-listen', '127.0.0.1:0'], { cwd: ROOT, env: { ...process.env, SIPSTATS_TOKEN: '' } });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      p.stdout!.on('data', (c) => {
        out += c;
        const m = /listening on (http:\/\/\S+)\n/.exec(out);
        if (m) resolve(m[1]);
      });
      p.on('close', (code) => reject(new Error(`demo exited ${code}`)));
    });
    let started = 0;
    for (let i = 0; i < 100 && started < 5; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await (await fetch(`${url}/mi`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'get_statistics', params: [['sipstats:calls_started']] }) })).json();
      started = r.result['sipstats:calls_started'] ?? 0;
    }
    assert.ok(started >= 5, `demo calls started: ${started}`);
    assert.match(out, /dashboard: http/);
    // every view of the dashboard fills: the demo's platform (DEMO_KPI) is applied, so attempts go to
    // carriers named by address, destinations are country codes, some calls fail over on a 503, calls are held
    type Row = { v: (number | null)[]; n: (number | null)[] };
    type Kpis = { kpis: string[]; limits: { customer: Record<string, { channels?: number }> }; windows: Record<string, Record<'customers' | 'carriers' | 'destinations' | 'carrierDestinations', Record<string, Row>> & { overall: Row }> };
    const stat = async (name: string) => {
      const r = await (await fetch(`${url}/mi`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'get_statistics', params: [[name]] }) })).json();
      return (Object.values(r.result as Record<string, number | null>)[0] ?? 0) as number;
    };
    let k: Kpis | undefined;
    let w: Kpis['windows'][string] | undefined;
    let failedOver = 0;
    let up = 0;
    const deadline = Date.now() + 40_000;
    for (;;) {
      k = (await (await fetch(`${url}/api/kpis?window=1m`)).json()) as Kpis;
      w = k.windows['1m'];
      failedOver = await stat('sipstats:calls_failed_over');
      up = await stat('stats:CC');
      if ((Object.keys(w.carriers).length >= 3 && Object.keys(w.destinations).length >= 4 && failedOver > 0 && up > 0) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(Object.keys(w.carriers).sort(), ['carrier_a', 'carrier_b', 'carrier_c'], 'carriers named from their addresses (the server applies DEMO_KPI when --demo is on: src/app/server.ts)');
    const dests = Object.keys(w.destinations);
    assert.ok(dests.length >= 4 && dests.every((d) => ['1', '33', '34', '44', '49', '81'].includes(d)), `destinations by country code: ${dests}`);
    assert.ok(Object.keys(w.carrierDestinations).length >= 4, 'the carrier × destination heat map has cells');
    assert.ok(Object.keys(w.customers).length >= 3, 'customers');
    assert.ok(failedOver > 0, 'some calls failed over to the next carrier');
    assert.ok(up > 0, `calls are held: CC ${up}`);
    assert.ok((await stat('sipstats:attempts_started')) > started, 'an attempt per call, more with failover');
    assert.equal(k.limits.customer.acme?.channels, 500, "the demo's limits reach the dashboard");
    const code = await new Promise<number | null>((resolve) => {
      p.on('exit', (c) => resolve(c));
      p.kill('SIGTERM');
    });
    assert.equal(code, 0);
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
  }
});
