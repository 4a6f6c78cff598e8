import { createRequire } from 'node:module';
import { acceptedIndexer } from '../protocol/native-index.ts';
import type { FrameIndexer, NativeIndexModule } from '../protocol/native-index.ts';

let loaded: { indexer: FrameIndexer | null; why: string } | undefined;

/**
 * The native indexer, or null with the reason it is not there (not built: no C compiler or
 * headers at install; turned off with SIPSTATS_NATIVE_INDEX=0). The same relative path from src/ingest and dist/ingest.
 */
export function nativeIndexer(): { indexer: FrameIndexer | null; why: string } {
  if (loaded !== undefined) return loaded;
  if (process.env.SIPSTATS_NATIVE_INDEX === '0') return (loaded = { indexer: null, why: 'native frame indexer turned off (SIPSTATS_NATIVE_INDEX=0)' });
  try {
    loaded = acceptedIndexer(createRequire(import.meta.url)('../../native/build/sip-index.node') as NativeIndexModule);
  } catch (e) {
    loaded = { indexer: null, why: `native frame indexer not built (${(e as Error).message.split('\n')[0]}): see scripts/build-native.mjs` };
  }
  return loaded;
}
