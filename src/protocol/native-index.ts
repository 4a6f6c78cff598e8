import { METHODS } from './sip/methods.ts';

/**
 * The native frame indexer's layout and API (native/sip-index.c, built by scripts/build-native.mjs;
 * loaded by src/ingest/load-native-index.ts, this layer being pure): one call per
 * HEP frame (or bare SIP message: indexSip) finds where the HEP fields and the SIP fields the call tracker reads lie, and writes
 * them into `IX`; hepFromIndex (hep/decode.ts) and sipFromIndex (sip/parse.ts) make the packet and
 * the message from them. It takes the common frame only: for any other (malformed, IPv6,
 * compressed, not SIP, a folded header, an unknown method) it says no, and the JavaScript decoder
 * and parser, the reference, read it (test/property/native-index.property.test.ts holds the two equal).
 */
export interface NativeIndexModule {
  setOut(out: Int32Array): void;
  index(frame: Buffer): void;
  /** The same for a bare SIP message frame[start, end) (absent from a module built before it). */
  indexSip?(frame: Buffer, start: number, end: number): void;
  readonly layout?: number;
  readonly size?: number;
  /** Its method list, comma-separated (the numbers it writes are indexes in it). */
  readonly methods?: string;
}

/**
 * Where each field is in IX (native/sip-index.c's enum, in the same order). Consumers copy the
 * ones they read into module constants (an imported object's property is loaded at each use).
 */
export const Ix = {
  OK: 0,
  PROTOCOL: 1,
  SRC4: 2,
  DST4: 3,
  /** Bit 1: an IPv4 source chunk; bit 2: a destination one. */
  ADDRS: 4,
  SRC_PORT: 5,
  DST_PORT: 6,
  /** Unsigned numbers (seconds, capture id, CSeq number) are read with `>>> 0`. */
  TS_SEC: 7,
  TS_USEC: 8,
  PROTO_TYPE: 9,
  CAPTURE_ID: 10,
  FAMILY: 11,
  AUTH_S: 12,
  AUTH_E: 13,
  CORR_S: 14,
  CORR_E: 15,
  NODE_S: 16,
  NODE_E: 17,
  PAY_S: 18,
  PAY_E: 19,
  REQUEST: 20,
  /** Index in METHODS (sip/methods.ts); -1 for a reply. */
  METHOD: 21,
  STATUS: 22,
  SL: 23,
  SLE: 24,
  HS: 25,
  /** 12 numbers: start and end of the first Call-ID, CSeq, From, To, Via, Content-Length value (-1: none, or not read yet: see SCAN). */
  POS: 26,
  BODY: 38,
  CSEQ_SEQ: 39,
  /** Index in METHODS; -1: no valid CSeq. */
  CSEQ_METHOD: 40,
  /** Ranges of the From tag, To tag and top Via branch values (-1: none). */
  FTAG_S: 41,
  FTAG_E: 42,
  TTAG_S: 43,
  TTAG_E: 44,
  BRANCH_S: 45,
  BRANCH_E: 46,
  /** The next header line to read (-1: all were read, BODY is where the body starts; else BODY is -1). */
  SCAN: 47,
  /** For a BYE or a reply to one: 1 when a header's name says "rtp-stat" (any case), else 0; -1 for other messages (not looked for). */
  RTP_STAT: 48,
  SIZE: 49,
} as const;

/** The layout version this source reads (IX_LAYOUT in native/sip-index.c). */
const LAYOUT = 3;

/** The indexer's output: read right after `indexFrame` answered true (single-threaded). */
export const IX = new Int32Array(Ix.SIZE);

export interface FrameIndexer {
  /** Indexes a HEP frame into IX: false when the JavaScript decoder and parser must read it. */
  indexFrame(frame: Buffer): boolean;
  /**
   * Indexes the bare SIP message buf[start, end) (a capture's payload) into IX, its SIP fields
   * only: false when the JavaScript parser must read it (or the module predates this entry).
   */
  indexSip(buf: Buffer, start: number, end: number): boolean;
  readonly why: string;
}

/** A loaded module, if it writes this source's layout (one built from an older source does not). */
export function acceptedIndexer(m: NativeIndexModule): { indexer: FrameIndexer | null; why: string } {
  if (m.layout !== LAYOUT || m.size !== Ix.SIZE || m.methods !== METHODS.join(',')) return { indexer: null, why: 'native frame indexer built from another source (another layout or method list): rebuild it with `npm run build`' };
  m.setOut(IX);
  const why = 'native frame indexer';
  return {
    indexer: {
      why,
      indexFrame: (frame) => {
        m.index(frame);
        return IX[Ix.OK] === 1;
      },
      indexSip:
        m.indexSip === undefined
          ? () => false
          : (buf, start, end) => {
              m.indexSip!(buf, start, end);
              return IX[Ix.OK] === 1;
            },
    },
    why,
  };
}

