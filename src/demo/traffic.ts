import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { encodeHep } from '../protocol/hep/encode.ts';

/**
 * The built-in traffic generator of `sipstats demo`: SIP call flows of several customers of
 * different quality through a platform (an SBC that routes each call to a carrier by its
 * destination, and fails over to the next carrier on 503), sent as HEP v3 over UDP (what a capture
 * agent on the SBC would send), so that every view of the dashboard moves with one command. The
 * call plans are pure (a seeded random generator in, timed messages out); `startDemoTraffic` only
 * schedules and sends them. The server must know the platform's addresses and its carriers'
 * (DEMO_KPI, applied under the configuration's `kpi` section when `--demo` is on).
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

/** The platform's own addresses (`kpi.platform`): the SBC's network. */
export const DEMO_PLATFORM: readonly string[] = Object.freeze(['203.0.113.0/28']);

/** A carrier of the demo platform: where its attempts go, and how often it refuses one at once. */
export interface DemoCarrier {
  readonly name: string;
  /** Its address (the destination address of the SBC's INVITEs to it). */
  readonly ip: string;
  /** Share of attempts it refuses at once with 503 (congestion): the SBC fails over to the next carrier. */
  readonly congestion: number;
}

export const DEMO_CARRIERS: readonly DemoCarrier[] = Object.freeze([
  { name: 'carrier_a', ip: '192.0.2.10', congestion: 0.04 },
  { name: 'carrier_b', ip: '192.0.2.20', congestion: 0.12 },
  { name: 'carrier_c', ip: '192.0.2.30', congestion: 0.3 },
]);

/** A destination of the demo: an ITU country code, its share of the calls and its route (carriers in failover order). */
export interface DemoDestination {
  /** Country calling code (the shipped ITU table names destinations by it). */
  readonly code: string;
  /** Digits after the country code: a national prefix, then random digits up to `length`. */
  readonly national: string;
  readonly length: number;
  readonly weight: number;
  /** Carrier names, tried in this order. */
  readonly route: readonly string[];
}

export const DEMO_DESTINATIONS: readonly DemoDestination[] = Object.freeze([
  { code: '1', national: '555', length: 10, weight: 4, route: ['carrier_a', 'carrier_b'] },
  { code: '44', national: '207946', length: 10, weight: 3, route: ['carrier_b', 'carrier_a'] },
  { code: '49', national: '30', length: 10, weight: 2, route: ['carrier_c', 'carrier_a'] },
  { code: '33', national: '1', length: 9, weight: 1.5, route: ['carrier_a', 'carrier_c'] },
  { code: '34', national: '91', length: 9, weight: 1, route: ['carrier_c', 'carrier_b'] },
  { code: '81', national: '3', length: 10, weight: 0.5, route: ['carrier_b'] },
]);

/**
 * Limits for the demo's customers and carriers (the `limits` section: channels, calls per second),
 * near what the demo's traffic reaches at 20 calls/s once its calls have built up (a few minutes:
 * acme about 460 calls up and 7.6 calls/s, globex 5.7 calls/s, carrier_a 480 attempts up and 11.6/s,
 * carrier_c 5.3/s), so that the dashboard's limit lines show: acme close to its channels, globex
 * and carrier_c over their calls per second.
 */
export const DEMO_LIMITS: { readonly customer: Readonly<Record<string, { channels?: number; cps?: number }>>; readonly carrier: Readonly<Record<string, { channels?: number; cps?: number }>> } = Object.freeze({
  customer: Object.freeze({ acme: Object.freeze({ channels: 500, cps: 10 }), globex: Object.freeze({ channels: 150, cps: 5 }) }),
  carrier: Object.freeze({ carrier_a: Object.freeze({ channels: 600, cps: 15 }), carrier_c: Object.freeze({ channels: 200, cps: 5 }) }),
});

/**
 * What the server's call tracker needs to see the demo's platform (its `kpi` options, and the
 * `limits` section): calls come in to the SBC, attempts leave it towards carriers named by address
 * (destinations then come from the shipped ITU country-code table), and the demo's limits. Applied
 * under the configuration when the demo runs: the configuration's `kpi` and `limits` and the
 * command line win.
 */
export const DEMO_KPI: {
  readonly platform: readonly string[];
  readonly carrier: { readonly kind: 'cidr'; readonly map: Readonly<Record<string, string>> };
  readonly limits: typeof DEMO_LIMITS;
} = Object.freeze({
  platform: DEMO_PLATFORM,
  carrier: Object.freeze({ kind: 'cidr' as const, map: Object.freeze(Object.fromEntries(DEMO_CARRIERS.map((c) => [`${c.ip}/32`, c.name]))) }),
  limits: DEMO_LIMITS,
});

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

