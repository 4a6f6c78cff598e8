import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (file: string) => relative(SRC, file).split('/')[0].replace(/\.ts$/, '');
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);

// Who may import whom (docs/architecture.md): core and protocol are pure; http is a leaf the route
// owners import; web holds the dashboard only; app is the composition root, cli the command line;
// nothing imports cli, only cli imports app; errors, defaults and self-stats are leaves every layer reads. Every
// layer has a row: a new folder must be placed.
const ALLOWED: Record<string, string[]> = {
  errors: ['errors'],
  defaults: ['defaults'],
  'self-stats': ['self-stats'],
  'native-module': ['native-module'],
  core: ['core', 'errors', 'defaults', 'self-stats'],
  protocol: ['protocol', 'errors', 'defaults', 'self-stats'],
  http: ['http', 'errors', 'defaults', 'self-stats'],
  kpi: ['kpi', 'core', 'protocol', 'media', 'errors', 'defaults', 'self-stats'],
  media: ['media', 'protocol', 'errors', 'defaults', 'self-stats'],
  mi: ['mi', 'core', 'errors', 'http', 'defaults', 'self-stats'],
  config: ['config', 'core', 'errors', 'kpi', 'alerts', 'defaults', 'self-stats'],
  alerts: ['alerts', 'core', 'kpi', 'errors', 'mi', 'export', 'http', 'defaults', 'self-stats'],
  export: ['export', 'core', 'kpi', 'http', 'errors', 'defaults', 'self-stats'],
  persist: ['persist', 'core', 'mi', 'errors', 'stats', 'config', 'defaults', 'self-stats', 'native-module'],
  cluster: ['cluster', 'core', 'mi', 'errors', 'stats', 'config', 'defaults', 'self-stats'],
  ingest: ['ingest', 'kpi', 'protocol', 'core', 'errors', 'config', 'defaults', 'self-stats'],
  web: ['web', 'core', 'kpi', 'http', 'defaults', 'self-stats'],
  demo: ['demo', 'protocol', 'defaults', 'self-stats'],
  stats: ['stats', 'core', 'config', 'errors', 'kpi', 'mi', 'defaults', 'self-stats'],
  index: ['index', 'stats', 'core', 'config', 'errors', 'mi', 'defaults', 'self-stats'],
  app: ['app', 'alerts', 'cluster', 'config', 'core', 'demo', 'errors', 'export', 'http', 'index', 'ingest', 'kpi', 'mi', 'persist', 'protocol', 'stats', 'web', 'defaults', 'self-stats', 'native-module'],
  cli: ['cli', 'app', 'alerts', 'config', 'errors', 'kpi', 'mi', 'protocol', 'defaults', 'self-stats'],
};

test('imports point one way, as the table says, and every layer is in the table', () => {
  const problems: string[] = [];
  for (const f of files(SRC)) {
    const layer = layerOf(f);
    const allowed = ALLOWED[layer];
    if (allowed === undefined) {
      problems.push(`${relative(SRC, f)}: layer '${layer}' has no row in ALLOWED`);
      continue;
    }
    for (const spec of importsOf(f)) {
      if (layer === 'core' || layer === 'protocol' || layer === 'media') {
        if (spec.startsWith('node:') || !spec.startsWith('.')) problems.push(`${relative(SRC, f)} imports ${spec} (must stay pure)`);
      }
      if (!spec.startsWith('.')) continue;
      const target = layerOf(resolve(dirname(f), spec));
      if (!allowed.includes(target)) problems.push(`${relative(SRC, f)} (${layer}) imports ${spec} (${target})`);
    }
  }
  assert.deepEqual(problems, []);
});

test('no folder loop: the table, and the imports it allows, point one way (a layer never reaches itself through others)', () => {
  const loops: string[] = [];
  const visit = (from: string, path: string[]): void => {
    for (const to of ALLOWED[from] ?? []) {
      if (to === from) continue;
      if (to === path[0]) loops.push([...path, to].join(' -> '));
      else if (!path.includes(to)) visit(to, [...path, to]);
    }
  };
  for (const layer of Object.keys(ALLOWED)) visit(layer, [layer]);
  assert.deepEqual(loops, []);
});

