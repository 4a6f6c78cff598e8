/**
 * Runs every benchmark, each in a fresh process pinned to one core (taskset, when available), and
 * prints the figures with their ratios against the peer measured in the same run.
 *   npm run bench                 # all
 *   npm run bench -- engine kpi   # those whose file name contains one of the words
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { host } from './lib.ts';

const filter = process.argv.slice(2);
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts', 'reference.ts'].includes(f) && !f.startsWith('_'))
  .filter((f) => filter.length === 0 || filter.some((w) => f.includes(w)))
  .sort();
const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
console.log(`# sipstats benchmarks — ${new Date().toISOString()} — ${host()}${pin ? ', pinned to core 0 (taskset)' : ''}`);
let failed = 0;
for (const f of files) {
  const args = ['--expose-gc', '--import', 'tsx', `bench/${f}`];
  const r = pin
    ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], { stdio: 'inherit' })
    : spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`  (bench/${f} exited with ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);
