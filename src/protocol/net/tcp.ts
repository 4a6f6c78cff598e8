import { DEFAULTS } from '../../defaults.ts';
/**
 * TCP stream reassembly, one direction of a connection at a time (each direction of a SIP
 * connection carries its own messages). Segments may arrive out of order, retransmitted or
 * overlapping (the bytes seen first win). Bounded: `maxFlows` directions, `maxOutOfOrder` bytes
 * held out of order per direction and `maxTotalBytes` across all; a hole that is not filled when
 * a bound is hit, or within `gapTimeoutMs` of capture time, is skipped (counted as a gap). Idle
 * directions are forgotten after `idleMs`. Time is the packets' time. Pure.
 */

export interface TcpOptions {
  maxFlows?: number;
  maxOutOfOrder?: number;
  maxOutOfOrderSegments?: number;
  maxTotalBytes?: number;
  gapTimeoutMs?: number;
  idleMs?: number;
}

/** The bounds a reassembler has unless told otherwise (docs/kpis.md states them: a test keeps the two in step). */
export const TCP_DEFAULTS: Readonly<Required<TcpOptions>> = DEFAULTS.tcp;

/** What the reassembled bytes of a direction go to (the stream's content decoder). */
export interface FlowContent {
  /** In-order bytes b[s, e), captured at timeMs. */
  data(b: Buffer, s: number, e: number, timeMs: number): void;
  /** Bytes are missing before the next data. */
  gap(): void;
  /** The direction ends (FIN, RST, expiry, eviction, end of capture). */
  close(): void;
  /** Bytes the content decoder holds (a partial message). */
  readonly heldBytes: number;
}

interface Segment {
  seq: number;
  data: Buffer;
  timeMs: number;
}

export class TcpFlow {
  /** Next expected sequence number; -1 until the first segment. */
  next = -1;
  ooo: Segment[] | null = null;
  oooBytes = 0;
  /** Sequence number after the FIN, -1 when none seen. */
  fin = -1;
  lastMs = 0;
  /** Capture time of the oldest out-of-order segment held. */
  oooSinceMs = 0;
  /** The connection's SYN was seen: the stream starts at a message boundary. */
  fromStart = false;

  constructor(
    readonly key: string,
    readonly content: FlowContent,
  ) {}
}

export interface TcpCounters {
  gaps: number;
  overflow: number;
}

