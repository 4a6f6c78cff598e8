import { open, stat } from 'node:fs/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { createStats } from '../stats.ts';
import type { Stats } from '../stats.ts';
import type { EngineConfig } from '../core/types.ts';
import { parseOpenSipsConfig } from '../config/opensips.ts';
import { ConfigError } from '../errors.ts';
import { describeDeclared, withKpiProfiles } from './kpi-profiles.ts';
import { SipPipeline } from '../kpi/sip-pipeline.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';
import { CaptureDecoder } from '../protocol/net/capture.ts';
import type { CaptureOptions } from '../protocol/net/capture.ts';
import { readStatName, skipStatName, totalSip, totalSkipped, SKIP_REASONS, TRANSPORTS } from '../protocol/net/capture-counts.ts';
import type { SkipReason, Transport } from '../protocol/net/capture-counts.ts';
import { PcapStreamReader } from '../protocol/pcap/capture-reader.ts';
import { inflatePayload } from '../ingest/inflate.ts';
import { nativeIndexer } from '../ingest/load-native-index.ts';
import type { FrameIndexer } from '../protocol/native-index.ts';

export interface ReplayOptions extends TrackerOptions {
  config: string | EngineConfig;
  /** Called now and then with the share of the file done (0..1) and packets so far. */
  progress?: (done: number, packets: number) => void;
  /** Bounds of the capture decoder (fragments, TCP); defaults suit captures of any size. */
  capture?: Omit<CaptureOptions, 'inflate'>;
  /** The native frame indexer for the SIP messages (default: the built one, if any; null: the JavaScript parser alone). */
  indexer?: FrameIndexer | null;
  /** Bytes read from the file at a time (default `DEFAULTS.replay.chunkBytes`, 1 MiB). */
  chunkBytes?: number;
  /** Where the profiles declared for the KPIs, and failed KPI updates (rate-limited), are reported. */
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface ReplayResult {
  stats: Stats;
  /** Frames in the file. */
  packets: number;
  /** SIP messages read, every transport (HEP frames not included). */
  sipMessages: number;
  hepFrames: number;
  /** UDP datagrams the media layer took (RTP and RTCP at the addresses of the calls' SDP, or RTP nowhere named). */
  mediaPackets: number;
  /** Sum of `skippedBy`. */
  skipped: number;
  /** SIP messages per transport ('hep': HEP frames). */
  read: Record<Transport, number>;
  /** What gave no SIP, per reason (src/protocol/net/capture-counts.ts, docs/kpis.md). */
  skippedBy: Record<SkipReason, number>;
  /** File size, bytes. */
  bytes: number;
  firstMs: number;
  lastMs: number;
  error?: { code: string; message: string };
}


/**
 * Offline replay: a pcap or pcapng capture through the same pipeline as live
 * traffic, on the capture's clock. The file is streamed (memory stays bounded whatever its size);
 * the capture decoder reads SIP over UDP, TCP, SCTP and WebSocket, HEP (compressed too), through
 * the usual encapsulations, and counts what it skips by reason. Those counters also become
 * self-statistics (`read_<transport>`, `skipped_<reason>` in group `sipstats`).
 */
export async function replayCapture(file: string, opts: ReplayOptions): Promise<ReplayResult> {
  const size = (await stat(file)).size;
  let now = 0;
  let engineConfig: EngineConfig;
  if (typeof opts.config === 'string') {
    const r = parseOpenSipsConfig(opts.config);
    if (!r.ok) throw new ConfigError(r.issues);
    engineConfig = r.value;
  } else engineConfig = opts.config;
  // the KPIs feed fixed profiles: declare those the configuration lacks, and say so (as the server does)
  const kpi = withKpiProfiles(engineConfig, opts);
  if (kpi.declared.length > 0) opts.log?.('info', describeDeclared(kpi.declared));
  const stats = createStats({ config: kpi.engine, clock: () => now });
  // media quality from the capture's own RTP (tied to calls by their SDP) unless asked not to
  const pipe = new SipPipeline(stats.engine, { ...opts, media: opts.media ?? true, indexer: opts.indexer !== undefined ? opts.indexer : nativeIndexer().indexer, onPacketTime: (t) => (now = Math.max(now, t)) });
  const tracker = pipe.tracker;
  const decoder = new CaptureDecoder(
    {
      sip: (payload, meta) => pipe.onSip(payload, meta),
      hep: (p) => pipe.onHepPacket(p),
      media: (b, start, end, dst, dport, src, sport, t) => tracker.onMedia(b, start, end, dst, dport, src, sport, t),
    },
    { ...opts.capture, inflate: inflatePayload },
  );
  let packets = 0;
  let firstMs = NaN;
  let lastMs = NaN;
  const reader = new PcapStreamReader((linkType, buf, start, end, origLen, timeMs) => {
    if (packets++ === 0) firstMs = timeMs;
    lastMs = timeMs;
    decoder.decode(linkType, buf, start, end, origLen, timeMs);
  });
  const progress = opts.progress;
  let consumed = 0;
  let nextReport = 0;
  // two buffers in turn, one chunk ahead: the next chunk is read by libuv's thread pool (the other
  // core) while this one is decoded. Reused, not fresh each time (a megabyte allocated per chunk
  // made V8 run a full collection every ~30 MB for memory it does not even hold): nothing keeps a
  // view of a chunk past its packet (the decoders copy what they hold: TCP segments, fragments,
  // SCTP parts, a record that straddles chunks; the SIP layer keeps strings)
  const chunkBytes = opts.chunkBytes ?? DEFAULTS.replay.chunkBytes;
  const fh = await open(file, 'r');
  const buffers = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  let turn = 0;
  const readNext = () => {
    const chunk = buffers[turn];
    turn ^= 1;
    return fh.read(chunk, 0, chunkBytes, null).then(({ bytesRead }) => (bytesRead === chunkBytes ? chunk : chunk.subarray(0, bytesRead)));
  };
  try {
    let next = readNext();
    for (;;) {
      const chunk = await next;
      if (chunk.length === 0) break;
      next = readNext();
      reader.push(chunk);
      consumed += chunk.length;
      if (progress !== undefined && consumed >= nextReport) {
        progress(consumed / Math.max(1, size), packets);
        nextReport = consumed + (4 << 20);
      }
      if (reader.stats.error !== null) {
        await next; // (not left reading a closed file)
        break;
      }
    }
  } finally {
    await fh.close();
  }
  const pstats = reader.end();
  decoder.finish();
  const cs = decoder.stats;
  const r: ReplayResult = {
    stats,
    packets,
    sipMessages: totalSip(cs),
    hepFrames: cs.read.hep,
    mediaPackets: cs.media,
    skipped: totalSkipped(cs),
    read: { ...cs.read },
    skippedBy: { ...cs.skipped },
    bytes: size,
    firstMs,
    lastMs,
  };
  for (const t of Object.keys(TRANSPORTS) as Transport[]) if (cs.read[t] > 0) stats.engine.selfStat(readStatName(t), cs.read[t]);
  for (const k of Object.keys(SKIP_REASONS) as SkipReason[]) if (cs.skipped[k] > 0) stats.engine.selfStat(skipStatName(k), cs.skipped[k]);
  if (pstats.error !== null) r.error = { code: pstats.error.code, message: pstats.error.message };
  if (packets > 0) {
    pipe.tick(now); // decide what the capture's last instant decides (timeouts)
    tracker.settle(now); // what waited for a later message is decided; the calls still up when the capture stops add their media
  }
  progress?.(1, packets);
  return r;
}
