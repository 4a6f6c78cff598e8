/**
 * The SDP reader as it was written first (lines as strings, split and regular expressions): the
 * oracle the byte-level reader of src/media/sdp.ts is checked against (test/property/sdp.property.test.ts).
 */
import { STATIC_PAYLOADS } from '../../src/media/emodel.ts';

/** An audio stream an SDP body offers or answers: where it wants RTP, and its payload types. */
interface SdpAudio {
  /** Connection address (the media's c= line, else the session's). */
  readonly addr: string;
  /** RTP port (even, non-zero: a stream with port 0 is refused and not listed). */
  readonly port: number;
  /** Payload types in preference order (the m= line's formats). */
  readonly pts: readonly number[];
  /** Encoding name (upper case) and clock rate by payload type (rtpmap, else RFC 3551 static types). */
  readonly codecs: ReadonlyMap<number, { readonly name: string; readonly clock: number }>;
}

const LINE = /\r?\n/;

/**
 * The audio streams of an SDP body (RFC 8866): `m=audio` lines with their c= and a=rtpmap lines.
 * A body that is not SDP, or a stream without an address, gives nothing (never throws).
 */
export function sdpAudioOracle(body: string): SdpAudio[] {
  const out: SdpAudio[] = [];
  let session = '';
  let cur: { addr: string; port: number; pts: number[]; codecs: Map<number, { name: string; clock: number }> } | null = null;
  const close = () => {
    if (cur !== null && cur.port > 0 && (cur.addr || session)) {
      for (const pt of cur.pts) {
        const st = STATIC_PAYLOADS[pt];
        if (!cur.codecs.has(pt) && st !== undefined) cur.codecs.set(pt, { name: st.name, clock: st.clock });
      }
      out.push({ addr: cur.addr || session, port: cur.port, pts: cur.pts, codecs: cur.codecs });
    }
    cur = null;
  };
  for (const line of body.split(LINE)) {
    if (line.length < 2 || line[1] !== '=') continue;
    const v = line.slice(2).trim();
    switch (line[0]) {
      case 'm': {
        close();
        const f = v.split(/\s+/);
        if (f[0] !== 'audio' || f.length < 3 || !f[2].startsWith('RTP/')) break;
        const port = Number(f[1].split('/')[0]);
        if (!Number.isInteger(port) || port < 0 || port > 65535) break;
        cur = { addr: '', port, pts: f.slice(3).map(Number).filter((n) => Number.isInteger(n) && n >= 0 && n < 128), codecs: new Map() };
        break;
      }
      case 'c': {
        const f = v.split(/\s+/);
        if (f.length < 3 || f[0] !== 'IN') break;
        const addr = f[2].split('/')[0];
        if (cur !== null) cur.addr = addr;
        else session = addr;
        break;
      }
      case 'a': {
        if (cur === null || !v.startsWith('rtpmap:')) break;
        const m = /^rtpmap:(\d+)\s+([^/\s]+)\/(\d+)/.exec(v);
        if (m !== null) cur.codecs.set(Number(m[1]), { name: m[2].toUpperCase(), clock: Number(m[3]) });
        break;
      }
    }
  }
  close();
  return out;
}
