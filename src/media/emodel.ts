/**
 * Listening quality from the ITU-T G.107 E-model, reduced to what a passive monitor measures
 * (docs/kpis.md, "Media quality"): R = 93.2 − Id − Ie,eff, with
 *  - Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl + Bpl): the codec's equipment impairment Ie and its
 *    packet-loss robustness Bpl (CODECS), Ppl the packet loss in %;
 *  - Id = 0.024 d + 0.11 (d − 177.3) H(d − 177.3): the delay impairment of the one-way delay d
 *    (ms): half the RTCP round trip when a report gives it, else 0, plus a jitter buffer of twice
 *    the mean jitter;
 *  - MOS = 1 + 0.035 R + 7·10⁻⁶ R (R − 60)(100 − R), 1 for R ≤ 0 and 4.5 for R ≥ 100.
 * Pure arithmetic: no I/O, no state.
 */

export interface CodecImpairment {
  /** Equipment impairment factor (0 = G.711). */
  readonly ie: number;
  /** Packet-loss robustness factor (random loss). */
  readonly bpl: number;
  /** Where the figures come from. */
  readonly source: string;
}

/**
 * By RTP encoding name (the SDP rtpmap's, upper case; static payload types are named by
 * STATIC_PAYLOADS). G.113 Appendix I gives Ie and Bpl for narrowband codecs; wideband ones (G.722,
 * Opus) are rated on the narrowband scale as G.711 with packet-loss concealment, their best case
 * there (documented as an assumption).
 */
export const CODECS: Readonly<Record<string, CodecImpairment>> = Object.freeze({
  PCMU: { ie: 0, bpl: 25.1, source: 'G.113 App. I: G.711 with the PLC of G.711 Appendix I' },
  PCMA: { ie: 0, bpl: 25.1, source: 'G.113 App. I: G.711 with the PLC of G.711 Appendix I' },
  G729: { ie: 11, bpl: 19, source: 'G.113 App. I: G.729A + VAD' },
  G723: { ie: 15, bpl: 16.1, source: 'G.113 App. I: G.723.1 6.3 kbit/s + VAD' },
  GSM: { ie: 20, bpl: 10, source: 'G.113 App. I: GSM-FR Ie; Bpl of GSM-EFR (none given for FR)' },
  'GSM-EFR': { ie: 5, bpl: 10, source: 'G.113 App. I: GSM-EFR' },
  ILBC: { ie: 11, bpl: 19, source: 'assumption: rated as G.729A (no G.113 figure)' },
  G722: { ie: 0, bpl: 25.1, source: 'assumption: rated as G.711 with PLC on the narrowband scale' },
  OPUS: { ie: 0, bpl: 25.1, source: 'assumption: rated as G.711 with PLC on the narrowband scale' },
});

/** The codec a payload type without an rtpmap is (RFC 3551 static payload types) and its clock rate. */
export const STATIC_PAYLOADS: Readonly<Record<number, { readonly name: string; readonly clock: number }>> = Object.freeze({
  0: { name: 'PCMU', clock: 8000 },
  3: { name: 'GSM', clock: 8000 },
  4: { name: 'G723', clock: 8000 },
  8: { name: 'PCMA', clock: 8000 },
  9: { name: 'G722', clock: 8000 },
  18: { name: 'G729', clock: 8000 },
});

/** What an unknown codec is rated as. */
export const DEFAULT_CODEC = 'PCMA';

export function codecImpairment(name: string | undefined): CodecImpairment {
  return (name !== undefined ? CODECS[name.toUpperCase()] : undefined) ?? CODECS[DEFAULT_CODEC];
}

/** R factor of a stream: its codec, packet loss (%), one-way delay (ms). */
export function rFactor(codec: CodecImpairment, lossPercent: number, delayMs: number): number {
  const ppl = Math.max(0, lossPercent);
  const ieEff = codec.ie + ((95 - codec.ie) * ppl) / (ppl + codec.bpl);
  const d = Math.max(0, delayMs);
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  return 93.2 - id - ieEff;
}

/** MOS (1 .. 4.5) of an R factor. */
export function mosOfR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return Math.min(4.5, Math.max(1, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)));
}

/** MOS of a stream: codec name, loss (%), mean jitter (ms), round trip (ms; 0 when unknown). */
export function mos(codecName: string | undefined, lossPercent: number, meanJitterMs: number, rttMs = 0): number {
  return mosOfR(rFactor(codecImpairment(codecName), lossPercent, rttMs / 2 + 2 * meanJitterMs));
}
