/**
 * Voice-quality reports endpoints write themselves (pure: no I/O):
 *  - quality headers in a BYE or its 200 (`X-RTP-Stat`, `P-RTP-Stat`, `X-RTP-Statistics`,
 *    `X-Siemens-RTP-stats`): `KEY=value` pairs separated by `;` or `,` about the stream the
 *    writer received — PR packets received, PL lost, JI jitter (ms), LA latency (ms), MOS when
 *    the device computes one, DE the decoder (AudioCodes, Poly, Siemens, TelcoBridges devices);
 *  - RTCP-XR voice-quality session reports (RFC 6035, `application/vq-rtcpxr`: in a SIP PUBLISH,
 *    or as HEP protocol type 35): `CallID:`, then `LocalMetrics:` with `PacketLoss: NLR=`,
 *    `Delay: RTD= IAJ=`, `QualityEst: MOSCQ=`, `SessionDesc: PD= PPS=`, `Timestamps: START= STOP=`.
 */

import { jsonObject } from './json-object.ts';
import { STATIC_PAYLOADS } from './emodel.ts';

/** What a report says of one received stream. */
export interface QualityFigures {
  /** Packets expected (received + lost), or an estimate (RFC 6035: packets per second × duration). */
  readonly expected: number;
  readonly lost: number;
  /** Mean jitter (ms). */
  readonly jitterMs: number;
  /** One-way delay (ms) for the E-model: latency, or half the round trip; 0 when not given. */
  readonly delayMs: number;
  /** The MOS the reporter computed itself (kept as reported), if any. */
  readonly mos: number | undefined;
  /** The codec, when the report names one (upper case). */
  readonly codec: string | undefined;
}

/** The quality headers read, in this order (a message carrying several: the first one). */
export const QUALITY_HEADERS: readonly string[] = Object.freeze(['X-RTP-Stat', 'P-RTP-Stat', 'X-RTP-Statistics', 'X-RTP-Stats', 'X-Siemens-RTP-stats']);

/** Decoder names of quality headers (an RTP payload type number, or a name) to the E-model's codec names. */
function codecName(v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  const u = v.toUpperCase().replace(/[^A-Z0-9]/g, '');
  // a payload type number: RFC 3551's static types, as the SDP reader names them
  if (/^\d+$/.test(u)) return STATIC_PAYLOADS[Number(u)]?.name ?? u;
  if (u.startsWith('G711U')) return 'PCMU';
  if (u.startsWith('G711A')) return 'PCMA';
  if (u.startsWith('G729')) return 'G729';
  if (u.startsWith('G722')) return 'G722';
  if (u.startsWith('GSM')) return 'GSM';
  if (u.startsWith('OPUS')) return 'OPUS';
  if (u.startsWith('ILBC')) return 'ILBC';
  return u;
}

const finite = (s: string | undefined): number | undefined => {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s.trim());
  return Number.isFinite(n) ? n : undefined;
};