/** Signed distance a - b in sequence space. */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export class TcpReassembler {
  readonly flows = new Map<string, TcpFlow>();
  readonly counters: TcpCounters = { gaps: 0, overflow: 0 };
  private oooTotal = 0;
  private readonly maxFlows: number;
  private readonly maxOoo: number;
  private readonly maxOooSegs: number;
  private readonly maxTotal: number;
  private readonly gapTimeoutMs: number;
  private readonly idleMs: number;

  constructor(
    o: TcpOptions = {},
    private readonly report: (what: 'gap' | 'overflow') => void = () => {},
  ) {
    const d = TCP_DEFAULTS;
    this.maxFlows = o.maxFlows ?? d.maxFlows;
    this.maxOoo = o.maxOutOfOrder ?? d.maxOutOfOrder;
    this.maxOooSegs = o.maxOutOfOrderSegments ?? d.maxOutOfOrderSegments;
    this.maxTotal = o.maxTotalBytes ?? d.maxTotalBytes;
    this.gapTimeoutMs = o.gapTimeoutMs ?? d.gapTimeoutMs;
    this.idleMs = o.idleMs ?? d.idleMs;
  }

  /** Bytes held out of order, all directions. */
  get heldBytes(): number {
    return this.oooTotal;
  }

  /** The direction `key`, created (through `create`) when new; evicts the oldest when full. */
  flow(key: string, create: () => FlowContent): TcpFlow {
    let f = this.flows.get(key);
    if (f === undefined) {
      while (this.flows.size >= this.maxFlows) {
        const first = this.flows.values().next().value as TcpFlow;
        if (first.oooBytes > 0 || first.content.heldBytes > 0) {
          this.counters.overflow++;
          this.report('overflow');
        }
        // evicted: what it held is counted as overflow only (not also as a gap or a cut message)
        this.dropOoo(first);
        this.flows.delete(first.key);
      }
      f = new TcpFlow(key, create());
      this.flows.set(key, f);
    }
    return f;
  }

  /** A SYN on a new direction: the stream starts after `seq`. */
  syn(f: TcpFlow, seq: number, timeMs: number): void {
    f.next = (seq + 1) >>> 0;
    f.fin = -1;
    f.fromStart = true;
    f.lastMs = timeMs;
  }

  /** Payload b[s, e) at sequence `seq`; `fin` when the segment carries FIN. */
  segment(f: TcpFlow, seq: number, b: Buffer, s: number, e: number, fin: boolean, timeMs: number): void {
    f.lastMs = timeMs;
    const len = e - s;
    if (f.next < 0) f.next = seq;
    if (fin) f.fin = (seq + len) >>> 0;
    let start = s;
    let sq = seq;
    const d = seqDiff(sq, f.next);
    if (d < 0) {
      if (len <= -d) {
        this.maybeFinish(f);
        return; // a retransmission of bytes already delivered
      }
      start -= d;
      sq = f.next;
    } else if (d > 0) {
      if (len > 0) this.hold(f, sq, b.subarray(start, e), timeMs);
      return;
    }
    if (start < e) {
      f.next = (f.next + (e - start)) >>> 0;
      f.content.data(b, start, e, timeMs);
    }
    this.drain(f);
    this.maybeFinish(f);
  }

  /** Marks the direction as ended at once (RST). */
  reset(f: TcpFlow): void {
    this.close(f);
  }

  /**
   * Housekeeping at capture time `nowMs`: holes older than the gap timeout are skipped, idle
   * directions are closed.
   */
  expire(nowMs: number): void {
    for (const f of this.flows.values()) {
      if (f.ooo !== null && nowMs - f.oooSinceMs >= this.gapTimeoutMs) this.skipGap(f);
    }
    for (const f of this.flows.values()) {
      if (nowMs - f.lastMs < this.idleMs) continue;
      this.close(f);
    }
  }

  /** End of the capture: every hole is skipped, every direction closed. */
  flush(): void {
    for (const f of [...this.flows.values()]) {
      while (f.ooo !== null) this.skipGap(f);
      this.close(f);
    }
  }

  close(f: TcpFlow): void {
    if (f.ooo !== null) {
      this.counters.gaps++;
      this.report('gap');
    }
    this.dropOoo(f);
    f.content.close();
    this.flows.delete(f.key);
  }

  private maybeFinish(f: TcpFlow): void {
    if (f.fin >= 0 && f.ooo === null && seqDiff(f.next, f.fin) >= 0) this.close(f);
  }

  private hold(f: TcpFlow, seq: number, data: Buffer, timeMs: number): void {
    if (f.ooo === null) {
      f.ooo = [];
      f.oooSinceMs = timeMs;
    }
    const list = f.ooo;
    // sorted by sequence; the same start twice: keep the first copy
    let i = list.length;
    while (i > 0 && seqDiff(list[i - 1].seq, seq) > 0) i--;
    if (i > 0 && list[i - 1].seq === seq && list[i - 1].data.length >= data.length) return;
    list.splice(i, 0, { seq, data: Buffer.from(data), timeMs });
    f.oooBytes += data.length;
    this.oooTotal += data.length;
    if (f.oooBytes > this.maxOoo || list.length > this.maxOooSegs || this.oooTotal > this.maxTotal) {
      this.counters.overflow++;
      this.report('overflow');
      this.skipGap(f);
    }
  }

  /** Delivers the held segments that now follow on. */
  private drain(f: TcpFlow): void {
    const list = f.ooo;
    if (list === null) return;
    while (list.length > 0) {
      const seg = list[0];
      const d = seqDiff(seg.seq, f.next);
      if (d > 0) break;
      list.shift();
      f.oooBytes -= seg.data.length;
      this.oooTotal -= seg.data.length;
      if (seg.data.length > -d) {
        f.next = (f.next + seg.data.length + d) >>> 0;
        f.content.data(seg.data, -d, seg.data.length, seg.timeMs);
      }
    }
    if (list.length === 0) f.ooo = null;
    else f.oooSinceMs = list[0].timeMs;
  }

  /** Gives up on the hole before the first held segment: the stream goes on from there. */
  private skipGap(f: TcpFlow): void {
    const list = f.ooo;
    if (list === null || list.length === 0) {
      f.ooo = null;
      return;
    }
    this.counters.gaps++;
    this.report('gap');
    f.content.gap();
    f.next = list[0].seq;
    this.drain(f);
  }

  private dropOoo(f: TcpFlow): void {
    this.oooTotal -= f.oooBytes;
    f.oooBytes = 0;
    f.ooo = null;
  }
}
