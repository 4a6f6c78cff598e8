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

// Who may import whom (STYLE.md): core is pure; protocol is pure; nothing imports app or cli.
const ALLOWED: Record<string, string[]> = {
  core: ['core', 'errors'],
  protocol: ['protocol', 'errors'],
  kpi: ['kpi', 'core', 'protocol', 'errors'],
  mi: ['mi', 'core', 'errors'],
  config: ['config', 'core', 'errors', 'kpi', 'alerts'],
  alerts: ['alerts', 'core', 'kpi', 'errors', 'mi', 'export'],
  export: ['export', 'core', 'kpi', 'errors', 'mi', 'app'],
  persist: ['persist', 'core', 'mi', 'errors', 'stats', 'index', 'export', 'config'],
  ingest: ['ingest', 'kpi', 'protocol', 'core', 'errors'],
  web: ['web', 'core', 'kpi', 'protocol', 'mi', 'errors', 'stats', 'index', 'app', 'ingest', 'export'],
};

test('imports point one way: the core and the codecs are pure, nothing imports app or cli', () => {
  const problems: string[] = [];
  for (const f of files(SRC)) {
    const layer = layerOf(f);
    for (const spec of importsOf(f)) {
      if (layer === 'core' || layer === 'protocol') {
        if (spec.startsWith('node:') || !spec.startsWith('.')) problems.push(`${relative(SRC, f)} imports ${spec} (must stay pure)`);
      }
      if (!spec.startsWith('.')) continue;
      const target = layerOf(resolve(dirname(f), spec));
      if (layer !== 'app' && layer !== 'cli' && (target === 'cli' || (target === 'app' && !ALLOWED[layer]?.includes('app')))) problems.push(`${relative(SRC, f)} imports ${spec}`);
      const allowed = ALLOWED[layer];
      if (allowed !== undefined && !allowed.includes(target)) problems.push(`${relative(SRC, f)} (${layer}) imports ${spec} (${target})`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the core reads no clock and sets no timer', () => {
  const bad = files(join(SRC, 'core')).filter((f) => /Date\.now\(|setTimeout|setInterval|performance\.now|new Date\(/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(bad.map((f) => relative(SRC, f)), []);
});
