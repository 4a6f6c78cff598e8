import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirLockKind, lockDataDir, LOCK_FILE } from '../../src/persist/dir-lock.ts';

/**
 * The data directory lock (src/persist/dir-lock.ts), with real server processes: a second server
 * is refused; a lock whose process is gone is taken over — a process killed with -9, a PID now
 * another program's (reused), a killed server its parent has not reaped (a zombie) — and of N
 * servers started together on a stale lock exactly one runs. Each of the last three runs with the
 * flock lock (native/file-lock.c) and with the PID-file fallback (SIPSTATS_NATIVE_LOCK=0).
 */

const MAIN = 'src/cli/main.ts';
const SERVE = (dir: string) => ['--import', 'tsx', MAIN, 'serve', '--data-dir', dir, '--listen', '127.0.0.1:0', '--hep-listen', '127.0.0.1:0'];
const LINUX = process.platform === 'linux' && existsSync('/proc/self/stat');
const MODES = [
  { kind: 'flock', env: { SIPSTATS_NATIVE_LOCK: '1' }, skip: dirLockKind().kind !== 'flock' ? 'native/file-lock.c not built (node scripts/build-native.mjs)' : false },
  { kind: 'pid-file', env: { SIPSTATS_NATIVE_LOCK: '0' }, skip: false },
] as const;

interface Server {
  p: ChildProcess;
  out: () => string;
  err: () => string;
  listening: Promise<void>;
  exited: Promise<number | null>;
}

