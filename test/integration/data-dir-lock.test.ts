import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lockDataDir, LOCK_FILE } from '../../src/persist/dir-lock.ts';

const MAIN = 'src/cli/main.ts';

function serve(dir: string): { p: ChildProcess; out: () => string; err: () => string; listening: Promise<void>; exited: Promise<number | null> } {
  const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--data-dir', dir, '--listen', '127.0.0.1:0', '--hep-listen', '127.0.0.1:0'], { env: { ...process.env, SIPSTATS_TOKEN: '' } });
  let out = '';
  let err = '';
  p.stderr!.on('data', (c) => (err += c));
  const listening = new Promise<void>((res, rej) => {
    p.stdout!.on('data', (c) => {
      out += c;
      if (out.includes('listening on')) res();
    });
    p.on('exit', () => rej(new Error(`server exited before listening: ${err}`)));
  });
  listening.catch(() => {});
  const exited = new Promise<number | null>((res) => p.on('exit', (code) => res(code)));
  return { p, out: () => out, err: () => err, listening, exited };
}

test('a second server on the same data directory refuses to start, naming the directory and the holder PID', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-lock-'));
  const first = serve(dir);
  try {
    await first.listening;
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(first.p.pid));
    const second = serve(dir);
    const code = await second.exited;
    assert.equal(code, 1);
    assert.match(second.err(), new RegExp(`data directory ${resolve(dir).replace(/[/\\.]/g, '\\$&')} is in use by another sipstats server \\(PID ${first.p.pid}\\)`));
    assert.match(second.err(), /each server needs its own --data-dir/);
    // the first one is untouched and still owns the directory
    assert.equal(first.p.exitCode, null);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(first.p.pid));
    first.p.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'a clean shutdown releases the lock');
  } finally {
    first.p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock left by a killed process is taken over (with a warning); a lock of a live process is not', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-lock-'));
  try {
    // a PID that existed and is gone
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const stalePid = Number(gone.stdout);
    writeFileSync(join(dir, LOCK_FILE), `${stalePid}\n`);
    const s = serve(dir);
    try {
      await s.listening;
      assert.match(s.err(), new RegExp(`took over the lock of process ${stalePid}, which is gone`));
      assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(s.p.pid));
    } finally {
      s.p.kill('SIGKILL');
      await s.exited;
    }
    // killed with -9: the lock stays behind, and the next start takes it over
    assert.ok(existsSync(join(dir, LOCK_FILE)));
    const l = await lockDataDir(dir);
    assert.equal(l.tookOverFrom, s.p.pid);
    // held by a live process (this one): refused
    await assert.rejects(lockDataDir(dir, process.pid + 1_000_000), { code: 'E_DATA_DIR_LOCKED' });
    await l.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
