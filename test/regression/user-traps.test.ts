import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { listenHep } from '../../src/ingest/ingest.ts';
import { nativeUdp } from '../../src/ingest/native-udp.ts';
import { parseAlertsConfig } from '../../src/alerts/rules.ts';
import { parseNativeConfig } from '../../src/config/yaml-format.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { callMi } from '../../src/mi/client.ts';
import { start } from '../../src/app/server.ts';

/**
 * Seven traps users walked into, each of which now gets a clear word (one describe per trap).
 * Every test here failed on the code before the fix.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
/** tsx by its URL: some runs start in a directory outside the repository. */
const TSX = import.meta.resolve('tsx');
const SIP_PCAP = join(ROOT, 'test', 'fixtures', 'opensips-3.6.8', 'sip.pcap');
const dir = mkdtempSync(join(tmpdir(), 'sipstats-traps-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a command to its end (never blocking this process: a server may run in it). */
function run(cmd: string, args: string[], opts: { cwd?: string; closeStdout?: boolean } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, SIPSTATS_TOKEN: '' } });
    let out = '';
    let err = '';
    if (opts.closeStdout === true) p.stdout.destroy(); // the reader is gone before the first write
    else p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}
const sipstats = (args: string[], opts: { cwd?: string; closeStdout?: boolean } = {}) => run(process.execPath, ['--import', TSX, MAIN, ...args], opts);

describe('1. replay into a pipe whose reader leaves (`| head -1`)', () => {
  test('sipstats replay FILE | head -1: the first line, then a quiet end (no EPIPE, no stack)', async () => {
    // the reader's exit races the writes: three runs (each one died with "Error: write EPIPE" before)
    for (let i = 0; i < 3; i++) {
      const r = await run('sh', ['-c', `"${process.execPath}" --import "${TSX}" "${MAIN}" replay "${SIP_PCAP}" | head -1`]);
      assert.equal(r.code, 0);
      assert.match(r.out, /^\S*sip\.pcap: 150 packets \(150 SIP, 0 HEP, 0 skipped\)[^\n]*\n$/);
      assert.equal(r.err, '', 'nothing on stderr');
    }
  });

  test('a reader gone before the first write: exit 0, nothing on stderr', async () => {
    for (const args of [['replay', SIP_PCAP], ['replay', '--json', SIP_PCAP]]) {
      const r = await sipstats(args, { closeStdout: true });
      assert.doesNotMatch(r.err, /EPIPE|at .*\.ts:\d+/);
      assert.equal(r.err, '');
      assert.equal(r.code, 0);
    }
  });
});

describe('2. replay: traffic that never crosses the platform edge; --by carrier without a platform', () => {
  test('every message between platform addresses: says so, naming the platform given', async () => {
    const r = await sipstats(['replay', '--no-progress', SIP_PCAP, '--platform', '127.0.0.1/32']);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /no call was seen/);
    assert.match(r.out, /^no call: every SIP message \(150\) was between platform addresses \(--platform 127\.0\.0\.1\/32\); calls come in from outside the platform, attempts go out of it: check --platform$/m);
    // the same from a config file's kpi.platform, and with --json on stderr (stdout stays JSON)
    const cfg = join(dir, 'platform.yaml');
    writeFileSync(cfg, 'kpi:\n  platform: ["127.0.0.0/8"]\n');
    const j = await sipstats(['replay', '--json', SIP_PCAP, '--config', cfg]);
    assert.equal(j.code, 0, j.err);
    assert.equal(JSON.parse(j.out)['sipstats:sip_internal'], 150);
    assert.match(j.err, new RegExp(`no call: every SIP message \\(150\\) was between platform addresses \\(kpi\\.platform of ${cfg.replace(/[.]/g, '\\.')} 127\\.0\\.0\\.0/8\\)`));
    // no message touching the platform at all
    const o = await sipstats(['replay', '--no-progress', SIP_PCAP, '--platform', '10.0.0.0/8']);
    assert.match(o.out, /^no call: no SIP message \(150\) was to or from a platform address \(--platform 10\.0\.0\.0\/8\)/m);
  });

  test('--by carrier (or carrier,destination) without --platform is refused: carriers need the platform', async () => {
    for (const by of ['carrier', 'carrier,destination']) {
      const r = await sipstats(['replay', '--no-progress', SIP_PCAP, '--by', by]);
      assert.equal(r.code, 2);
      assert.match(r.err, new RegExp(`replay: --by ${by} needs --platform CIDRS \\(or kpi\\.platform in the --config file\\): calls come in to the platform, attempts go out to carriers`));
      assert.equal(r.out, '');
    }
  });
});

