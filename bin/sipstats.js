#!/usr/bin/env node
// sipstats command line. Runs the compiled CLI (dist/, built by `npm ci` through `prepare`).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (e) {
  if (e && e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist')) {
    process.stderr.write('sipstats: dist/ is missing; run `npm run build` (or `npm ci`) first\n');
    process.exit(2);
  }
  throw e;
}
const code = await cli.main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
