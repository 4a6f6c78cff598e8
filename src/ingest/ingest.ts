import type { StatsEngine } from '../core/engine.ts';
import type { SipPipeline } from '../kpi/sip-pipeline.ts';
import type { AccKpiFeeder } from '../kpi/acc-events.ts';
import { HepStreamFramer } from '../protocol/hep/stream.ts';
import { decodeEvent, fromJson, JsonObjectStream } from '../protocol/opensips/event.ts';
import { listenUdp } from './hep-udp.ts';
import type { UdpListener } from './hep-udp.ts';
import { listenTcp } from './stream-tcp.ts';
import type { TcpListener } from './stream-tcp.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** HEP over UDP and TCP on the same address (what heplify, Kamailio and OpenSIPS send). */
export async function listenHep(at: HostPort, pipe: SipPipeline, engine: StatsEngine): Promise<{ udp: UdpListener; tcp: TcpListener; close(): Promise<void> }> {
  const udp = await listenUdp(at.host, at.port, (buf) => pipe.onHep(buf), () => engine.selfStat('ingest_errors'));
  const tcp = await listenTcp(at.host, udp.port, () => {
    const framer = new HepStreamFramer();
    let bad = 0;
    const sync = () => {
      const n = framer.stats.badFrames + framer.stats.oversizeFrames;
      if (n > bad) engine.selfStat('hep_tcp_bad_frames', n - bad);
      bad = n;
    };
    return {
      data(chunk) {
        for (const f of framer.push(chunk)) pipe.onHep(f);
        sync();
      },
      end() {
        framer.end();
        sync();
      },
    };
  });
  return { udp, tcp, close: async () => void (await Promise.all([udp.close(), tcp.close()])) };
}

/** OpenSIPS accounting events: event_datagram over UDP and event_stream (JSON-RPC) over TCP, on one port. */
export async function listenOpensipsEvents(at: HostPort, acc: AccKpiFeeder, engine: StatsEngine): Promise<{ udp: UdpListener; tcp: TcpListener; close(): Promise<void> }> {
  const udp = await listenUdp(at.host, at.port, (buf) => {
    const r = decodeEvent(buf);
    if (!r.ok) engine.selfStat('event_decode_errors');
    else acc.onEvent(r.value);
  });
  const tcp = await listenTcp(at.host, udp.port, () => {
    const js = new JsonObjectStream();
    return {
      data(chunk) {
        for (const text of js.push(chunk)) {
          let v: unknown;
          try {
            v = JSON.parse(text);
          } catch {
            engine.selfStat('event_decode_errors');
            continue;
          }
          const r = fromJson(v);
          if (!r.ok) engine.selfStat('event_decode_errors');
          else acc.onEvent(r.value);
        }
      },
      end() {},
    };
  });
  return { udp, tcp, close: async () => void (await Promise.all([udp.close(), tcp.close()])) };
}
