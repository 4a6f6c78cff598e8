import { readFile, stat } from 'node:fs/promises';
import { createStats } from '../stats.ts';
import type { Stats } from '../stats.ts';
import type { EngineConfig } from '../core/types.ts';
import { SipPipeline } from '../kpi/sip-pipeline.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';
import { decodeHep } from '../protocol/hep/decode.ts';
import { iteratePcap, newPcapStats } from '../protocol/pcap/read.ts';
import { decodeUdp, newLinkStats } from '../protocol/pcap/link.ts';

export interface ReplayOptions extends TrackerOptions {
  config: string | EngineConfig;
  /** Called now and then with the share of the file done (0..1) and packets so far. */
  progress?: (done: number, packets: number) => void;
}

export interface ReplayResult {
  stats: Stats;
  packets: number;
  sipMessages: number;
  hepFrames: number;
  skipped: number;
  firstMs: number;
  lastMs: number;
  error?: { code: string; message: string };
}

/**
 * Offline replay (issue 4): a pcap or pcapng capture (Ethernet, Linux cooked, raw IP; IPv4/IPv6;
 * UDP SIP and HEP-in-UDP) through the same pipeline as live traffic, on the capture's clock.
 */
export async function replayCapture(file: string, opts: ReplayOptions): Promise<ReplayResult> {
  const size = (await stat(file)).size;
  const buf = await readFile(file);
  let now = 0;
  const stats = createStats({ config: opts.config, clock: () => now });
  const pipe = new SipPipeline(stats.engine, { ...opts, onPacketTime: (t) => (now = Math.max(now, t)) });
  const pstats = newPcapStats();
  const lstats = newLinkStats();
  const r: ReplayResult = { stats, packets: 0, sipMessages: 0, hepFrames: 0, skipped: 0, firstMs: NaN, lastMs: NaN };
  for (const p of iteratePcap(buf, pstats)) {
    r.packets++;
    if (r.packets === 1) r.firstMs = p.timeMs;
    r.lastMs = p.timeMs;
    if (opts.progress !== undefined && (r.packets & 0x3fff) === 0) opts.progress(p.data.byteOffset / size, r.packets);
    const udp = decodeUdp(p.linkType, p.data, lstats);
    if (udp === null || udp.payload.length === 0) {
      r.skipped++;
      continue;
    }
    const pl = udp.payload;
    if (pl.length >= 4 && pl[0] === 0x48 && pl[1] === 0x45 && pl[2] === 0x50 && pl[3] === 0x33) {
      // HEP3 in UDP: its own capture time wins over the pcap's
      const h = decodeHep(pl);
      if (!h.ok) {
        stats.engine.selfStat('hep_decode_errors');
        continue;
      }
      r.hepFrames++;
      pipe.onHepPacket(h.value);
    } else {
      r.sipMessages++;
      pipe.onSip(pl, { timeMs: p.timeMs, srcIp: udp.srcIp, dstIp: udp.dstIp, srcPort: udp.srcPort, dstPort: udp.dstPort });
    }
  }
  if (pstats.error !== undefined && pstats.error !== null) r.error = { code: pstats.error.code, message: pstats.error.message };
  if (r.packets > 0) pipe.tick(now); // decide what the capture's last instant decides (timeouts)
  opts.progress?.(1, r.packets);
  return r;
}
