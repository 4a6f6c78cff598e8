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

/** A UDP and a TCP listener on one address and port. */
export interface DualListener {
  udp: UdpListener;
  tcp: TcpListener;
  close(): Promise<void>;
}

/** Attempts at finding a port free for both UDP and TCP when port 0 (any) is asked for. */
const ANY_PORT_ATTEMPTS = 20;

/**
 * Binds UDP, then TCP on the same port. If TCP cannot have it, the UDP socket is closed again
 * (never left bound and keeping the process alive) and, when any port was asked for (0), another
 * ephemeral port is tried: the one UDP got may be taken for TCP by another program.
 */
async function listenBoth(
  at: HostPort,
  onDatagram: (buf: Buffer) => void,
  newConnection: () => { data(chunk: Buffer): void; end(): void },
  onUdpError?: (e: unknown) => void,
): Promise<DualListener> {
  for (let attempt = 1; ; attempt++) {
    const udp = await listenUdp(at.host, at.port, onDatagram, onUdpError);
    try {
      const tcp = await listenTcp(at.host, udp.port, newConnection);
      return { udp, tcp, close: async () => void (await Promise.all([udp.close(), tcp.close()])) };
    } catch (e) {
      await udp.close();
      if (at.port !== 0 || attempt >= ANY_PORT_ATTEMPTS || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
}

/** HEP over UDP and TCP on the same address (what heplify, Kamailio and OpenSIPS send). */
export function listenHep(at: HostPort, pipe: SipPipeline, engine: StatsEngine): Promise<DualListener> {
  return listenBoth(
    at,
    (buf) => pipe.onHep(buf),
    () => {
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
    },
    () => engine.selfStat('ingest_errors'),
  );
}

/** OpenSIPS accounting events: event_datagram over UDP and event_stream (JSON-RPC) over TCP, on one port. */
export function listenOpensipsEvents(at: HostPort, acc: AccKpiFeeder, engine: StatsEngine): Promise<DualListener> {
  return listenBoth(
    at,
    (buf) => {
      const r = decodeEvent(buf);
      if (!r.ok) engine.selfStat('event_decode_errors');
      else acc.onEvent(r.value);
    },
    () => {
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
    },
  );
}
