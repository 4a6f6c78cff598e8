import type { StatsEngine } from '../core/engine.ts';
import { decodeHep, DecodedHep, HEP_PROTO_TYPE_RTCP, HEP_PROTO_TYPE_RTP_AGENT, HEP_PROTO_TYPE_SIP, HEP_PROTO_TYPE_VQ, hepFromIndex } from '../protocol/hep/decode.ts';
import { rtpAgentFromJson } from '../media/quality-reports.ts';
import { rtcpFromJson, rtcpFromPacket } from '../media/rtcp-report.ts';
import type { HepPacket } from '../protocol/hep/decode.ts';
import { parseSip, sipFromIndex } from '../protocol/sip/parse.ts';
import type { SipMessage } from '../protocol/sip/parse.ts';
import { IX } from '../protocol/native-index.ts';
import type { FrameIndexer } from '../protocol/native-index.ts';
import { AgentClocks } from './agent-clocks.ts';
import { NOW } from './catalogue.ts';
import { StatKind } from '../core/stat.ts';
import { CallTracker } from './call-tracker.ts';
import type { TrackerOptions } from './call-tracker.ts';
import type { KpiSink } from './scopes.ts';
import type { PacketMeta } from './customer.ts';
import { SipstatsError } from '../errors.ts';
import { readStatName, skipStatName } from '../protocol/net/capture-counts.ts';
import { CAPTURE_DEFAULTS } from '../protocol/net/capture.ts';

// (spelled once: a name built per frame is a new string to hash at each count)
const READ_HEP = readStatName('hep');
const SKIPPED_DECODE = skipStatName('hep_decode_errors');
const SKIPPED_INFLATE = skipStatName('hep_inflate_errors');
/** The most a compressed payload may inflate to. */
const MAX_INFLATED = CAPTURE_DEFAULTS.maxInflated;

export interface PipelineOptions extends TrackerOptions {
  /** HEP auth key (chunk 0x000e) that packets must carry; undefined = none required. */
  hepAuthKey?: string;
  /** Where a failed KPI update is reported (at most one line per 10 s, with the count since the last). */
  log?: (level: 'warn', message: string) => void;
  /**
   * Before each packet, set the engine's clock to the packet's capture time (replay of captures).
   * Live servers leave it off: series then follow the server's clock, durations the capture's.
   */
  onPacketTime?: (timeMs: number) => void;
  /**
   * Live servers: the server's clock. PDD, AST and ACD are differences of each capture agent's own
   * times, whatever the delivery timing (late, bunched: an agent's backlog). The
   * timeouts and idle expiry that `tick(now)` runs are moved onto the packets' timeline: by how far
   * the newest packet's capture time was from its arrival. The times of a capture agent whose clock
   * is off by more than AGENT_CLOCK_TOLERANCE_MS (hours off, or a capture replayed with its old
   * timestamps) are first moved onto the server's clock by a constant of that agent (AgentClocks),
   * so that agents who disagree share one timeline, and none is failed at the next tick; a packet
   * without a capture time takes its arrival time.
   */
  clock?: () => number;
  /**
   * The native frame indexer (src/ingest/load-native-index.ts: nativeIndexer()), the fast path of
   * onHep and of the ingest's frame handler; none (the default): the JavaScript decoder and parser
   * read every frame. The results are the same.
   */
  indexer?: FrameIndexer | null;
  /**
   * Inflates a compressed HEP payload (chunk 0x0010) into at most `max` bytes, null when it does not
   * inflate (src/ingest/inflate.ts: inflatePayload; injected: this module stays free of I/O and
   * zlib). None: a compressed frame is counted `skipped_hep_inflate_errors`, as one that fails.
   */
  inflate?: ((payload: Buffer, max: number) => Buffer | null) | null;
}

/**
 * Counts a KPI update the engine refused (`sipstats:kpi_update_errors`) and reports it, at most once
 * every 10 seconds of the engine's clock: which series, which profile, why, and how many failed meanwhile.
 */
