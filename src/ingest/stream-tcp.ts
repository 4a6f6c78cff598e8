import { createServer } from 'node:net';
import { senderKey } from './sender-key.ts';
import type { Socket } from 'node:net';
import { DEFAULTS } from '../config/defaults.ts';

export interface TcpListener {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface TcpOptions {
  /** Connections accepted at once; more are closed at once. */
  maxConnections?: number;
  /** A connection with no data for this long is closed, in ms. */
  idleTimeoutMs?: number;
}

/** What a connection's decoder may send back (event_stream's JSON-RPC replies). */
export interface TcpPeer {
  write(data: string | Buffer): void;
  /** A key of the connection's remote address and port (see senderKey). */
  readonly sender: number;
}

/**
 * A TCP listener for framed streams (HEP over TCP, OpenSIPS event_stream): each connection gets
 * its own decoder from `newConnection(peer)`, fed every chunk; `end` is called when it closes.
 */
export function listenTcp(
  host: string,
  port: number,
  newConnection: (peer: TcpPeer) => { data(chunk: Buffer): void; end(): void },
  opts: TcpOptions = {},
  onError: (e: unknown) => void = () => {},
): Promise<TcpListener> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    if (sockets.size >= (opts.maxConnections ?? DEFAULTS.tcpMaxConnections)) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    const conn = newConnection({
      write: (d) => {
        if (!sock.destroyed) sock.write(d);
      },
      sender: senderKey(sock.remoteAddress ?? '', sock.remotePort ?? 0),
    });
    sock.setTimeout(opts.idleTimeoutMs ?? DEFAULTS.tcpIdleTimeoutMs, () => sock.destroy());
    sock.on('data', (chunk) => {
      try {
        conn.data(chunk);
      } catch (e) {
        onError(e);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      sockets.delete(sock);
      try {
        conn.end();
      } catch (e) {
        onError(e);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', onError);
      const a = server.address();
      const p = typeof a === 'object' && a !== null ? a.port : port;
      resolve({
        address: `${host.includes(':') ? `[${host}]` : host}:${p}`,
        port: p,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
