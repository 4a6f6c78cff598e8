import { closeSync, constants, existsSync, fstatSync, ftruncateSync, linkSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SipstatsError } from '../errors.ts';
import { nativeLock } from './native-lock.ts';
import type { NativeLock } from './native-lock.ts';

/**
 * One server per data directory: `lockDataDir` takes `DIR/sipstats.lock` for this process, or
 * refuses with E_DATA_DIR_LOCKED naming the directory and the holder's PID ("each server needs its
 * own --data-dir": two servers on one directory would overwrite each other's snapshots).
 *
 * - `flock` (native/file-lock.c built): an exclusive flock(2) on the file, opened here and kept open
 *   until release(). The kernel drops it when the process dies in any way (exit, crash, kill -9;
 *   a zombie holds no files), so a dead server's lock never needs detecting: a reused PID, a zombie
 *   or two servers starting at once cannot fool it. The PID written in the file only names the
 *   holder in the refusal. The file is never removed (removing a locked file would let a third
 *   process lock a new file of the same name); release() empties it, unlocks and closes it.
 * - `pid-file` (the module not built, or SIPSTATS_NATIVE_LOCK=0): the file holds the holder's PID
 *   and, on Linux, its boot id and start time (/proc/self/stat); it is created with link(2) (never
 *   seen half written). A holder is taken for gone when kill(PID, 0) says so, when it is a zombie
 *   (/proc/PID/stat state Z or X), or when the process with that PID is another one: another start
 *   time or boot than the file records, or, for a file without them, a start after the file was
 *   written. A gone holder's file is taken over through a token (`sipstats.lock.takeover-INODE-MTIME`,
 *   created with link(2), so one process only takes over that version of the file; a token left by
 *   a process that died meanwhile is itself taken over the same way), then replaced by rename(2):
 *   two servers starting at once on a stale lock cannot both win. Limits (docs/persistence.md): a
 *   PID means nothing to another machine or PID namespace (a shared volume between containers), and
 *   without /proc (not Linux) a zombie or a reused PID is taken for the holder. release() removes it.
 * Both kinds refuse a second lock of the same directory in the same process.
 */

/** The lock file in a data directory. */
export const LOCK_FILE = 'sipstats.lock';

export type DirLockKind = 'flock' | 'pid-file';

export interface DirLock {
  readonly path: string;
  readonly kind: DirLockKind;
  /** A lock left by a process that is gone, taken over: its PID (the one the file named). */
  readonly tookOverFrom: number | null;
  release(): Promise<void>;
}

/** The kind of lock lockDataDir takes in this process, and a line saying so (the start-up line). */
export function dirLockKind(): { kind: DirLockKind; why: string } {
  const n = nativeLock();
  return n.native !== null
    ? { kind: 'flock', why: 'flock (native file lock; the kernel releases it when the process dies)' }
    : { kind: 'pid-file', why: `a PID file (${n.why})` };
}

/**
 * Takes the data directory `dir` (created when missing) for this process; `pid` is the PID written
 * in the lock file (default: this process's). Rejects with E_DATA_DIR_LOCKED when a live process
 * holds it.
 */
export async function lockDataDir(dir: string, pid = process.pid): Promise<DirLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const n = nativeLock();
  return n.native !== null ? flockDir(n.native, dir, path, pid) : pidFileDir(dir, path, pid);
}

function locked(dir: string, holder: number | null): SipstatsError {
  const abs = resolve(dir);
  return new SipstatsError('E_DATA_DIR_LOCKED', `data directory ${abs} is in use by another sipstats server (PID ${holder ?? 'unknown'}); each server needs its own --data-dir`, { dir: abs, pid: holder });
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** The first bytes of an open file, as text (a lock file is one or two short lines). */
function head(fd: number): string {
  const b = Buffer.alloc(256);
  return b.toString('utf8', 0, readSync(fd, b, 0, b.length, 0));
}

interface Holder {
  /** The PID on the first line, when there is one. */
  readonly pid: number | null;
  /** Written by the PID-file lock (its second line), with its writer's boot id and start time when known. */
  readonly pidFile: boolean;
  readonly boot?: string;
  readonly start?: string;
}

function parseHolder(text: string): Holder {
  const m = /^\s*(\d{1,10})\s*$/m.exec(text.split('\n', 1)[0]);
  const pid = m === null ? null : Number(m[1]);
  const p = /^pid-file(?: boot=(\S+) start=(\d+))?\s*$/m.exec(text);
  return {
    pid: pid !== null && pid > 0 && pid <= 0x7fffffff ? pid : null,
    pidFile: p !== null,
    ...(p !== null && p[1] !== undefined ? { boot: p[1], start: p[2] } : {}),
  };
}

// ---- what /proc says of a PID (Linux)

const PROC = process.platform === 'linux' && existsSync('/proc/self/stat');
/** USER_HZ: the unit of /proc/PID/stat's start time (100 on every Linux architecture sipstats runs on). */
const CLK_TCK = 100;
/** A process that started less than this after the lock file was written is not taken for another one (btime is in whole seconds). */
const START_SLACK_MS = 2000;

/** State letter and start time (clock ticks since boot) of process `pid`, or null when it has no /proc entry. */
function procStat(pid: number): { state: string; start: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "PID (comm) STATE PPID ...": comm may hold spaces and parentheses; start time is field 22
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] ?? '', start: f[19] ?? '' };
}

