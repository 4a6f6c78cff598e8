/**
 * The capture decoder: captured frames (link type, bytes, capture time) in, SIP messages with their
 * addresses and transport (and HEP packets) out, everything else counted by reason in one
 * CaptureStats. Reads what a packet analyser reads: Ethernet/VLAN/QinQ/PPPoE/MPLS, Linux cooked
 * v1/v2, BSD loopback, raw IP, PPP; IPv4/IPv6 with fragment reassembly; GRE (ERSPAN II/III,
 * Ethernet bridging), VXLAN, IP-in-IP; UDP, TCP (stream reassembly, Content-Length framing),
 * SCTP DATA chunks, WebSocket; SIP recognised by its start line on any port; HEP3 in UDP and TCP,
 * compressed payloads inflated by an injected function.
 *
 * Pure and stateful (fragment table, TCP and SCTP state, all bounded and expired on the packets'
 * clock). Never throws on input; the per-packet path allocates only for what it emits.
 */
import { decodeHep } from '../hep/decode.ts';
import type { HepPacket } from '../hep/decode.ts';
import { ipv4ToString, ipv6ToString } from '../ip.ts';
import { FragmentTable } from './fragments.ts';
import type { FragmentOptions } from './fragments.ts';
import { decodeIpv4, decodeIpv6, newIpContext, walkIpv6 } from './ip-header.ts';
import { decodeEthernet, decodeLink, ET_ETHERNET, ET_IPV4, ET_IPV6, OK, R_MALFORMED, R_NOT_IP, R_TRUNCATED, R_UNSUPPORTED_LINK, R_UNSUPPORTED_PROTOCOL } from './link.ts';
import type { Cursor } from './link.ts';
import { onlyCrlf, startLineAt } from './sip-frame.ts';
import { newCaptureStats } from './capture-counts.ts';
import type { CaptureStats, SkipReason, Transport } from './capture-counts.ts';
import { StreamDecoder } from './tcp-content.ts';
import type { StreamEvents, StreamMeta } from './tcp-content.ts';
import { TcpReassembler } from './tcp.ts';
import type { TcpFlow, TcpOptions } from './tcp.ts';
import { decodeGre, decodeVxlan, isVxlanPort } from './tunnel.ts';
import { DEFAULTS } from '../../defaults.ts';
import { be16, be32 } from '../bytes.ts';

/** Where a SIP message came from (the shape of the KPI layer's PacketMeta). */
export interface SipMeta {
  readonly timeMs: number;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
}

export interface CaptureSink {
  /** One SIP message (a subarray of the frame when it lay in one packet). Use it before returning. */
  sip(payload: Buffer, meta: SipMeta, transport: Transport): void;
  /** One decoded HEP packet (its payload inflated when it was compressed). */
  hep(packet: HepPacket): void;
  /**
   * A UDP payload that is neither SIP nor HEP, `b[start, end)`, to `dst`:`dport` from `src`:`sport`
   * (IPv4 addresses as signed 32-bit integers, IPv6 ones as text), at the capture time: true when
   * the media layer took it (RTP or RTCP, counted `media`); otherwise it is counted `not_sip`.
   */
  media?(b: Buffer, start: number, end: number, dst: number | string, dport: number, src: number | string, sport: number, timeMs: number): boolean;
}

/** Inflates a compressed HEP payload (zlib, gzip or raw deflate) to at most `maxBytes`; null if it cannot. */
export type Inflate = (data: Buffer, maxBytes: number) => Buffer | null;

export interface CaptureOptions {
  inflate?: Inflate;
  fragments?: FragmentOptions;
  tcp?: TcpOptions;
  /** Largest SIP message (TCP, WebSocket, SCTP reassembly), bytes. */
  maxMessage?: number;
  /** Largest inflated HEP payload, bytes. */
  maxInflated?: number;
  /** SCTP user messages being reassembled at once. */
  maxSctpMessages?: number;
}

/** The decoder's own bounds unless told otherwise (docs/kpis.md states them: a test keeps the two in step). */
export const CAPTURE_DEFAULTS = DEFAULTS.capture satisfies Required<Omit<CaptureOptions, 'inflate' | 'fragments' | 'tcp'>>;

