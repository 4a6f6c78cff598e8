import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kamailioBinary, kamailioModules } from '../support/kamailio.ts';
import { alive, exited, freeUdpPorts, readText, stop, tail } from '../support/processes.ts';
import { docBlocks } from '../support/doc-blocks.ts';
import type { DocBlock } from '../support/doc-blocks.ts';

/**
 * The configurations and commands the docs give for other programs, checked by those programs, as
 * written (README.md, docs/*.md, examples/). Fenced blocks say what they are by their info string,
 * as in test/integration/docs.test.ts:
 *   ```yaml alertmanager   an Alertmanager configuration: `amtool check-config` accepts it
 *                          (Debian package prometheus-alertmanager)
 *   ```cfg kamailio        Kamailio lines (Debian package kamailio): put verbatim into a minimal
 *                          configuration (mpath, a loopback listener, loadmodule of tm, sl and of the
 *                          modules the lines set parameters of but do not load, a request_route that
 *                          answers 200), `kamailio -c` accepts it AND Kamailio really starts and answers
 *                          an OPTIONS: `-c` does not initialise modules, so a siptrace without
 *                          `trace_to_database 0` (which wants db_mysql) passes `-c` and fails to start
 *   ```sh promtool         each line runs as written (bash) from the repository root, exit 0
 *                          (Debian package prometheus)
 * A block or an examples/ file that looks like one of these (top-level `route:` and `receivers:`;
 * siptrace, `request_route`, `#!KAMAILIO`) must carry its tag, so that none is left unchecked.
 * A missing tool fails the test with the package to install (scripts/install-test-tools.sh).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const walk = (d: string): string[] =>
  existsSync(join(ROOT, d)) ? readdirSync(join(ROOT, d)).flatMap((n) => (statSync(join(ROOT, d, n)).isDirectory() ? walk(`${d}/${n}`) : [`${d}/${n}`])) : [];
const EXAMPLES = walk('examples');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), ...EXAMPLES.filter((f) => f.endsWith('.md'))];

type Block = DocBlock;

const ALL = docBlocks(ROOT, DOCS);
const where = (b: Block) => `${b.doc}:${b.line}`;

const looksAlertmanager = (text: string) => /^route:/m.test(text) && /^receivers:/m.test(text);
const looksKamailio = (text: string) => /"siptrace"|siptrace\.so|^\s*request_route\b|^#!KAMAILIO/m.test(text);

/** Tagged blocks, and the examples/ files of that kind (whole files). */
function documented(tag: string, looks: (t: string) => boolean, exts: RegExp): Block[] {
  const files = EXAMPLES.filter((f) => exts.test(f)).map((f) => ({ doc: f, line: 1, info: [tag], text: read(f) })).filter((b) => looks(b.text));
  return [...ALL.filter((b) => b.info.includes(tag)), ...files];
}

/** Fails, naming the package, when `cmd` is not there. */
function requireTool(cmd: string, args: string[], pkg: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  const missing = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT';
  assert.ok(!missing, `${cmd} not found: install the Debian package ${pkg} (sudo scripts/install-test-tools.sh installs every tool the tests drive)`);
}

