#!/usr/bin/env node
// Builds the native UDP receiver (native/udp-recv.c -> native/build/udp-recv.node) with the system's
// C compiler and Node's own headers. Part of `npm run build` (so of `npm ci`). Optional: when it
// cannot be built (no compiler, no headers, not Linux), it says so and sipstats reads UDP with a
// JavaScript thread instead (src/ingest/hep-udp.ts); the build does not fail.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'udp-recv.c');
const out = join(root, 'native', 'build', 'udp-recv.node');
const skip = (why) => {
  console.error(`sipstats: native UDP receiver not built (${why}); UDP will be read by a JavaScript thread`);
  process.exit(0);
};
if (process.platform !== 'linux') skip(`recvmmsg is Linux only, this is ${process.platform}`);
const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')].filter(Boolean).map((d) => join(d, 'include', 'node'));
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
if (include === undefined) skip(`Node's headers (node_api.h) not found in ${candidates.join(', ')}`);
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || 'cc';
const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-fPIC', '-shared', '-pthread', `-I${include}`, '-o', `${out}.tmp`, src], { stdio: 'inherit' });
if (r.error || r.status !== 0) skip(r.error ? `${cc}: ${r.error.message}` : `${cc} exited with ${r.status}`);
renameSync(`${out}.tmp`, out);