describe('3. a HEP or events port in use names the listener and its address', () => {
  const taken = async (kind: 'udp' | 'tcp'): Promise<{ port: number; close: () => Promise<void> }> => {
    if (kind === 'udp') {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      return { port: s.address().port, close: () => new Promise((r) => s.close(() => r())) };
    }
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return { port: (s.address() as { port: number }).port, close: () => new Promise((r) => s.close(() => r())) };
  };

  test('sipstats serve: HEP UDP, HEP TCP, events UDP, events TCP and HTTP, each named with its address', async () => {
    const cases = [
      { kind: 'udp', flags: (p: number) => ['--hep-listen', `127.0.0.1:${p}`], says: (p: number) => `HEP listener 127.0.0.1:${p} (UDP)` },
      { kind: 'tcp', flags: (p: number) => ['--hep-listen', `127.0.0.1:${p}`], says: (p: number) => `HEP listener 127.0.0.1:${p} (TCP)` },
      { kind: 'udp', flags: (p: number) => ['--no-hep', '--events-listen', `127.0.0.1:${p}`], says: (p: number) => `OpenSIPS events listener 127.0.0.1:${p} (UDP)` },
      { kind: 'tcp', flags: (p: number) => ['--no-hep', '--events-listen', `127.0.0.1:${p}`], says: (p: number) => `OpenSIPS events listener 127.0.0.1:${p} (TCP)` },
      { kind: 'tcp', flags: (p: number) => ['--no-hep', '--listen', `127.0.0.1:${p}`], says: (p: number) => `HTTP listener 127.0.0.1:${p}` },
    ] as const;
    for (const c of cases) {
      const t = await taken(c.kind);
      try {
        const r = await sipstats(['serve', '--listen', '127.0.0.1:0', '--no-persist', ...c.flags(t.port)]);
        assert.equal(r.code, 1, r.err);
        assert.equal(r.err, `sipstats: Cannot listen: ${c.says(t.port)}: address already in use\n`);
      } finally {
        await t.close();
      }
    }
  });

  for (const receiver of ['native', 'thread'] as const) {
    test(`listenHep with the ${receiver} UDP receiver: E_LISTEN naming the HEP listener and its address`, { skip: receiver === 'native' && nativeUdp().native === null ? 'native receiver not built' : false }, async () => {
      const stats = createStats({ config: KPI_MODPARAMS });
      const t = await taken('udp');
      try {
        await assert.rejects(listenHep({ host: '127.0.0.1', port: t.port }, new SipPipeline(stats.engine), stats.engine, { receiver }), {
          code: 'E_LISTEN',
          message: `Cannot listen: HEP listener 127.0.0.1:${t.port} (UDP): address already in use`,
          details: { listener: 'HEP listener', address: `127.0.0.1:${t.port}`, transport: 'UDP', errno: 'EADDRINUSE' },
        });
      } finally {
        await t.close();
      }
    });
  }
});