/** One message of a call plan: when (ms after the call's start), between which addresses, and the SIP text. */
export interface PlannedMessage {
  readonly at: number;
  /** true: sent by the customer (customer → SBC); false: by the SBC or a carrier. */
  readonly fromCaller: boolean;
  /** Source and destination addresses (HEP metadata). */
  readonly src: string;
  readonly dst: string;
  readonly sip: string;
}

/** Where the platform sends calls: its carriers and the route of each destination. */
export interface DemoRouting {
  readonly carriers: readonly DemoCarrier[];
  readonly destinations: readonly DemoDestination[];
}

export const DEMO_ROUTING: DemoRouting = Object.freeze({ carriers: DEMO_CARRIERS, destinations: DEMO_DESTINATIONS });

const between = (rng: () => number, lo: number, hi: number) => lo + (hi - lo) * rng();
/** Roughly normal (sum of three uniforms), never below 50 ms. */
const around = (rng: () => number, mean: number, spread: number) => Math.max(50, mean + spread * (rng() + rng() + rng() - 1.5) * 1.15);
/** `n` random digits. */
const digits = (rng: () => number, n: number) => Array.from({ length: Math.max(0, n) }, () => Math.floor(rng() * 10)).join('');

function pick<T extends { p: number }>(rng: () => number, xs: readonly T[]): T {
  let r = rng();
  for (const x of xs) {
    r -= x.p;
    if (r < 0) return x;
  }
  return xs[xs.length - 1];
}

function pickWeighted<T extends { weight: number }>(rng: () => number, xs: readonly T[]): T {
  const total = xs.reduce((s, c) => s + c.weight, 0);
  let r = rng() * total;
  for (const x of xs) {
    r -= x.weight;
    if (r < 0) return x;
  }
  return xs[xs.length - 1];
}

/** Picks a customer by weight. */
export function pickCustomer(rng: () => number, customers: readonly DemoCustomer[] = DEMO_CUSTOMERS): DemoCustomer {
  return pickWeighted(rng, customers);
}

/**
 * The messages of one call, as a capture agent on the SBC sees them: the customer's INVITE, 100,
 * maybe a 401 challenge and the re-sent INVITE; then (with `routing`) the SBC's INVITE to the first
 * carrier of the destination's route, a 503 from a congested carrier and the next carrier tried
 * (failover), and on the carrier that keeps the call 180/183, then 200 + ACK + BYE + 200, a failure
 * + ACK, or CANCEL + 200 + 487 + ACK, each relayed to the other side (the SBC is a proxy: one
 * Call-ID, its own Via on top towards the carrier). A customer's 503 is every carrier of the route
 * refusing. Without `routing` (null), only the customer's side.
 */
