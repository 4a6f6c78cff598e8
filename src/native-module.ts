import { createRequire } from 'node:module';

/**
 * Loads native module `name` (native/build/NAME.node, built by scripts/build-native.mjs) when it
 * speaks API version `api`: the module, or null with the reason it is not there (not built: no C
 * compiler or headers at install, or not this system's; built from another source; turned off with
 * `${offEnv}=0`). `what` names it in the reasons, `using` says what is used when it is. A leaf: the
 * loaders of the file lock and the memory trim share it (the UDP receiver and the frame indexer
 * check a layout of their own). The same relative path from src/ and dist/.
 */
export function loadNative<T extends { readonly api?: number }>(name: string, api: number, what: string, using: string, offEnv: string): { native: T | null; why: string } {
  if (process.env[offEnv] === '0') return { native: null, why: `${what} turned off (${offEnv}=0)` };
  try {
    const m = createRequire(import.meta.url)(`../native/build/${name}.node`) as T;
    return m.api === api ? { native: m, why: using } : { native: null, why: `${what} built from another source: rebuild it with \`npm run build\`` };
  } catch (e) {
    return { native: null, why: `${what} not built (${(e as Error).message.split('\n')[0]}): see scripts/build-native.mjs` };
  }
}
