/** docs/kpis.md lists every transport and skip reason of the capture decoder (one definition). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SKIP_REASONS, TRANSPORTS } from '../../src/protocol/net/capture-counts.ts';
import { CAPTURE_DEFAULTS } from '../../src/protocol/net/capture.ts';
import { FRAGMENT_DEFAULTS } from '../../src/protocol/net/fragments.ts';
import { TCP_DEFAULTS } from '../../src/protocol/net/tcp.ts';

test('docs/kpis.md lists what replay reads and every skip reason, with the same words', () => {
  const doc = readFileSync(new URL('../../docs/kpis.md', import.meta.url), 'utf8');
  for (const [k, v] of [...Object.entries(TRANSPORTS), ...Object.entries(SKIP_REASONS)]) {
    assert.ok(doc.includes(`| \`${k}\` | ${v} |`), `docs/kpis.md: row for ${k}`);
  }
});

test('docs/kpis.md states the capture decoder\'s bounds as the code has them (fragments, TCP, messages, inflation)', () => {
  const doc = readFileSync(new URL('../../docs/kpis.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
  const n = (x: number) => String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ' '); // 4 096
  const size = (b: number) => (b % 1048576 === 0 ? `${b / 1048576} MiB` : `${b / 1024} KiB`);
  const s = (ms: number) => `${ms / 1000} s`;
  const f = FRAGMENT_DEFAULTS;
  const t = TCP_DEFAULTS;
  for (const phrase of [
    `at most ${n(f.maxDatagrams)} datagrams and ${size(f.maxBytes)} held; a datagram not complete ${s(f.timeoutMs)} of capture time`,
    `at most ${n(t.maxFlows)} directions, ${size(t.maxOutOfOrder)} out of order per direction and ${size(t.maxTotalBytes)} in all, ${size(CAPTURE_DEFAULTS.maxMessage)} per message; a hole not filled within ${s(t.gapTimeoutMs)} of capture time`,
    `inflated (at most ${size(CAPTURE_DEFAULTS.maxInflated)})`,
  ]) assert.ok(doc.includes(phrase), `docs/kpis.md should say: ${phrase}`);
});
