import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { encodeHep } from '../protocol/hep/encode.ts';

/**
 * The built-in traffic generator of `sipstats demo`: SIP call flows of several customers of
 * different quality, sent as HEP v3 over UDP (what a capture agent would send), so that the
 * dashboard moves with one command. The call plans are pure (a seeded random generator in, timed
 * messages out); `startDemoTraffic` only schedules and sends them.
 */

/** How one customer's calls go. Probabilities of the outcomes add up to 1. */
export interface DemoCustomer {
  readonly name: string;
  /** Share of the calls (relative weight). */
  readonly weight: number;
  /** Final outcome: a SIP code (200 = answered), or 487 for a CANCEL by the caller. */
  readonly outcomes: readonly { readonly code: number; readonly p: number }[];
  /** Post-dial delay: mean and spread (ms). */
  readonly pddMs: readonly [number, number];
  /** Ringing until answered or given up: min and max (ms). */
  readonly ringMs: readonly [number, number];
  /** Talk time of answered calls: min and max (s). */
  readonly talkS: readonly [number, number];
  /** Share of calls first challenged with 401 (then re-sent with credentials). */
  readonly challenge: number;
  /** Source address of its calls in the HEP metadata. */
  readonly ip: string;
}

export const DEMO_CUSTOMERS: readonly DemoCustomer[] = Object.freeze([
  {
    name: 'acme', weight: 4, ip: '198.51.100.10', challenge: 0.1,
    outcomes: [{ code: 200, p: 0.7 }, { code: 486, p: 0.12 }, { code: 487, p: 0.1 }, { code: 480, p: 0.05 }, { code: 404, p: 0.03 }],
    pddMs: [1500, 500], ringMs: [2000, 8000], talkS: [10, 150],
  },
  {
    name: 'globex', weight: 3, ip: '198.51.100.20', challenge: 0.05,
    outcomes: [{ code: 200, p: 0.4 }, { code: 503, p: 0.3 }, { code: 486, p: 0.2 }, { code: 487, p: 0.1 }],
    pddMs: [2000, 700], ringMs: [2000, 10000], talkS: [5, 90],
  },
  {
    name: 'initech', weight: 2, ip: '198.51.100.30', challenge: 0.05,
    outcomes: [{ code: 200, p: 0.75 }, { code: 486, p: 0.1 }, { code: 487, p: 0.1 }, { code: 408, p: 0.05 }],
    pddMs: [4000, 1000], ringMs: [3000, 12000], talkS: [20, 240],
  },
  {
    name: 'umbrella', weight: 1.5, ip: '198.51.100.40', challenge: 0.02,
    outcomes: [{ code: 200, p: 0.15 }, { code: 404, p: 0.45 }, { code: 487, p: 0.3 }, { code: 486, p: 0.1 }],
    pddMs: [1200, 400], ringMs: [1000, 6000], talkS: [5, 60],
  },
]);

/** The SBC the demo calls go through (documentation address; only HEP metadata). */
const SBC_IP = '203.0.113.5';

const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 401: 'Unauthorized', 404: 'Not Found',
  408: 'Request Timeout', 480: 'Temporarily Unavailable', 486: 'Busy Here', 487: 'Request Terminated', 503: 'Service Unavailable',
};

/** mulberry32: a small seeded generator, so that a plan can be replayed in tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One message of a call plan: when (ms after the call's start), which way, and the SIP text. */
export interface PlannedMessage {
  readonly at: number;
  /** true: customer → SBC; false: SBC → customer. */
  readonly fromCaller: boolean;
  readonly sip: string;
}

const between = (rng: () => number, lo: number, hi: number) => lo + (hi - lo) * rng();
/** Roughly normal (sum of three uniforms), never below 50 ms. */
const around = (rng: () => number, mean: number, spread: number) => Math.max(50, mean + spread * (rng() + rng() + rng() - 1.5) * 1.15);

function pick<T extends { p: number }>(rng: () => number, xs: readonly T[]): T {
  let r = rng();
  for (const x of xs) {
    r -= x.p;
    if (r < 0) return x;
  }
  return xs[xs.length - 1];
}

/** Picks a customer by weight. */
export function pickCustomer(rng: () => number, customers: readonly DemoCustomer[] = DEMO_CUSTOMERS): DemoCustomer {
  const total = customers.reduce((s, c) => s + c.weight, 0);
  let r = rng() * total;
  for (const c of customers) {
    r -= c.weight;
    if (r < 0) return c;
  }
  return customers[customers.length - 1];
}

/**
 * The messages of one call, as a proxy between the customer and its carrier would capture them:
 * INVITE, 100, maybe a 401 challenge and the re-sent INVITE, 180/183, then 200 + ACK + BYE + 200,
 * a failure + ACK, or CANCEL + 200 + 487 + ACK.
 */
