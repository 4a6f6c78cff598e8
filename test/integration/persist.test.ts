import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStats, exportState, parseOpenSipsConfig } from '../../src/index.ts';
import { attachPersistence } from '../../src/persist/attach.ts';
import { SnapshotFileStore, SnapshotWriteError } from '../../src/persist/file-store.ts';
import { decodeSnapshot, encodeSnapshot } from '../../src/persist/snapshot-codec.ts';
import { CHILD_STATS, childStats, feed } from '../support/persist-child.ts';

const CFG = `
modparam("statistics", "variable", "calls")
modparam("statistics", "stat_series_profile", "perc: algorithm=percentage window=60 slots=60 group=stats")
modparam("statistics", "stat_series_profile", "1h-avg: algorithm=average window=3600 slots=6 group=stats_1h")
modparam("statistics", "stat_series_profile", "acc: algorithm=accumulate window=600 slots=10")
`;
const T0 = 1_795_508_400_000;
const quiet = () => undefined;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'sipstats-persist-'));
}

function engineAt(clock: () => number) {
  const r = parseOpenSipsConfig(CFG);
  if (!r.ok) throw new Error('config');
  return createStats({ config: r.value, clock });
}

function feedSome(stats: ReturnType<typeof engineAt>, advance: (ms: number) => void, n: number) {
  for (let i = 0; i < n; i++) {
    advance(997);
    stats.updateStat('calls', 1);
    stats.updateStatSeries('perc', 'ASR', i % 4 === 0 ? -1 : 1);
    stats.updateStatSeries('1h-avg', 'PDD_1h', 50 + (i % 13));
    stats.updateStatSeries('acc', 'INV', i);
  }
}

const NAMES = ['calls', 'ASR', 'PDD_1h', 'INV'];

// ---- file store ------------------------------------------------------------------------------------

test('file store: save is atomic (no temp file left), keeps the previous snapshot, load returns the newest', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = T0;
  const a = engineAt(() => now);
  feedSome(a, (ms) => (now += ms), 30);
  const first = encodeSnapshot(exportState(a.engine));
  const store = new SnapshotFileStore({ dir });
  await store.save(first);
  feedSome(a, (ms) => (now += ms), 30);
  const second = encodeSnapshot(exportState(a.engine));
  await store.save(second);
  assert.deepEqual(readdirSync(dir).sort(), ['sipstats.snap', 'sipstats.snap.prev']);
  assert.deepEqual(new Uint8Array(readFileSync(store.path)), second);
  assert.deepEqual(new Uint8Array(readFileSync(store.prevPath)), first);
  const l = await store.load();
  assert.equal(l.source, store.path);
  assert.deepEqual(l.corrupt, []);
  assert.deepEqual(l.state, decodeSnapshot(second).ok ? exportState(a.engine) : null);
});

test('file store: bytes that do not verify never replace the good snapshot', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = engineAt(() => T0);
  a.updateStat('calls', 5);
  const good = encodeSnapshot(exportState(a.engine));
  const store = new SnapshotFileStore({ dir });
  await store.save(good);
  const bad = good.slice();
  bad[bad.length - 2] ^= 0xff;
  await assert.rejects(store.save(bad), (e: unknown) => e instanceof SnapshotWriteError && e.code === 'E_SNAPSHOT_WRITE' && /does not verify/.test(e.message));
  await assert.rejects(store.save(good.subarray(0, 30)), SnapshotWriteError);
  assert.deepEqual(new Uint8Array(readFileSync(store.path)), good);
  assert.deepEqual(readdirSync(dir).sort(), ['sipstats.snap'], 'no temporary file left behind');
});

