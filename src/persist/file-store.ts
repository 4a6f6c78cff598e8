import { link, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { EngineState } from '../core/state.ts';
import { decodeSnapshot, verifySnapshot } from './snapshot-codec.ts';
import type { SnapshotErrorCode } from './snapshot-codec.ts';

export interface FileStoreOptions {
  /** Directory holding the snapshot (created when missing). */
  readonly dir: string;
  /** File name of the current snapshot; the previous good one is kept as `NAME.prev`. */
  readonly name?: string;
  /** Wall clock for the `.corrupt-<timestamp>` suffix (tests inject one). */
  readonly now?: () => number;
}

/** A snapshot file that could not be read, and where it was moved. */
export interface CorruptSnapshot {
  readonly path: string;
  readonly movedTo: string;
  readonly code: SnapshotErrorCode | 'E_SNAPSHOT_READ';
  readonly message: string;
}

export interface LoadResult {
  /** The newest good snapshot, or null when there is none (first start, or every file was bad). */
  readonly state: EngineState | null;
  /** Feature sections stored beside the engine (format version 2; {} for version 1). */
  readonly sections?: Readonly<Record<string, string>>;
  /** File the state came from. */
  readonly source: string | null;
  readonly bytes: number;
  /** Unreadable snapshots found on the way, each moved aside (never deleted). */
  readonly corrupt: readonly CorruptSnapshot[];
  /** Temporary files of saves cut short (a crash mid-write), removed: they never replaced a good snapshot. */
  readonly removedTemp: readonly string[];
}

export class SnapshotWriteError extends Error {
  readonly code = 'E_SNAPSHOT_WRITE';
}

const DEFAULT_NAME = 'sipstats.snap';

/**
 * Snapshot files in one directory. Saving is atomic: the bytes go to a temporary file in the same
 * directory, which is fsynced, read back and verified (header, CRC-32, full body walk), then renamed
 * over the current snapshot, and the directory is fsynced. A crash at any point leaves either the old
 * or the new snapshot in place, never a mix; a bad write never replaces a good snapshot. The
 * previous snapshot is kept as `NAME.prev` (a hard link), the fallback when the current one is bad.
 */
export class SnapshotFileStore {
  readonly dir: string;
  readonly name: string;
  readonly path: string;
  readonly prevPath: string;
  private readonly now: () => number;
  private seq = 0;

  constructor(opts: FileStoreOptions) {
    this.dir = opts.dir;
    this.name = opts.name ?? DEFAULT_NAME;
    this.path = join(this.dir, this.name);
    this.prevPath = `${this.path}.prev`;
    this.now = opts.now ?? Date.now;
  }

  /** Writes `bytes` as the new current snapshot, atomically. Throws SnapshotWriteError (the old file stays). */
  async save(bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `${this.name}.tmp-${process.pid}-${++this.seq}`);
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        let off = 0;
        while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
        await fh.sync();
      } finally {
        await fh.close();
      }
      // what reached the file system, not what we meant to write
      const back = await readFile(tmp);
      const v = back.length === bytes.length ? verifySnapshot(back) : { ok: false as const, error: { code: 'E_SNAPSHOT_TRUNCATED', message: `read back ${back.length} of ${bytes.length} bytes` } };
      if (!v.ok) throw new SnapshotWriteError(`snapshot written to ${tmp} does not verify (${v.error.code}: ${v.error.message}); the previous snapshot is kept`);
      await ignoreMissing(unlink(this.prevPath));
      await ignoreMissing(link(this.path, this.prevPath));
      await rename(tmp, this.path);
      await this.syncDir();
    } catch (e) {
      await ignoreMissing(unlink(tmp));
      if (e instanceof SnapshotWriteError) throw e;
      throw new SnapshotWriteError(`cannot write snapshot ${this.path}: ${(e as Error).message}`);
    }
  }

  /**
   * Loads the newest good snapshot: the current file, else `NAME.prev`. A file that does not decode
   * is renamed to `NAME.corrupt-<timestamp>` and reported; loading never throws for bad content.
   */
  async load(): Promise<LoadResult> {
    await mkdir(this.dir, { recursive: true });
    const removedTemp: string[] = [];
    for (const f of await readdir(this.dir)) {
      if (f.startsWith(`${this.name}.tmp-`)) {
        await ignoreMissing(unlink(join(this.dir, f)));
        removedTemp.push(join(this.dir, f));
      }
    }
    const corrupt: CorruptSnapshot[] = [];
    for (const path of [this.path, this.prevPath]) {
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        corrupt.push({ path, movedTo: '', code: 'E_SNAPSHOT_READ', message: `cannot read: ${(e as Error).message}` });
        continue;
      }
      const r = decodeSnapshot(bytes);
      if (r.ok) return { state: r.value, sections: r.sections, source: path, bytes: bytes.length, corrupt, removedTemp };
      const movedTo = await this.moveAside(path);
      corrupt.push({ path, movedTo, code: r.error.code, message: r.error.message });
    }
    return { state: null, source: null, bytes: 0, corrupt, removedTemp };
  }

  private async moveAside(path: string): Promise<string> {
    const stamp = new Date(this.now()).toISOString().replace(/[:.]/g, '-');
    const base = `${path}.corrupt-${stamp}`;
    const taken = new Set(await readdir(this.dir));
    let target = base;
    for (let i = 1; taken.has(basename(target)); i++) target = `${base}-${i}`;
    await rename(path, target);
    await this.syncDir();
    return target;
  }

  private async syncDir(): Promise<void> {
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