export function planCall(rng: () => number, c: DemoCustomer, id: string): PlannedMessage[] {
  const callId = `${id}@demo.sipstats`;
  const fromTag = `f${id}`;
  const toTag = `t${id}`;
  const caller = `sip:${c.name}-${id}@${c.ip}`;
  const callee = `sip:+1555${String(Math.floor(rng() * 1e7)).padStart(7, '0')}@carrier.example`;
  const msgs: PlannedMessage[] = [];
  let branch = `z9hG4bK${id}a`;
  let seq = 1;
  const req = (at: number, method: string, o: { seq: number; branch: string; toTag?: string; auth?: boolean; customer?: boolean }) => {
    const lines = [
      `${method} ${callee} SIP/2.0`,
      `Via: SIP/2.0/UDP ${c.ip}:5060;branch=${o.branch}`,
      'Max-Forwards: 70',
      `From: <${caller}>;tag=${fromTag}`,
      `To: <${callee}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
      `Call-ID: ${callId}`,
      `CSeq: ${o.seq} ${method}`,
      `Contact: <sip:${c.name}@${c.ip}:5060>`,
      ...(o.customer ? [`X-Customer: ${c.name}`] : []),
      ...(o.auth ? [`Authorization: Digest username="${c.name}", realm="demo", nonce="n${id}", uri="${callee}", response="00000000000000000000000000000000"`] : []),
      'User-Agent: sipstats-demo',
      'Content-Length: 0',
    ];
    msgs.push({ at: Math.round(at), fromCaller: true, sip: `${lines.join('\r\n')}\r\n\r\n` });
  };
  const rep = (at: number, code: number, o: { seq: number; branch: string; method?: string; toTag?: string }) => {
    const lines = [
      `SIP/2.0 ${code} ${REASONS[code] ?? 'Reply'}`,
      `Via: SIP/2.0/UDP ${c.ip}:5060;branch=${o.branch}`,
      `From: <${caller}>;tag=${fromTag}`,
      `To: <${callee}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
      `Call-ID: ${callId}`,
      `CSeq: ${o.seq} ${o.method ?? 'INVITE'}`,
      'Content-Length: 0',
    ];
    msgs.push({ at: Math.round(at), fromCaller: false, sip: `${lines.join('\r\n')}\r\n\r\n` });
  };

  let t = 0;
  req(t, 'INVITE', { seq, branch, customer: true });
  rep(t + between(rng, 5, 30), 100, { seq, branch });
  if (rng() < c.challenge) {
    const ch = `c${id}`;
    rep(t + between(rng, 30, 60), 401, { seq, branch, toTag: ch });
    req(t + between(rng, 65, 80), 'ACK', { seq, branch, toTag: ch });
    t += between(rng, 90, 200);
    seq = 2;
    branch = `z9hG4bK${id}b`;
    req(t, 'INVITE', { seq, branch, auth: true, customer: true });
    rep(t + between(rng, 5, 30), 100, { seq, branch });
  }
  const outcome = pick(rng, c.outcomes).code;
  const pdd = Math.max(t + 40, around(rng, c.pddMs[0], c.pddMs[1]));
  const ring = between(rng, c.ringMs[0], c.ringMs[1]);
  if (outcome === 404 || outcome === 503) {
    // refused at once: no ringing
    rep(pdd, outcome, { seq, branch, toTag });
    req(pdd + 5, 'ACK', { seq, branch, toTag });
    return sorted(msgs);
  }
  rep(pdd, rng() < 0.2 ? 183 : 180, { seq, branch, toTag });
  if (outcome === 487) {
    const at = pdd + ring;
    req(at, 'CANCEL', { seq, branch });
    rep(at + 15, 200, { seq, branch, method: 'CANCEL', toTag });
    rep(at + 20, 487, { seq, branch, toTag });
    req(at + 25, 'ACK', { seq, branch, toTag });
    return sorted(msgs);
  }
  if (outcome !== 200) {
    rep(pdd + ring, outcome, { seq, branch, toTag });
    req(pdd + ring + 5, 'ACK', { seq, branch, toTag });
    return sorted(msgs);
  }
  const answer = pdd + ring;
  rep(answer, 200, { seq, branch, toTag });
  req(answer + between(rng, 10, 40), 'ACK', { seq, branch: `z9hG4bK${id}k`, toTag });
  const bye = answer + between(rng, c.talkS[0], c.talkS[1]) * 1000;
  req(bye, 'BYE', { seq: seq + 1, branch: `z9hG4bK${id}y`, toTag });
  rep(bye + between(rng, 10, 40), 200, { seq: seq + 1, branch: `z9hG4bK${id}y`, method: 'BYE', toTag });
  return sorted(msgs);
}

const sorted = (m: PlannedMessage[]) => m.sort((a, b) => a.at - b.at);

