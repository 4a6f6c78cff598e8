import { loadNative } from '../native-module.ts';

/**
 * The native memory trim's API (native/mem-trim.c, built by scripts/build-native.mjs on glibc
 * systems): malloc_trim(0), which gives the C heap's free pages back to the system wherever they
 * are (free() alone gives back only the top of the heap).
 */
export interface NativeTrim {
  /** malloc_trim(0): true when memory was given back. */
  trim(): boolean;
  /** The version of this API the module was built with (MEM_TRIM_API). */
  readonly api?: number;
}

/** The API version this source speaks (MEM_TRIM_API in native/mem-trim.c). */
const API = 1;

let loaded: { native: NativeTrim | null; why: string } | undefined;

/** The native trim, or null with the reason it is not there (not glibc, not built, built from another source, turned off with SIPSTATS_MEM_TRIM=0). */
export function nativeTrim(): { native: NativeTrim | null; why: string } {
  return (loaded ??= loadNative<NativeTrim>('mem-trim', API, 'native memory trim', 'native memory trim (malloc_trim)', 'SIPSTATS_MEM_TRIM'));
}

/**
 * For a server: every `intervalMs`, the C heap's free pages go back to the system. V8 keeps typed
 * arrays (the series' slot rings, the KPI scopes' tables) in the C heap and replaces them as they
 * grow: a burst of new customers leaves freed pages between live ones, which RSS keeps counting
 * until they are trimmed (measured: 2.2 KB of RSS a new customer). A pass took 2–4 ms when it gave
 * back 20–40 MB (processes of 200 MB to 1 GB), 0.1–0.3 ms when there was nothing to give; it holds
 * the allocator's lock meanwhile (the UDP receiver's thread may wait that long: the socket's buffer
 * holds what arrives). Nothing when there is no native trim or `intervalMs` is 0; the timer does not
 * keep the process alive.
 */
export function trimMemoryEvery(intervalMs: number): void {
  const { native } = nativeTrim();
  if (native === null || !(intervalMs > 0)) return;
  setInterval(() => native.trim(), intervalMs).unref();
}
