import type { StatsEngine } from '../core/engine.ts';
import type { SipPipeline } from '../kpi/sip-pipeline.ts';
import type { AccKpiFeeder } from '../kpi/acc-events.ts';
import { HepStreamFramer } from '../protocol/hep/hep-framer.ts';
import { decodeEvent, fromJson, JsonObjectStream } from '../protocol/opensips/event.ts';
import { listenUdp } from './hep-udp.ts';
import type { UdpListener, UdpOptions } from './hep-udp.ts';
import { listenTcp } from './stream-tcp.ts';
import { listenError } from '../errors.ts';
import type { TcpListener, TcpPeer } from './stream-tcp.ts';

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
  name: string,
  at: HostPort,
  onDatagram: (buf: Buffer, sender: number) => void,
  newConnection: (peer: TcpPeer) => { data(chunk: Buffer): void; end(): void },
  udpOptions: UdpOptions,
): Promise<DualListener> {
  for (let attempt = 1; ; attempt++) {
    let udp: UdpListener;
    try {
      udp = await listenUdp(at.host, at.port, onDatagram, udpOptions);
    } catch (e) {
      throw listenError(name, at.host, at.port, e, 'UDP');
    }
    try {
      const tcp = await listenTcp(at.host, udp.port, newConnection);
      return { udp, tcp, close: async () => void (await Promise.all([udp.close(), tcp.close()])) };
    } catch (e) {
      await udp.close();
      if (at.port !== 0 || attempt >= ANY_PORT_ATTEMPTS || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw listenError(name, at.host, udp.port, e, 'TCP');
    }
  }
}

/**
 * What a UDP listener counts: socket errors, datagrams dropped behind a full backlog or by the
 * kernel. A system error (one with a code: the native receiving thread stopped) is also logged.
 */
export const udpCounted = (engine: StatsEngine, log?: (m: string) => void): UdpOptions => ({
  onError: (e) => {
    engine.selfStat('ingest_errors');
    if (log !== undefined && e instanceof Error && (e as NodeJS.ErrnoException).code !== undefined) log(e.message);
  },
  onDropped: (n) => engine.selfStat('udp_backlog_dropped', n),
  onKernelDropped: (n) => engine.selfStat('udp_socket_dropped', n),
});

/**
 * HEP over UDP and TCP on the same address (what heplify, Kamailio and OpenSIPS send). A port that
 * cannot be bound rejects with E_LISTEN naming the listener, its address and transport.
 * `udp.receiver` picks the UDP receiver (default: the native one when built).
 */
export function listenHep(at: HostPort, pipe: SipPipeline, engine: StatsEngine, udp: Pick<UdpOptions, 'receiver'> = {}, log?: (m: string) => void): Promise<DualListener> {
  // the pipeline's one entry for a HEP frame: it decodes, inflates and counts
  const onFrame = (frame: Buffer, sender = 0) => pipe.onFrame(frame, sender);
  return listenBoth(
    'HEP listener',
    at,
    onFrame,
    (peer) => {
      const framer = new HepStreamFramer();
      let bad = 0;
      const sync = () => {
        const n = framer.stats.badFrames + framer.stats.oversizeFrames;
        if (n > bad) engine.selfStat('hep_tcp_bad_frames', n - bad);
        bad = n;
      };
      return {
        data(chunk) {
          for (const f of framer.push(chunk)) onFrame(f, peer.sender);
          sync();
        },
        end() {
          framer.end();
          sync();
        },
      };
    },
    { ...udpCounted(engine, log), ...udp },
  );
}

/**
 * The JSON-RPC reply to an event_stream request that carries an `id` (OpenSIPS sends one with
 * `modparam("event_stream", "reliable_mode", 1)` and waits for it: an `error` member marks the
 * event failed). Notifications (no `id`, the default mode) get nothing.
 */
export function eventStreamReply(request: unknown, ok: boolean): string | null {
  if (request === null || typeof request !== 'object' || Array.isArray(request) || !('id' in request)) return null;
  const id = (request as { id: unknown }).id;
  if (id === null || (typeof id !== 'number' && typeof id !== 'string')) return null;
  const body = ok ? { jsonrpc: '2.0', result: 'OK', id } : { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id };
  return JSON.stringify(body);
}

/**
 * OpenSIPS accounting events: event_datagram over UDP and event_stream (JSON-RPC) over TCP, on one
 * port. event_stream requests with an `id` (reliable mode) are answered on their connection. A
 * port that cannot be bound rejects with E_LISTEN, as listenHep does.
 */
export function listenOpensipsEvents(at: HostPort, acc: AccKpiFeeder, engine: StatsEngine, udp: Pick<UdpOptions, 'receiver'> = {}): Promise<DualListener> {
  return listenBoth(
    'OpenSIPS events listener',
    at,
    (buf) => {
      const r = decodeEvent(buf);
      if (!r.ok) engine.selfStat('event_decode_errors');
      else acc.onEvent(r.value);
    },
    (peer) => {
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
            const reply = eventStreamReply(v, r.ok);
            if (reply !== null) peer.write(reply);
          }
        },
        end() {},
      };
    },
    { ...udpCounted(engine), ...udp },
  );
}