/** A quality header's value (keys read in lower case); a reason string when it holds no received-packets count. */
export function qualityFromHeader(value: string): QualityFigures | string {
  const kv = new Map<string, string>();
  for (const part of value.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    kv.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const received = finite(kv.get('pr'));
  if (received === undefined || received < 0) return 'no PR= (packets received)';
  const lost = Math.max(0, finite(kv.get('pl')) ?? 0);
  const mosValue = finite(kv.get('mos'));
  return {
    expected: received + lost,
    lost,
    jitterMs: Math.max(0, finite(kv.get('ji')) ?? 0),
    delayMs: Math.max(0, finite(kv.get('la')) ?? 0),
    mos: mosValue !== undefined && mosValue >= 1 && mosValue <= 5 ? mosValue : undefined,
    codec: codecName(kv.get('de') ?? kv.get('en')),
  };
}

/** A report of RFC 6035 and the Call-ID it is about. */
export interface VqReport {
  readonly callId: string;
  readonly figures: QualityFigures;
}

/** `KEY=value KEY=value` of one RFC 6035 line (values may be quoted). */
function params(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const x of line.matchAll(/([A-Za-z][A-Za-z0-9]*)=("[^"]*"|\S*)/g)) m.set(x[1].toUpperCase(), x[2].replace(/^"|"$/g, ''));
  return m;
}

/**
 * An RFC 6035 session report (its LocalMetrics: what the reporter received); a reason string when
 * it is not one. Expected packets: PPS × the report's duration (START..STOP), else 50 a second
 * (20 ms packets); lost = NLR % of them.
 */
export function vqFromText(text: string): VqReport | string {
  const lines = text.split(/\r?\n/);
  let callId: string | undefined;
  let inLocal = false;
  let seenLocal = false;
  const f: Record<string, Map<string, string>> = {};
  for (const raw of lines) {
    const line = raw.trim();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const rest = line.slice(colon + 1).trim();
    if (key === 'callid') callId = rest;
    else if (key === 'localmetrics') {
      inLocal = true;
      seenLocal = true;
    } else if (key === 'remotemetrics') inLocal = false;
    else if (inLocal && ['timestamps', 'sessiondesc', 'packetloss', 'delay', 'qualityest'].includes(key)) f[key] = params(rest);
  }
  if (callId === undefined || callId === '') return 'no CallID:';
  if (!seenLocal) return 'no LocalMetrics:';
  const nlr = finite(f.packetloss?.get('NLR'));
  if (nlr === undefined) return 'no PacketLoss: NLR= in LocalMetrics';
  const start = Date.parse(f.timestamps?.get('START') ?? '');
  const stop = Date.parse(f.timestamps?.get('STOP') ?? '');
  const seconds = Number.isFinite(start) && Number.isFinite(stop) && stop > start ? (stop - start) / 1000 : 0;
  const pps = finite(f.sessiondesc?.get('PPS')) ?? 50;
  const expected = Math.max(1, Math.round(pps * (seconds > 0 ? seconds : 1)));
  const rtd = finite(f.delay?.get('RTD'));
  const mosValue = finite(f.qualityest?.get('MOSCQ')) ?? finite(f.qualityest?.get('MOSLQ'));
  return {
    callId,
    figures: {
      expected,
      lost: Math.round((expected * Math.min(100, Math.max(0, nlr))) / 100),
      jitterMs: Math.max(0, finite(f.delay?.get('IAJ')) ?? finite(f.delay?.get('MAJ')) ?? 0),
      delayMs: rtd !== undefined && rtd > 0 ? rtd / 2 : 0,
      mos: mosValue !== undefined && mosValue >= 1 && mosValue <= 5 ? mosValue : undefined,
      codec: codecName(f.sessiondesc?.get('PD') ?? f.sessiondesc?.get('PT')),
    },
  };
}

/** An RTP agent's report on one stream (HEP protocol type 34), read by rtpAgentFromJson. */
export interface AgentReport {
  /** The call it reports on (its `RTP_SIP_CALL_ID`, else `CORRELATION_ID`), when it names one. */
  readonly callId: string | undefined;
  /** The stream's last report (`TYPE: FINAL`): its totals; a periodic one is interim. */
  readonly final: boolean;
  readonly figures: QualityFigures;
}

/**
 * An "RTP agent" JSON report (HEP protocol type 34: HEPIC's rtpagent, FreeSWITCH through hepipe):
 * one stream's packets (`EXPECTED_PK`, else `TOTAL_PK` + `PACKET_LOSS`; `PACKET_LOSS` lost), its
 * mean jitter in ms (`MEAN_JITTER`, else `JITTER`), the MOS the agent computed (`MEAN_MOS`, else
 * `MOS`: kept as reported), the codec (`CODEC_NAME`, else `CODEC_PT`), and `TYPE` (`FINAL` or
 * `PERIODIC`). A string (the reason) when it is not one.
 */
export function rtpAgentFromJson(text: string): AgentReport | string {
  const o = jsonObject(text);
  if (typeof o === 'string') return o;
  // (field names in any case: agents write them upper-case)
  const r = new Map<string, unknown>();
  for (const [k, v] of Object.entries(o)) r.set(k.toLowerCase(), v);
  const num = (k: string): number | undefined => {
    const v = r.get(k);
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    return Number.isFinite(n) ? n : undefined;
  };
  const str = (k: string): string | undefined => {
    const v = r.get(k);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const lost = num('packet_loss');
  const total = num('total_pk');
  const expected = num('expected_pk') ?? (total !== undefined && lost !== undefined ? total + lost : undefined);
  if (expected === undefined) return 'no EXPECTED_PK (nor TOTAL_PK and PACKET_LOSS)';
  if (expected < 0 || !Number.isInteger(expected)) return `EXPECTED_PK ${expected} is not a packet count`;
  const jitter = num('mean_jitter') ?? num('jitter');
  if (jitter !== undefined && jitter < 0) return `jitter ${jitter} is negative`;
  const mosValue = num('mean_mos') ?? num('mos');
  const id = str('rtp_sip_call_id') ?? str('correlation_id');
  const codec = str('codec_name') ?? num('codec_pt')?.toString();
  const type = str('type');
  return {
    callId: id,
    final: type !== undefined && type.toUpperCase() === 'FINAL',
    figures: {
      expected,
      // (duplicates can make the loss negative, as RFC 3550 counts it: kept within the packets expected)
      lost: Math.min(expected, Math.max(lost ?? 0, -expected)),
      jitterMs: jitter ?? 0,
      delayMs: 0,
      mos: mosValue !== undefined && mosValue >= 1 && mosValue <= 5 ? mosValue : undefined,
      codec: codecName(codec),
    },
  };
}
