/**
 * Media quality from a capture's RTP, against an independent reader of the same file: tshark's
 * `-z rtp,streams` (Debian package tshark). Calls of one customer each, one impaired direction
 * (loss, jitter with reordering, both) beside a clean one: each customer's LOSS is the lost over
 * the expected packets of its two streams, its JITTER the mean of their mean jitters, JITTER_max
 * the larger max jitter: all as tshark reads them, to the second decimal sipstats keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayCapture } from '../../src/app/replay.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { mos } from '../../src/media/emodel.ts';
import { mediaCapture } from '../support/rtp-capture.ts';
import type { MediaCallSpec } from '../support/rtp-capture.ts';

interface TsharkStream {
  src: string;
  dst: string;
  ssrc: number;
  packets: number;
  lost: number;
  meanJitter: number;
  maxJitter: number;
}

/** tshark's rtp,streams table, one row per stream. */
function tsharkStreams(file: string): TsharkStream[] {
  const r = spawnSync('tshark', ['-q', '-r', file, '-z', 'rtp,streams'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tshark: ${r.stderr}`);
  const out: TsharkStream[] = [];
  for (const line of r.stdout.split('\n')) {
    // start end src sport dst dport ssrc payload pkts lost (pct) minDelta meanDelta maxDelta minJitter meanJitter maxJitter [X]
    const m = /^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+\S+\s+(\d+)\s+(-?\d+)\s+\([^)]*\)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)/.exec(line);
    if (m === null) continue;
    out.push({ src: `${m[1]}:${m[2]}`, dst: `${m[3]}:${m[4]}`, ssrc: parseInt(m[5], 16), packets: Number(m[6]), lost: Number(m[7]), meanJitter: Number(m[8]), maxJitter: Number(m[9]) });
  }
  return out;
}

const CALLS: MediaCallSpec[] = [
  { customer: 'clean', seconds: 20 },
  { customer: 'lossy', seconds: 30, lossOut: 0.03 },
  { customer: 'jittery', seconds: 30, jitterOut: 12 },
  // jitter past the packet interval: packets overtake each other (reordering)
  { customer: 'reordered', seconds: 30, jitterOut: 45, lossBack: 0.01 },
  { customer: 'bad', seconds: 30, lossOut: 0.15, jitterOut: 25, lossBack: 0.08, jitterBack: 10 },
  { customer: 'oneway', seconds: 10, silentBack: true },
];

test('replay of SIP + RTP: LOSS, JITTER, JITTER_max per customer as tshark -z rtp,streams reads the same file; MOS, POOR, NOMEDIA', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-media-'));
  try {
    const file = join(dir, 'media.pcap');
    writeFileSync(file, mediaCapture(CALLS, 7));
    const ts = tsharkStreams(file);
    // every stream of every call (one-way: one), found by tshark through the capture's SDP
    assert.equal(ts.length, CALLS.length * 2 - 1, `tshark streams: ${JSON.stringify(ts)}`);
    const r = await replayCapture(file, { config: KPI_MODPARAMS });
    const g = (n: string) => r.stats.getStat(n);
    assert.equal(g('sipstats:rtp_packets'), ts.reduce((a, s) => a + s.packets, 0), 'every RTP packet tshark counts was tied to its call');
    assert.equal(g('sipstats:skipped_not_sip'), null);
    let allLost = 0;
    let allExpected = 0;
    for (const [n, c] of CALLS.entries()) {
      // the streams of call n+1 (addresses from its number: see test/support/rtp-capture.ts)
      const mine = ts.filter((s) => s.src.startsWith(`10.1.0.${n + 1}:`) || s.src.startsWith(`10.2.0.${n + 1}:`));
      const lost = mine.reduce((a, s) => a + s.lost, 0);
      const expected = mine.reduce((a, s) => a + s.packets + s.lost, 0);
      allLost += lost;
      allExpected += expected;
      const loss = g(`LOSS${c.customer}`)!;
      assert.ok(Math.abs(loss - (100 * lost) / expected) <= 0.006, `${c.customer}: LOSS ${loss}, tshark ${((100 * lost) / expected).toFixed(3)}`);
      const jitter = mine.reduce((a, s) => a + s.meanJitter, 0) / mine.length;
      assert.ok(Math.abs(g(`JITTER${c.customer}`)! - jitter) <= 0.006, `${c.customer}: JITTER ${g(`JITTER${c.customer}`)}, tshark ${jitter.toFixed(3)}`);
      const maxJ = Math.max(...mine.map((s) => s.maxJitter));
      assert.ok(Math.abs(g(`JITTER_max${c.customer}`)! - maxJ) <= 0.006, `${c.customer}: JITTER_max ${g(`JITTER_max${c.customer}`)}, tshark ${maxJ}`);
      // MOS: the call's worst stream, by the E-model of docs/kpis.md from tshark's own figures
      const worst = Math.min(...mine.map((s) => mos('PCMA', (100 * Math.max(0, s.lost)) / (s.packets + s.lost), s.meanJitter)));
      assert.ok(Math.abs(g(`MOS${c.customer}`)! - worst) <= 0.006, `${c.customer}: MOS ${g(`MOS${c.customer}`)}, from tshark's figures ${worst.toFixed(3)}`);
      assert.equal(g(`POOR${c.customer}`), worst < 3.6 ? 100 : 0, `${c.customer}: POOR`);
      assert.equal(g(`NOMEDIA${c.customer}`), c.silentBack ? 100 : 0, `${c.customer}: NOMEDIA`);
    }
    assert.ok(Math.abs(g('LOSS')! - (100 * allLost) / allExpected) <= 0.006, `all traffic: LOSS ${g('LOSS')}, tshark ${((100 * allLost) / allExpected).toFixed(3)}`);
    // the impairments show where they were put
    assert.ok(g('MOSclean')! >= 4.2 && g('MOSbad')! < 3.6, `MOS clean ${g('MOSclean')}, bad ${g('MOSbad')}`);
    assert.ok(g('JITTERjittery')! > g('JITTERclean')! && g('LOSSlossy')! > 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay of SIP alone: no media KPI (nothing says "no media" where the capture simply holds none)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-media-'));
  try {
    // the same calls with their RTP left out of the file: only SIP (port 5060) kept
    const file = join(dir, 'sip.pcap');
    writeFileSync(file, mediaCapture(CALLS.slice(0, 2), 3));
    const filtered = join(dir, 'sip-only.pcap');
    const t = spawnSync('tshark', ['-r', file, '-Y', 'sip', '-w', filtered, '-F', 'pcap'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const r = await replayCapture(filtered, { config: KPI_MODPARAMS });
    assert.equal(r.stats.getStat('sipstats:calls_started'), 2);
    assert.equal(r.stats.getStat('ASR'), 100);
    for (const k of ['LOSS', 'JITTER', 'MOS', 'POOR', 'NOMEDIA']) assert.equal(r.stats.getStat(k), null, `${k} without RTP in the capture`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sipstats replay prints the media KPIs per customer; --no-media leaves the RTP aside', async () => {
  const { spawnSync: run } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-media-'));
  try {
    const file = join(dir, 'media.pcap');
    writeFileSync(file, mediaCapture(CALLS.slice(0, 2), 5));
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', main, 'replay', '--no-progress', ...args, file], { encoding: 'utf8' });
    const on = cli();
    assert.equal(on.status, 0, on.stderr);
    assert.match(on.stdout, /RTP\/RTCP/);
    assert.match(on.stdout.split('\n').find((l) => l.startsWith('customer'))!, /LOSS \(%\).*JITTER \(ms\).*MOS/);
    const off = cli('--no-media');
    assert.equal(off.status, 0, off.stderr);
    assert.doesNotMatch(off.stdout, /RTP\/RTCP|MOS|LOSS/);
    assert.match(off.stdout, /not_sip/, 'the RTP is counted as skipped (not SIP), never dropped silently');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