let procSelf: { boot: string; bootTimeMs: number; start: string } | null | undefined;
function self(): { boot: string; bootTimeMs: number; start: string } | null {
  if (procSelf !== undefined) return procSelf;
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    const start = procStat(process.pid)?.start ?? '';
    procSelf = PROC && boot !== '' && btime !== null && /^\d+$/.test(start) ? { boot, bootTimeMs: Number(btime[1]) * 1000, start } : null;
  } catch {
    procSelf = null;
  }
  return procSelf;
}

/** Whether `pid` is a running process: it exists (EPERM: another user's) and is not a zombie. */
function runs(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (errno(e) === 'ESRCH') return false;
  }
  if (!PROC) return true;
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** Directories this process holds with a PID-file lock (a second lockDataDir of one is refused). */
const heldHere = new Set<string>();

/**
 * Whether the writer of a PID-file lock (`h`, in a file last written at `mtimeMs`) may still be
 * running. In doubt (no /proc), yes: a live server's lock is never taken.
 */
function pidFileHolderLive(h: Holder, mtimeMs: number, lockPath: string): boolean {
  if (h.pid === null) return false; // empty or not a lock file of ours: nobody named
  if (h.pid === process.pid) return heldHere.has(lockPath); // else a former process with our PID (a restarted container)
  if (!runs(h.pid)) return false; // gone, or a zombie
  const me = self();
  if (me === null) return true;
  const st = procStat(h.pid);
  if (st === null) return false;
  if (h.boot !== undefined && h.start !== undefined) return h.boot === me.boot && h.start === st.start;
  // no start time recorded: a process that began after the file was written did not write it
  const startedMs = me.bootTimeMs + (Number(st.start) * 1000) / CLK_TCK;
  return !(startedMs > mtimeMs + START_SLACK_MS);
}

// ---- flock (native)

async function flockDir(native: NativeLock, dir: string, path: string, pid: number): Promise<DirLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    // read-write, created when missing, never truncated here: the holder's PID must stay readable
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    let kept = false;
    try {
      const r = native.lock(fd);
      if (r === 'EWOULDBLOCK') {
        // held: name the holder (one that just took it may not have written its PID yet)
        let holder = parseHolder(head(fd)).pid;
        for (let i = 0; i < 150 && (holder === null || !runs(holder)); i++) {
          await sleep(20);
          holder = parseHolder(head(fd)).pid;
        }
        throw locked(dir, holder);
      }
      if (r !== 0) {
        const abs = resolve(dir);
        throw new SipstatsError('E_DATA_DIR_LOCKED', `data directory ${abs}: could not lock ${LOCK_FILE} (flock: ${r}); SIPSTATS_NATIVE_LOCK=0 locks it with a PID file instead`, { dir: abs, errno: r });
      }
      // the name must still lead to the file locked (sipstats never removes it; a person may have)
      const a = fstatSync(fd);
      const b = statSync(path, { throwIfNoEntry: false });
      if (b === undefined || a.ino !== b.ino || a.dev !== b.dev) continue;
      const prev = parseHolder(head(fd));
      // a server without the native module on the same directory (a PID-file lock) still counts
      if (prev.pidFile && pidFileHolderLive(prev, a.mtimeMs, path)) throw locked(dir, prev.pid);
      // our PID: written over the old one, then cut to length, so that the file never reads empty
      const line = Buffer.from(`${pid}\n`);
      writeSync(fd, line, 0, line.length, 0);
      ftruncateSync(fd, line.length);
      kept = true;
      let released = false;
      return {
        path,
        kind: 'flock',
        tookOverFrom: prev.pid,
        async release() {
          if (released) return;
          released = true;
          // the file stays (see the header): emptied, so the next start finds no PID to report
          try {
            ftruncateSync(fd, 0);
          } finally {
            native.unlock(fd);
            closeSync(fd);
          }
        },
      };
    } finally {
      if (!kept) closeSync(fd); // (closing also unlocks)
    }
  }
  const abs = resolve(dir);
  throw new SipstatsError('E_DATA_DIR_LOCKED', `data directory ${abs}: could not take ${LOCK_FILE} (it was removed or replaced while being locked)`, { dir: abs });
}

