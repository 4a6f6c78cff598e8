import { readFileSync } from 'node:fs';

/**
 * The UDP and TCP payloads of a classic pcap file (Ethernet or Linux cooked v1, IPv4), in capture
 * order: enough to replay the recorded OpenSIPS output of test/fixtures/opensips-3.6.8 into a
 * running server. A test helper, independent of the server's own capture decoder.
 */
export interface Payload {
  readonly proto: 'udp' | 'tcp';
  readonly timeMs: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly data: Buffer;
}

export function pcapPayloads(path: string): Payload[] {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${path}: not a classic pcap file`);
  const nano = (le ? magic : buf.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const link = u32(20);
  const out: Payload[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const caplen = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    let ip: number;
    if (link === 1) ip = frame.readUInt16BE(12) === 0x0800 ? 14 : -1;
    else if (link === 113) ip = frame.readUInt16BE(14) === 0x0800 ? 16 : -1;
    else throw new Error(`${path}: link type ${link} not handled`);
    if (ip < 0 || (frame[ip] >> 4) !== 4) continue;
    const ihl = (frame[ip] & 0x0f) * 4;
    const total = frame.readUInt16BE(ip + 2);
    const proto = frame[ip + 9];
    const addr = (o: number) => `${frame[o]}.${frame[o + 1]}.${frame[o + 2]}.${frame[o + 3]}`;
    const l4 = ip + ihl;
    const end = ip + total;
    const base = { timeMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), src: addr(ip + 12), dst: addr(ip + 16), srcPort: frame.readUInt16BE(l4), dstPort: frame.readUInt16BE(l4 + 2) };
    if (proto === 17) out.push({ ...base, proto: 'udp', data: Buffer.from(frame.subarray(l4 + 8, end)) });
    else if (proto === 6) {
      const data = frame.subarray(l4 + (frame[l4 + 12] >> 4) * 4, end);
      if (data.length > 0) out.push({ ...base, proto: 'tcp', data: Buffer.from(data) });
    }
  }
  return out;
}