test('a corrupt snapshot is reported, moved aside (kept, not deleted), and the previous good one is restored', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = T0;
  const a = engineAt(() => now);
  const p = await attachPersistence(a, { dataDir: dir, intervalMs: 3_600_000, log: quiet });
  feedSome(a, (ms) => (now += ms), 20);
  await p.saveNow();
  const goodValues = NAMES.map((n) => a.getStat(n));
  feedSome(a, (ms) => (now += ms), 20);
  await p.close();
  // the current snapshot gets damaged on disk (half of it lost)
  const damaged = readFileSync(join(dir, 'sipstats.snap'));
  writeFileSync(join(dir, 'sipstats.snap'), damaged.subarray(0, damaged.length >> 1));

  const logs: string[] = [];
  const b = engineAt(() => now);
  const q = await attachPersistence(b, { dataDir: dir, intervalMs: 3_600_000, log: (level, m) => logs.push(`${level}: ${m}`) });
  const r = q.restoreReport;
  assert.equal(r.corrupt.length, 1);
  assert.equal(r.corrupt[0].code, 'E_SNAPSHOT_TRUNCATED');
  assert.match(r.corrupt[0].movedTo, /sipstats\.snap\.corrupt-\d{4}-\d\d-\d\dT/);
  assert.deepEqual(readFileSync(r.corrupt[0].movedTo), damaged.subarray(0, damaged.length >> 1));
  assert.ok(logs.some((l) => l.startsWith('error: ') && l.includes('unreadable') && l.includes('moved aside to')), logs.join('\n'));
  assert.equal(r.source, join(dir, 'sipstats.snap.prev'));
  assert.deepEqual(NAMES.map((n) => b.getStat(n)), goodValues);
  await q.close();
  assert.ok(existsSync(r.corrupt[0].movedTo), 'the corrupt file is still there after the next save');
});

test('a garbage or other-version snapshot without a fallback: clear report, file kept aside, clean start', async (t) => {
  for (const [bytes, code] of [
    [Buffer.from('this is not a snapshot\n'), 'E_SNAPSHOT_MAGIC'],
    [Buffer.concat([Buffer.from('SIPSTATS'), Buffer.from([0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]), 'E_SNAPSHOT_VERSION'],
  ] as const) {
    const dir = tmp();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'sipstats.snap'), bytes);
    writeFileSync(join(dir, 'sipstats.snap.tmp-123-4'), 'half a write');
    const s = engineAt(() => T0);
    const logs: string[] = [];
    const p = await attachPersistence(s, { dataDir: dir, intervalMs: 3_600_000, log: (level, m) => logs.push(`${level}: ${m}`) });
    assert.equal(p.restoreReport.source, null);
    assert.equal(p.restoreReport.corrupt[0].code, code);
    assert.deepEqual(p.restoreReport.removedTemp, [join(dir, 'sipstats.snap.tmp-123-4')]);
    assert.ok(logs.some((l) => l.includes(code)), logs.join('\n'));
    assert.equal(s.getStat('calls'), 0);
    s.updateStat('calls', 2);
    await p.close();
    // (the data directory's lock file stays, unlocked: docs/persistence.md)
    const files = readdirSync(dir)
      .filter((f) => f !== 'sipstats.lock')
      .sort();
    assert.equal(files.length, 2, files.join());
    assert.ok(files[0] === 'sipstats.snap' && files[1].startsWith('sipstats.snap.corrupt-'), files.join());
    assert.deepEqual(readFileSync(join(dir, files[1])), bytes);
    const again = engineAt(() => T0);
    await (await attachPersistence(again, { dataDir: dir, intervalMs: 3_600_000, log: quiet })).close();
    assert.equal(again.getStat('calls'), 2);
  }
});

test('restart equals values; a 1-minute window restored after 2 minutes is empty, a 1-hour one keeps its data', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let now = T0;
  const a = engineAt(() => now);
  const pa = await attachPersistence(a, { dataDir: dir, intervalMs: 3_600_000, log: quiet });
  assert.equal(pa.restoreReport.source, null);
  feedSome(a, (ms) => (now += ms), 90);
  const before = NAMES.map((n) => a.getStat(n));
  await pa.close();
  assert.equal(a.getStat('sipstats:snapshot_saves'), 1);

  const b = engineAt(() => now);
  const pb = await attachPersistence(b, { dataDir: dir, intervalMs: 3_600_000, log: quiet });
  assert.deepEqual(NAMES.map((n) => b.getStat(n)), before);
  assert.equal(pb.restoreReport.series, 3);
  assert.equal(pb.restoreReport.expiredSlots, 0);
  assert.deepEqual(pb.restoreReport.skipped, []);
  // self-statistics describe the running process: not restored
  assert.equal(b.getStat('sipstats:snapshot_saves'), 0);
  await pb.close();

  now += 120_000;
  const c = engineAt(() => now);
  const pc = await attachPersistence(c, { dataDir: dir, intervalMs: 3_600_000, log: quiet });
  assert.ok(pc.restoreReport.expiredSlots > 0);
  assert.equal(c.getStat('ASR'), 0);
  assert.equal(c.getStat('PDD_1h'), a.getStat('PDD_1h'));
  assert.equal(c.getStat('calls'), 90);
  c.updateStatSeries('perc', 'ASR', 1);
  assert.equal(c.getStat('ASR'), 100);
  await pc.close();
});

