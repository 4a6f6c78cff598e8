/**
 * The pipeline the carriers-and-destinations issue measured its target against: "≥ 350 k SIP
 * messages/s with every dimension on (380 k today without dimensions)". The 380 k is the KPI
 * pipeline of 2026-11-24 (commit 478b15c, docs/bench-output.txt of that day: 372.7 k msg/s) on
 * that day's machine. A machine runs it faster or slower; so that a run here says whether the
 * target holds on this machine's scale, that code is loaded beside today's (its `src`, taken from
 * this clone's history with `git archive`) and timed in the same alternating rounds on the same
 * frames: the target here is 350 / 372.7 of what it does here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REFERENCE = {
  commit: '478b15c',
  day: '2026-11-24',
  /** What it measured that day, msg/s (bench/kpi-pipeline, no dimensions). */
  measured: 372_700,
  /** The target with every dimension on, on that day's machine. */
  target: 350_000,
};

/** What the reference pipeline is used through (its own modules, not today's). */
export interface ReferencePipeline {
  onHep(frame: Buffer): void;
}

export type Reference = { make(clock: () => number): ReferencePipeline; why: string } | { make: null; why: string };

/**
 * Loads the reference pipeline's modules from this clone's history; `make: null` with the reason
 * when it cannot (a shallow clone without the commit, no git or tar). Its files go at exit.
 */
export async function loadReference(): Promise<Reference> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  const has = run('git', ['cat-file', '-e', `${REFERENCE.commit}^{commit}`]);
  if (has.error !== undefined || has.status !== 0) return { make: null, why: `commit ${REFERENCE.commit} is not in this clone (a shallow one? \`git fetch --unshallow\`)` };
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-reference-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const tar = join(dir, 'ref.tar');
  const a = run('git', ['archive', '-o', tar, REFERENCE.commit, 'src', 'package.json']);
  const x = a.status === 0 ? spawnSync('tar', ['-xf', tar, '-C', dir]) : a;
  if (x.error !== undefined || x.status !== 0) return { make: null, why: `could not extract commit ${REFERENCE.commit}: ${String(x.error ?? x.stderr).trim()}` };
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const at = (p: string) => pathToFileURL(join(dir, 'src', p)).href;
  const { createStats } = (await import(at('index.ts'))) as { createStats(o: { config: string; clock: () => number }): { engine: unknown } };
  const { KPI_MODPARAMS } = (await import(at('kpi/kpi-profiles.ts'))) as { KPI_MODPARAMS: string };
  const { SipPipeline } = (await import(at('kpi/sip-pipeline.ts'))) as { SipPipeline: new (engine: unknown, o: { maxCalls: number }) => ReferencePipeline };
  return {
    make: (clock) => new SipPipeline(createStats({ config: KPI_MODPARAMS, clock }).engine, { maxCalls: 1_000_000 }),
    why: `the pipeline of ${REFERENCE.day} (commit ${REFERENCE.commit}), loaded beside today's`,
  };
}
