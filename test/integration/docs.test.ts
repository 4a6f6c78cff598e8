import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SELF_STATS } from '../../src/self-stats.ts';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from '../../src/app/server.ts';
import type { Running } from '../../src/app/server.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { docBlocks } from '../support/doc-blocks.ts';
import type { DocBlock } from '../support/doc-blocks.ts';

/**
 * The docs test: the examples of README.md and docs/*.md are run, so that a changed flag, default
 * or output fails here and not for a user. Fenced blocks say what they are by their info string:
 *   ```sh doctest            each line runs (bash) against a server this test starts; `sipstats`
 *                            is this package's bin, 127.0.0.1:8888 the server's address; exit 0,
 *                            no JSON-RPC error unless the line's comment names its code (-32601)
 *   ```yaml|json|cfg config-check   the configuration loads without a problem
 *   ```cfg config-check default     ... and is the embedded default
 *   ```cfg opensips-3.6.8    every line is a line of test/fixtures/opensips-3.6.8/opensips.cfg
 *                            (the configuration a real OpenSIPS 3.6.8 ran), addresses aside
 *   ```text bench-output     every line is a line of docs/bench-output.txt (one benchmark run)
 * and the tests below keep the tables true (self-statistics, flags, error codes, imports).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

type Block = DocBlock;

const ALL = docBlocks(ROOT, DOCS);
const tagged = (tag: string) => ALL.filter((b) => b.info.includes(tag));
const where = (b: Block, extra = '') => `${b.doc}:${b.line}${extra}`;

const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;

let server: Running;
let dataDir: string;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sipstats-docs-'));
  server = await start({ listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: () => {} });
});
after(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** bash -c CMD, without blocking the event loop (the server answers from this process). */
function bash(cmd: string, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', cmd], { cwd, encoding: 'utf8', timeout: 20_000, env: { ...process.env, SIPSTATS_TOKEN: '' } }, (e, stdout, stderr) =>
      resolve({ status: e === null ? 0 : typeof e.code === 'number' ? e.code : null, stdout, stderr }),
    );
  });
}

test('every ```sh doctest line of README.md and docs/*.md runs against a server', async () => {
  const sh = tagged('doctest');
  assert.ok(sh.length >= 4, 'doctest blocks found');
  const bin = join(ROOT, 'bin/sipstats.js');
  assert.ok(statSync(join(ROOT, 'dist/cli/main.js')).isFile(), 'dist/ is built (npm test builds it first)');
  let ran = 0;
  for (const b of sh) {
    const lines = b.text.split('\n');
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k].trim();
      if (line === '' || line.startsWith('#')) continue;
      const at = where(b, `+${k + 1}: ${line}`);
      if (line.startsWith('opensips-cli') && !has('opensips-cli')) continue; // not installed here
      let cmd = line.replaceAll('http://127.0.0.1:8888', server.url);
      cmd = cmd.replace(/^(?:npx )?sipstats mi /, `node ${bin} mi --url ${server.url}/mi `).replace(/^(?:npx )?sipstats /, `node ${bin} `);
      const r = await bash(cmd, dataDir);
      assert.equal(r.status, 0, `${at}\n${r.stderr}`);
      const code = /#.*(-32\d{3})/.exec(line)?.[1];
      if (code !== undefined) assert.ok(r.stdout.includes(code), `${at}: expected ${code} in ${r.stdout}`);
      else assert.doesNotMatch(r.stdout, /"error"/, at);
      ran++;
    }
  }
  assert.ok(ran >= 10, `${ran} commands ran`);
});

test('every ```… config-check block loads; the default one is the embedded default', () => {
  const cfg = tagged('config-check');
  assert.ok(cfg.length >= 5);
  for (const b of cfg) {
    const ext = b.info[0] === 'cfg' ? 'cfg' : b.info[0];
    const r = parseConfigText(b.text, `example.${ext}`);
    assert.ok(r.ok, `${where(b)}: ${JSON.stringify(!r.ok && r.issues)}`);
    if (b.info.includes('default')) assert.equal(b.text.trim(), KPI_MODPARAMS.trim(), where(b));
  }
});

