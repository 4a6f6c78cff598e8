import type { CaptureStatName } from '../../self-stats.ts';
/**
 * What the capture decoder read and what it skipped, and why. These two tables are the single
 * definition of the names: the replay summary, its JSON, the self-statistics (`read_<transport>`,
 * `skipped_<reason>` in group `sipstats`) and docs/kpis.md all use them. Pure.
 */

/** Transports a SIP message can arrive on; 'hep' counts HEP frames (whatever they carry). */
export const TRANSPORTS = {
  udp: 'SIP messages in UDP datagrams (IP fragments reassembled)',
  tcp: 'SIP messages cut from reassembled TCP streams (framed by Content-Length)',
  sctp: 'SIP messages in SCTP DATA chunks',
  ws: 'SIP messages in WebSocket frames (RFC 7118; the handshake must be in the capture)',
  hep: 'HEP3 frames (in UDP or TCP; compressed payloads inflated)',
} as const;

export type Transport = keyof typeof TRANSPORTS;

/** Why a frame, or a part of a stream, gave no SIP message. Each is counted, never silent. */
export const SKIP_REASONS = {
  unsupported_link: 'link type the decoder does not know',
  not_ip: 'frames that carry neither IPv4 nor IPv6 (ARP, LLDP, STP, PPPoE discovery...)',
  unsupported_protocol: 'IP protocols, tunnels or tunnel versions not decoded (ICMP, ESP, GRE v1, unknown ERSPAN frame types...)',
  malformed: 'impossible lengths, versions or headers at any layer',
  truncated: 'frames cut by the snap length: the datagram or segment is incomplete',
  no_payload: 'packets without SIP bytes: TCP handshakes and ACKs, SCTP control chunks, empty datagrams, CRLF keep-alives on TCP',
  not_sip: 'UDP, SCTP or WebSocket payloads that are neither SIP nor HEP (RTP, DNS...), and TCP bytes skipped while looking for the next SIP start line',
  tls: 'TCP streams that are TLS (SIPS, WSS): encrypted, cannot be read',
  fragments_incomplete: 'IP datagrams whose fragments never all arrived (expired, evicted, or still missing at the end)',
  tcp_gap: 'holes in TCP streams (segments never captured): the message in progress is dropped and the stream resynchronises at the next start line',
  tcp_incomplete: 'SIP messages cut off by the end of their TCP connection or of the capture',
  tcp_overflow: 'TCP data dropped by the memory caps: a message larger than the limit, too many connections, too much buffered out of order',
  sctp_incomplete: 'SCTP user messages split over DATA chunks that never all arrived',
  ws_decode_errors: 'WebSocket frames that cannot be decoded (bad lengths, oversize messages)',
  hep_decode_errors: 'HEP frames that cannot be decoded (bad lengths, chunks, no payload)',
  hep_inflate_errors: 'compressed HEP payloads (chunk 0x0010) that do not inflate, or inflate beyond the size limit',
} as const;

export type SkipReason = keyof typeof SKIP_REASONS;

export interface CaptureStats {
  /** Frames handed to the decoder. */
  frames: number;
  read: Record<Transport, number>;
  skipped: Record<SkipReason, number>;
  /** UDP payloads the media layer took (RTP and RTCP: CaptureSink.media). */
  media: number;
}

export function newCaptureStats(): CaptureStats {
  const read = {} as Record<Transport, number>;
  for (const k of Object.keys(TRANSPORTS) as Transport[]) read[k] = 0;
  const skipped = {} as Record<SkipReason, number>;
  for (const k of Object.keys(SKIP_REASONS) as SkipReason[]) skipped[k] = 0;
  return { frames: 0, read, skipped, media: 0 };
}

/** Self-statistic names (group `sipstats`) of the counters. */
export const readStatName = (t: Transport): CaptureStatName => `read_${t}`;
export const skipStatName = (r: SkipReason): CaptureStatName => `skipped_${r}`;

/** Total of all skip reasons. */
export function totalSkipped(s: CaptureStats): number {
  let n = 0;
  for (const k in s.skipped) n += s.skipped[k as SkipReason];
  return n;
}

/** SIP messages read (every transport but 'hep', whose frames the caller counts itself). */
export function totalSip(s: CaptureStats): number {
  return s.read.udp + s.read.tcp + s.read.sctp + s.read.ws;
}