describe('4. an alert rule on a KPI that does not exist', () => {
  const kpiProblem = (kpi: string) => parseAlertsConfig([{ name: 'r', kpi, below: 40 }], undefined).problems;

  test('kpi: ASRR is refused with the nearest name; kpi: asr says names are case-sensitive; the names come from the catalogue', () => {
    assert.deepEqual(kpiProblem('ASRR'), [['alerts[0].kpi', 'E_CFG_BAD_ALERT', "'ASRR' is not a KPI: did you mean ASR? (for a statistic of that name, give its group: 'GROUP:ASRR')"]]);
    assert.deepEqual(kpiProblem('asr'), [['alerts[0].kpi', 'E_CFG_BAD_ALERT', "'asr' is not a KPI: did you mean ASR? KPI names are case-sensitive"]]);
    assert.match(kpiProblem('PDD_p59')[0][2], /did you mean PDD_p95\?/);
    assert.match(kpiProblem('pdd_p95')[0][2], /did you mean PDD_p95\? KPI names are case-sensitive/);
    // statistic names far from every KPI, and any name with its group, stay statistic rules
    for (const ok of ['INVITE_per_min', 'ASR_10m', 'ASRacme', 'sipstats:kpi_update_errors', 'stats:ASRR']) assert.deepEqual(kpiProblem(ok), [], ok);
  });

  test('refused at start and on reload (reload_config, reload_alerts), the rules in force staying', async () => {
    const f = join(dir, 'alerts.yaml');
    writeFileSync(f, 'alerts:\n  - { name: asr_low, kpi: ASRR, below: 40 }\n');
    const base = { listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, log: () => {}, env: {} };
    await assert.rejects(start({ ...base, configPath: f }), (e: Error & { code?: string; issues?: { path: string; code: string; message: string }[] }) => {
      assert.equal(e.code, 'E_CONFIG');
      assert.deepEqual(e.issues!.map((i) => `${i.path} ${i.code} ${i.message}`), ["alerts[0].kpi E_CFG_BAD_ALERT 'ASRR' is not a KPI: did you mean ASR? (for a statistic of that name, give its group: 'GROUP:ASRR')"]);
      return true;
    });
    writeFileSync(f, 'alerts:\n  - { name: asr_low, kpi: ASR, below: 40 }\n');
    const srv = await start({ ...base, configPath: f });
    try {
      writeFileSync(f, 'alerts:\n  - { name: asr_low, kpi: asr, below: 40 }\n');
      for (const cmd of ['reload_config', 'reload_alerts']) {
        const r = await srv.stats.mi(cmd, {});
        assert.ok('error' in r, cmd);
        assert.match(r.error.message, /alerts\[0\]\.kpi: \[E_CFG_BAD_ALERT\] 'asr' is not a KPI: did you mean ASR\? KPI names are case-sensitive/);
      }
      assert.deepEqual(srv.alerts.rules.map((r) => r.target), [{ type: 'kpi', kpi: 'ASR', window: '1m' }]);
    } finally {
      await srv.close();
    }
  });
});

