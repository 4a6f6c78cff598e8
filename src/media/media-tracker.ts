import { mos } from './emodel.ts';
import type { RtpHeader } from './rtp-stream.ts';
import { isRtcp, readRtp, RtpStream } from './rtp-stream.ts';
import type { SdpAudio } from './sdp.ts';
import { ReportedStream } from './rtcp-report.ts';
import type { RtcpReport } from './rtcp-report.ts';
import type { QualityFigures } from './quality-reports.ts';
import { parseIpv4 } from '../protocol/ip.ts';
import { SELF_GROUP } from '../self-stats.ts';
import type { SelfStatName } from '../self-stats.ts';

/**
 * An address as the media layer compares it: IPv4 as a signed 32-bit integer (a small integer to
 * V8: no number allocated per packet), IPv6 as its text in lower case.
 */
export type Addr = number | string;

/** Scratch octets of addrOf. */
const QUAD = new Uint8Array(4);

/** The Addr of an address written as text. */
export function addrOf(text: string): Addr {
  if (!parseIpv4(text, QUAD, 0)) return text.toLowerCase();
  return (QUAD[0] << 24) | (QUAD[1] << 16) | (QUAD[2] << 8) | QUAD[3];
}

/** What one stream of a call measured, when the call ended. */
export interface StreamFigures {
  readonly ssrc: number;
  readonly codec: string | undefined;
  readonly received: number;
  readonly expected: number;
  readonly lost: number;
  readonly meanJitter: number;
  readonly maxJitter: number;
  /** MOS of the stream: the E-model's (docs/kpis.md), or the reporter's own when `mosReported`. */
  readonly mos: number;
  readonly mosReported?: true;
}

/** A quality report's stream as the KPIs take it: its own MOS kept, else the E-model's (`codec` when it names none). */
export function qualityStream(q: QualityFigures, codec?: string): StreamFigures {
  const c = q.codec ?? codec;
  const lossPercent = q.expected > 0 ? (100 * q.lost) / q.expected : 0;
  const base = { ssrc: 0, codec: c, received: q.expected - q.lost, expected: q.expected, lost: q.lost, meanJitter: q.jitterMs, maxJitter: q.jitterMs };
  return q.mos !== undefined ? { ...base, mos: q.mos, mosReported: true } : { ...base, mos: mos(c, lossPercent, q.jitterMs, 2 * q.delayMs) };
}

/** A leg's media when it ended: its streams, and whether RTP reached each side. */
export interface LegFigures {
  readonly streams: readonly StreamFigures[];
  /** Both sides' SDP were seen (offer and answer): one-way audio can be told. */
  readonly bothSides: boolean;
  /** RTP reached the offerer's address (answerer → offerer), and the answerer's. */
  readonly toOfferer: boolean;
  readonly toAnswerer: boolean;
}

/** An address RTP is expected at, for the legs whose SDP named it. */
interface Endpoint<L> {
  readonly addr: Addr;
  readonly port: number;
  /** How many legs' SDP named it (a shared address, a test rig's or a NAT's, may serve thousands of calls). */
  users: number;
  /** Encoding name and clock by payload type (from the SDP that named it). */
  readonly codecs: ReadonlyMap<number, { readonly name: string; readonly clock: number }>;
  /** Streams arriving here: each with its source address and port (NONE until the first). */
  streams: Tied[];
  /**
   * Streams sent from here to an address no SDP named (symmetric RTP, RFC 4961: a media relay
   * sends from the port it receives on): each with its destination. They tie a call's stream
   * whose other side's SDP was not seen (a capture that missed that message).
   */
  sent: Tied[];
}

/** A stream and the other end's address. */
interface Tied {
  readonly addr: Addr;
  readonly port: number;
  readonly s: RtpStream;
}

/** No address yet (shared: a leg's other side until its SDP is seen). */
const NO_ENDPOINTS: readonly never[] = Object.freeze([]);

/** A leg's media state before any SDP or report (its own object; the arrays shared until set). */
function newLegMedia<L>(): LegMedia<L> {
  return { offer: NO_ENDPOINTS, answer: NO_ENDPOINTS, reported: null, quality: null };
}

/** No stream yet (shared: most addresses of a capture of SIP alone never see one; the first stream gets an array of its own). */
const NONE: Tied[] = [];

interface LegMedia<L> {
  /**
   * The addresses each side's SDP named (at most MAX_ENDPOINTS_PER_SIDE). Replaced, never pushed
   * to: an array of its exact length (a pushed-to empty array reserves 17 places, ~150 bytes, and
   * a capture holds one per side of every call up: 16 MB at 62 000 calls), the empty one shared.
   */
  offer: readonly Endpoint<L>[];
  answer: readonly Endpoint<L>[];
  /** What RTCP reports (HEP type 5) said of the leg's streams, by reporter and source. */
  reported: ReportedStream[] | null;
  /** What quality reports (headers in BYE or its 200, RFC 6035 session reports) said of its streams. */
  quality: QualityFigures[] | null;
}

