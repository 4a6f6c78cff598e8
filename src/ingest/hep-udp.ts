import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface UdpListener {
  /** `host:port` actually bound (port 0 → the chosen one). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Binds a UDP socket and hands every datagram to `onDatagram` (HEP frames, or OpenSIPS event
 * datagrams). A large receive buffer absorbs bursts; the handler must not throw (the pipeline
 * counts bad input instead), but if it does the socket stays up and `onError` is told.
 */
export function listenUdp(host: string, port: number, onDatagram: (buf: Buffer) => void, onError: (e: unknown) => void = () => {}): Promise<UdpListener> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: 16 * 1024 * 1024 });
    sock.on('message', (msg) => {
      try {
        onDatagram(msg);
      } catch (e) {
        onError(e);
      }
    });
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      sock.on('error', onError);
      const a = sock.address();
      resolve({
        address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
        port: a.port,
        close: () => new Promise((r) => sock.close(() => r())),
      });
    });
  });
}