test('the OpenSIPS lines of docs/kpis.md and the README are lines of the configuration a real OpenSIPS 3.6.8 ran', () => {
  const norm = (l: string) => l.replace(/#.*$/, '').replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR').trim();
  const fixture = new Set(read('test/fixtures/opensips-3.6.8/opensips.cfg').split('\n').map(norm));
  const os = tagged('opensips-3.6.8');
  assert.ok(os.length >= 2);
  for (const b of os)
    for (const l of b.text.split('\n').map(norm)) if (l !== '') assert.ok(fixture.has(l), `${where(b)}: '${l}' is not in the recorded configuration`);
  // the lines sipstats users first try were not enough: the blocks carry what OpenSIPS needed
  const kpis = os.filter((b) => b.doc === 'docs/kpis.md').map((b) => b.text).join('\n');
  for (const needed of ['socket=hep_udp:', 'loadmodule "dialog.so"', 'loadmodule "tm.so"', 'subscribe_event("E_ACC_CDR", "tcp:']) assert.ok(kpis.includes(needed), needed);
  const readme = read('README.md');
  assert.ok(readme.includes('socket=hep_udp:'), 'README: the HEP socket OpenSIPS needs');
});

test('figures quoted from a benchmark run are lines of docs/bench-output.txt', () => {
  const out = new Set(read('docs/bench-output.txt').split('\n'));
  const bo = tagged('bench-output');
  assert.deepEqual([...new Set(bo.map((b) => b.doc))].sort(), ['docs/benchmarks.md', 'docs/cluster.md', 'docs/dashboard.md', 'docs/persistence.md']);
  for (const b of bo) for (const l of b.text.split('\n')) assert.ok(out.has(l), `${where(b)}: '${l}' is not in bench-output.txt`);
});

test('docs/metrics.md lists exactly the self-statistics of the table (src/self-stats.ts), levels marked as levels', () => {
  const doc = read('docs/metrics.md');
  const section = doc.slice(doc.indexOf('## Self-statistics'));
  const rows = [...section.matchAll(/^\| (`[a-z0-9_]+`(?:, `[a-z0-9_]+`)*) \| (.*) \|$/gm)];
  const documented = new Map<string, boolean>();
  for (const [, names, what] of rows) for (const n of names.matchAll(/`([a-z0-9_]+)`/g)) documented.set(n[1], /\*level\*|\(gauges\)/.test(what));
  assert.deepEqual([...documented.keys()].sort(), Object.keys(SELF_STATS).sort());
  for (const [name, level] of documented) assert.equal(level, SELF_STATS[name as keyof typeof SELF_STATS] === 'level', `${name}: a level in one, a count in the other`);
});

test('the docs and the source refer to no document a user does not have', () => {
  const skip = ['src/protocol/net/', 'src/app/replay.ts', 'src/cli/replay.ts']; // the capture branch's files
  const files = [...DOCS];
  const walk = (d: string): string[] => readdirSync(join(ROOT, d)).flatMap((n) => (statSync(join(ROOT, d, n)).isDirectory() ? walk(`${d}/${n}`) : [`${d}/${n}`]));
  files.push(...walk('src').filter((f) => f.endsWith('.ts') && !skip.some((s) => f.startsWith(s))));
  // the benchmarks and the tests too (their comments and names are read by whoever works on them); not this guard itself
  files.push(...['bench', 'test'].flatMap(walk).filter((f) => /\.(ts|mjs|xml|cfg)$/.test(f) && f !== 'test/integration/docs.test.ts'));
  const bad: string[] = [];
  for (const f of files)
    read(f)
      .split('\n')
      .forEach((l, i) => {
        if (/\bSPEC( §|'s\b| \d)/.test(l) || /\bthe seed\b|\bseed's\b|\(issue \d+\)|\bissue \d+\b|\bthe issue\b|\bthe issue's\b|\bthe brief\b|\.\.\/shared\//i.test(l)) bad.push(`${f}:${i + 1}: ${l.trim()}`);
        if (/from '\.\/src\//.test(l) && f.endsWith('.md')) bad.push(`${f}:${i + 1}: imports from ./src (a package user cannot)`);
      });
  assert.deepEqual(bad, []);
});

test('the package exports the docs import from (sipstats, sipstats/persist, sipstats/cluster)', () => {
  const imports = new Map<string, Set<string>>();
  for (const doc of DOCS)
    for (const m of read(doc).matchAll(/^import \{ ([^}]+) \} from '(sipstats[^']*)';$/gm)) {
      const set = imports.get(m[2]) ?? new Set<string>();
      for (const n of m[1].split(',')) set.add(n.trim());
      imports.set(m[2], set);
    }
  assert.ok(imports.has('sipstats/persist') && imports.has('sipstats/cluster'), [...imports.keys()].join(', '));
  const script = [...imports].map(([spec, names]) => `{ const m = await import('${spec}'); for (const n of ${JSON.stringify([...names])}) if (typeof m[n] !== 'function') throw new Error('${spec} has no ' + n); }`).join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('README: the server flags it lists are the ones `sipstats help` lists', () => {
  const readme = read('README.md');
  const table = readme.slice(readme.indexOf('## The server'), readme.indexOf('- **MI**'));
  const flags = new Set([...table.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]));
  const help = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'help'], { encoding: 'utf8' }).stdout;
  for (const f of flags) assert.ok(help.includes(`${f} `) || help.includes(`${f}\n`), `${f} is not in sipstats help`);
  assert.ok(flags.size >= 15, [...flags].join(' '));
});

test('docs/config.md: the start-up message for missing KPI profiles is what the server says', async () => {
  const doc = read('docs/config.md');
  const quoted = /^sipstats info: (.*), \.\.\.$/m.exec(doc);
  assert.ok(quoted !== null);
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-docs-cfg-'));
  try {
    writeFileSync(join(dir, 'opensips.cfg'), 'modparam("statistics", "stat_series_profile", "perc: algorithm=percentage group=stats")\n');
    const log: string[] = [];
    const s = await start({ configPath: join(dir, 'opensips.cfg'), listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: (l, m) => log.push(`${l}: ${m}`) });
    await s.close();
    assert.ok(log.some((l) => l.startsWith(`info: ${quoted[1]}`)), `${quoted[1]}\nvs\n${log.join('\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docs/errors.md lists the PCAP_* codes replay prints; -32602 data is documented as a string', () => {
  const src = read('src/protocol/pcap/capture-reader.ts');
  const codes = [...new Set([...src.slice(src.indexOf('export type PcapErrorCode'), src.indexOf('export interface PcapStats')).matchAll(/'(PCAP_[A-Z_]+)'/g)].map((m) => m[1]))].sort();
  const doc = read('docs/errors.md');
  assert.deepEqual([...doc.matchAll(/^\| `(PCAP_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort(), codes);
  assert.match(doc, /"data": "Too few or too many parameters"/);
});

test('README: the one command that installs the test tools installs every tool the tests run', () => {
  const script = read('scripts/install-test-tools.sh');
  assert.ok(read('README.md').includes('scripts/install-test-tools.sh'));
  assert.ok(read('.ci/run').includes('scripts/install-test-tools.sh'), 'CI runs the same command');
  for (const tool of ['redis-server', 'promtool', 'sipp', 'tcpdump', 'chromium']) assert.ok(script.includes(tool), tool);
  assert.equal(spawnSync('bash', ['-n', join(ROOT, 'scripts/install-test-tools.sh')]).status, 0);
});