export function planCall(rng: () => number, c: DemoCustomer, id: string, routing: DemoRouting | null = DEMO_ROUTING): PlannedMessage[] {
  const callId = `${id}@demo.sipstats`;
  const fromTag = `f${id}`;
  const toTag = `t${id}`;
  const caller = `sip:${c.name}-${id}@${c.ip}`;
  const dest = routing === null || routing.destinations.length === 0 ? null : pickWeighted(rng, routing.destinations);
  const number = dest === null ? `+1555${digits(rng, 7)}` : `+${dest.code}${dest.national}${digits(rng, dest.length - dest.national.length)}`;
  const to = `sip:${number}@demo.example`;
  const msgs: PlannedMessage[] = [];
  /** The carrier's side of the call: the attempt that keeps it (its carrier and the SBC's branch). */
  let attempt: { ip: string; branch: string } | null = null;
  let branch = `z9hG4bK${id}a`;
  let seq = 1;
  const headers = (vias: readonly string[], cseq: string, tag: string | undefined) => [
    ...vias,
    `From: <${caller}>;tag=${fromTag}`,
    `To: <${to}>${tag ? `;tag=${tag}` : ''}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq}`,
  ];
  const push = (at: number, fromCaller: boolean, src: string, dst: string, lines: string[]) => msgs.push({ at: Math.round(at), fromCaller, src, dst, sip: `${lines.join('\r\n')}\r\n\r\n` });
  const customerVia = (b: string) => `Via: SIP/2.0/UDP ${c.ip}:5060;branch=${b}`;
  const sbcVia = (b: string) => `Via: SIP/2.0/UDP ${SBC_IP}:5060;branch=${b}`;
  /** A request of the customer to the SBC. */
  const req = (at: number, method: string, o: { seq: number; branch: string; toTag?: string; auth?: boolean; customer?: boolean }) =>
    push(at, true, c.ip, SBC_IP, [
      `${method} sip:${number}@${SBC_IP} SIP/2.0`,
      customerVia(o.branch),
      'Max-Forwards: 70',
      ...headers([], `${o.seq} ${method}`, o.toTag),
      `Contact: <sip:${c.name}@${c.ip}:5060>`,
      ...(o.customer ? [`X-Customer: ${c.name}`] : []),
      ...(o.auth ? [`Authorization: Digest username="${c.name}", realm="demo", nonce="n${id}", uri="sip:${number}@${SBC_IP}", response="00000000000000000000000000000000"`] : []),
      'User-Agent: sipstats-demo',
      'Content-Length: 0',
    ]);
  /** A reply of the SBC to the customer. */
  const rep = (at: number, code: number, o: { seq: number; branch: string; method?: string; toTag?: string }) =>
    push(at, false, SBC_IP, c.ip, [`SIP/2.0 ${code} ${REASONS[code] ?? 'Reply'}`, ...headers([customerVia(o.branch)], `${o.seq} ${o.method ?? 'INVITE'}`, o.toTag), 'Content-Length: 0']);
  /** A request of the SBC to a carrier: its own Via (`branch`) on top of the customer's request's (`inner`). */
  const out = (at: number, ip: string, method: string, o: { seq: number; branch: string; inner: string; toTag?: string }) =>
    push(at, false, SBC_IP, ip, [`${method} sip:${number}@${ip} SIP/2.0`, ...headers([sbcVia(o.branch), customerVia(o.inner)], `${o.seq} ${method}`, o.toTag), 'Max-Forwards: 69', 'Content-Length: 0']);
  /** A reply of a carrier to the SBC. */
  const back = (at: number, ip: string, code: number, o: { seq: number; branch: string; inner: string; method?: string; toTag?: string }) =>
    push(at, false, ip, SBC_IP, [`SIP/2.0 ${code} ${REASONS[code] ?? 'Reply'}`, ...headers([sbcVia(o.branch), customerVia(o.inner)], `${o.seq} ${o.method ?? 'INVITE'}`, o.toTag), 'Content-Length: 0']);

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
  let pdd = Math.max(t + 40, around(rng, c.pddMs[0], c.pddMs[1]));
  const ring = between(rng, c.ringMs[0], c.ringMs[1]);
  if (dest !== null && routing !== null) {
    // the route: each carrier in turn until one keeps the call (a customer's 503: all refuse)
    const route = dest.route.map((n) => routing.carriers.find((x) => x.name === n)).filter((x): x is DemoCarrier => x !== undefined);
    let at = t + between(rng, 2, 10);
    for (let k = 0; k < route.length; k++) {
      const a = { ip: route[k].ip, branch: `z9hG4bK${id}o${k}` };
      out(at, a.ip, 'INVITE', { seq, branch: a.branch, inner: branch });
      back(at + between(rng, 3, 15), a.ip, 100, { seq, branch: a.branch, inner: branch });
      if (k < route.length - 1 && (outcome === 503 || rng() < route[k].congestion)) {
        const refused = at + between(rng, 20, 250);
        back(refused, a.ip, 503, { seq, branch: a.branch, inner: branch, toTag: `${toTag}x${k}` });
        out(refused + 1, a.ip, 'ACK', { seq, branch: a.branch, inner: branch, toTag: `${toTag}x${k}` });
        at = refused + between(rng, 2, 10);
        continue;
      }
      attempt = a;
      break;
    }
    pdd = Math.max(pdd, at + 40);
  }
  // the carrier keeping the call: its reply 1 ms before the SBC relays it, the SBC's request 1 ms after the customer's
  const carrierReply = (at: number, code: number, method = 'INVITE') => {
    if (attempt !== null) back(at - 1, attempt.ip, code, { seq, branch: attempt.branch, inner: branch, method, toTag });
  };
  /** The SBC's ACK of a failure, or its CANCEL: on the INVITE's branch. */
  const sbcInTransaction = (at: number, method: 'ACK' | 'CANCEL') => {
    if (attempt !== null) out(at + 1, attempt.ip, method, { seq, branch: attempt.branch, inner: branch, ...(method === 'ACK' ? { toTag } : {}) });
  };
  if (outcome === 404 || outcome === 503) {
    // refused at once: no ringing
    carrierReply(pdd, outcome);
    sbcInTransaction(pdd - 1, 'ACK');
    rep(pdd, outcome, { seq, branch, toTag });
    req(pdd + 5, 'ACK', { seq, branch, toTag });
    return sorted(msgs);
  }
  const early = rng() < 0.2 ? 183 : 180;
  carrierReply(pdd, early);
  rep(pdd, early, { seq, branch, toTag });
  if (outcome === 487) {
    const at = pdd + ring;
    req(at, 'CANCEL', { seq, branch });
    sbcInTransaction(at, 'CANCEL');
    carrierReply(at + 13, 200, 'CANCEL');
    rep(at + 15, 200, { seq, branch, method: 'CANCEL', toTag });
    carrierReply(at + 19, 487);
    sbcInTransaction(at + 18, 'ACK');
    rep(at + 20, 487, { seq, branch, toTag });
    req(at + 25, 'ACK', { seq, branch, toTag });
    return sorted(msgs);
  }
  if (outcome !== 200) {
    carrierReply(pdd + ring, outcome);
    sbcInTransaction(pdd + ring - 1, 'ACK');
    rep(pdd + ring, outcome, { seq, branch, toTag });
    req(pdd + ring + 5, 'ACK', { seq, branch, toTag });
    return sorted(msgs);
  }
  const answer = pdd + ring;
  carrierReply(answer, 200);
  rep(answer, 200, { seq, branch, toTag });
  // the ACK of the 2xx and the BYE are new transactions: new branches on both sides
  const ackAt = answer + between(rng, 10, 40);
  const ackBranch = `z9hG4bK${id}k`;
  req(ackAt, 'ACK', { seq, branch: ackBranch, toTag });
  if (attempt !== null) out(ackAt + 1, attempt.ip, 'ACK', { seq, branch: `${attempt.branch}k`, inner: ackBranch, toTag });
  const bye = answer + between(rng, c.talkS[0], c.talkS[1]) * 1000;
  const byeBranch = `z9hG4bK${id}y`;
  req(bye, 'BYE', { seq: seq + 1, branch: byeBranch, toTag });
  const done = bye + between(rng, 10, 40);
  if (attempt !== null) {
    out(bye + 1, attempt.ip, 'BYE', { seq: seq + 1, branch: `${attempt.branch}y`, inner: byeBranch, toTag });
    back(done - 1, attempt.ip, 200, { seq: seq + 1, branch: `${attempt.branch}y`, inner: byeBranch, method: 'BYE', toTag });
  }
  rep(done, 200, { seq: seq + 1, branch: byeBranch, method: 'BYE', toTag });
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
export function planDemoTraffic(o: { from: number; to: number; callsPerSecond: number; seed: number; customers?: readonly DemoCustomer[]; routing?: DemoRouting | null; until?: number }): PlannedPacket[] {
  const rng = seededRandom(o.seed);
  const customers = o.customers ?? DEMO_CUSTOMERS;
  const routing = o.routing === undefined ? DEMO_ROUTING : o.routing;
  const until = o.until ?? o.to;
  const out: PlannedPacket[] = [];
  const step = 1000 / o.callsPerSecond;
  let n = 0;
  for (let start = o.from; start < o.to; start += step) {
    const c = pickCustomer(rng, customers);
    for (const m of planCall(rng, c, `s${o.seed.toString(36)}x${(n++).toString(36)}`, routing)) {
      const timeMs = Math.round(start + m.at);
      if (timeMs <= until) out.push({ timeMs, srcIp: m.src, dstIp: m.dst, sip: m.sip });
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
  /** The platform's carriers and routes (default DEMO_ROUTING; null: the customers' side only). */
  routing?: DemoRouting | null;
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
  src: string;
  dst: string;
  sip: string;
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
  const routing = options.routing === undefined ? DEMO_ROUTING : options.routing;
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
      for (const m of planCall(rng, c, `${run}${(stats.calls++).toString(36)}`, routing)) heap.push({ at: start + m.at, src: m.src, dst: m.dst, sip: m.sip });
    }
    for (let d = heap.peek(); d !== undefined && d.at <= now; d = heap.peek()) {
      heap.pop();
      const frame = encodeHep({
        srcIp: d.src,
        dstIp: d.dst,
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