const REASON_OF: readonly SkipReason[] = [];
(REASON_OF as SkipReason[])[R_NOT_IP] = 'not_ip';
(REASON_OF as SkipReason[])[R_UNSUPPORTED_LINK] = 'unsupported_link';
(REASON_OF as SkipReason[])[R_MALFORMED] = 'malformed';
(REASON_OF as SkipReason[])[R_UNSUPPORTED_PROTOCOL] = 'unsupported_protocol';
(REASON_OF as SkipReason[])[R_TRUNCATED] = 'truncated';

/** Tunnels inside tunnels, at most. */
const MAX_DEPTH = 6;

function isHep3(b: Uint8Array, p: number, e: number): boolean {
  return e - p >= 4 && b[p] === 0x48 && b[p + 1] === 0x45 && b[p + 2] === 0x50 && b[p + 3] === 0x33;
}

/** Ports where anything that is not HEP goes to the SIP parser (which reports what it cannot read). */
function sipPort(p: number): boolean {
  return p === 5060 || p === 5061;
}

interface SctpPending {
  tsn: number;
  parts: Buffer[];
  len: number;
  meta: SipMeta;
}

export class CaptureDecoder {
  readonly stats: CaptureStats = newCaptureStats();
  private readonly cur: Cursor = { off: 0, end: 0, type: 0 };
  private readonly ip = newIpContext();
  private readonly frags: FragmentTable;
  private readonly tcp: TcpReassembler;
  private readonly sctpPending = new Map<string, SctpPending>();
  private readonly maxMessage: number;
  private readonly maxInflated: number;
  private readonly maxSctp: number;
  private readonly inflate: Inflate | undefined;
  private readonly events: StreamEvents;
  private frameCut = false;
  private t = 0;
  private lastSweep = -Infinity;
  private fragIncomplete = 0;
  /** IPv4 TCP direction keys by (source, destination) as 48-bit numbers: no text per segment. */
  private readonly keys4 = new Map<number, Map<number, string>>();
  private keys4Size = 0;
  private fragMalformed = 0;

  constructor(
    private readonly sink: CaptureSink,
    o: CaptureOptions = {},
  ) {
    this.frags = new FragmentTable(o.fragments);
    this.tcp = new TcpReassembler(o.tcp, (what) => this.stats.skipped[what === 'gap' ? 'tcp_gap' : 'tcp_overflow']++);
    this.maxMessage = o.maxMessage ?? CAPTURE_DEFAULTS.maxMessage;
    this.maxInflated = o.maxInflated ?? CAPTURE_DEFAULTS.maxInflated;
    this.maxSctp = o.maxSctpMessages ?? CAPTURE_DEFAULTS.maxSctpMessages;
    this.inflate = o.inflate;
    const stats = this.stats;
    this.events = {
      sip: (payload, meta, transport, timeMs) => {
        stats.read[transport]++;
        sink.sip(payload, { timeMs, srcIp: meta.srcIp, dstIp: meta.dstIp, srcPort: meta.srcPort, dstPort: meta.dstPort }, transport);
      },
      hep: (frame) => this.hep(frame),
      skipped: (reason) => stats.skipped[reason]++,
      wsUpgrade: (meta) => {
        const key = flowKey(meta.dstIp, meta.dstPort, meta.srcIp, meta.srcPort);
        const back = { srcIp: meta.dstIp, dstIp: meta.srcIp, srcPort: meta.dstPort, dstPort: meta.srcPort };
        const existing = this.tcp.flows.get(key);
        if (existing !== undefined) (existing.content as StreamDecoder).expectWebsocketAnswer();
        else this.tcp.flow(key, () => new StreamDecoder(back, this.events, false, this.maxMessage, true));
      },
    };
  }

  /** Bytes held for reassembly (fragments, TCP out-of-order data). */
  get heldBytes(): number {
    return this.frags.heldBytes + this.tcp.heldBytes;
  }

  /** TCP directions followed at the moment. */
  get tcpFlows(): number {
    return this.tcp.flows.size;
  }

  /**
   * One captured frame: b[start, end) of link type `linkType`, `origLen` bytes on the wire,
   * captured at `timeMs` (Unix ms).
   */
  decode(linkType: number, b: Buffer, start: number, end: number, origLen: number, timeMs: number): void {
    this.stats.frames++;
    this.t = timeMs;
    this.frameCut = end - start < origLen;
    if (timeMs - this.lastSweep >= 1000 || timeMs < this.lastSweep) this.sweep(timeMs);
    const c = this.cur;
    const r = decodeLink(linkType, b, start, end, c);
    if (r !== OK) return this.skipCode(r);
    this.network(b, c.type, c.off, c.end, 0);
  }

