#!/usr/bin/env node
// Builds the native modules with the system's C compiler and Node's own headers. Part of
// `npm run build` (so of `npm ci`). Both are optional: when one cannot be built (no compiler, no
// headers, not Linux), it says so and sipstats does the same in JavaScript; the build does not fail.
//  - native/udp-recv.c -> native/build/udp-recv.node: the UDP receiver (recvmmsg on a thread of
//    its own); without it UDP is read by a JavaScript thread (src/ingest/hep-udp.ts).
//  - native/sip-index.c -> native/build/sip-index.node: the frame indexer (the fast path of HEP
//    decoding and SIP parsing); without it the JavaScript decoder and parser read every frame.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = [
  { name: 'udp-recv', linuxOnly: 'recvmmsg is Linux only', without: 'UDP will be read by a JavaScript thread', flags: ['-pthread'] },
  { name: 'sip-index', without: 'HEP frames will be decoded and parsed in JavaScript only', flags: [] },
];
const candidates = [process.env.npm_config_nodedir, join(dirname(process.execPath), '..')].filter(Boolean).map((d) => join(d, 'include', 'node'));
const include = candidates.find((d) => existsSync(join(d, 'node_api.h')));
const cc = process.env.CC || 'cc';
for (const m of modules) {
  const skip = (why) => console.error(`sipstats: native ${m.name} not built (${why}); ${m.without}`);
  if (m.linuxOnly && process.platform !== 'linux') {
    skip(`${m.linuxOnly}, this is ${process.platform}`);
    continue;
  }
  if (include === undefined) {
    skip(`Node's headers (node_api.h) not found in ${candidates.join(', ')}`);
    continue;
  }
  const src = join(root, 'native', `${m.name}.c`);
  const out = join(root, 'native', 'build', `${m.name}.node`);
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-fPIC', '-shared', ...m.flags, `-I${include}`, '-o', `${out}.tmp`, src], { stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    skip(r.error ? `${cc}: ${r.error.message}` : `${cc} exited with ${r.status}`);
    continue;
  }
  renameSync(`${out}.tmp`, out);
}