function serve(dir: string, env: Record<string, string> = {}, extra: string[] = []): Server {
  const p = spawn(process.execPath, [...SERVE(dir), ...extra], { env: { ...process.env, SIPSTATS_TOKEN: '', ...env } });
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

async function stop(s: Server): Promise<void> {
  if (s.p.exitCode === null && s.p.signalCode === null) s.p.kill('SIGKILL');
  await s.exited;
}

const escape = (s: string) => s.replace(/[/\\.()]/g, '\\$&');
const inUse = (dir: string, pid: number | string) => new RegExp(`data directory ${escape(resolve(dir))} is in use by another sipstats server \\(PID ${pid}\\); each server needs its own --data-dir`);

/** A PID that existed and is gone (its process ran and was reaped). */
function gonePid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

/** The state letter of /proc/PID/stat (R, S, Z...), or null when there is no such process. */
function procState(pid: number): string | null {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return t.slice(t.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

/** After a server's clean shutdown: with flock the file stays, empty and unlocked; a PID file is removed. */
async function assertFree(dir: string, kind: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  if (kind === 'flock') assert.equal(readFileSync(path, 'utf8'), '', 'flock: the lock file stays, emptied');
  else assert.equal(existsSync(path), false, 'PID file: removed');
  const l = await lockDataDir(dir);
  assert.equal(l.tookOverFrom, null, 'nothing to take over after a clean shutdown');
  await l.release();
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
    assert.match(second.err(), inUse(dir, first.p.pid!));
    assert.match(second.err(), /each server needs its own --data-dir/);
    // the first one is untouched and still owns the directory
    assert.equal(first.p.exitCode, null);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(first.p.pid));
    first.p.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    await assertFree(dir, dirLockKind().kind); // a clean shutdown releases the lock
  } finally {
    first.p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock left by a killed process is taken over (with a warning); a lock of a live process is not', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-lock-'));
  try {
    // a PID that existed and is gone
    const stalePid = gonePid();
    writeFileSync(join(dir, LOCK_FILE), `${stalePid}\n`);
    const s = serve(dir);
    try {
      await s.listening;
      assert.match(s.err(), new RegExp(`took over the lock of process ${stalePid}, which is gone`));
      assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), String(s.p.pid));
    } finally {
      await stop(s);
    }
    // killed with -9: the lock file stays behind (naming it), and the next start takes it over
    assert.ok(existsSync(join(dir, LOCK_FILE)));
    const l = await lockDataDir(dir);
    assert.equal(l.tookOverFrom, s.p.pid);
    // held by a live process (this one): refused, also within the same process
    await assert.rejects(lockDataDir(dir, process.pid + 1_000_000), (e: Error & { code?: string }) => e.code === 'E_DATA_DIR_LOCKED' && inUse(dir, process.pid).test(e.message));
    await l.release();
    await assertFree(dir, l.kind);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const mode of MODES) {
  test(`${mode.kind}: a lock file naming a live unrelated process (its PID reused) does not keep a server from starting`, { timeout: 90_000, skip: mode.skip || (mode.kind === 'pid-file' && !LINUX ? 'needs /proc' : false) }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipstats-lock-'));
    const other = spawn('sleep', ['120'], { stdio: 'ignore' });
    const servers: Server[] = [];
    try {
      const pid = other.pid!;
      assert.ok(pid > 0 && procState(pid) !== null, 'the unrelated process runs');
      const path = join(dir, LOCK_FILE);
      writeFileSync(path, `${pid}\n`);
      // flock: what the file says does not matter. PID file: a file written before the process
      // with that PID began (as when the server that wrote it died and its PID was handed out again)
      if (mode.kind === 'pid-file') utimesSync(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      const s = serve(dir, mode.env);
      servers.push(s);
      await s.listening;
      assert.match(s.err(), new RegExp(`took over the lock of process ${pid}, which is gone`));
      assert.equal(readFileSync(path, 'utf8').split('\n')[0], String(s.p.pid));
      assert.equal(other.exitCode, null, 'the unrelated process is left alone');
      assert.notEqual(procState(pid), null);
      await stop(s);
      if (mode.kind === 'pid-file') {
        // a PID file of the fallback records its writer's start time: another one is seen at once
        const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
        writeFileSync(path, `${pid}\npid-file boot=${boot} start=1\n`);
        const s2 = serve(dir, mode.env);
        servers.push(s2);
        await s2.listening;
        assert.match(s2.err(), new RegExp(`took over the lock of process ${pid}, which is gone`));
      }
    } finally {
      for (const s of servers) await stop(s);
      other.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${mode.kind}: a server killed with -9 and not reaped by its parent (a zombie) does not keep the next one from starting`, { timeout: 90_000, skip: mode.skip || (!LINUX ? 'needs /proc' : false) }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipstats-lock-'));
    // the parent: a shell that starts the server, then becomes `sleep`, which never waits for children
    const args = SERVE(dir).map((a) => `'${a}'`).join(' ');
    const parent = spawn('sh', ['-c', `'${process.execPath}' ${args} & echo "server-pid $!"; exec sleep 120`], { env: { ...process.env, SIPSTATS_TOKEN: '', ...mode.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    parent.stderr!.on('data', (c) => (err += c));
    const up = new Promise<number>((res, rej) => {
      parent.stdout!.on('data', (c) => {
        out += c;
        const m = /server-pid (\d+)/.exec(out);
        if (m !== null && out.includes('listening on')) res(Number(m[1]));
      });
      parent.on('exit', () => rej(new Error(`the parent exited: ${err}`)));
    });
    let next: Server | undefined;
    try {
      const old = await up;
      assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0], String(old));
      process.kill(old, 'SIGKILL');
      let state = procState(old);
      for (; state !== 'Z' && state !== null; state = procState(old)) await sleep(20); // (the test's timeout bounds it)
      assert.equal(state, 'Z', 'killed and not reaped: a zombie');
      next = serve(dir, mode.env);
      await next.listening;
      assert.equal(procState(old), 'Z', 'the old server was still a zombie when the new one took the directory');
      assert.match(next.err(), new RegExp(`took over the lock of process ${old}, which is gone`));
      assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').split('\n')[0], String(next.p.pid));
    } finally {
      if (next !== undefined) await stop(next);
      try {
        process.kill(-parent.pid!, 'SIGKILL'); // the shell's group: sleep and the server (reaped by init then)
      } catch {
        // gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${mode.kind}: of 4 servers started at once on a stale lock, exactly one runs`, { timeout: 120_000, skip: mode.skip || (spawnSync('mkfifo', ['--version']).error !== undefined ? 'no mkfifo' : false) }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sipstats-lock-'));
    const data = join(dir, 'data');
    const N = 4;
    const servers: Server[] = [];
    const fifos: FileHandle[] = [];
    try {
      const stalePid = gonePid();
      mkdirSync(data);
      // padded: a lock read whole and checked before being replaced (a PID check) is read for a while,
      // long enough for the starts to overlap in it; a lock that reads only its first line is not slowed
      writeFileSync(join(data, LOCK_FILE), `${stalePid}\n`.padEnd(32 << 20, ' '));
      // the starting line: each server reads its configuration from a named pipe, and blocks there
      // until all are waiting; then all pipes are written at once
      for (let i = 0; i < N; i++) {
        const fifo = join(dir, `config-${i}.json`);
        assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
        servers.push(serve(data, mode.env, ['--config', fifo]));
      }
      for (let i = 0; i < N; i++) {
        // resolves once server i has opened it to read
        const f = await Promise.race([open(join(dir, `config-${i}.json`), 'w'), servers[i].exited.then(() => Promise.reject(new Error(`server ${i} exited: ${servers[i].err()}`)))]);
        fifos.push(f);
      }
      await Promise.all(fifos.map(async (f) => {
        await f.write('{}\n');
        await f.close();
      }));
      const outcome = await Promise.all(servers.map((s) => s.listening.then(() => 'up' as const, () => 'down' as const)));
      const up = servers.filter((_, i) => outcome[i] === 'up');
      assert.equal(up.length, 1, `exactly one server runs; ${up.length} do: ${servers.map((s) => s.err()).join('\n')}`);
      const winner = up[0];
      assert.match(winner.err(), new RegExp(`took over the lock of process ${stalePid}, which is gone`));
      for (const s of servers) {
        if (s === winner) continue;
        assert.equal(await s.exited, 1);
        assert.match(s.err(), inUse(data, winner.p.pid!));
      }
      assert.equal(readFileSync(join(data, LOCK_FILE), 'utf8').split('\n')[0], String(winner.p.pid));
    } finally {
      for (const f of fifos) await f.close().catch(() => {});
      // a writer's open still waiting for its reader (a server that died first) is let through
      for (let i = 0; i < N; i++) {
        try {
          closeSync(openSync(join(dir, `config-${i}.json`), constants.O_RDONLY | constants.O_NONBLOCK));
        } catch {
          // not made
        }
      }
      for (const s of servers) await stop(s);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