  /** End of the capture: what is still being reassembled is counted as incomplete. */
  finish(): void {
    this.frags.flush();
    this.syncFragments();
    this.tcp.flush();
    this.stats.skipped.sctp_incomplete += this.sctpPending.size;
    this.sctpPending.clear();
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    this.frags.expire(now);
    this.syncFragments();
    this.tcp.expire(now);
  }

  private syncFragments(): void {
    const f = this.frags;
    this.stats.skipped.fragments_incomplete += f.incomplete - this.fragIncomplete;
    this.stats.skipped.malformed += f.malformed - this.fragMalformed;
    this.fragIncomplete = f.incomplete;
    this.fragMalformed = f.malformed;
  }

  private skipCode(r: number): void {
    this.stats.skipped[REASON_OF[r]]++;
  }

  private network(b: Buffer, type: number, off: number, end: number, depth: number): void {
    if (depth > MAX_DEPTH) return this.skipCode(R_UNSUPPORTED_PROTOCOL);
    let t = type;
    let o = off;
    let e = end;
    if (t === ET_ETHERNET) {
      const c = this.cur;
      const r = decodeEthernet(b, o, e, c);
      if (r !== OK) return this.skipCode(r);
      t = c.type;
      o = c.off;
      e = c.end;
    }
    const x = this.ip;
    const r = t === ET_IPV4 ? decodeIpv4(b, o, e, this.frameCut, x) : t === ET_IPV6 ? decodeIpv6(b, o, e, this.frameCut, x) : R_NOT_IP;
    if (r !== OK) return this.skipCode(r);
    if (!x.isFragment) return this.transport(b, x.proto, x.off, x.end, depth);
    // a fragment: the datagram goes on when its last missing piece arrives
    const key = fragKey(x.addr, x.srcOff, x.dstOff, x.v6, x.fragId, x.v6 ? 0 : x.proto);
    const whole = this.frags.add(key, x.fragOffset, b.subarray(x.off, x.end), x.moreFragments, this.t);
    this.syncFragments();
    if (whole === null) return;
    x.isFragment = false;
    if (x.v6) {
      const r6 = walkIpv6(x.proto, whole, 0, whole.length, x);
      if (r6 !== OK) return this.skipCode(r6);
      if (x.isFragment) return this.skipCode(R_MALFORMED);
      return this.transport(whole, x.proto, x.off, x.end, depth);
    }
    this.transport(whole, x.proto, 0, whole.length, depth);
  }

  private transport(b: Buffer, proto: number, off: number, end: number, depth: number): void {
    switch (proto) {
      case 17:
        return this.udp(b, off, end, depth);
      case 6:
        return this.tcpSegment(b, off, end);
      case 132:
        return this.sctp(b, off, end);
      case 47: {
        const c = this.cur;
        const r = decodeGre(b, off, end, c);
        if (r !== OK) return this.skipCode(r);
        return this.network(b, c.type, c.off, c.end, depth + 1);
      }
      case 4:
        return this.network(b, ET_IPV4, off, end, depth + 1);
      case 41:
        return this.network(b, ET_IPV6, off, end, depth + 1);
      case 59: // IPv6 "no next header"
        this.stats.skipped.no_payload++;
        return;
      default:
        return this.skipCode(R_UNSUPPORTED_PROTOCOL);
    }
  }

  private srcIp(): string {
    const x = this.ip;
    return x.v6 ? ipv6ToString(x.addr, x.srcOff) : ipv4ToString(x.addr, x.srcOff);
  }

  private dstIp(): string {
    const x = this.ip;
    return x.v6 ? ipv6ToString(x.addr, x.dstOff) : ipv4ToString(x.addr, x.dstOff);
  }

