import { loadNative } from '../native-module.ts';

/**
 * The native file lock's API (native/file-lock.c, built by scripts/build-native.mjs): flock(2) on a
 * file descriptor opened by JavaScript. Used by src/persist/dir-lock.ts for the data directory.
 */
export interface NativeLock {
  /** flock(fd, LOCK_EX | LOCK_NB): 0, or the errno's name ("EWOULDBLOCK": held by another open file). */
  lock(fd: number): 0 | string;
  /** flock(fd, LOCK_UN): 0, or the errno's name. */
  unlock(fd: number): 0 | string;
  /** The version of this API the module was built with (FILE_LOCK_API). */
  readonly api?: number;
}

/** The API version this source speaks (FILE_LOCK_API in native/file-lock.c). */
const API = 1;

let loaded: { native: NativeLock | null; why: string } | undefined;

/**
 * The native file lock, or null with the reason it is not there (not built: no C compiler or
 * headers at install; built from another source; turned off with SIPSTATS_NATIVE_LOCK=0).
 */
export function nativeLock(): { native: NativeLock | null; why: string } {
  return (loaded ??= loadNative<NativeLock>('file-lock', API, 'native file lock', 'native file lock (flock)', 'SIPSTATS_NATIVE_LOCK'));
}
