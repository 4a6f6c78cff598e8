/**
 * One RTP stream (a 5-tuple and an SSRC) as a passive monitor measures it, with the definitions
 * tshark's `-z rtp,streams` uses (so that the two can be compared on the same capture):
 *
 * - expected = extended highest sequence number − first sequence number + 1 (RFC 3550 A.3: a
 *   sequence number that goes backwards by more than half the space has wrapped, a cycle more);
 *   lost = expected − received. Duplicates count as received, so lost can be negative (as tshark
 *   shows it).
 * - interarrival jitter J (RFC 3550 6.4.1), in ms: D = (Rj − Ri) − (Sj − Si) with S the RTP
 *   timestamp over the payload type's clock rate, J += (|D| − J) / 16 at every packet after the
 *   first; the stream's mean jitter is the mean of J over its packets after the first, its max
 *   jitter the largest J. A packet with the marker bit set (a talk spurt starts: its timestamp jumps)
 *   still moves J, but is left out of the mean and the max, as tshark 4.0 does (a reordered packet,
 *   its timestamp going backwards, is not); the mean is tshark's running one (each regular packet's J weighted by the packets before
 *   it, so that an irregular packet shifts the weights as it does in tshark). A payload type without a known clock rate gives no jitter.
 *
 * State is a fixed set of numbers: no list grows with the packets.
 */
export class RtpStream {
  /** Packets received (duplicates included). */
  received = 0;
  /** First sequence number; highest one seen (16 bits); wraps of the highest one seen. */
  private firstSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  /** Interarrival jitter now (ms), the sum and count of the values the mean takes, the largest. */
  jitter = 0;
  private jitterMean = 0;
  private jitterN = 0;
  maxJitter = 0;
  /** RTP timestamp of the previous packet. */
  private lastTs = 0;
  /** The payload type of the last packet (a change is counted, not an error). */
  pt = -1;
  /** Arrival (ms) of the first and the last packet. */
  firstMs = NaN;
  lastMs = NaN;

  constructor(
    readonly ssrc: number,
    /** Clock rate of the stream's payload (Hz), 0 when unknown (no jitter then). */
    public clockRate: number,
  ) {}

  /** One packet: its sequence number, RTP timestamp, payload type, marker bit, and arrival time (ms). */
  add(seq: number, ts: number, pt: number, marker: boolean, arrivalMs: number): void {
    if (this.received === 0) {
      this.firstSeq = seq;
      this.maxSeq = seq;
      this.firstMs = arrivalMs;
    } else {
      // forward by less than half the space: in order (a wrap when the number went down)
      const d = (seq - this.maxSeq) & 0xffff;
      if (d !== 0 && d < 0x8000) {
        if (seq < this.maxSeq) this.cycles += 0x10000;
        this.maxSeq = seq;
      }
    }
    const prevMs = this.lastMs;
    this.received++;
    this.lastMs = arrivalMs;
    this.pt = pt;
    const rate = this.clockRate;
    if (rate > 0 && this.received > 1) {
      // D from the steps since the previous packet: the timestamp step modulo 2^32, signed (a
      // wrap of the 32-bit timestamp is a small step; a reordered packet steps back)
      const dts = (ts - this.lastTs) | 0;
      const d = arrivalMs - prevMs - (dts * 1000) / rate;
      this.jitter += (Math.abs(d) - this.jitter) / 16;
      if (!marker) {
        // tshark's running mean: weighted by the packets before this one (irregular ones included)
        const n = this.received - 1;
        this.jitterMean = (this.jitterMean * (n - 1) + this.jitter) / n;
        this.jitterN++;
        if (this.jitter > this.maxJitter) this.maxJitter = this.jitter;
      }
    }
    this.lastTs = ts;
  }

  /** Extended highest sequence number − first + 1. */
  get expected(): number {
    return this.received === 0 ? 0 : this.cycles + this.maxSeq - this.firstSeq + 1;
  }

  /** expected − received (negative with duplicates). */
  get lost(): number {
    return this.expected - this.received;
  }

  /** Mean of J over the regular packets after the first (ms); 0 when there is none. */
  get meanJitter(): number {
    return this.jitterN === 0 ? 0 : this.jitterMean;
  }
}

/** An RTP header's fields, read from `b[off, end)`; null when it is not RTP version 2 (or is RTCP). */
export interface RtpHeader {
  pt: number;
  marker: boolean;
  seq: number;
  ts: number;
  ssrc: number;
}

/** RTCP packet types (SR 200 .. XR 207): a second byte in this range with version 2 is RTCP, not RTP. */
export function isRtcp(b: Uint8Array, off: number, end: number): boolean {
  return end - off >= 8 && b[off] >> 6 === 2 && b[off + 1] >= 200 && b[off + 1] <= 207;
}

/** Reads an RTP header into `out`; false when the bytes are not RTP version 2 (too short, RTCP, bad CSRC count). */
export function readRtp(b: Uint8Array, off: number, end: number, out: RtpHeader): boolean {
  if (end - off < 12) return false;
  const b0 = b[off];
  if (b0 >> 6 !== 2) return false;
  const b1 = b[off + 1];
  if (b1 >= 200 && b1 <= 207) return false;
  if (end - off < 12 + 4 * (b0 & 0x0f)) return false;
  out.pt = b1 & 0x7f;
  out.marker = (b1 & 0x80) !== 0;
  out.seq = (b[off + 2] << 8) | b[off + 3];
  out.ts = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
  out.ssrc = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
  return true;
}