const dir = mkdtempSync(join(tmpdir(), 'sipstats-documented-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fileFor = (b: Block, ext: string) => join(dir, `${b.doc.replace(/[^A-Za-z0-9.]+/g, '_')}-${b.line}.${ext}`);

describe('documented Alertmanager configurations', () => {
  test('every block or example that is an Alertmanager configuration is tagged ```yaml alertmanager', () => {
    const untagged = ALL.filter((b) => looksAlertmanager(b.text) && !b.info.includes('alertmanager')).map(where);
    assert.deepEqual(untagged, [], 'Alertmanager configurations without the alertmanager tag (so not checked)');
  });

  test('amtool check-config accepts each one, as written', () => {
    requireTool('amtool', ['--version'], 'prometheus-alertmanager');
    const am = documented('alertmanager', looksAlertmanager, /\.ya?ml$/);
    assert.ok(am.some((b) => b.doc === 'docs/alerts.md'), 'the minimal set-up of docs/alerts.md is found');
    const failed: string[] = [];
    for (const b of am) {
      const f = fileFor(b, 'yml');
      writeFileSync(f, b.text.endsWith('\n') ? b.text : `${b.text}\n`);
      const r = spawnSync('amtool', ['check-config', f], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0 || !/SUCCESS/.test(r.stdout)) failed.push(`${where(b)}: amtool check-config exit ${r.status}\n${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(failed, []);
  });
});

describe('documented Prometheus alerting rules', () => {
  const looksRules = (text: string) => /^\s*- alert: /m.test(text) && /^\s*expr: /m.test(text);
  test('every block of Prometheus alerting rules is tagged ```yaml prometheus-rules, and promtool check rules accepts each', () => {
    const untagged = ALL.filter((b) => looksRules(b.text) && !b.info.includes('prometheus-rules')).map(where);
    assert.deepEqual(untagged, [], 'Prometheus rules outside a ```yaml prometheus-rules block (so not checked)');
    requireTool('promtool', ['--version'], 'prometheus');
    const blocks = ALL.filter((b) => b.info.includes('prometheus-rules'));
    assert.ok(blocks.some((b) => b.doc === 'docs/alerts.md'), 'the exported rule of docs/alerts.md is found');
    const failed: string[] = [];
    for (const b of blocks) {
      // a list of rules, as a group of a rule file (indented under it)
      const f = fileFor(b, 'rules.yml');
      writeFileSync(f, `groups:\n  - name: documented\n    rules:\n${b.text.split('\n').map((l) => `      ${l}`).join('\n')}\n`);
      const r = spawnSync('promtool', ['check', 'rules', f], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0 || !/SUCCESS/.test(r.stdout)) failed.push(`${where(b)}: promtool check rules exit ${r.status}\n${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(failed, []);
  });
});

describe('documented promtool commands', () => {
  test('each ```sh promtool line runs as written from the repository root', () => {
    requireTool('promtool', ['--version'], 'prometheus');
    const lines = ALL.filter((b) => b.info.includes('promtool')).flatMap((b) =>
      b.text
        .split('\n')
        .map((l, k) => ({ at: `${b.doc}:${b.line + 1 + k}`, cmd: l.trim() }))
        .filter((l) => l.cmd !== '' && !l.cmd.startsWith('#')),
    );
    assert.ok(
      lines.some((l) => /^promtool test rules \S/.test(l.cmd)),
      'docs give the `promtool test rules FILE` command for test/fixtures/alerts/rules.test.yml in a ```sh promtool block',
    );
    for (const l of lines) {
      assert.match(l.cmd, /^promtool /, `${l.at}: a \`\`\`sh promtool block holds promtool commands only`);
      const r = spawnSync('bash', ['-c', l.cmd], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `${l.at}: \`${l.cmd}\` from ${ROOT} exits ${r.status}\n${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /WARNING|FAILED/, `${l.at}: ${l.cmd}`);
      assert.match(r.stdout, /SUCCESS/, `${l.at}: ${l.cmd}`);
    }
  });
});

/** The modules Kamailio lines load, and the ones they set parameters of. */
function kamailioModulesOf(text: string): { loaded: Set<string>; used: Set<string> } {
  const loaded = new Set([...text.matchAll(/^\s*loadmodule\s+"([^"]+?)(?:\.so)?"/gm)].map((m) => m[1].replace(/^.*\//, '')));
  const used = new Set([...text.matchAll(/^\s*modparam\(\s*"([^"]+)"/gm)].map((m) => m[1]));
  return { loaded, used };
}

/** A minimal configuration around the documented lines, which are kept verbatim. */
function kamailioWrapper(b: Block, modules: string, port: number): string {
  const { loaded, used } = kamailioModulesOf(b.text);
  const load = ['tm', 'sl', ...used].filter((m, i, all) => all.indexOf(m) === i && !loaded.has(m));
  return [
    '#!KAMAILIO',
    `# written by test/integration/documented-configs.test.ts around the lines of ${where(b)}`,
    'debug=2',
    'log_stderror=yes',
    'fork=yes',
    'children=1',
    'auto_aliases=no',
    'disable_tcp=yes',
    'dns=no',
    'rev_dns=no',
    'use_dns_cache=off',
    `listen=udp:127.0.0.1:${port}`,
    `mpath="${modules}"`,
    ...load.map((m) => `loadmodule "${m}.so"`),
    `# ---- ${where(b)}, verbatim`,
    b.text,
    '# ----',
    'request_route {',
    '\tsl_send_reply("200", "OK");',
    '\texit;',
    '}',
    '',
  ].join('\n');
}

/** Sends OPTIONS to 127.0.0.1:port every 200 ms until a 200 comes back, the child exits or `ms` pass. */
async function answersOptions(port: number, child: ChildProcess, ms: number): Promise<boolean> {
  const sock = createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  const me = sock.address().port;
  let ok = false;
  sock.on('message', (m) => {
    if (/^SIP\/2\.0 200 /.test(m.toString('latin1'))) ok = true;
  });
  try {
    const until = Date.now() + ms;
    for (let n = 0; !ok && alive(child) && Date.now() < until; n++) {
      const msg =
        `OPTIONS sip:ping@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bKdocs${n};rport\r\nMax-Forwards: 70\r\n` +
        `From: <sip:docs@127.0.0.1>;tag=docs\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: documented-configs-${n}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      sock.send(msg, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 200));
    }
    return ok;
  } finally {
    sock.close();
  }
}

/** A process and its descendants (Linux /proc). */
function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++)
    for (const task of existsSync(`/proc/${out[i]}/task`) ? readdirSync(`/proc/${out[i]}/task`) : [])
      for (const c of readText(`/proc/${out[i]}/task/${task}/children`).split(/\s+/)) if (c !== '' && !out.includes(Number(c))) out.push(Number(c));
  return out;
}
const running = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readText(`/proc/${pid}/status`));

describe('documented Kamailio lines', () => {
  test('every block or example with Kamailio lines is tagged ```cfg kamailio', () => {
    const untagged = ALL.filter((b) => looksKamailio(b.text) && !b.info.includes('kamailio')).map(where);
    assert.deepEqual(untagged, [], 'Kamailio lines outside a ```cfg kamailio block (so not checked)');
    const docs = new Set(ALL.filter((b) => b.info.includes('kamailio')).map((b) => b.doc));
    for (const d of ['README.md', 'docs/kpis.md']) assert.ok(docs.has(d), `${d} has a \`\`\`cfg kamailio block`);
  });

  test('each ```cfg kamailio-route block (lines of a route) passes kamailio -c inside a request_route', () => {
    const kamailio = kamailioBinary();
    const modules = kamailioModules();
    const blocks = ALL.filter((b) => b.info.includes('kamailio-route'));
    assert.ok(blocks.length >= 1, 'docs/routing.md has the route lines of the routing answers');
    const failed: string[] = [];
    for (const b of blocks) {
      // the modules route lines call into: tm/sl/pv/xlog, and http_client for http_client_query
      const load = ['tm', 'sl', 'pv', 'xlog', ...(b.text.includes('http_client_query') ? ['http_client'] : [])];
      const cfg = fileFor(b, 'cfg');
      const text = ['#!KAMAILIO', `# written by test/integration/documented-configs.test.ts around the lines of ${where(b)}`, 'debug=2', 'log_stderror=yes', 'listen=udp:127.0.0.1:5099', `mpath="${modules}"`, ...load.map((m) => `loadmodule "${m}.so"`), 'request_route {', `# ---- ${where(b)}, verbatim`, b.text, '# ----', '\tsl_send_reply("200", "OK");', '\texit;', '}', ''].join('\n');
      writeFileSync(cfg, text);
      const check = spawnSync(kamailio, ['-c', '-f', cfg], { encoding: 'utf8', timeout: 30_000 });
      if (check.status !== 0) failed.push(`${where(b)}: kamailio -c -f ${cfg} exits ${check.status}\n${tail(check.stdout + check.stderr)}`);
    }
    assert.deepEqual(failed, []);
  });

  test('kamailio -c accepts each one, and Kamailio starts with it and answers', async () => {
    const kamailio = kamailioBinary(); // throws naming the Debian package kamailio
    const modules = kamailioModules();
    const kam = documented('kamailio', looksKamailio, /\.cfg$/);
    assert.ok(kam.length >= 2);
    const failed: string[] = [];
    for (const b of kam) {
      const [port] = await freeUdpPorts(1);
      const cfg = fileFor(b, 'cfg');
      writeFileSync(cfg, kamailioWrapper(b, modules, port));
      const check = spawnSync(kamailio, ['-c', '-f', cfg], { encoding: 'utf8', timeout: 30_000 });
      if (check.status !== 0) {
        failed.push(`${where(b)}: kamailio -c -f ${cfg} exits ${check.status}\n${tail(check.stdout + check.stderr)}`);
        continue;
      }
      // -c loads the modules but does not initialise them: start it for real (foreground, its
      // workers are its children), under coreutils `timeout` as a failsafe
      const log = `${cfg}.log`;
      const args = ['-f', cfg, '-DD', '-E', '-n', '1', '-m', '32', '-M', '8', '-Y', dir, '-w', dir, '-P', `${cfg}.pid`];
      const out = openSync(log, 'w');
      const hasTimeout = spawnSync('timeout', ['--version'], { stdio: 'ignore' }).status === 0;
      const child = hasTimeout ? spawn('timeout', ['-s', 'TERM', '-k', '5', '60', kamailio, ...args], { stdio: ['ignore', out, out] }) : spawn(kamailio, args, { stdio: ['ignore', out, out] });
      let pids: number[] = [];
      try {
        const answered = await answersOptions(port, child, 15_000);
        pids = descendants(child.pid ?? -1);
        if (!answered) failed.push(`${where(b)}: Kamailio ${alive(child) ? 'did not answer an OPTIONS' : `exited (${child.exitCode ?? child.signalCode})`} with ${cfg}:\n${tail(readText(log))}`);
      } finally {
        await stop(child, 'SIGTERM', 5000);
        await exited(child, 1000);
        closeSync(out);
        const until = Date.now() + 5000;
        while (pids.some(running) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        // a worker left behind is ended by its own id
        for (const pid of pids) if (running(pid) && readText(`/proc/${pid}/cmdline`).includes('kamailio')) process.kill(pid, 'SIGKILL');
      }
    }
    assert.deepEqual(failed, []);
  });
});