/** Clock rate RTCP jitter is read with when the leg's SDP did not say (narrowband codecs: G.711, G.729...). */
export const RTCP_DEFAULT_CLOCK = 8000;
/** Reported streams kept per leg at most. */
const MAX_REPORTED_PER_LEG = 8;

/** Addresses per leg side kept at most (re-INVITEs moving the media again and again). */
const MAX_ENDPOINTS_PER_SIDE = 4;
/** Streams per address kept at most (SSRC changes, other senders). */
const MAX_STREAMS_PER_ENDPOINT = 8;

export interface MediaSink {
  selfStat(name: SelfStatName, delta: number): void;
  /** A counter of group `sipstats` to write in place (the per-packet ones); undefined when refused. */
  counter(group: string, name: string, noReset: boolean): { value: number } | undefined;
}

/**
 * Ties RTP to calls (pure: no I/O). The SDP of each leg (offer, answer, re-INVITEs) names the
 * addresses its RTP goes to; a datagram to such an address is a packet of the streams of those
 * legs (a proxied call: the customer's leg and the carrier's, the same addresses), by source and
 * SSRC. Nothing is guessed: RTP to an address no SDP named is counted (`rtp_unmatched`) and left.
 * When a leg ends its figures are handed back and its addresses forgotten with their streams.
 */
/**
 * A leg as the media tracker keeps its state: on the leg itself, not in a map from legs to their
 * media (a map entry cost ~75 bytes a call up, and a lookup at every SDP and at the end). Only
 * MediaTracker reads or writes `media`; a new leg has it undefined.
 */
export interface MediaLeg {
  media: unknown;
}

/** `MediaLeg.media` of a leg whose figures were added (end): nothing more counts for it. */
const DONE: unique symbol = Symbol('media done');

export class MediaTracker<L extends MediaLeg> {
  /** The addresses RTP is expected at, by port (then compared by address: no key built per packet). */
  private readonly endpoints = new Map<number, Endpoint<L>[]>();
  private endpointCount = 0;
  private readonly hdr: RtpHeader = { pt: 0, marker: false, seq: 0, ts: 0, ssrc: 0 };
  /** Some RTP matched a call: media KPIs mean something (a capture of SIP alone has none). */
  rtpSeen = false;
  /** sipstats:rtp_packets and sipstats:rtp_unmatched, written in place (made at their first packet). */
  private rtpCount: { value: number } | undefined = undefined;
  private unmatchedCount: { value: number } | undefined = undefined;

  constructor(private readonly sink: MediaSink) {}

  /** The media state of `leg`, made when it has none (or had its figures added: a new start). */
  private stateOf(leg: L): LegMedia<L> {
    const m = leg.media;
    if (m !== undefined && m !== DONE) return m as LegMedia<L>;
    const fresh = newLegMedia<L>();
    leg.media = fresh;
    return fresh;
  }

  /** The media state of `leg` if it has one whose figures were not added yet. */
  private openState(leg: L): LegMedia<L> | undefined {
    const m = leg.media;
    return m === undefined || m === DONE ? undefined : (m as LegMedia<L>);
  }

  /** The audio streams of an SDP `leg` sent (`offer`: in its INVITE or re-INVITE; else in a reply). */
  sdp(leg: L, audio: readonly SdpAudio[], offer: boolean): void {
    const m = this.stateOf(leg);
    let side = offer ? m.offer : m.answer;
    const other = offer ? m.answer : m.offer;
    for (const a of audio) {
      const addr = addrOf(a.addr);
      const list = this.endpoints.get(a.port);
      let ep: Endpoint<L> | undefined;
      if (list !== undefined)
        for (let i = 0; i < list.length; i++)
          if (list[i].addr === addr) {
            ep = list[i];
            break;
          }
      if (ep === undefined) {
        ep = { addr, port: a.port, users: 0, codecs: a.codecs, streams: NONE, sent: NONE };
        // (a port's first address gets an array of one: most ports have one)
        if (list === undefined) this.endpoints.set(a.port, [ep]);
        else list.push(ep);
        this.endpointCount++;
      }
      if (side.includes(ep)) continue;
      // (a leg counts once as a user of an address, named on one side or both)
      if (!other.includes(ep)) ep.users++;
      if (side.length >= MAX_ENDPOINTS_PER_SIDE) {
        const old = side[0];
        if (!other.includes(old)) this.release(old);
        side = side.slice(1);
      }
      side = side.length === 0 ? [ep] : [...side, ep];
    }
    if (offer) m.offer = side;
    else m.answer = side;
  }

