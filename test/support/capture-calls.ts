/**
 * A small fixed set of calls as SIP messages with capture times, for the capture-decoder tests:
 * every encapsulation carries these same messages and must give the same KPIs as plain UDP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayCapture } from '../../src/app/replay.ts';
import type { ReplayResult } from '../../src/app/replay.ts';
import { defaultConfig } from '../../src/config/load.ts';

export const T0 = 1_795_508_400_000;

export interface CallMessage {
  timeMs: number;
  /** From the caller (A) to the callee (B). */
  fromA: boolean;
  data: Buffer;
}

/** An SDP body of about `size` bytes (attributes repeated), so that an INVITE fragments or spans segments. */
export function bigSdp(size: number): string {
  const lines = ['v=0', 'o=- 1 1 IN IP4 10.0.0.1', 's=-', 'c=IN IP4 10.0.0.1', 't=0 0', 'm=audio 16384 RTP/AVP 8 0 101'];
  let n = 0;
  while (lines.join('\r\n').length < size - 40) lines.push(`a=fmtp:${96 + (n % 30)} mode-set=${n++};padding=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`);
  return lines.join('\r\n') + '\r\n';
}

function msg(start: string, h: Record<string, string>, body = ''): Buffer {
  const lines = [start, ...Object.entries(h).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);
}

/**
 * Four calls: c1 acme answered (ring 200 ms, answer 1 s, BYE at 5 s; INVITE with a 3 KB SDP);
 * c2 globex 486 at 300 ms; c3 globex answered without ringing at 400 ms, callee BYE at 3 s (a
 * 2 KB SDP in the 200); c4 acme cancelled after ringing (487).
 */
export function callMessages(): CallMessage[] {
  const out: CallMessage[] = [];
  const call = (id: string, customer: string, t0: number, steps: [number, boolean, string, string][], sdpInvite = '', sdpOk = '') => {
    const base = (cseq: string, toTag: string) => ({
      Via: `SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-${id}-${cseq.replace(' ', '')}`,
      From: `<sip:alice@example.com>;tag=f-${id}`,
      To: `<sip:bob@example.net>${toTag}`,
      'Call-ID': id,
      CSeq: cseq,
    });
    for (const [dt, fromA, what, cseq] of steps) {
      const tag = what.startsWith('INVITE') || what.startsWith('CANCEL') || (cseq === '1 INVITE' && what.startsWith('SIP/2.0 100')) ? '' : `;tag=t-${id}`;
      let data: Buffer;
      if (what === 'INVITE') data = msg('INVITE sip:bob@10.0.0.2:5072 SIP/2.0', { ...base(cseq, tag), 'X-Customer': customer, Contact: '<sip:alice@10.0.0.1:5062>', 'Content-Type': 'application/sdp' }, sdpInvite);
      else if (what.startsWith('SIP/2.0 200') && cseq === '1 INVITE') data = msg(what, { ...base(cseq, tag), Contact: '<sip:bob@10.0.0.2:5072>', 'Content-Type': 'application/sdp' }, sdpOk);
      else if (what.startsWith('SIP/2.0')) data = msg(what, base(cseq, tag));
      else data = msg(`${what} sip:bob@10.0.0.2:5072 SIP/2.0`, base(cseq, tag));
      out.push({ timeMs: t0 + dt, fromA, data });
    }
  };
  call('c1', 'acme', T0, [
    [0, true, 'INVITE', '1 INVITE'],
    [10, false, 'SIP/2.0 100 Trying', '1 INVITE'],
    [200, false, 'SIP/2.0 180 Ringing', '1 INVITE'],
    [1000, false, 'SIP/2.0 200 OK', '1 INVITE'],
    [1010, true, 'ACK', '1 ACK'],
    [5000, true, 'BYE', '2 BYE'],
    [5010, false, 'SIP/2.0 200 OK', '2 BYE'],
  ], bigSdp(3000));
  call('c2', 'globex', T0 + 100, [
    [0, true, 'INVITE', '1 INVITE'],
    [300, false, 'SIP/2.0 486 Busy Here', '1 INVITE'],
    [310, true, 'ACK', '1 ACK'],
  ]);
  call('c3', 'globex', T0 + 150, [
    [0, true, 'INVITE', '1 INVITE'],
    [400, false, 'SIP/2.0 200 OK', '1 INVITE'],
    [410, true, 'ACK', '1 ACK'],
    [3000, false, 'BYE', '1 BYE'],
    [3010, true, 'SIP/2.0 200 OK', '1 BYE'],
  ], '', bigSdp(2000));
  call('c4', 'acme', T0 + 200, [
    [0, true, 'INVITE', '1 INVITE'],
    [250, false, 'SIP/2.0 180 Ringing', '1 INVITE'],
    [900, true, 'CANCEL', '1 CANCEL'],
    [905, false, 'SIP/2.0 200 OK', '1 CANCEL'],
    [910, false, 'SIP/2.0 487 Request Terminated', '1 INVITE'],
    [915, true, 'ACK', '1 ACK'],
  ]);
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

/** Replays a capture image; returns the result and the KPI values (every group but `sipstats`). */
export async function replayImage(image: Buffer, name = 'capture.pcap'): Promise<{ r: ReplayResult; kpis: Record<string, number>; all: Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-cap-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, image);
    const r = await replayCapture(file, { config: defaultConfig().engine, chunkBytes: 4096 });
    const reply = await r.stats.mi('get_statistics', [['all']]);
    const all = ('result' in reply ? reply.result : {}) as Record<string, number>;
    const kpis: Record<string, number> = {};
    for (const [k, v] of Object.entries(all)) if (!k.startsWith('sipstats:') || k === 'sipstats:calls_started') kpis[k] = v;
    return { r, kpis, all };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
