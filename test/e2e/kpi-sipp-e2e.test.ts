import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { captureSippMix, compareKpis, tolerances } from '../support/sipp-capture.ts';
import { start } from '../../src/app/server.ts';
import { readPcap } from '../support/pcap-read.ts';
import { decodeUdp } from '../support/pcap-link.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';

// Real SIP end to end: sipp UAC and UAS on loopback run a known mix (docs/kpi-e2e.md),
// tcpdump captures it; `sipstats replay` of the capture, and the same capture streamed live as HEP
// to a running server, both give the KPI values the mix implies.
test('sipp traffic captured with tcpdump: replay and live HEP both give the expected KPIs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-e2e-'));
  try {
    const cap = await captureSippMix({ dir });
    const timeoutS = String(cap.expected.inviteTimeoutMs / 1000);
    // exact against what the capture itself measured (±1 ms rounding); against the scenario's
    // nominal delays with room for sipp's late pauses on a loaded CI machine
    const exact = tolerances(Object.keys(cap.expected.values), 1);
    const nominal = tolerances(Object.keys(cap.expected.values), 150);

    // 1. offline replay of the pcap, on the capture's clock: exactly what the capture measures
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'replay', '--json', '--invite-timeout', timeoutS, cap.pcap], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const replayed = JSON.parse(r.stdout) as Record<string, number>;
    assert.deepEqual(compareKpis(replayed, cap.expected.measured, exact), []);
    assert.deepEqual(compareKpis(replayed, cap.expected.values, nominal), []);

    // 2. the same packets as HEP over TCP to a live server (capture timestamps in HEP chunks 9/10)
    const frames: Buffer[] = [];
    let first = Infinity;
    let last = 0;
    for (const p of readPcap(readFileSync(cap.pcap)).packets) {
      const u = decodeUdp(p.linkType, p.data);
      if (u === null || u.payload.length === 0) continue;
      first = Math.min(first, p.timeMs);
      last = Math.max(last, p.timeMs);
      frames.push(encodeHep({ srcIp: u.srcIp, dstIp: u.dstIp, srcPort: u.srcPort, dstPort: u.dstPort, timeMs: p.timeMs, payload: u.payload, nodeName: 'sipp-e2e' }));
    }
    let now = first; // the server's clock follows the capture: no call can time out mid-stream
    const srv = await start({ listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, clock: () => now, tracker: { inviteTimeoutMs: cap.expected.inviteTimeoutMs }, print: () => {}, log: () => {}, env: {} });
    try {
      const port = Number(srv.hepAddress!.split(':').pop());
      await new Promise<void>((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => c.end(Buffer.concat(frames), () => resolve()));
        c.on('error', reject);
      });
      const mi = async (method: string, params: unknown) => (await (await fetch(`${srv.url}/mi`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json()).result;
      for (let i = 0; i < 500 && ((await mi('get_statistics', [['sipstats:hep_packets']]))['sipstats:hep_packets'] ?? 0) < frames.length; i++) await new Promise((res) => setTimeout(res, 10));
      now = last + cap.expected.inviteTimeoutMs + 1; // then time passes: the unanswered call times out
      for (let i = 0; i < 300 && ((await mi('get_statistics', [['sipstats:calls_timed_out']]))['sipstats:calls_timed_out'] ?? 0) < 1; i++) await new Promise((res) => setTimeout(res, 10));
      const live = (await mi('get_statistics', [['all']])) as Record<string, number>;
      assert.equal(live['sipstats:hep_packets'], frames.length);
      assert.deepEqual(compareKpis(live, cap.expected.measured, exact), []);
      assert.deepEqual(compareKpis(live, cap.expected.values, nominal), []);
    } finally {
      await srv.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