// ---- PID file (JavaScript fallback)

const RETRY = Symbol('retry');
/** Takeovers of takeovers (each one a process killed in the middle of one) before giving up. */
const MAX_DEPTH = 4;
let tmpSeq = 0;

function pidFileText(pid: number): string {
  const me = self();
  return me === null ? `${pid}\npid-file\n` : `${pid}\npid-file boot=${me.boot} start=${me.start}\n`;
}

function writeTemp(lockPath: string, text: string): string {
  const tmp = `${lockPath}.tmp-${process.pid}-${++tmpSeq}`;
  writeFileSync(tmp, text, { flag: 'wx', mode: 0o644 });
  return tmp;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Makes `target` our file `tmp` when it is free or its holder is gone; returns the PID the replaced
 * file named, or RETRY when it changed meanwhile; throws E_DATA_DIR_LOCKED when its holder lives.
 */
function claim(dir: string, lockPath: string, target: string, tmp: string, text: string, depth: number): { from: number | null } | typeof RETRY {
  try {
    linkSync(tmp, target);
    return { from: null };
  } catch (e) {
    if (errno(e) !== 'EEXIST') throw e;
  }
  // the version there, and what it says (read from one open file: the two go together)
  let fd: number;
  try {
    fd = openSync(target, 'r');
  } catch (e) {
    if (errno(e) === 'ENOENT') return RETRY;
    throw e;
  }
  let st: BigIntStats;
  let holder: Holder;
  try {
    st = fstatSync(fd, { bigint: true });
    holder = parseHolder(head(fd));
  } finally {
    closeSync(fd);
  }
  if (pidFileHolderLive(holder, Number(st.mtimeMs), lockPath)) throw locked(dir, holder.pid);
  if (depth >= MAX_DEPTH) {
    const abs = resolve(dir);
    throw new SipstatsError('E_DATA_DIR_LOCKED', `data directory ${abs}: could not take ${LOCK_FILE} (takeovers of it were interrupted ${depth} times: remove ${LOCK_FILE}* while no server runs)`, { dir: abs });
  }
  // gone: one process only may replace this version of the file, the one that creates its token
  const token = `${lockPath}.takeover-${st.ino}-${st.mtimeNs}`;
  const tokenTmp = writeTemp(lockPath, text);
  let t: { from: number | null } | typeof RETRY;
  try {
    t = claim(dir, lockPath, token, tokenTmp, text, depth + 1);
  } finally {
    removeQuietly(tokenTmp);
  }
  if (t === RETRY) return RETRY;
  try {
    const now = statSync(target, { bigint: true, throwIfNoEntry: false });
    if (now === undefined || now.ino !== st.ino || now.dev !== st.dev || now.mtimeNs !== st.mtimeNs) return RETRY; // replaced already
    renameSync(tmp, target);
    return { from: holder.pid };
  } finally {
    removeQuietly(token);
  }
}

function pidFileDir(dir: string, path: string, pid: number): DirLock {
  const text = pidFileText(pid);
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = writeTemp(path, text);
    let r: { from: number | null } | typeof RETRY;
    let ours: bigint;
    try {
      ours = statSync(tmp, { bigint: true }).ino;
      r = claim(dir, path, path, tmp, text, 0);
    } finally {
      removeQuietly(tmp); // (after link: the other name; after rename: already gone)
    }
    if (r === RETRY) continue;
    // confirm: the name leads to the file we wrote
    const now = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (now === undefined || now.ino !== ours) continue;
    heldHere.add(path);
    // tokens left by processes killed during a takeover: no version they name exists any more
    for (const f of readdirSync(dir)) if (f.startsWith(`${LOCK_FILE}.takeover-`)) removeQuietly(join(dir, f));
    let released = false;
    return {
      path,
      kind: 'pid-file',
      tookOverFrom: r.from,
      async release() {
        if (released) return;
        released = true;
        heldHere.delete(path);
        // only our own file: a live holder's is never replaced, so it still is ours
        const cur = statSync(path, { bigint: true, throwIfNoEntry: false });
        if (cur !== undefined && cur.ino === ours) removeQuietly(path);
      },
    };
  }
  const abs = resolve(dir);
  throw new SipstatsError('E_DATA_DIR_LOCKED', `data directory ${abs}: could not take ${LOCK_FILE} (another server is starting on it)`, { dir: abs });
}