test('nothing imports cli; only cli imports app', () => {
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    if (layer !== 'cli') assert.ok(!allowed.includes('cli'), `${layer} may not import cli`);
    if (layer !== 'cli' && layer !== 'app') assert.ok(!allowed.includes('app'), `${layer} may not import app`);
  }
});

test('the core reads no clock and sets no timer', () => {
  const bad = files(join(SRC, 'core')).filter((f) => /Date\.now\(|setTimeout|setInterval|performance\.now|new Date\(/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(bad.map((f) => relative(SRC, f)), []);
});

test('every error sipstats throws is coded in the registry (src/errors.ts): no bare Error, except a system error passed on with its errno', () => {
  const bare: string[] = [];
  for (const f of files(SRC)) {
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        // (Object.assign(new Error(text), { code: errno }): a socket error from a worker, shaped as Node shapes its own)
        if (/\bnew Error\(/.test(line) && !/Object\.assign\(new Error\([^]*\{ code: /.test(line)) bare.push(`${relative(SRC, f)}:${i + 1}`);
      });
  }
  assert.deepEqual(bare, []);
});

test('defaults are in one place (src/defaults.ts): a layer\'s *_DEFAULTS is a section of it, with no number of its own', () => {
  const own: string[] = [];
  for (const f of files(SRC)) {
    if (relative(SRC, f) === 'defaults.ts') continue;
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/export const (\w+_DEFAULTS)\b[^=]*=([^;]*);/g)) if (/\w\s*:\s*-?\d/.test(m[2]) || !m[2].includes('DEFAULTS.')) own.push(`${relative(SRC, f)}: ${m[1]}`);
  }
  assert.deepEqual(own, []);
});

test('no KPI name is spelled as a string literal outside the catalogue (a KPI is one row there plus its feeder)', async () => {
  const { KPIS } = await import('../../src/kpi/catalogue.ts');
  const names = new Set(KPIS.map((k) => k.name));
  const problems: string[] = [];
  const all = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? all(p) : /\.(ts|js|mjs|html)$/.test(p) ? [p] : [];
    });
  for (const f of all(SRC)) {
    if (relative(SRC, f) === join('kpi', 'catalogue.ts')) continue;
    // comments may name KPIs (examples in documentation); code may not
    const code = readFileSync(f, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
    for (const m of code.matchAll(/(['"`])([A-Za-z0-9_]+)\1/g)) if (names.has(m[2])) problems.push(`${relative(SRC, f)}: ${m[0]}`);
  }
  assert.deepEqual(problems, []);
});

test('no window or view is spelled as a string literal outside the catalogue (windows are rows there, views follow from DIMENSIONS)', async () => {
  const { ALL_TRAFFIC, DIMENSIONS, VIEWS, WINDOWS } = await import('../../src/kpi/catalogue.ts');
  const dimensions = new Set<string>(DIMENSIONS.map((d) => d.name));
  // A view of one dimension is named (and titled) by its dimension, which is also a configuration key
  // and a label (kpi.customer, match.carrier), and 'all' is also the MI's `get_statistics all`: those
  // are refused in the dashboard's assets only, which take every view from /api/catalogue.
  const spelled = [...WINDOWS.map((w) => w.name), ...VIEWS.flatMap((v) => [v.name, v.title, v.rows])];
  const anywhere = new Set(spelled.filter((x) => !dimensions.has(x) && x !== ALL_TRAFFIC.name));
  const inAssets = new Set([...spelled, ...dimensions]);
  const problems: string[] = [];
  const all = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? all(p) : /\.(ts|js|mjs|html)$/.test(p) && !/uPlot/.test(n) ? [p] : [];
    });
  for (const f of all(SRC)) {
    const rel = relative(SRC, f);
    if (rel === join('kpi', 'catalogue.ts')) continue;
    const banned = rel.startsWith(join('web', 'assets')) ? inAssets : anywhere;
    // comments may name them (examples in documentation); code may not
    const code = readFileSync(f, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
    for (const m of code.matchAll(/(['"`])((?:(?!\1)[^\n\\])*)\1/g)) if (banned.has(m[2])) problems.push(`${rel}: ${m[0]}`);
  }
  assert.deepEqual(problems, []);
});