export function kpiUpdateFailure(engine: StatsEngine, log: PipelineOptions['log']): (profile: string, name: string, e: unknown) => void {
  let last = -Infinity;
  let since = 0;
  return (profile, name, e) => {
    engine.selfStat('kpi_update_errors');
    since++;
    if (log === undefined) return;
    const now = engine.clock();
    if (now - last < 10_000) return;
    last = now;
    const code = e instanceof SipstatsError ? e.code : 'unexpected';
    log('warn', `KPI update of '${name}' (profile '${profile}') failed: [${code}] ${e instanceof Error ? e.message : String(e)}; ${since} KPI update(s) failed since the last message (sipstats:kpi_update_errors)`);
    since = 0;
  };
}

/**
 * Bytes → KPIs: HEP decode → SIP parse → call tracking → engine updates. Bad input never throws:
 * it is counted in self-statistics (group `sipstats`) and dropped.
 */
export class SipPipeline {
  readonly tracker: CallTracker;
  /** The engine, as KPI feeders see it: bad updates are counted (`kpi_update_errors`), not thrown. */
  readonly sink: KpiSink;
  private authKey: string | undefined;
  private readonly onPacketTime: ((t: number) => void) | undefined;
  private readonly clock: (() => number) | undefined;
  /** Live: arrival minus capture time of the newest packet (ms), after its agent's shift. */
  private skew = 0;
  /** Live: the capture agents whose clocks are off, and by how much. */
  private readonly agents: AgentClocks | undefined;
  /** The native frame indexer (null: not built, or turned off). */
  private readonly indexer: FrameIndexer | null;
  private readonly inflate: ((payload: Buffer, max: number) => Buffer | null) | null;

  constructor(
    private readonly engine: StatsEngine,
    options: PipelineOptions = {},
  ) {
    const failed = kpiUpdateFailure(engine, options.log);
    this.log = options.log;
    const sink: KpiSink = (this.sink = {
      updateAt: (profile, owner, slot, value) => {
        try {
          return engine.updateStatSeriesAt(profile, owner, slot, value);
        } catch (e) {
          failed(profile, owner.nameAt(slot), e);
          return undefined;
        }
      },
      directory: (d) => engine.addDirectory(d),
      now: () => engine.clock(),
      update: (s, value) => {
        try {
          engine.updateSeries(s, value);
        } catch (e) {
          failed(s.profile.def.name, s.name, e);
        }
      },
      remove: (s) => {
        if (!s.removed) engine.removeSeries(s);
      },
      updateStatSeries: (profile, name, value) => {
        try {
          engine.updateStatSeries(profile, name, value);
        } catch (e) {
          failed(profile, name, e);
        }
      },
      selfStat: (name, delta) => engine.selfStat(name, delta),
      gauge: (name, value) => engine.setGauge(name, value),
      counter: (group, name, noReset) => (noReset ? engine.level(group, name, null) : engine.counterOf(group, name)),
      group: (name) => engine.declareGroup(name),
      taken: (name) => engine.lookup(name) !== undefined,
      removeNamed: (name) => {
        const s = engine.lookup(name);
        if (s !== undefined && s.kind === StatKind.Series && !s.removed) engine.removeSeries(s);
      },
    });
    this.tracker = new CallTracker(sink, options);
    this.authKey = options.hepAuthKey;
    this.onPacketTime = options.onPacketTime;
    this.clock = options.clock;
    this.agents = options.clock === undefined ? undefined : new AgentClocks(() => engine.selfStat('capture_clock_adjustments'));
    this.indexer = options.indexer ?? null;
    this.inflate = options.inflate ?? null;
  }

  /**
   * The calls up (answered, not ended), kept across restarts as a snapshot section (src/persist:
   * attach's `sections`): restored at start when younger than the idle limit for answered calls,
   * counted in `sipstats:calls_restored` (and `calls_restore_expired` for older ones).
   */
  snapshotSection(): { name: string; save(): string; restore(text: string): void } {
    return {
      name: 'calls-up',
      save: () => this.tracker.saveUp(),
      restore: (text) => {
        const r = this.tracker.restoreUp(text, this.clock?.() ?? this.engine.clock());
        this.engine.selfStat('calls_restored', r.restored);
        if (r.tooOld > 0) this.engine.selfStat('calls_restore_expired', r.tooOld);
      },
    };
  }

