/**
 * An agent's backlog keeps durations exact. A real Kamailio capture's HEP sent to a server in one
 * burst (a capture agent flushing its buffer after a collector outage, or a capture replayed over
 * HEP faster than real time) gave ACD 1 s for calls that lasted 3 s: the per-agent clock shift
 * (AgentClocks) followed the burst's capture times, which advance faster than arrival, as if the
 * agent's clock had jumped, and PDD/AST/ACD were differences of shifted times. They are now
 * differences of the agent's own capture times; only timeouts and expiry use the shifted timeline.
 *
 * The same HEP (test/fixtures/kamailio-5.6/hep.pcap) goes to real servers over UDP: once at its own
 * pace, live (capture times = now), and in one burst with capture times a few seconds to an hour
 * off the server's clock; every KPI series must come out the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { start } from '../../src/app/server.ts';
import type { Running as RunningServer } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { readPcap } from '../support/pcap-read.ts';
import { decodeUdp } from '../support/pcap-link.ts';
import { sipstatsYaml } from '../support/kamailio.ts';
import { kpiByName } from '../../src/kpi/catalogue.ts';
import { StatKind } from '../../src/core/stat.ts';

const FIXTURE = new URL('../fixtures/kamailio-5.6/hep.pcap', import.meta.url);

/** The HEP frames of the capture (UDP payloads) and where each one's capture time is. */
function frames(): { bytes: Buffer; timeMs: number; secAt: number; usecAt: number }[] {
  const { packets, stats } = readPcap(readFileSync(FIXTURE));
  assert.equal(stats.error, null);
  return packets.map((p) => {
    const u = decodeUdp(p.linkType, p.data)!;
    const b = Buffer.from(u.payload);
    let secAt = -1;
    let usecAt = -1;
    // HEP v3: 'HEP3', total length, then chunks (vendor u16, type u16, length u16 with header, value)
    for (let o = 6; o + 6 <= b.length; ) {
      const type = b.readUInt16BE(o + 2);
      const len = b.readUInt16BE(o + 4);
      if (type === 0x0009) secAt = o + 6;
      if (type === 0x000a) usecAt = o + 6;
      o += len;
    }
    assert.ok(secAt > 0 && usecAt > 0, 'every frame carries its capture time');
    return { bytes: b, timeMs: b.readUInt32BE(secAt) * 1000 + b.readUInt32BE(usecAt) / 1000, secAt, usecAt };
  });
}

/**
 * The frames with every capture time moved so that the first one is `firstMs`, give or take half a
 * second: by whole seconds, so every run has the same second boundaries (CPS_max counts per second).
 */
function moved(fs: ReturnType<typeof frames>, firstMs: number): { bytes: Buffer; timeMs: number }[] {
  const d = Math.round((firstMs - fs[0].timeMs) / 1000) * 1000;
  return fs.map((f) => {
    const b = Buffer.from(f.bytes);
    const t = f.timeMs + d;
    const us = Math.round(t * 1000);
    b.writeUInt32BE(Math.floor(us / 1e6), f.secAt);
    b.writeUInt32BE(us % 1e6, f.usecAt);
    return { bytes: b, timeMs: t };
  });
}

async function server(): Promise<RunningServer> {
  const parsed = parseNativeText(sipstatsYaml(false));
  assert.ok(parsed.ok);
  return start({ config: parsed.value, listen: '127.0.0.1:0', hepListen: '127.0.0.1:0', dataDir: null, print: () => {}, log: () => {}, env: {} });
}

async function send(srv: RunningServer, fs: readonly { bytes: Buffer; timeMs: number }[], paced: boolean): Promise<void> {
  const port = Number(srv.hepAddress!.split(':').pop());
  const sock = createSocket('udp4');
  try {
    const t0 = Date.now();
    for (const f of fs) {
      if (paced) {
        const due = f.timeMs - fs[0].timeMs - (Date.now() - t0);
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      await new Promise<void>((res, rej) => sock.send(f.bytes, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
    }
  } finally {
    sock.close();
  }
  for (let i = 0; i < 500 && (srv.stats.getStat('sipstats:hep_packets') ?? 0) < fs.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(srv.stats.getStat('sipstats:hep_packets'), fs.length, 'every frame reached the server');
  // what waits 2 s after a call's final reply (its FOR) is decided, and the call time not yet in
  // CC_avg (added every 5 s) is, the same way for both: a tick past the capture's whole span and one
  // CC_avg step from now, whatever the clock the burst's agent was given
  srv.pipeline.tick(Date.now() + (fs[fs.length - 1].timeMs - fs[0].timeMs) + 5_500);
}

/**
 * Every 1-minute KPI series (all traffic, customers, carriers, destinations) by name; a rate (CPS)
 * by its count (its value divides by the time its window covers when read).
 */
function kpis(srv: RunningServer): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  srv.stats.engine.forEachStat((v) => {
    const l = v.labels as { kpi?: string; window?: string } | null | undefined;
    if (v.kind !== 'series' || l?.kpi === undefined || l.window !== '1m') return;
    out[v.name] = kpiByName(l.kpi)?.kind === 'rate' ? readCount(srv, v.name) : v.value;
  });
  return out;
}

/** The starts behind a rate series: its sum over the window (what `rate` divides). */
function readCount(srv: RunningServer, name: string): number {
  const s = srv.stats.engine.lookup(name);
  assert.ok(s !== undefined && s.kind === StatKind.Series);
  const x = s.profile.window(s, srv.stats.engine.clock());
  return x[0];
}

test('an agent\'s backlog: a real capture\'s HEP in one burst gives the KPIs it gives at its own pace (PDD, AST, ACD exact)', { timeout: 120_000 }, async () => {
  const fs = frames();
  const span = fs[fs.length - 1].timeMs - fs[0].timeMs;
  assert.ok(span > 3000, `the capture spans ${span} ms`);

  // at its own pace, as a live agent sends it: capture times are the server's now
  const paced = await server();
  let reference: Record<string, number | null>;
  try {
    await send(paced, moved(fs, Date.now()), true);
    reference = kpis(paced);
    assert.equal(paced.stats.getStat('sipstats:capture_clock_adjustments'), null, 'a live agent on time is never shifted');
  } finally {
    await paced.close();
  }
  // what the capture holds: globex's answered calls lasted about 3 s (held 2.9-3.2 s after a set-up of 0.5-0.7 s)
  assert.ok(reference.ACDglobex !== null && reference.ACDglobex! >= 3, `ACDglobex at its own pace: ${reference.ACDglobex}`);
  assert.ok(reference['ACD~carrier=carrier_a'] !== undefined);

  // one burst, the agent's capture times some seconds to an hour off the server's clock
  for (const offMs of [-6000, -8000, -3600_000, 3600_000]) {
    const burst = await server();
    try {
      await send(burst, moved(fs, Math.round(Date.now() + offMs)), false);
      assert.deepEqual(kpis(burst), reference, `one burst, capture times ${offMs / 1000} s from the server's clock`);
      assert.equal(burst.stats.getStat('sipstats:calls_timed_out'), null);
    } finally {
      await burst.close();
    }
  }
});