  /** Whether `leg` has media tracked and neither waiting in `close` nor added (the end of a replay adds such calls). */
  isOpen(leg: L): boolean {
    return this.openState(leg) !== undefined && !this.closing.has(leg);
  }

  get size(): number {
    return this.endpointCount;
  }

  /**
   * A UDP datagram to `dst`:`dport` from `src`:`sport` at `t` (ms): true when it is RTP (or RTCP)
   * of a call tracked (counted `rtp_packets`) or RTP to an address no SDP named (counted
   * `rtp_unmatched`); false when it is neither (the caller counts it otherwise).
   */
  packet(b: Uint8Array, off: number, end: number, dst: Addr, dport: number, src: Addr, sport: number, t: number): boolean {
    let ep = this.endpointAt(dst, dport);
    // to an address no SDP named, from one that an SDP did: a stream sent from there
    let sent = false;
    if (ep === undefined) {
      ep = this.endpointAt(src, sport);
      sent = ep !== undefined;
    }
    const h = this.hdr;
    if (ep === undefined) {
      if (readRtp(b, off, end, h)) {
        (this.unmatchedCount ??= this.sink.counter(SELF_GROUP, 'rtp_unmatched' satisfies SelfStatName, false) ?? { value: 0 }).value++;
        return true;
      }
      return false;
    }
    if (!readRtp(b, off, end, h)) {
      // RTCP on the RTP port (rtcp-mux), or something else at a media address
      this.sink.selfStat(isRtcp(b, off, end) ? 'rtcp_packets' : 'rtp_malformed', 1);
      return true;
    }
    this.rtpSeen = true;
    (this.rtpCount ??= this.sink.counter(SELF_GROUP, 'rtp_packets' satisfies SelfStatName, false) ?? { value: 0 }).value++;
    const list = sent ? ep.sent : ep.streams;
    // (the other end: the source of a stream arriving, the destination of one sent)
    const oa = sent ? dst : src;
    const op = sent ? dport : sport;
    let s: RtpStream | undefined;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (e.s.ssrc === h.ssrc && e.port === op && e.addr === oa) {
        s = e.s;
        break;
      }
    }
    if (s === undefined) {
      if (list.length >= MAX_STREAMS_PER_ENDPOINT) {
        this.sink.selfStat('rtp_streams_dropped', 1);
        return true;
      }
      s = new RtpStream(h.ssrc, ep.codecs.get(h.pt)?.clock ?? 0);
      if (list === NONE) {
        if (sent) ep.sent = [{ addr: oa, port: op, s }];
        else ep.streams = [{ addr: oa, port: op, s }];
      } else list.push({ addr: oa, port: op, s });
    } else if (s.clockRate === 0) s.clockRate = ep.codecs.get(h.pt)?.clock ?? 0;
    s.add(h.seq, h.ts, h.pt, h.marker, t);
    return true;
  }

  /** The endpoint at `addr`:`port`, if an SDP named it. */
  private endpointAt(addr: Addr, port: number): Endpoint<L> | undefined {
    const at = this.endpoints.get(port);
    if (at !== undefined) for (let i = 0; i < at.length; i++) if (at[i].addr === addr) return at[i];
    return undefined;
  }

  /**
   * An RTCP report about `leg`'s media (tied to it by the HEP correlation id: its Call-ID): each
   * report block adds to the reported stream of its reporter and source. Jitter is read with the
   * clock of the leg's codec when its SDP was seen, else RTCP_DEFAULT_CLOCK.
   */
  report(leg: L, r: RtcpReport): void {
    const m = this.stateOf(leg);
    const list = (m.reported ??= []);
    const clock = this.codecOf(m)?.clock ?? RTCP_DEFAULT_CLOCK;
    for (const b of r.blocks) {
      let s = list.find((x) => x.reporter === r.reporter && x.source === b.source);
      if (s === undefined) {
        if (list.length >= MAX_REPORTED_PER_LEG) {
          this.sink.selfStat('rtcp_streams_dropped', 1);
          continue;
        }
        list.push((s = new ReportedStream(r.reporter, b.source)));
      }
      s.add(b, (b.jitter * 1000) / clock, r.rttMs);
    }
    this.rtpSeen = true;
  }

  /**
   * A quality report about `leg` (a quality header, an RFC 6035 session report): one more stream.
   * False when the leg's media was already added (a report that came too late: see `close`).
   */
  quality(leg: L, q: QualityFigures): boolean {
    if (leg.media === DONE) return false;
    const m = this.stateOf(leg);
    const list = (m.quality ??= []);
    if (list.length >= MAX_REPORTED_PER_LEG) {
      this.sink.selfStat('quality_reports_dropped', 1);
      return true;
    }
    list.push(q);
    this.rtpSeen = true;
    return true;
  }

  /** Legs whose end waits for the reports that come with or after it (see close), with when it stops waiting. */
  private readonly closing = new Map<L, number>();

  /**
   * The leg ended (a BYE): its figures wait until `until` (packet time) for what reports with or
   * after its end (the quality header of the 200 to the BYE, an RFC 6035 report published at the
   * call's end). False when it had no media at all.
   */
  close(leg: L, until: number): boolean {
    if (this.openState(leg) === undefined || this.closing.has(leg)) return false;
    this.closing.set(leg, until);
    return true;
  }

  /** Whether `leg` waits in `close`. */
  isClosing(leg: L): boolean {
    return this.closing.has(leg);
  }

  /** Legs closed whose wait is over at `now` (their figures are then to be taken with `end`). */
  due(now: number): L[] {
    if (this.closing.size === 0) return [];
    const out: L[] = [];
    // (in the order they ended, packet time: the first one still waiting ends the pass)
    for (const [leg, until] of this.closing) {
      if (until > now) break;
      out.push(leg);
    }
    return out;
  }

  /** Legs closed and waiting. */
  closingLegs(): L[] {
    return [...this.closing.keys()];
  }

  /** The codec of a leg's first audio stream in its SDP, if seen. */
  private codecOf(m: LegMedia<L>): { readonly name: string; readonly clock: number } | undefined {
    for (const eps of [m.offer, m.answer]) for (const ep of eps) for (const c of ep.codecs.values()) if (c.name !== 'TELEPHONE-EVENT') return c;
    return undefined;
  }

  /** The leg ended (or failed): its figures, null when it had no SDP; its addresses are let go. */
  end(leg: L): LegFigures | null {
    const m = this.openState(leg);
    if (m === undefined) return null;
    this.closing.delete(leg);
    leg.media = DONE;
    const streams: StreamFigures[] = [];
    let toOfferer = false;
    let toAnswerer = false;
    for (let side = 0; side < 2; side++) {
      const eps = side === 0 ? m.offer : m.answer;
      for (const ep of eps) {
        // (an address named on both sides: its streams are the offer side's, told once)
        const again = side === 1 && m.offer.includes(ep);
        // streams arriving at this side's address, and those sent from it (to the other side)
        for (let k = 0; k < 2; k++) {
          const toThisSide = k === 0;
          for (const { s } of toThisSide ? ep.streams : ep.sent) {
            if (s.received === 0) continue;
            if ((side === 0) === toThisSide) toOfferer = true;
            else toAnswerer = true;
            if (again) continue;
            const codec = ep.codecs.get(s.pt)?.name;
            const expected = s.expected;
            const lossPercent = expected > 0 ? (100 * Math.max(0, s.lost)) / expected : 0;
            streams.push({ ssrc: s.ssrc, codec, received: s.received, expected, lost: s.lost, meanJitter: s.meanJitter, maxJitter: s.maxJitter, mos: mos(codec, lossPercent, s.meanJitter) });
          }
        }
      }
    }
    const codec = this.codecOf(m)?.name;
    for (const r of m.reported ?? []) {
      const expected = r.expected;
      const lossPercent = expected > 0 ? (100 * Math.max(0, r.lost)) / expected : 0;
      streams.push({ ssrc: r.source, codec, received: expected - r.lost, expected, lost: r.lost, meanJitter: r.meanJitter, maxJitter: r.maxJitter, mos: mos(codec, lossPercent, r.meanJitter, r.rttMs ?? 0) });
    }
    for (const q of m.quality ?? []) streams.push(qualityStream(q, codec));
    for (const ep of m.offer) this.release(ep);
    for (const ep of m.answer) if (!m.offer.includes(ep)) this.release(ep);
    return { streams, bothSides: m.offer.length > 0 && m.answer.length > 0, toOfferer, toAnswerer };
  }

  /** A leg no longer uses `ep`: the address is forgotten with its streams once no leg does. */
  private release(ep: Endpoint<L>): void {
    if (--ep.users > 0) return;
    const list = this.endpoints.get(ep.port);
    const j = list === undefined ? -1 : list.indexOf(ep);
    if (j < 0) return;
    list!.splice(j, 1);
    if (list!.length === 0) this.endpoints.delete(ep.port);
    this.endpointCount--;
  }
}