  /** A configuration reload: new tracking options and HEP auth key; tracked calls and series stay. */
  reconfigure(options: Omit<PipelineOptions, 'onPacketTime' | 'log' | 'clock'>): void {
    this.tracker.reconfigure(options);
    this.authKey = options.hepAuthKey;
  }

  /**
   * One HEP frame (a UDP datagram, or a frame cut from a TCP stream): the one entry for HEP bytes,
   * used by the server's listeners and the benchmarks alike. It decodes (the native indexer's fast
   * path when built and the frame is plain, else the JavaScript decoder), inflates a compressed
   * payload, and counts what it read (`read_hep`) and what it skipped (`hep_decode_errors` with
   * `skipped_hep_decode_errors`, `skipped_hep_inflate_errors`); `sender` is a key of the address
   * the frame came from (see senderKey; 0 when unknown).
   */
  onFrame(frame: Buffer, sender = 0): void {
    const engine = this.engine;
    const ix = this.indexer;
    if (ix !== null && ix.indexFrame(frame)) {
      engine.selfStat(READ_HEP);
      this.onHepPacket(hepFromIndex(frame, IX), sender, sipFromIndex(frame, IX));
      return;
    }
    const r = decodeHep(frame);
    if (!r.ok) {
      engine.selfStat('hep_decode_errors');
      engine.selfStat(SKIPPED_DECODE);
      return;
    }
    const p = r.value;
    if (p.compressed) {
      const out = this.inflate === null ? null : this.inflate(p.payload, MAX_INFLATED);
      if (out === null) {
        engine.selfStat(SKIPPED_INFLATE);
        return;
      }
      p.payload = out;
      p.compressed = false;
    }
    engine.selfStat(READ_HEP);
    this.onHepPacket(p, sender);
  }

  /**
   * `sender`: a key of the address the frame came from (see senderKey; 0 when unknown); `parsed`:
   * its SIP message when the native indexer read it.
   */
  onHepPacket(p: HepPacket, sender = 0, parsed: SipMessage | undefined = undefined): void {
    if (this.authKey !== undefined && p.authKey !== this.authKey) {
      this.engine.selfStat('hep_auth_failures');
      return;
    }
    this.engine.selfStat('hep_packets');
    if (p.protoType !== HEP_PROTO_TYPE_SIP) {
      if (p.protoType === HEP_PROTO_TYPE_RTCP) return this.onRtcp(p);
      if (p.protoType === HEP_PROTO_TYPE_VQ && !p.compressed) return this.tracker.onVqReport((p instanceof DecodedHep ? p.frame.subarray(p.payloadStart, p.payloadEnd) : p.payload).toString('utf8'));
      if (p.protoType === HEP_PROTO_TYPE_RTP_AGENT) return this.onAgentReport(p);
      this.engine.selfStat('hep_not_sip');
      return;
    }
    // a decoded frame's payload is parsed where it lies in the frame
    if (p instanceof DecodedHep) this.onSip(p.frame, p, p.payloadStart, p.payloadEnd, sender, parsed);
    else this.onSip(p.payload, p, 0, p.payload.length, sender);
  }

  /**
   * An RTCP report over HEP (type 5): JSON (rtpengine `--homer`, heplify) or a raw RTCP packet,
   * tied to its call by the correlation id (the Call-ID). What cannot be read is counted
   * `rtcp_decode_errors` (the first reason logged, at most every 10 s); a report without a
   * correlation id `rtcp_uncorrelated`.
   */
  private onRtcp(p: HepPacket): void {
    if (p.compressed) {
      this.engine.selfStat('rtcp_decode_errors');
      return;
    }
    const bytes = p instanceof DecodedHep ? p.frame.subarray(p.payloadStart, p.payloadEnd) : p.payload;
    const r = bytes.length > 0 && (bytes[0] === 0x7b || bytes[0] === 0x20) ? rtcpFromJson(bytes.toString('utf8')) : rtcpFromPacket(bytes);
    if (typeof r === 'string') {
      this.engine.selfStat('rtcp_decode_errors');
      this.warnReport(`HEP RTCP report (type 5) not read: ${r} (counted in sipstats:rtcp_decode_errors)`);
      return;
    }
    if (p.correlationId === undefined || p.correlationId === '') {
      this.engine.selfStat('rtcp_uncorrelated');
      return;
    }
    this.tracker.onRtcp(r, p.correlationId);
  }