describe('5. relative paths in a configuration file resolve against its directory', () => {
  test('prefixes and dataDir: from the file\'s directory, whatever the working directory; an unreadable table is named by its absolute path', async () => {
    const conf = join(dir, 'conf');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'prefixes.csv'), '44,uk\n4420,london\n');
    const f = join(conf, 'sipstats.yaml');
    writeFileSync(f, 'dataDir: data\nkpi:\n  platform: ["10.0.0.0/24"]\n  destination: { prefixes: prefixes.csv }\n');
    assert.notEqual(process.cwd(), conf);
    const c = await loadConfigFile(f);
    assert.equal(c.dataDir, join(conf, 'data'));
    assert.equal(c.ingest.tracker.destination?.table.match('442071234567'), 'london');
    // absolute dataDir stays as it is
    writeFileSync(join(conf, 'abs.yaml'), `dataDir: ${join(dir, 'elsewhere')}\n`);
    assert.equal((await loadConfigFile(join(conf, 'abs.yaml'))).dataDir, join(dir, 'elsewhere'));
    writeFileSync(join(conf, 'missing.yaml'), 'kpi:\n  destination: { prefixes: nope.csv }\n');
    await assert.rejects(loadConfigFile(join(conf, 'missing.yaml')), (e: Error) => {
      assert.match(e.message, new RegExp(`kpi\\.destination\\.prefixes: \\[E_CFG_SYNTAX\\] cannot read prefix table ${join(conf, 'nope.csv').replace(/[.]/g, '\\.')}: ENOENT`));
      return true;
    });
  });

  test('sipstats serve --config conf/sipstats.yaml from another directory: dataDir lands beside the file; --data-dir stays relative to the working directory', async () => {
    const cwd = join(dir, 'work');
    mkdirSync(join(cwd, 'conf'), { recursive: true });
    writeFileSync(join(cwd, 'conf', 'sipstats.yaml'), 'dataDir: state\n');
    const serve = async (extra: string[]) => {
      const p = spawn(process.execPath, ['--import', TSX, MAIN, 'serve', '--config', 'conf/sipstats.yaml', '--listen', '127.0.0.1:0', '--no-hep', ...extra], { cwd, env: { ...process.env, SIPSTATS_TOKEN: '' } });
      let out = '';
      let err = '';
      p.stderr.on('data', (c) => (err += c));
      await new Promise<void>((resolve, reject) => {
        p.stdout.on('data', (c) => {
          out += c;
          if (out.includes('listening on')) resolve();
        });
        p.on('close', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      p.kill('SIGTERM');
      await new Promise((r) => p.on('close', r));
    };
    await serve([]);
    assert.ok(existsSync(join(cwd, 'conf', 'state')), 'the config file\'s dataDir is beside it');
    assert.ok(!existsSync(join(cwd, 'state')), 'not in the working directory');
    await serve(['--data-dir', 'flagged']);
    assert.ok(existsSync(join(cwd, 'flagged')), '--data-dir is relative to the working directory');
  });
});

describe('6. sipstats mi --url without /mi', () => {
  test('the client says where the MI is; the server\'s 404/405 for POST name the paths that take POST', async () => {
    const srv = await start({ listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, log: () => {}, env: {} });
    try {
      const r = await sipstats(['mi', '--url', `${srv.url}/`, 'which']);
      assert.equal(r.code, 1);
      assert.equal(r.err, `sipstats mi: HTTP 405 from ${srv.url}/: the MI is at ${srv.url}/mi\n`);
      const nf = await callMi(`${srv.url}/nowhere`, undefined, 'which', {});
      assert.deepEqual(nf, { ok: false, problem: `HTTP 404 from ${srv.url}/nowhere: the MI is at ${srv.url}/mi` });
      const ok = await callMi(`${srv.url}/mi`, undefined, 'which', {});
      assert.ok(ok.ok);
      // the server's own replies, for curl users
      const root = await fetch(`${srv.url}/`, { method: 'POST', body: '{}' });
      assert.equal(root.status, 405);
      assert.deepEqual(await root.json(), { error: 'Method Not Allowed', code: 'E_HTTP_METHOD', message: 'POST /: this path takes GET, HEAD; POST is taken at /mi, /api/session' });
      const none = await fetch(`${srv.url}/nowhere`, { method: 'POST', body: '{}' });
      assert.equal(none.status, 404);
      assert.deepEqual(await none.json(), { error: 'Not Found', code: 'E_HTTP_NOT_FOUND', message: 'POST /nowhere: no such path; POST is taken at /mi, /api/session' });
    } finally {
      await srv.close();
    }
  });
});

describe('7. an unknown key: one code, E_CFG_UNKNOWN_PARAM, in every section of the native config', () => {
  test('each section, each with the key\'s path', () => {
    const docs: [string, Record<string, unknown>][] = [
      ['typo', { typo: 1 }],
      ['auth.typo', { auth: { token: 't', typo: 1 } }],
      ['variables[0].typo', { variables: [{ name: 'v', typo: 1 }] }],
      ['profiles[0].typo', { profiles: [{ name: 'p', typo: 1 }] }],
      ['hep.typo', { hep: { typo: 1 } }],
      ['kpi.typo', { kpi: { typo: 1 } }],
      ['kpi.customer.typo', { kpi: { customer: { kind: 'from-user', typo: 1 } } }],
      ['kpi.carrier.typo', { kpi: { platform: ['10.0.0.0/24'], carrier: { kind: 'dst-ip', typo: 1 } } }],
      ['kpi.destination.typo', { kpi: { destination: { typo: 1 } } }],
      ['kpi.correlation.typo', { kpi: { correlation: { header: 'X-CID', typo: 1 } } }],
      ['kpi.outcomes[0].typo', { kpi: { outcomes: [{ codes: '200-699', asr: 1, ner: 1, ccr: 1, typo: 1 }] } }],
      ['redis.typo', { redis: { url: 'redis://127.0.0.1:6379', typo: 1 } }],
      ['alerts[0].typo', { alerts: [{ name: 'a', kpi: 'ASR', below: 1, typo: 1 }] }],
      ['alerts[0].match.typo', { alerts: [{ name: 'a', kpi: 'ASR', by: 'customer', below: 1, match: { typo: 'x' } }] }],
      ['notify[0].typo', { notify: [{ url: 'http://127.0.0.1:9093/', typo: 1 }] }],
    ];
    for (const [path, doc] of docs) {
      const r = parseNativeConfig(doc);
      assert.equal(r.ok, false, path);
      if (r.ok) continue;
      assert.deepEqual(r.issues.map((i) => `${i.path} ${i.code}`), [`${path} E_CFG_UNKNOWN_PARAM`], path);
      assert.match(r.issues[0].message, /^unknown key/, path);
    }
  });
});
