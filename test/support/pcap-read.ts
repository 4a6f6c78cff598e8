/**
 * A whole capture file as a list of packets, for tests: the one capture reader
 * (src/protocol/pcap/capture-reader.ts, the streaming one `sipstats replay` uses) fed the file at
 * once, each packet's bytes copied out.
 */
import { PcapStreamReader } from '../../src/protocol/pcap/capture-reader.ts';
import type { PcapStats } from '../../src/protocol/pcap/capture-reader.ts';

export interface PcapPacket {
  /** Capture time, milliseconds since the epoch (fractional); an SPB packet has the previous packet's. */
  timeMs: number;
  /** LINKTYPE_* of the interface (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2, 0 null...). */
  linkType: number;
  /** Captured bytes. */
  data: Buffer;
  /** Length on the wire (may exceed data.length when the capture was sliced). */
  origLen: number;
  /** pcapng interface id; 0 for classic pcap. */
  interfaceId: number;
}

export function readPcap(file: Buffer): { packets: PcapPacket[]; stats: PcapStats } {
  const packets: PcapPacket[] = [];
  const reader = new PcapStreamReader((linkType, buf, start, end, origLen, timeMs, interfaceId) => {
    packets.push({ timeMs, linkType, data: Buffer.from(buf.subarray(start, end)), origLen, interfaceId });
  });
  reader.push(file);
  return { packets, stats: reader.end() };
}