// ---- a real process, killed ---------------------------------------------------------------------------

interface ChildRun {
  lastFed: number;
  lastSaved: number;
  saves: number;
  final?: Record<string, number | null>;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until `saves` snapshots are on disk, then sends `signal`. */
function runChild(dir: string, signal: NodeJS.Signals, saves: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = fileURLToPath(new URL('../support/persist-child.ts', import.meta.url));
    const c = spawn(process.execPath, ['--import', 'tsx', child, dir, '40'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { lastFed: 0, lastSaved: -1, saves: 0, code: null, signal: null, stderr: '' };
    let buf = '';
    let sent = false;
    const guard = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`child did not reach ${saves} saves within 30 s: ${JSON.stringify(run)}`));
    }, 30_000);
    c.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, nl)) as { fed?: number; saved?: number; final?: Record<string, number | null> };
        buf = buf.slice(nl + 1);
        if (m.fed !== undefined) run.lastFed = m.fed;
        if (m.saved !== undefined) {
          run.lastSaved = m.saved;
          run.saves++;
        }
        if (m.final !== undefined) run.final = m.final;
        if (run.saves >= saves && !sent) {
          sent = true;
          c.kill(signal);
        }
      }
    });
    c.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
    c.on('exit', (code, sig) => {
      clearTimeout(guard);
      run.code = code;
      run.signal = sig;
      resolve(run);
    });
  });
}

/** Values after feeds 1..n, computed by a fresh engine. */
function expectedAfter(n: number): Record<string, number | null> {
  const s = childStats();
  for (let i = 1; i <= n; i++) feed(s, i);
  return Object.fromEntries(CHILD_STATS.map((k) => [k, s.getStat(k)]));
}

test('kill -9: a restart loses at most the last snapshot interval, and what it keeps is consistent', { timeout: 60_000 }, async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = await runChild(dir, 'SIGKILL', 3);
  assert.equal(run.signal, 'SIGKILL', run.stderr);
  assert.ok(run.lastSaved > 0, JSON.stringify(run));

  const s = childStats();
  const p = await attachPersistence(s, { dataDir: dir, intervalMs: 3_600_000, log: quiet });
  assert.deepEqual(p.restoreReport.corrupt, []);
  const restored = s.getStat('fed')!;
  // at least everything fed before the last completed save; never more than was fed
  assert.ok(restored >= run.lastSaved, `restored ${restored} < ${run.lastSaved} saved`);
  assert.ok(restored <= run.lastFed, `restored ${restored} > ${run.lastFed} fed`);
  // the snapshot is one instant: every series agrees with the counter
  assert.deepEqual(Object.fromEntries(CHILD_STATS.map((k) => [k, s.getStat(k)])), expectedAfter(restored));
  await p.close();
});

test('SIGTERM: the final save keeps every value', { timeout: 60_000 }, async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = await runChild(dir, 'SIGTERM', 2);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.final !== undefined, JSON.stringify(run));
  assert.ok(run.final.fed! >= run.lastFed);

  const s = childStats();
  const p = await attachPersistence(s, { dataDir: dir, intervalMs: 3_600_000, log: quiet });
  assert.deepEqual(Object.fromEntries(CHILD_STATS.map((k) => [k, s.getStat(k)])), run.final);
  assert.deepEqual(run.final, expectedAfter(run.final.fed!));
  await p.close();
});
