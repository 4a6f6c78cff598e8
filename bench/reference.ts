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
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
// @ts-expect-error a JavaScript module of the build (no declarations)
import { buildNative } from '../scripts/build-native.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REFERENCE = {
  commit: '478b15c',
  day: '2026-11-24',
  /** What it measured that day, msg/s (bench/kpi-pipeline, no dimensions). */
  measured: 372_700,
  /** The throughput target with every dimension on, on that day's machine. */
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
/**
 * The `src` of `commit` from this clone's history, in a directory of its own (removed at exit) with
 * this checkout's node_modules beside it and its own frame indexer, built from its own
 * native/sip-index.c (today's module has another layout, which its code would refuse, reading every
 * frame in JavaScript instead): a URL maker for its files, or why not.
 */
const extracted: string[] = [];

/**
 * Removes the directories extract() made. At exit, and by a worker thread before it ends (one
 * terminated from outside gets no 'exit' event: its directories stayed behind).
 */
export function removeExtracted(): void {
  for (const d of extracted.splice(0)) rmSync(d, { recursive: true, force: true });
}

function extract(commit: string): { at: (p: string) => string } | { why: string } {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  const has = run('git', ['cat-file', '-e', `${commit}^{commit}`]);
  if (has.error !== undefined || has.status !== 0) return { why: `commit ${commit} is not in this clone (a shallow one? \`git fetch --unshallow\`)` };
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-reference-'));
  extracted.push(dir);
  process.once('exit', removeExtracted);
  const tar = join(dir, 'ref.tar');
  const a = run('git', ['archive', '-o', tar, commit, 'src', 'package.json']);
  const x = a.status === 0 ? spawnSync('tar', ['-xf', tar, '-C', dir]) : a;
  if (x.error !== undefined || x.status !== 0) return { why: `could not extract commit ${commit}: ${String(x.error ?? x.stderr).trim()}` };
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const n = run('git', ['archive', '-o', tar, commit, 'native']);
  if (n.status === 0 && spawnSync('tar', ['-xf', tar, '-C', dir]).status === 0 && existsSync(join(dir, 'native', 'sip-index.c'))) {
    const why = buildNative('sip-index', join(dir, 'native', 'build', 'sip-index.node'), [], join(dir, 'native', 'sip-index.c'));
    if (why !== null) return { why: `could not build the frame indexer of commit ${commit}: ${why}` };
  } else symlinkSync(join(root, 'native'), join(dir, 'native'));
  return { at: (p: string) => pathToFileURL(join(dir, 'src', p)).href };
}

/**
 * The pipeline with every dimension just before the capacity KPIs (CC, CC_max, CPS, CPS_max, SDR,
 * the dialog statistics) were added: the capacity work was to cost at most 5 % of its throughput,
 * measured in the same run on the same feed (bench/kpi-dimensions.ts).
 */
export const BEFORE_CAPACITY = { commit: '20618eb', what: 'the pipeline before the capacity KPIs' };

/** Options of the dimension feed, the prefix table and the native parts made with the loaded commit's own modules. */
export interface DimensionFeed {
  readonly platform: readonly string[];
  readonly carrierMap: Readonly<Record<string, string>>;
  readonly strip: readonly string[];
}

/** A pipeline with today's one entry for a frame (onFrame). */
/** A pipeline with today's one entry for a frame (onFrame); `indexer`: what its own frame indexer loader said (it must be in use: a JavaScript-only reference would flatter today's). */
export type Framed = { make(clock: () => number): { onFrame(frame: Buffer): void }; why: string; indexer: string } | { make: null; why: string };

export async function loadBeforeCapacity(feed: DimensionFeed): Promise<Framed> {
  const x = extract(BEFORE_CAPACITY.commit);
  if ('why' in x) return { make: null, why: x.why };
  const { at } = x;
  const { createStats } = (await import(at('index.ts'))) as { createStats(o: { config: string; clock: () => number }): { engine: unknown } };
  const { KPI_MODPARAMS } = (await import(at('kpi/catalogue.ts'))) as { KPI_MODPARAMS: string };
  const { SipPipeline } = (await import(at('kpi/sip-pipeline.ts'))) as { SipPipeline: new (engine: unknown, o: object) => { onFrame(f: Buffer): void } };
  const { PrefixTable } = (await import(at('kpi/dimensions.ts'))) as { PrefixTable: { parseCsv(t: string): { table: unknown } } };
  const { defaultPrefixTableFile } = (await import(at('config/ingest-config.ts'))) as { defaultPrefixTableFile(): string };
  const { nativeIndexer } = (await import(at('ingest/native-index.ts'))) as { nativeIndexer(): { indexer: unknown; why: string } };
  const { inflatePayload } = (await import(at('ingest/inflate.ts'))) as { inflatePayload: unknown };
  const { readFileSync } = await import('node:fs');
  const table = PrefixTable.parseCsv(readFileSync(defaultPrefixTableFile(), 'utf8')).table;
  const native = nativeIndexer();
  if (native.indexer === null) return { make: null, why: `${BEFORE_CAPACITY.what} (commit ${BEFORE_CAPACITY.commit}) has no frame indexer here (${native.why}): it would read every frame in JavaScript` };
  return {
    indexer: native.why,
    make: (clock) =>
      new SipPipeline(createStats({ config: KPI_MODPARAMS, clock }).engine, {
        platform: feed.platform,
        carrier: { kind: 'cidr', map: feed.carrierMap },
        destination: { table, strip: feed.strip },
        maxCalls: 1_000_000,
        indexer: native.indexer,
        inflate: inflatePayload,
      }),
    why: `${BEFORE_CAPACITY.what} (commit ${BEFORE_CAPACITY.commit}), loaded beside today's`,
  };
}

export async function loadReference(): Promise<Reference> {
  const x = extract(REFERENCE.commit);
  if ('why' in x) return { make: null, why: x.why };
  const { at } = x;
  const { createStats } = (await import(at('index.ts'))) as { createStats(o: { config: string; clock: () => number }): { engine: unknown } };
  const { KPI_MODPARAMS } = (await import(at('kpi/kpi-profiles.ts'))) as { KPI_MODPARAMS: string };
  const { SipPipeline } = (await import(at('kpi/sip-pipeline.ts'))) as { SipPipeline: new (engine: unknown, o: { maxCalls: number }) => ReferencePipeline };
  return {
    make: (clock) => new SipPipeline(createStats({ config: KPI_MODPARAMS, clock }).engine, { maxCalls: 1_000_000 }),
    why: `the pipeline of ${REFERENCE.day} (commit ${REFERENCE.commit}), loaded beside today's`,
  };
}