  private udp(b: Buffer, off: number, end: number, depth: number): void {
    const st = this.stats;
    if (end - off < 8) return this.skipCode(R_MALFORMED);
    const len = be16(b, off + 4);
    let pe: number;
    if (len === 0) pe = end;
    else if (len < 8) return this.skipCode(R_MALFORMED);
    else if (off + len > end) return this.skipCode(this.frameCut ? R_TRUNCATED : R_MALFORMED);
    else pe = off + len;
    const sport = be16(b, off);
    const dport = be16(b, off + 2);
    const ps = off + 8;
    if (ps === pe) {
      st.skipped.no_payload++;
      return;
    }
    if (isVxlanPort(dport)) {
      const c = this.cur;
      if (decodeVxlan(b, ps, pe, c) === OK) return this.network(b, ET_ETHERNET, c.off, c.end, depth + 1);
    }
    if (isHep3(b, ps, pe)) return this.hep(b.subarray(ps, pe));
    if (startLineAt(b, ps, pe) === 1 || sipPort(sport) || sipPort(dport)) {
      st.read.udp++;
      this.sink.sip(b.subarray(ps, pe), { timeMs: this.t, srcIp: this.srcIp(), dstIp: this.dstIp(), srcPort: sport, dstPort: dport }, 'udp');
      return;
    }
    if (onlyCrlf(b, ps, pe)) st.skipped.no_payload++;
    else if (this.sink.media !== undefined && this.sink.media(b, ps, pe, this.addr(false), dport, this.addr(true), sport, this.t)) st.media++;
    else st.skipped.not_sip++;
  }

  /** The packet's source or destination address as CaptureSink.media takes it. */
  private addr(src: boolean): number | string {
    const x = this.ip;
    const o = src ? x.srcOff : x.dstOff;
    if (x.v6) return ipv6ToString(x.addr, o);
    const a = x.addr;
    return (a[o] << 24) | (a[o + 1] << 16) | (a[o + 2] << 8) | a[o + 3];
  }

  private tcpSegment(b: Buffer, off: number, end: number): void {
    const st = this.stats;
    if (end - off < 20) return this.skipCode(R_MALFORMED);
    const doff = (b[off + 12] >> 4) * 4;
    if (doff < 20 || doff > end - off) return this.skipCode(R_MALFORMED);
    const flags = b[off + 13];
    const sport = be16(b, off);
    const dport = be16(b, off + 2);
    const seq = be32(b, off + 4);
    const ps = off + doff;
    const key = this.tcpKey(sport, dport);
    const tcp = this.tcp;
    if (flags & 0x04) {
      // RST
      const f = tcp.flows.get(key);
      if (f !== undefined) tcp.reset(f);
      st.skipped.no_payload++;
      return;
    }
    if (flags & 0x02) {
      // SYN: a new connection (a repeated SYN of the same one changes nothing)
      let f = tcp.flows.get(key);
      if (f !== undefined && !(f.fromStart && f.next === ((seq + 1) >>> 0))) {
        tcp.close(f);
        f = undefined;
      }
      if (f === undefined) {
        f = tcp.flow(key, () => this.stream(sport, dport, true));
        tcp.syn(f, seq, this.t);
      }
      st.skipped.no_payload++;
      return;
    }
    const fin = (flags & 0x01) !== 0;
    if (ps >= end) {
      if (fin) {
        const f = tcp.flows.get(key);
        if (f !== undefined) tcp.segment(f, seq, b, ps, ps, true, this.t);
      }
      st.skipped.no_payload++;
      return;
    }
    let f: TcpFlow | undefined = tcp.flows.get(key);
    if (f === undefined) f = tcp.flow(key, () => this.stream(sport, dport, false));
    tcp.segment(f, seq, b, ps, end, fin, this.t);
  }

  /**
   * The key of the current packet's TCP direction. For IPv4 it is looked up by numbers (address
   * and port as one 48-bit number per end), so that no address text is built per segment.
   */
  private tcpKey(sport: number, dport: number): string {
    const x = this.ip;
    if (x.v6) return flowKey(this.srcIp(), sport, this.dstIp(), dport);
    const a = x.addr;
    const s48 = be32(a, x.srcOff) * 65536 + sport;
    const d48 = be32(a, x.dstOff) * 65536 + dport;
    let inner = this.keys4.get(s48);
    if (inner === undefined) {
      if (this.keys4Size >= 65536) {
        this.keys4.clear();
        this.keys4Size = 0;
      }
      inner = new Map();
      this.keys4.set(s48, inner);
    }
    let k = inner.get(d48);
    if (k === undefined) {
      k = flowKey(this.srcIp(), sport, this.dstIp(), dport);
      inner.set(d48, k);
      this.keys4Size++;
    }
    return k;
  }

  private stream(srcPort: number, dstPort: number, fromStart: boolean): StreamDecoder {
    const meta: StreamMeta = { srcIp: this.srcIp(), dstIp: this.dstIp(), srcPort, dstPort };
    return new StreamDecoder(meta, this.events, fromStart, this.maxMessage);
  }

