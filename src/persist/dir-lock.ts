import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SipstatsError } from '../errors.ts';

/** The lock file in a data directory: it holds the PID of the server that owns the directory. */
export const LOCK_FILE = 'sipstats.lock';

export interface DirLock {
  readonly path: string;
  /** A lock left by a process that is gone, taken over: its PID. */
  readonly tookOverFrom: number | null;
  release(): Promise<void>;
}

/** Whether a process with this PID exists (EPERM: it exists, owned by another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data directory for this process: creates `sipstats.lock` exclusively with our PID.
 * When it exists and its process is alive, refuses with E_DATA_DIR_LOCKED naming the directory and
 * the holder's PID (two servers on one directory would overwrite each other's snapshots); when its
 * process is gone (killed, crashed), takes it over.
 */
export async function lockDataDir(dir: string, pid = process.pid): Promise<DirLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${pid}\n`);
      await fh.close();
      let released = false;
      return {
        path,
        tookOverFrom,
        async release() {
          if (released) return;
          released = true;
          // only our own lock: never remove one another process took over meanwhile
          const text = await readFile(path, 'utf8').catch(() => '');
          if (Number.parseInt(text, 10) === pid) await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = await readFile(path, 'utf8').catch(() => '');
    const holder = Number.parseInt(text, 10);
    if (Number.isInteger(holder) && holder > 0 && holder !== pid && alive(holder)) {
      throw new SipstatsError('E_DATA_DIR_LOCKED', `data directory ${resolve(dir)} is in use by another sipstats server (PID ${holder}); each server needs its own --data-dir`, { dir: resolve(dir), pid: holder });
    }
    // stale (its process is gone), empty or unreadable: take it over
    tookOverFrom = Number.isInteger(holder) && holder > 0 ? holder : tookOverFrom;
    await unlink(path).catch(() => {});
  }
  throw new SipstatsError('E_DATA_DIR_LOCKED', `data directory ${resolve(dir)}: could not take ${LOCK_FILE} (another server is starting on it)`, { dir: resolve(dir) });
}