  /**
   * An RTP agent's report on one stream (HEP type 34, JSON), tied to its call by the correlation id
   * (else the Call-ID it names). A stream's last report (`TYPE: FINAL`) carries its totals and
   * counts; interim ones (`PERIODIC`) are counted `rtp_agent_interim` and left aside. What cannot be
   * read is counted `quality_report_errors`.
   */
  private onAgentReport(p: HepPacket): void {
    const r = p.compressed ? 'compressed' : rtpAgentFromJson((p instanceof DecodedHep ? p.frame.subarray(p.payloadStart, p.payloadEnd) : p.payload).toString('utf8'));
    if (typeof r === 'string') {
      this.engine.selfStat('quality_report_errors');
      this.warnReport(`HEP RTP agent report (type 34) not read: ${r} (counted in sipstats:quality_report_errors)`);
      return;
    }
    if (!r.final) {
      this.engine.selfStat('rtp_agent_interim');
      return;
    }
    const callId = p.correlationId !== undefined && p.correlationId !== '' ? p.correlationId : r.callId;
    if (callId === undefined) this.engine.selfStat('quality_reports_unmatched');
    else this.tracker.onQualityReport(callId, r.figures);
  }

  private readonly log: PipelineOptions['log'];
  private lastRtcpWarning = -Infinity;
  /** Logs why a media report over HEP was not read (at most every 10 s: a broken agent sends many). */
  private warnReport(text: string): void {
    const now = Date.now();
    if (this.log === undefined || now - this.lastRtcpWarning < 10_000) return;
    this.lastRtcpWarning = now;
    this.log('warn', text);
  }

  /**
   * One SIP message (from HEP, a pcap, or a socket: `payload`, or [start, end) of it) with its
   * capture metadata; `sender`: a key of the address the HEP frame came from (0: unknown).
   */
  onSip(payload: Buffer, packet: PacketMeta, start = 0, end = payload.length, sender = 0, parsed: SipMessage | undefined = undefined): void {
    let meta = packet;
    if (this.clock !== undefined) {
      const arrival = this.clock();
      if (!(meta.timeMs > 0)) meta = { ...meta, timeMs: arrival };
      else {
        // an agent whose clock is off: its times onto the server's (see AgentClocks)
        const shift = this.agents!.shift(meta.nodeId, meta.nodeName, sender, meta.timeMs, arrival);
        if (shift !== 0) meta = { ...meta, timeMs: meta.timeMs + shift, agentTimeMs: meta.timeMs };
      }
      this.skew = arrival - meta.timeMs;
    }
    if (this.onPacketTime !== undefined) this.onPacketTime(meta.timeMs);
    let msg = parsed;
    // (a capture's message: the native indexer's fast path when it takes it, as for HEP frames)
    if (msg === undefined && this.indexer !== null && this.indexer.indexSip(payload, start, end)) msg = sipFromIndex(payload, IX);
    if (msg === undefined) {
      const r = parseSip(payload, start, end);
      if (!r.ok) {
        this.engine.selfStat(r.error.code === 'SIP_EMPTY' ? 'sip_keepalives' : 'sip_decode_errors');
        return;
      }
      msg = r.value;
    }
    this.tracker.onSip(msg, meta);
  }

  /** Advance time without traffic (timeouts; the live server calls this every second). */
  tick(now: number): void {
    if (this.onPacketTime !== undefined) this.onPacketTime(now);
    this.tracker.tick(now - this.skew);
  }
}
