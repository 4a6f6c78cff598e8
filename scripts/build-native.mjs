#!/usr/bin/env node
// Builds the native modules with the system's C compiler and Node's own headers. Part of
// `npm run build` (so of `npm ci`). All are optional: when one cannot be built (no compiler, no
// headers, not Linux), it says so and sipstats does the same in JavaScript; the build does not fail.
//  - native/udp-recv.c -> native/build/udp-recv.node: the UDP receiver (recvmmsg on a thread of
//    its own); without it UDP is read by a JavaScript thread (src/ingest/hep-udp.ts).
//  - native/sip-index.c -> native/build/sip-index.node: the frame indexer (the fast path of HEP
//    decoding and SIP parsing); without it the JavaScript decoder and parser read every frame.
//  - native/file-lock.c -> native/build/file-lock.node: flock(2) for the data directory's lock,
//    which the kernel drops when the process dies; without it the lock is a PID file
//    (src/persist/dir-lock.ts, docs/persistence.md: its limits).
//  - native/mem-trim.c -> native/build/mem-trim.node: glibc's malloc_trim, which `sipstats serve`
//    calls now and then to give freed memory back to the system (src/app/mem-trim.ts); without it
//    (not glibc) memory freed below the C heap's top stays in the process's resident set.
// buildNative() is also what test/integration/native-stale.test.ts builds an old module with.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const NATIVE_MODULES = [
  { name: 'udp-recv', linuxOnly: 'recvmmsg is Linux only', without: 'UDP will be read by a JavaScript thread', flags: ['-pthread'] },
  { name: 'sip-index', without: 'HEP frames will be decoded and parsed in JavaScript only', flags: [] },
  { name: 'file-lock', without: 'the data directory will be locked with a PID file (docs/persistence.md: its limits)', flags: [] },
  { name: 'mem-trim', linuxOnly: 'malloc_trim is glibc\'s', without: 'memory the C allocator frees below its heap\'s top will stay in the server\'s resident set', flags: [] },
];

/**
 * Builds module `name` (native/NAME.c, or `source`) into `out` (default native/build/NAME.node), with
 * extra compiler arguments (e.g. -D...); returns null, or why it could not be built.
 */
export function buildNative(name, out = join(root, 'native', 'build', `${name}.node`), extra = [], source = join(root, 'native', `${name}.c`)) {
  const m = NATIVE_MODULES.find((x) => x.name === name);
  if (m.linuxOnly && process.platform !== 'linux') return `${m.linuxOnly}, this is ${process.platform}`;
  const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')].filter(Boolean).map((d) => join(d, 'include', 'node'));
  const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (include === undefined) return `Node's headers (node_api.h) not found in ${candidates.join(', ')}`;
  const cc = process.env.CC || 'cc';
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-fPIC', '-shared', ...m.flags, ...extra, `-I${include}`, '-o', `${out}.tmp`, source], { stdio: 'inherit' });
  if (r.error || r.status !== 0) return r.error ? `${cc}: ${r.error.message}` : `${cc} exited with ${r.status}`;
  renameSync(`${out}.tmp`, out);
  return null;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const m of NATIVE_MODULES) {
    const why = buildNative(m.name);
    if (why !== null) console.error(`sipstats: native ${m.name} not built (${why}); ${m.without}`);
  }
}