  private sctp(b: Buffer, off: number, end: number): void {
    const st = this.stats;
    if (end - off < 12) return this.skipCode(R_MALFORMED);
    const sport = be16(b, off);
    const dport = be16(b, off + 2);
    let p = off + 12;
    let data = false;
    while (end - p >= 4) {
      const type = b[p];
      const flags = b[p + 1];
      const clen = be16(b, p + 2);
      if (clen < 4 || p + clen > end) {
        this.skipCode(this.frameCut ? R_TRUNCATED : R_MALFORMED);
        return;
      }
      if (type === 0 && clen >= 16) {
        data = true;
        const s = p + 16;
        const e = p + clen;
        if ((flags & 3) === 3) this.sctpMessage(b.subarray(s, e), this.sctpMeta(sport, dport));
        else this.sctpFragment(b, s, e, flags, be32(b, p + 4), be16(b, p + 8), sport, dport);
      }
      p += (clen + 3) & ~3;
    }
    if (!data) st.skipped.no_payload++;
  }

  private sctpMeta(sport: number, dport: number): SipMeta {
    return { timeMs: this.t, srcIp: this.srcIp(), dstIp: this.dstIp(), srcPort: sport, dstPort: dport };
  }

  private sctpMessage(payload: Buffer, meta: SipMeta): void {
    if (isHep3(payload, 0, payload.length)) return this.hep(payload);
    if (startLineAt(payload, 0, payload.length) !== 1) {
      this.stats.skipped[onlyCrlf(payload, 0, payload.length) ? 'no_payload' : 'not_sip']++;
      return;
    }
    this.stats.read.sctp++;
    this.sink.sip(payload, meta, 'sctp');
  }

  private sctpFragment(b: Buffer, s: number, e: number, flags: number, tsn: number, sid: number, sport: number, dport: number): void {
    const st = this.stats;
    const key = flowKey(this.srcIp(), sport, this.dstIp(), dport) + '#' + sid;
    let m = this.sctpPending.get(key);
    if (flags & 2) {
      // B: a new user message
      if (m !== undefined) {
        st.skipped.sctp_incomplete++;
        this.sctpPending.delete(key);
      }
      while (this.sctpPending.size >= this.maxSctp) {
        const first = this.sctpPending.keys().next().value as string;
        this.sctpPending.delete(first);
        st.skipped.sctp_incomplete++;
      }
      m = { tsn, parts: [Buffer.from(b.subarray(s, e))], len: e - s, meta: this.sctpMeta(sport, dport) };
      this.sctpPending.set(key, m);
      return;
    }
    if (m === undefined || tsn !== ((m.tsn + 1) >>> 0)) {
      // a middle or end piece without its beginning, or a piece missing in between
      st.skipped.sctp_incomplete++;
      if (m !== undefined) this.sctpPending.delete(key);
      return;
    }
    m.tsn = tsn;
    m.parts.push(Buffer.from(b.subarray(s, e)));
    m.len += e - s;
    if (m.len > this.maxMessage) {
      st.skipped.sctp_incomplete++;
      this.sctpPending.delete(key);
      return;
    }
    if (flags & 1) {
      this.sctpPending.delete(key);
      this.sctpMessage(Buffer.concat(m.parts, m.len), { ...m.meta, timeMs: this.t });
    }
  }

  private hep(frame: Buffer): void {
    const st = this.stats;
    const r = decodeHep(frame);
    if (!r.ok) {
      st.skipped.hep_decode_errors++;
      return;
    }
    const p = r.value;
    if (p.compressed) {
      const out = this.inflate === undefined ? null : this.inflate(p.payload, this.maxInflated);
      if (out === null) {
        st.skipped.hep_inflate_errors++;
        return;
      }
      p.payload = out;
      p.compressed = false;
    }
    st.read.hep++;
    this.sink.hep(p);
  }
}

/** Key of one direction of a TCP connection (or SCTP association). */
export function flowKey(srcIp: string, srcPort: number, dstIp: string, dstPort: number): string {
  return srcIp + ' ' + srcPort + ' ' + dstIp + ' ' + dstPort;
}

function fragKey(addr: Uint8Array, srcOff: number, dstOff: number, v6: boolean, id: number, proto: number): string {
  const n = v6 ? 16 : 4;
  let k = v6 ? '6' : '4';
  for (let i = 0; i < n; i++) k += String.fromCharCode(addr[srcOff + i]);
  for (let i = 0; i < n; i++) k += String.fromCharCode(addr[dstOff + i]);
  return k + ' ' + id + ' ' + proto;
}
