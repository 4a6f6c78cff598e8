/**
 * RTCP receiver reports as capture agents send them over HEP (protocol type 5): the JSON of
 * rtpengine `--homer`, heplify and captagent (`{"ssrc":..,"type":201,"report_blocks":[{"source_ssrc":..,
 * "highest_seq_no":..,"fraction_lost":..,"ia_jitter":..,"packets_lost":..,"lsr":..,"dlsr":..}],
 * "report_blocks_xr":{..."round_trip_delay":..}}`), or a raw RTCP compound packet (SR/RR, RFC 3550
 * 6.4). Pure: no I/O.
 */
import { jsonObject } from './json-object.ts';
import { be32 } from '../protocol/bytes.ts';

/** One report block: what `reporter` received of `source` (RFC 3550 6.4.1). */
export interface ReportBlock {
  readonly source: number;
  /** Fraction lost since the previous report, of 256. */
  readonly fraction: number;
  /** Cumulative packets lost (signed 24 bits). */
  readonly lost: number;
  /** Extended highest sequence number received. */
  readonly extHigh: number;
  /** Interarrival jitter, RTP timestamp units. */
  readonly jitter: number;
}

export interface RtcpReport {
  readonly reporter: number;
  readonly blocks: readonly ReportBlock[];
  /** Round trip (ms) when the report carries one (RTCP-XR round_trip_delay); else undefined. */
  readonly rttMs: number | undefined;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A report from rtpengine/heplify JSON; a reason string when it is not one. */
export function rtcpFromJson(text: string): RtcpReport | string {
  const o = jsonObject(text);
  if (typeof o === 'string') return o;
  const reporter = num(o.ssrc);
  if (reporter === undefined) return 'no "ssrc"';
  const blocks: ReportBlock[] = [];
  const rb = o.report_blocks;
  if (rb !== undefined && !Array.isArray(rb)) return '"report_blocks" is not a list';
  for (const b of (rb as unknown[] | undefined) ?? []) {
    if (typeof b !== 'object' || b === null) return 'a report block is not an object';
    const x = b as Record<string, unknown>;
    const source = num(x.source_ssrc);
    const extHigh = num(x.highest_seq_no);
    if (source === undefined || extHigh === undefined) return 'a report block without "source_ssrc" or "highest_seq_no"';
    // packets_lost is the block's signed 24-bit field: rtpengine writes it unsigned (-1: 16777215)
    const lost = num(x.packets_lost) ?? 0;
    blocks.push({ source, fraction: num(x.fraction_lost) ?? 0, lost: lost >= 0x800000 && lost <= 0xffffff ? lost - 0x1000000 : lost, extHigh, jitter: num(x.ia_jitter) ?? 0 });
  }
  const xr = o.report_blocks_xr;
  const rtt = typeof xr === 'object' && xr !== null ? num((xr as Record<string, unknown>).round_trip_delay) : undefined;
  return { reporter, blocks, rttMs: rtt !== undefined && rtt > 0 ? rtt : undefined };
}

/** A report from a raw RTCP compound packet (its first SR or RR); a reason string when it is none. */
export function rtcpFromPacket(b: Uint8Array, off = 0, end = b.length): RtcpReport | string {
  for (let p = off; p + 8 <= end; ) {
    if (b[p] >> 6 !== 2) return 'not RTCP version 2';
    const count = b[p] & 0x1f;
    const type = b[p + 1];
    const len = 4 * (((b[p + 2] << 8) | b[p + 3]) + 1);
    if (p + len > end) return 'an RTCP packet longer than the datagram';
    if (type === 200 || type === 201) {
      const reporter = be32(b, p + 4);
      let q = p + 8 + (type === 200 ? 20 : 0);
      const blocks: ReportBlock[] = [];
      for (let i = 0; i < count; i++, q += 24) {
        if (q + 24 > p + len) return 'a report block past its packet';
        const lost24 = (b[q + 5] << 16) | (b[q + 6] << 8) | b[q + 7];
        blocks.push({ source: be32(b, q), fraction: b[q + 4], lost: lost24 & 0x800000 ? lost24 - 0x1000000 : lost24, extHigh: be32(b, q + 8), jitter: be32(b, q + 12) });
      }
      return { reporter, blocks, rttMs: undefined };
    }
    p += len;
  }
  return 'no sender or receiver report';
}

/**
 * What the reports of one reporter about one source add up to over a call: the loss between its
 * first and last report (cumulative lost and extended highest sequence numbers), the interval
 * before the first report when its fraction lost tells its length (it lost packets), and the jitter
 * of each report (mean and max). Fixed size.
 */
export class ReportedStream {
  reports = 0;
  private firstHigh = 0;
  private lastHigh = 0;
  private firstLost = 0;
  private firstFraction = 0;
  lost = 0;
  private jitterSum = 0;
  maxJitter = 0;
  rttMs: number | undefined = undefined;

  constructor(
    readonly reporter: number,
    readonly source: number,
  ) {}

  /** One report block, its jitter in ms (the timestamp units over the clock rate). */
  add(b: ReportBlock, jitterMs: number, rttMs: number | undefined): void {
    if (this.reports === 0) {
      this.firstHigh = b.extHigh;
      this.firstLost = b.lost;
      this.firstFraction = b.fraction;
    }
    if (b.extHigh >= this.lastHigh || this.reports === 0) this.lastHigh = b.extHigh;
    this.lost = b.lost;
    this.reports++;
    this.jitterSum += jitterMs;
    if (jitterMs > this.maxJitter) this.maxJitter = jitterMs;
    if (rttMs !== undefined) this.rttMs = rttMs;
  }

  /** Packets expected over the call (see the class). */
  get expected(): number {
    const after = Math.max(0, this.lastHigh - this.firstHigh);
    // the interval before the first report: known from its fraction lost when it lost packets; else
    // left out (its packets and its no loss), so that the loss rate is the later intervals' (a guess of
    // its length would dilute it: the first report comes early, after a shorter interval than the others)
    const before = this.firstFraction > 0 && this.firstLost > 0 ? (this.firstLost * 256) / this.firstFraction : 0;
    return Math.round(after + before);
  }

  get meanJitter(): number {
    return this.reports === 0 ? 0 : this.jitterSum / this.reports;
  }
}