/** One message of planned traffic, at an absolute time, with the HEP metadata it would carry. */
export interface PlannedPacket {
  readonly timeMs: number;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly sip: string;
}

/**
 * The demo's traffic planned in advance on a simulated clock (tests, benchmarks, screenshots):
 * calls start evenly from `from` to `to` (ms) at `callsPerSecond`; every message of every call,
 * sorted by time (messages later than `until`, default `to`, are left out).
 */
export function planDemoTraffic(o: { from: number; to: number; callsPerSecond: number; seed: number; customers?: readonly DemoCustomer[]; until?: number }): PlannedPacket[] {
  const rng = seededRandom(o.seed);
  const customers = o.customers ?? DEMO_CUSTOMERS;
  const until = o.until ?? o.to;
  const out: PlannedPacket[] = [];
  const step = 1000 / o.callsPerSecond;
  let n = 0;
  for (let start = o.from; start < o.to; start += step) {
    const c = pickCustomer(rng, customers);
    for (const m of planCall(rng, c, `s${o.seed.toString(36)}x${(n++).toString(36)}`)) {
      const timeMs = Math.round(start + m.at);
      if (timeMs <= until) out.push({ timeMs, srcIp: m.fromCaller ? c.ip : SBC_IP, dstIp: m.fromCaller ? SBC_IP : c.ip, sip: m.sip });
    }
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}

export interface DemoTrafficOptions {
  /** Where HEP goes (the sipstats HEP listener). */
  host: string;
  port: number;
  /** New calls per second (default 20). */
  callsPerSecond?: number;
  /** Seed of the random plans (default: from the clock). */
  seed?: number;
  customers?: readonly DemoCustomer[];
  /** Scheduler tick, ms (default 20). */
  tickMs?: number;
  /** HEP auth key the listener requires (`--hep-auth-key`), sent in every packet. */
  authKey?: string;
}

export interface DemoTraffic {
  /** Stops sending and closes the socket; calls in progress are abandoned. */
  stop(): void;
  /** Calls started and HEP packets sent so far. */
  readonly stats: { calls: number; packets: number; sendErrors: number };
}

interface Due {
  at: number;
  fromCaller: boolean;
  sip: string;
  ip: string;
}

/** A binary min-heap of messages by due time. */
class DueHeap {
  private readonly a: Due[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Due | undefined {
    return this.a[0];
  }
  push(x: Due): void {
    const a = this.a;
    let i = a.push(x) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].at <= x.at) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): Due | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const m = r < a.length && a[r].at < a[l].at ? r : l;
        if (a[m].at >= last.at) break;
        a[i] = a[m];
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Starts sending demo calls as HEP over UDP to `host:port`. The timer and the socket are unref'd:
 * they never keep the process alive on their own.
 */
export function startDemoTraffic(options: DemoTrafficOptions): DemoTraffic {
  const rate = options.callsPerSecond ?? 20;
  if (!(rate > 0 && rate <= 10_000)) throw new RangeError(`callsPerSecond=${rate} must be in (0, 10000]`);
  const customers = options.customers ?? DEMO_CUSTOMERS;
  const rng = seededRandom(options.seed ?? Date.now());
  const tickMs = options.tickMs ?? 20;
  const sock = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
  sock.unref();
  const stats = { calls: 0, packets: 0, sendErrors: 0 };
  sock.on('error', () => stats.sendErrors++);
  const heap = new DueHeap();
  const run = Math.floor(rng() * 1e6).toString(36);
  let last = Date.now();
  let budget = 0;
  let stopped = false;

  const tick = () => {
    const now = Date.now();
    budget = Math.min(budget + (rate * (now - last)) / 1000, rate); // no burst after a stall
    last = now;
    while (budget >= 1) {
      budget -= 1;
      const c = pickCustomer(rng, customers);
      const start = now - Math.floor(rng() * tickMs);
      for (const m of planCall(rng, c, `${run}${(stats.calls++).toString(36)}`)) heap.push({ at: start + m.at, fromCaller: m.fromCaller, sip: m.sip, ip: c.ip });
    }
    for (let d = heap.peek(); d !== undefined && d.at <= now; d = heap.peek()) {
      heap.pop();
      const frame = encodeHep({
        srcIp: d.fromCaller ? d.ip : SBC_IP,
        dstIp: d.fromCaller ? SBC_IP : d.ip,
        srcPort: 5060,
        dstPort: 5060,
        timeMs: d.at,
        captureId: 2001,
        nodeName: 'sipstats-demo',
        payload: d.sip,
        ...(options.authKey !== undefined ? { authKey: options.authKey } : {}),
      });
      stats.packets++;
      sock.send(frame, options.port, options.host, (e) => {
        if (e) stats.sendErrors++;
      });
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  return {
    stats,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
    },
  };
}
