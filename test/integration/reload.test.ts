import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import { invite, newBranch, reply } from '../support/sip-builder.ts';

const base = { listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, env: {} } as const;

const cfg = (customer: string, extra = '') => `kpi:
  customer: { kind: cidr, map: { "192.0.2.0/24": ${customer} } }
${extra}`;

let n = 0;
function call(r: Awaited<ReturnType<typeof start>>, t: number) {
  const l = { callId: `reload-${++n}@t`, fromTag: `f${n}` };
  const b = newBranch();
  r.pipeline.onSip(invite(l, { branch: b }), { timeMs: t, srcIp: '192.0.2.5', dstIp: '127.0.0.1' });
  r.pipeline.onSip(reply(200, 'OK', l, { branch: b, toTag: 'x' }), { timeMs: t + 100, srcIp: '127.0.0.1', dstIp: '192.0.2.5' });
}

test('reload_config: new customer map, new profile and variable; statistics kept; a bad file or a layout change is refused and the old configuration stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-reload-'));
  const file = join(dir, 'sipstats.yaml');
  const logs: string[] = [];
  let now = 1_800_000_000_000;
  writeFileSync(file, cfg('acme'));
  const r = await start({ ...base, configPath: file, clock: () => now, log: (l, m) => logs.push(`${l}: ${m}`) });
  try {
    call(r, now);
    assert.equal(r.stats.getStat('ASRacme'), 100);
    // a new map, and a new profile and variable (profiles: the defaults plus one)
    const profiles = r.stats.engine.profileDefs().map((p) => ({ name: p.name, algorithm: p.algorithm, window: p.window, slots: p.slots, group: p.group, ...(p.minSamples > 0 ? { min_samples: p.minSamples } : {}), ...(p.precision !== null ? { precision: p.precision } : {}), ...p.options }));
    const withExtra = [...profiles, { name: 'extra', algorithm: 'accumulate', window: 60, slots: 6, group: 'extras' }];
    writeFileSync(file, cfg('globex', `profiles: ${JSON.stringify(withExtra)}\nvariables: [reloaded_counter]\n`));
    const ok = await r.stats.mi('reload_config', {});
    assert.ok('result' in ok, JSON.stringify(ok));
    const rep = ok.result as { changes: string[]; restart: string[] };
    assert.ok(rep.changes.includes("profile 'extra' added"), rep.changes.join('; '));
    assert.ok(rep.changes.includes("variable 'script:reloaded_counter' added"), rep.changes.join('; '));
    assert.ok(logs.some((l) => l.startsWith('info: configuration reloaded from')));
    assert.equal(r.stats.getStat('ASRacme'), 100, 'statistics kept');
    call(r, (now += 1000));
    assert.equal(r.stats.getStat('ASRglobex'), 100, 'the new map is in force');
    r.stats.updateStatSeries('extra', 'x', 5);
    assert.equal(r.stats.getStat('x'), 5);
    assert.equal(r.stats.getStat('reloaded_counter'), 0);

    // a bad file: refused with its coded errors; the running configuration stays
    writeFileSync(file, cfg('initech', 'kpi_typo: 1\n'));
    const bad = await r.stats.mi('reload_config', {});
    assert.ok('error' in bad);
    assert.equal((bad.error.data as { code: string }).code, 'E_CONFIG');
    assert.match(bad.error.message, /kpi_typo: \[E_CFG_UNKNOWN_PARAM\]/);
    call(r, (now += 1000));
    assert.equal(r.stats.getStat('ASRinitech'), null);
    assert.equal(r.stats.getStat('sipstats:calls_started'), 3);

    // the window of a profile that holds series: refused, it needs a restart
    const changed = withExtra.map((p) => (p.name === 'perc' ? { ...p, window: 120, slots: 12 } : p));
    writeFileSync(file, cfg('initech', `profiles: ${JSON.stringify(changed)}\n`));
    const layout = await r.stats.mi('reload_config', {});
    assert.ok('error' in layout);
    assert.match(layout.error.message, /profile 'perc' holds \d+ series: changing its algorithm, window, slots, min_samples or options \(percentage window=60 slots=60 → percentage window=120 slots=12\) needs a restart/);
    call(r, (now += 1000));
    assert.equal(r.stats.getStat('ASRinitech'), null, 'all or nothing: the map did not change either');
    assert.equal(r.stats.engine.profile('perc')!.def.window, 60);

    // started without --config: nothing to reload
    const plain = await start({ ...base });
    const none = await plain.stats.mi('reload_config', {});
    await plain.close();
    assert.ok('error' in none);
    assert.match(none.error.message, /started without a configuration file/);
  } finally {
    await r.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGHUP reloads a running server; a bad file is logged and the server keeps running', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-reload-'));
  const file = join(dir, 'sipstats.yaml');
  writeFileSync(file, 'groups: [first]\n');
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', file, '--listen', '127.0.0.1:0', '--no-hep', '--no-persist'], { env: { ...process.env, SIPSTATS_TOKEN: '' } });
  let out = '';
  let err = '';
  p.stderr.on('data', (c) => (err += c));
  try {
    const url = await new Promise<string>((res, rej) => {
      p.stdout.on('data', (c) => {
        out += c;
        const m = /listening on (\S+)/.exec(out);
        if (m) res(m[1]);
      });
      p.on('exit', () => rej(new Error(err)));
    });
    const mi = async (method: string, params: unknown) => (await (await fetch(`${url}/mi`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json()) as { result?: unknown; error?: { code: number } };
    assert.equal((await mi('update_stat', { name: 'second:x', value: 1 })).error?.code, 404, 'group second is not declared yet');
    writeFileSync(file, 'groups: [first, second]\n');
    p.kill('SIGHUP');
    const until = async (what: () => boolean, label: string) => {
      for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(what(), label);
    };
    await until(() => err.includes('configuration reloaded'), `reload logged: ${err}`);
    assert.equal((await mi('update_stat', { name: 'second:x', value: 1 })).result, 'OK');
    writeFileSync(file, 'groups: [first, second\n');
    p.kill('SIGHUP');
    await until(() => err.includes('reload refused, the running configuration stays'), `refusal logged: ${err}`);
    assert.equal(p.exitCode, null, 'still running');
    assert.deepEqual((await mi('get_statistics', { statistics: ['second:x'] })).result, { 'second:x': 1 });
  } finally {
    p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
