import type { HeaderName } from '../protocol/sip/parse.ts';
import { headerName } from '../protocol/sip/parse.ts';
import { INVITE_SERIES, REPLIES, replyKey, WINDOWS } from './catalogue.ts';
import type { Scope, WindowDef } from './catalogue.ts';
import { compileCidrs } from './cidr.ts';
import { customerExtractor, DEFAULT_CUSTOMER_KEY } from './customer.ts';
import type { CustomerKey, PacketMeta } from './customer.ts';
import { carrierExtractor, DEFAULT_CARRIER_KEY, destinationExtractor } from './dimensions.ts';
import type { CarrierKey, DestinationOptions } from './dimensions.ts';
import { DEFAULT_OUTCOMES, OutcomeTable, TIMEOUT } from './outcomes.ts';
import type { Outcome, OutcomeRule } from './outcomes.ts';
import { KPI_INDEX, LEVEL_INDEX, OUTCOME_INDEX, PERCENTILES_OF, Scopes } from './scopes.ts';
import type { KpiSink, ScopeHandles } from './scopes.ts';
import type { Limits } from './limits.ts';

import { MediaTracker, qualityStream } from '../media/media-tracker.ts';
import type { Addr, LegFigures } from '../media/media-tracker.ts';
import { sdpAudio } from '../media/sdp.ts';
import type { RtcpReport } from '../media/rtcp-report.ts';
import { QUALITY_HEADERS, qualityFromHeader, vqFromText } from '../media/quality-reports.ts';
import type { QualityFigures } from '../media/quality-reports.ts';
import { SipstatsError } from '../errors.ts';
import { DEFAULTS } from '../defaults.ts';

export type { KpiSink } from './scopes.ts';

/** What the tracker reads of a SIP message (the lazy parser's SipMessage fits). */
export interface SipView {
  readonly isRequest: boolean;
  readonly method: string | null;
  readonly status: number;
  readonly callId: string | null;
  readonly cseq: { seq: number; method: string } | null;
  readonly toTag: string | null;
  readonly viaBranch: string | null;
  readonly fromUser: string | null;
  readonly fromDomain: string | null;
  readonly toDomain: string | null;
  readonly toUser: string | null;
  readonly ruriUser: string | null;
  readonly ruriHost: string | null;
  header(name: HeaderName): string | null;
  /** The message body (SDP), when the reader has it. */
  readonly body?: Buffer;
  /** Whether a header's name says "rtp-stat" in any case (the quality reports' headers), a cheap test before looking for them; absent: assume so. */
  rtpStatHeader?(): boolean;
}

/** How an attempt (outbound leg) is linked to its call besides a shared Call-ID. */
export interface CorrelationOptions {
  /** A header of the outbound INVITE that names the inbound leg's Call-ID (e.g. X-CID). */
  readonly header?: string;
  /** The HEP correlation id (chunk 0x0011) names the inbound leg's Call-ID. */
  readonly hep?: boolean;
}

export interface TrackerOptions {
  /** A call with no final reply this long after its (last) INVITE is a failure, in ms. */
  inviteTimeoutMs?: number;
  /**
   * An answered call with no BYE after this long is no longer up (no ACD; counted in
   * `calls_unended` and, for calls, `dialog:expired_dialogs`), in ms.
   */
  maxCallDurationMs?: number;
  /** SDR: an answered call that ended within this long of its answer is short, in ms. */
  shortCallMs?: number;
  /** Channel and CPS limits per customer and carrier (src/kpi/limits.ts): utilisation and time over them. */
  limits?: Limits;
  /** Decided calls are remembered this long to absorb retransmissions and late replies, in ms. */
  lingerMs?: number;
  /** At most this many calls (and, apart, attempts) are tracked; the oldest pending is evicted past it. */
  maxCalls?: number;
  /** At most this many distinct customers / carriers / destinations get their own series; more fold into `other`. */
  maxCustomers?: number;
  maxCarriers?: number;
  maxDestinations?: number;
  /** A customer, carrier or destination with no call for this long loses its series (ms; 0 = never). */
  dimensionIdleMs?: number;
  customer?: CustomerKey;
  outcomes?: readonly OutcomeRule[];
  windows?: readonly WindowDef[];
  /** Ringing replies that end PDD. */
  ringingCodes?: readonly number[];
  /** Feed the INVITE_per_min / INVITE_ratio series. */
  inviteSeries?: boolean;
  /** Feed PDD_p95 / AST_p95. */
  percentiles?: boolean;
  /** ACD from the first INVITE (default, the historical definition) or from the answer (the industry's). */
  acdFrom?: 'invite' | 'answer';
  /**
   * Addresses (CIDR list) of the platform's own SIP servers. Set: an INVITE from outside to the
   * platform starts a call, one from the platform to outside is an attempt (carrier KPIs), traffic
   * between platform addresses is neither. Unset: every initial INVITE is a call (proxy view).
   */
  platform?: readonly string[];
  /** Carrier of an attempt (needs `platform`); default its destination address. */
  carrier?: CarrierKey;
  /** Destination of calls and attempts; default with `platform` the ITU country codes, none without. */
  destination?: DestinationOptions | null;
  correlation?: CorrelationOptions;
  /**
   * Media quality from the RTP of a capture (sipstats replay): the SDP of each leg names where its
   * RTP goes (MediaTracker); `onMedia` hands datagrams over. Off for live HEP (no RTP there).
   */
  media?: boolean;
  /** POOR: a call whose MOS is below this is poor. */
  poorMos?: number;
}

type Defaults = Required<Omit<TrackerOptions, 'customer' | 'outcomes' | 'windows' | 'ringingCodes' | 'platform' | 'carrier' | 'destination' | 'correlation' | 'limits'>>;

export const TRACKER_DEFAULTS: Defaults = DEFAULTS.tracker;

/** No percentile to feed. */
const NONE: readonly number[] = [];

/** The Reason header (RFC 3326) and its Q.850 cause. */
const REASON = headerName('Reason');
/** Quality headers of a BYE or its 200 (media/quality-reports.ts), and the body type of RFC 6035 reports. */
const QUALITY = QUALITY_HEADERS.map(headerName);
/** An SDP body's audio media line (a body without one is not decoded). */
const M_AUDIO = Buffer.from('m=audio', 'latin1');
const CONTENT_TYPE = headerName('Content-Type');
const VQ_TYPE = 'application/vq-rtcpxr';
/** How long the media of a leg that ended waits for reports that come with or after its end (packet time). */
const QUALITY_GRACE_MS = 2_000;
const Q850_RE = /(?:^|,)\s*Q\.850\s*;(?:[^,]*?;)?\s*cause\s*=\s*(\d{1,3})/i;
const REPLY_TIMEOUT = replyKey(TIMEOUT);

/** The KPI levels a scope keeps (LEVEL_KPIS order). */
const L_CC_UTIL = LEVEL_INDEX.CC_util;
const L_CC_OVER = LEVEL_INDEX.CC_over;
const L_CPS_OVER = LEVEL_INDEX.CPS_over;

/**
 * The shortest slot of the maxima's profiles (ms): a maximum (CC_max, CPS_max, CPS_util) is fed only
 * when a value passes what the current such slot already holds, and every slot of a coarser window
 * starts on one of these (slots are clock-aligned), so each of its slots gets its own maximum too.
 */
const MAX_SLOT_MS = Math.min(...WINDOWS.map((w) => (1000 * (w.profiles.max.window ?? 60)) / (w.profiles.max.slots ?? 60)));

/** A scope's maxima enter the finest slot of engine time `now`: nothing fed in it yet. */
function newMaxSlot(s: ScopeHandles, now: number): void {
  s.maxSlotEnd = (Math.floor(now / MAX_SLOT_MS) + 1) * MAX_SLOT_MS;
  s.ccMaxFed = 0;
  s.cpsMaxFed = 0;
}

/**
 * A scope's `up` is about to change at engine time `t`: the call time since its last change joins
 * what its next CC_avg sample adds (call-seconds). Engine time, the clock the windows' slots follow
 * (live: the server's; a replay: the capture's): one clock for every leg of a scope, whatever the
 * capture agent and its clock's shift, and never backwards.
 */
function upChanges(s: ScopeHandles, t: number): void {
  if (s.up > 0 && t > s.upAt) s.upMs += s.up * (t - s.upAt);
  if (t > s.upAt) s.upAt = t;
}

/**
 * How often every scope with a leg up gets a CC_max sample (packet time, ms): no longer than the
 * shortest slot of the KPI windows (1 minute in 6 slots), so a window whose calls were all up
 * before it began still holds their number.
 */
const UP_SAMPLE_MS = 5_000;

/** How long a final reply whose INVITE was not seen yet waits for it (packet time): capture agents' reordering. */
const EARLY_REPLY_MS = 2_000;

/** NOMEDIA judges answered calls that lasted at least this long (one-way audio needs a moment to show). */
const NOMEDIA_AFTER_MS = 2_000;

const PENDING = 0;
const ANSWERED = 1;
const DONE = 2;

/** One leg: a call (inbound) or an attempt (outbound). */
class Leg {
  state = PENDING;
  /**
   * First INVITE, on its capture agent's own clock (PacketMeta.agentTimeMs): PDD, AST (and by
   * default ACD) run from here. Durations are differences of one agent's own capture times, never
   * of the shifted timeline that timeouts use (an agent's backlog delivered in a burst moves the shift).
   */
  readonly t0: number;
  /** Last (re-)sent INVITE: the timeout runs from here. */
  lastInvite: number;
  /** The 2xx, on its agent's own clock (as t0). */
  answeredAt = 0;
  /** Lowest and newest CSeq of the leg's initial INVITE transactions. */
  readonly firstSeq: number;
  seq: number;
  /**
   * INVITE transactions without a final reply yet and their top Via branches: the first one inline
   * (almost every call has one transaction), further ones in `more` (CSeq 2, 3... without a
   * challenge) only when they exist. `openSeq` -1: none open.
   */
  openSeq: number;
  openBranch: string | null;
  more: { seq: number; branch: string | null }[] | null = null;
  pddDone = false;
  awaitingAuth = false;
  /** When it entered its current list (pending: last INVITE; answered: answer; done: decision). */
  since: number;
  /** Attempts linked to this call; the call an attempt is linked to. */
  attempts = 0;
  call: Leg | null = null;
  /** Neighbours in its table's list of its state (see LegList). */
  prev: Leg | null = null;
  next: Leg | null = null;
  /** The next attempt of its dialog (see Dialog.attempts). */
  sibling: Leg | null = null;
  /** Its media, as MediaTracker keeps it (MediaLeg). */
  media: unknown = undefined;
  constructor(
    t: number,
    /** `t` on the capture agent's own clock. */
    own: number,
    seq: number,
    branch: string | null,
    /** Where its KPIs go. */
    readonly scopes: readonly ScopeHandles[],
    /** What is tracked under its Call-ID. */
    readonly dialog: Dialog,
    /** Attempts: the top Via branch of its INVITE ('' when none), its key among its dialog's attempts. */
    public branchKey: string,
    /** Attempts: the address the INVITE went to (a re-sent INVITE after a challenge goes there too). */
    readonly dst: string,
    readonly isCall: boolean,
  ) {
    this.t0 = own;
    this.lastInvite = t;
    this.firstSeq = seq;
    this.seq = seq;
    this.openSeq = seq;
    this.openBranch = branch;
    this.since = t;
  }

  get callId(): string {
    return this.dialog.callId;
  }

  /** Opens a further INVITE transaction. */
  addOpen(seq: number, branch: string | null): void {
    if (this.openSeq < 0) {
      this.openSeq = seq;
      this.openBranch = branch;
    } else (this.more ??= []).push({ seq, branch });
  }

  /** The branch of open transaction `seq`; undefined when it is not open. */
  openBranchOf(seq: number): string | null | undefined {
    if (this.openSeq === seq) return this.openBranch;
    const m = this.more?.find((x) => x.seq === seq);
    return m === undefined ? undefined : m.branch;
  }

  /** Closes open transaction `seq` (it had its final reply); returns how many stay open. */
  close(seq: number): number {
    if (this.openSeq === seq) {
      const next = this.more?.shift();
      this.openSeq = next === undefined ? -1 : next.seq;
      this.openBranch = next === undefined ? null : next.branch;
    } else if (this.more !== null) {
      const i = this.more.findIndex((x) => x.seq === seq);
      if (i >= 0) this.more.splice(i, 1);
    }
    if (this.more !== null && this.more.length === 0) this.more = null;
    return (this.openSeq < 0 ? 0 : 1) + (this.more?.length ?? 0);
  }
}

/**
 * Requests remembered per dialog within the linger time (a call has a handful: ACK, BYE, re-INVITEs,
 * INFO...). Past it a request is not remembered (`sipstats:requests_unremembered`: its
 * retransmissions would count again), so that a flood of requests with one Call-ID costs bounded
 * work per request, not a walk of every request it sent.
 */
const SEEN_PER_DIALOG = 64;

/**
 * Attempts tracked per dialog: a proxy's branches of one call, a B2BUA's retries with one Call-ID
 * (a handful). Past it an outbound INVITE of the dialog is not tracked
 * (`sipstats:attempts_untracked`), so that a flood of INVITEs with one Call-ID and ever new
 * branches costs bounded work per message.
 */
const ATTEMPTS_PER_DIALOG = 64;

/**
 * What is tracked under one Call-ID: its call, its attempts, its answered attempt and the requests
 * it saw recently. A message finds all of it with one probe of the tracker's map by Call-ID (before:
 * up to four maps per message, and attempts under a `Call-ID\nbranch` key built, flattened and hashed
 * at every INVITE and reply: ~10 % of the pipeline with both legs tracked). It leaves the map when
 * nothing is left in it.
 */
class Dialog {
  /** The call (inbound leg) with this Call-ID. */
  call: Leg | null = null;
  /** Its attempts (outbound legs), newest first, through Leg.sibling. */
  attempts: Leg | null = null;
  nAttempts = 0;
  /** The answered attempt a BYE with this Call-ID ends (the first one answered). */
  answered: Leg | null = null;
  /** Requests remembered, oldest first (see Seen). */
  seen: Seen | null = null;
  /**
   * A BYE seen while nothing of the dialog was answered (captured before the 2xx: packets reordered
   * on their way to the capture), on its agent's clock; -1: none. The leg answered next ends at once:
   * its BYE's retransmissions are duplicates, and no later BYE would end it.
   */
  byeAt = -1;
  constructor(readonly callId: string) {}

  /** The attempt of top Via branch `branch` ('' when none). */
  attempt(branch: string): Leg | undefined {
    for (let a = this.attempts; a !== null; a = a.sibling) if (a.branchKey === branch) return a;
    return undefined;
  }

  addAttempt(a: Leg): void {
    a.sibling = this.attempts;
    this.attempts = a;
    this.nAttempts++;
  }

  /** Lets go of a released leg. */
  drop(leg: Leg): void {
    if (this.call === leg) this.call = null;
    if (this.answered === leg) this.answered = null;
    for (let a = this.attempts, prev: Leg | null = null; a !== null; prev = a, a = a.sibling) {
      if (a !== leg) continue;
      if (prev === null) this.attempts = a.sibling;
      else prev.sibling = a.sibling;
      a.sibling = null;
      this.nAttempts--;
      break;
    }
  }

  get unused(): boolean {
    return this.call === null && this.attempts === null && this.seen === null;
  }
}

/** A non-initial request remembered for the linger time (see Dialog.seen). */
class Seen {
  /** The next request of the same Call-ID, in arrival order. */
  next: Seen | null = null;
  /** A BYE: it ended a call or an attempt (or marked the dialog's next answer as ended). */
  applied = false;
  constructor(
    readonly dialog: Dialog,
    readonly seq: number,
    readonly method: string,
    readonly t: number,
  ) {}
}

/**
 * The legs of one state in the order they entered it (swept from the front): a doubly linked list
 * through the legs themselves, so that a leg changing state (answered, decided, an INVITE re-sent)
 * is relinked, not deleted from one map and hashed into another.
 */
class LegList {
  head: Leg | null = null;
  tail: Leg | null = null;
  size = 0;

  /** Adds a leg (in no list) at the end. */
  append(leg: Leg): void {
    leg.prev = this.tail;
    leg.next = null;
    if (this.tail === null) this.head = leg;
    else this.tail.next = leg;
    this.tail = leg;
    this.size++;
  }

  /** Takes out a leg of this list. */
  remove(leg: Leg): void {
    if (leg.prev === null) this.head = leg.next;
    else leg.prev.next = leg.next;
    if (leg.next === null) this.tail = leg.prev;
    else leg.next.prev = leg.prev;
    leg.prev = null;
    leg.next = null;
    this.size--;
  }
}

/**
 * Legs of one kind, a list per state, in the order they entered it, swept from the front (a leg is
 * found through its Dialog). `state` says which list a leg is in.
 */
class LegTable {
  readonly pending = new LegList();
  readonly answered = new LegList();
  readonly done = new LegList();
  get size(): number {
    return this.pending.size + this.answered.size;
  }
}

const IN = 0; // a message from outside to the platform (or any message without `platform`)
const OUT = 1; // from the platform to outside

/**
 * Follows SIP calls from captured messages and turns them into KPI updates by the counting rules
 * of RFC 6076 as sipstats applies them (docs/kpis.md): only initial INVITEs start a call;
 * retransmissions count once; a 401/407 challenge and the re-sent INVITE are one call; re-INVITEs
 * and 100 Trying are not outcomes; CANCEL → 487 is a failure; no final reply within the INVITE
 * timeout is a failure; the first 2xx to any of the call's INVITE transactions answers it, and a
 * later transaction's failure never fails it; BYE from either side ends the call.
 *
 * With `platform`, inbound legs are calls (all traffic, customer, destination) and outbound legs
 * are attempts (carrier, carrier × destination), each counted by the same rules; an attempt is
 * linked to its call by a shared Call-ID (proxy) or by correlation (B2BUA). Pure: time comes from
 * the packets and from `tick(now)`. Memory is bounded: legs live in insertion-ordered maps swept
 * from the front, with a cap; dimension values are capped and expire when idle.
 */
export class CallTracker {
  // what the options decide (replaced by reconfigure(); the calls being tracked stay)
  private opt!: Defaults;
  private outcomes!: OutcomeTable;
  private customerOf!: ReturnType<typeof customerExtractor>;
  private carrierOf!: ReturnType<typeof carrierExtractor> | null;
  private carrierKey: CarrierKey | null = null;
  private destinationOf!: ReturnType<typeof destinationExtractor> | null;
  private isPlatform!: ((ip: string) => boolean) | null;
  private corrHeader!: HeaderName | null;
  private corrHep!: boolean;
  private ringing!: Set<number>;
  private acdFromAnswer!: boolean;
  private readonly calls = new LegTable();
  private readonly attempts = new LegTable();
  /** Everything tracked, by Call-ID (see Dialog). */
  private readonly dialogs = new Map<string, Dialog>();
  /** Attempts challenged (401/407) by Call-ID and destination: the re-sent INVITE continues them. */
  private readonly challenged = new Map<string, Leg>();
  /**
   * Shared scope lists of legs (see scopeList), by the scopes themselves: lists of two by (first,
   * second), lists of three by (first, second, third). Object keys hash by identity, where a key
   * string spelt from the scopes' keys would be built and hashed at every INVITE. Pairs apart: a
   * customer's calls without destinations, a carrier x destination's attempts cost an entry of their
   * first scope's map, not a map of their own (~290 bytes each). `listCount` bounds them as a whole.
   */
  private pairs = new Map<ScopeHandles, Map<ScopeHandles, ScopeHandles[]>>();
  private triples = new Map<ScopeHandles, Map<ScopeHandles, Map<ScopeHandles, ScopeHandles[]>>>();
  private listCount = 0;
  /**
   * Recently seen non-initial requests (Call-ID, CSeq, method): retransmissions count once. A FIFO
   * in arrival order (released from the front) and, per dialog, the chain of its entries in the same
   * order (Dialog.seen): no key made per request, and nothing per request in a map.
   */
  private recentQueue: (Seen | undefined)[] = [];
  private recentHead = 0;
  readonly scopes: Scopes;
  private nextSweep = -Infinity;
  /** The message being fed, on its capture agent's own clock (durations are measured in it). */
  private own = 0;
  /**
   * OpenSIPS' dialog module statistics for all traffic, written in place (made at the start; a
   * statistic of the script's that took one of these names gets a detached stand-in).
   */
  private readonly dialogStats: Readonly<Record<'processed' | 'failed' | 'expired' | 'active' | 'early', { value: number }>>;
  /** When tick() next gives every scope with a leg up a CC_max sample (packet time). */
  private nextUpSample = -Infinity;
  private nextExpiry = -Infinity;
  /** What each leg's media measured: RTP of a capture (tied by SDP: options.media), RTCP reports over HEP. */
  readonly media: MediaTracker<Leg>;
  /** Read the SDP of calls (options.media: replay of captures with RTP); live HEP needs none. */
  private readonly parseSdp: boolean;

  constructor(
    private readonly sink: KpiSink,
    options: TrackerOptions = {},
  ) {
    this.scopes = new Scopes(sink, { maxValues: { customer: 0, carrier: 0, destination: 0 }, idleMs: 0 }, options.windows ?? WINDOWS);
    this.dialogStats = {
      processed: sink.counter('dialog', 'processed_dialogs', false) ?? { value: 0 },
      failed: sink.counter('dialog', 'failed_dialogs', false) ?? { value: 0 },
      expired: sink.counter('dialog', 'expired_dialogs', false) ?? { value: 0 },
      active: sink.counter('dialog', 'active_dialogs', true) ?? { value: 0 },
      early: sink.counter('dialog', 'early_dialogs', true) ?? { value: 0 },
    };
    this.media = new MediaTracker<Leg>(sink);
    this.parseSdp = options.media === true;
    this.reconfigure(options);
  }

  /**
   * Applies new options (a configuration reload): customer, carrier and destination keys, prefix
   * table, outcome table, platform, correlation, limits. Calls and attempts being tracked, and every
   * series, stay; a call already started keeps the customer and destination it was given.
   */
  reconfigure(options: TrackerOptions): void {
    this.opt = { ...TRACKER_DEFAULTS, ...stripUndefined(options) } as Defaults;
    this.outcomes = new OutcomeTable(options.outcomes ?? DEFAULT_OUTCOMES);
    this.customerOf = customerExtractor(options.customer ?? DEFAULT_CUSTOMER_KEY);
    const platform = options.platform !== undefined && options.platform.length > 0 ? options.platform : null;
    this.isPlatform = platform === null ? null : memoIp(compileCidrs(Object.fromEntries(platform.map((c) => [c, 'platform']))));
    this.carrierOf = platform === null ? null : carrierExtractor(options.carrier ?? DEFAULT_CARRIER_KEY);
    this.carrierKey = platform === null ? null : (options.carrier ?? DEFAULT_CARRIER_KEY);
    this.destinationOf = options.destination === undefined || options.destination === null ? null : destinationExtractor(options.destination);
    this.corrHeader = options.correlation?.header !== undefined ? headerName(options.correlation.header) : null;
    this.corrHep = options.correlation?.hep === true;
    this.ringing = new Set(options.ringingCodes ?? [180, 183]);
    this.acdFromAnswer = this.opt.acdFrom === 'answer';
    this.scopes.limits = { maxValues: { customer: this.opt.maxCustomers, carrier: this.opt.maxCarriers, destination: this.opt.maxDestinations }, idleMs: this.opt.dimensionIdleMs };
    this.scopes.setLimits(options.limits ?? {});
    // listed from the start (and from the reload that sets kpi.platform), not from the next tick:
    // `get_statistics all` gives the same names at once and a second later
    this.publishGauges();
  }

  /** Calls being tracked (pending + answered). */
  get trackedCalls(): number {
    return this.calls.size;
  }

  /** Call-IDs something is tracked under (legs, decided or not, and remembered requests). */
  get trackedDialogs(): number {
    return this.dialogs.size;
  }

  /** Attempts being tracked (pending + answered). */
  get trackedAttempts(): number {
    return this.attempts.size;
  }

  /** Feeds one parsed SIP message captured at `meta.timeMs`. Never throws on odd traffic. */
  onSip(msg: SipView, meta: PacketMeta): void {
    const t = meta.timeMs;
    this.own = meta.agentTimeMs ?? t;
    if (t >= this.nextSweep) this.tick(t);
    const callId = msg.callId;
    const cseq = msg.cseq;
    if (callId === null || cseq === null) {
      this.sink.selfStat('sip_incomplete', 1);
      return;
    }
    let side = IN;
    if (this.isPlatform !== null) {
      const fromPlatform = this.isPlatform(meta.srcIp);
      const toPlatform = this.isPlatform(meta.dstIp ?? '');
      if (fromPlatform === toPlatform) {
        this.sink.selfStat(fromPlatform ? 'sip_internal' : 'sip_outside_platform', 1);
        return;
      }
      side = fromPlatform ? OUT : IN;
    }
    const dialog = this.dialogs.get(callId);
    const byeTx = dialog !== undefined && (msg.isRequest ? msg.method === 'BYE' : cseq.method === 'BYE');
    if (byeTx) this.qualityHeaders(msg, dialog!);
    if (msg.isRequest) {
      if (msg.method === 'PUBLISH') this.vqPublish(msg);
      if (msg.method === 'INVITE' && msg.toTag === null) {
        if (side === IN) this.callInvite(msg, meta, dialog, callId, cseq.seq, t);
        else this.attemptInvite(msg, meta, dialog, callId, cseq.seq, t);
      } else this.otherRequest(msg.method ?? '', dialog, callId, cseq.seq, t, side);
    } else if (cseq.method === 'INVITE') {
      // a reply travels against its request: from the platform, it answers an inbound call
      const toAttempt = side === IN && this.isPlatform !== null;
      const leg = dialog === undefined ? undefined : toAttempt ? dialog.attempt(msg.viaBranch ?? '') : (dialog.call ?? undefined);
      if (leg !== undefined) {
        if (leg.state === PENDING) this.reply(toAttempt ? this.attempts : this.calls, leg, msg, cseq.seq, t);
      } else if (msg.status >= 200) this.earlyReply(msg, callId, toAttempt, cseq.seq, t);
    } else if (byeTx && msg.status >= 200) {
      // the BYE's final reply: nothing more reports on the call's media
      for (const leg of [dialog!.call, dialog!.answered]) if (leg !== null && this.media.isClosing(leg)) this.mediaEnd(leg, t);
    }
  }

  /**
   * Quality headers of a BYE or its reply (X-RTP-Stat...): a stream each, for the dialog's call leg
   * and answered attempt. Unreadable ones are counted (`quality_report_errors`).
   */
  private qualityHeaders(msg: SipView, dialog: Dialog): void {
    // (nearly every BYE has none: one memory search instead of a scan of the headers per name)
    if (msg.rtpStatHeader !== undefined && !msg.rtpStatHeader()) return;
    for (const h of QUALITY) {
      const v = msg.header(h);
      if (v === null) continue;
      const q = qualityFromHeader(v);
      if (typeof q === 'string') this.sink.selfStat('quality_report_errors', 1);
      else this.qualityOf(dialog, q);
      return;
    }
  }

  /** A quality report for a dialog's legs; one that comes after their media was added counts for LOSS and JITTER only. */
  private qualityOf(dialog: Dialog, q: QualityFigures): boolean {
    let n = 0;
    for (const leg of [dialog.call, dialog.answered]) {
      if (leg === null) continue;
      n++;
      // (a leg over whose media is no longer waiting: DONE and not closing, or already added)
      if ((leg.state !== DONE || this.media.isClosing(leg)) && this.media.quality(leg, q)) continue;
      // too late for the call's MOS: its stream still counts
      this.media.rtpSeen = true;
      this.mediaKpis(leg, { streams: [qualityStream(q)], bothSides: false, toOfferer: true, toAnswerer: true }, this.own, false);
    }
    this.sink.selfStat(n > 0 ? 'quality_reports' : 'quality_reports_unmatched', 1);
    return n > 0;
  }

  /** A PUBLISH of an RFC 6035 voice-quality report (Content-Type application/vq-rtcpxr). */
  private vqPublish(msg: SipView): void {
    const ct = msg.header(CONTENT_TYPE);
    if (ct === null || !ct.toLowerCase().includes(VQ_TYPE) || msg.body === undefined) return;
    this.onVqReport(msg.body.toString('utf8'));
  }

  /** An RFC 6035 report (a PUBLISH body, or HEP protocol type 35), tied to its call by its CallID. */
  onVqReport(text: string): void {
    const r = vqFromText(text);
    if (typeof r === 'string') {
      this.sink.selfStat('quality_report_errors', 1);
      return;
    }
    this.onQualityReport(r.callId, r.figures);
  }

  /** A quality report on one stream of the call `callId` (an RFC 6035 report, an RTP agent's). */
  onQualityReport(callId: string, figures: QualityFigures): void {
    const d = this.dialogs.get(callId);
    if (d === undefined) this.sink.selfStat('quality_reports_unmatched', 1);
    else this.qualityOf(d, figures);
  }

  /** A leg's media figures, taken now (its wait is over, or its BYE was answered). */
  private mediaEnd(leg: Leg, t: number): void {
    const f = this.media.end(leg);
    if (f !== null) this.mediaKpis(leg, f, t);
  }

  /** The dialog of `callId`, made when there is none yet (`known`: the map's answer). */
  private dialogOf(known: Dialog | undefined, callId: string): Dialog {
    if (known !== undefined) return known;
    const d = new Dialog(callId);
    this.dialogs.set(callId, d);
    return d;
  }

  /** A released leg lets go of its dialog. */
  private release(leg: Leg): void {
    leg.dialog.drop(leg);
    this.letGo(leg.dialog);
  }

  /** A dialog with nothing left in it leaves the map. */
  private letGo(d: Dialog): void {
    if (d.unused && this.dialogs.get(d.callId) === d) this.dialogs.delete(d.callId);
  }

  private callInvite(msg: SipView, meta: PacketMeta, dialog: Dialog | undefined, callId: string, seq: number, t: number): void {
    const known = dialog?.call ?? null;
    if (known !== null) {
      this.again(this.calls, known, msg, seq, t);
      return;
    }
    let dl = dialog;
    if (this.calls.size >= this.opt.maxCalls) {
      this.evictOldest(this.calls);
      dl = this.dialogs.get(callId); // (the eviction may have released this Call-ID's dialog)
    }
    const customer = this.customerOf(msg, meta);
    const c = customer === null ? null : this.scopes.get({ customer }, t);
    const d = this.destinationOf === null ? null : this.scopes.get({ destination: this.destinationOf(msg) }, t);
    const dc = this.dialogOf(dl, callId);
    const leg = new Leg(t, this.own, seq, msg.viaBranch, this.scopeList(this.scopes.all, c, d), dc, '', '', true);
    dc.call = leg;
    this.calls.pending.append(leg);
    this.started(leg, t);
    if (this.parseSdp) this.sdpOf(leg, msg, true);
    if (this.early.size > 0) this.lateInvite(leg, `${callId}\n`);
    this.sink.selfStat('calls_started', 1);
    if (this.opt.inviteSeries) {
      this.sink.updateStatSeries(INVITE_SERIES.perMinute.profile, INVITE_SERIES.perMinute.name, 1);
      this.sink.updateStatSeries(INVITE_SERIES.ratio.profile, INVITE_SERIES.ratio.name, 1);
    }
  }

  /** An initial INVITE of a leg already known: a retransmission, or a new transaction of it. */
  private again(table: LegTable, leg: Leg, msg: SipView, seq: number, t: number): void {
    if (leg.state !== PENDING || seq <= leg.seq) return; // a retransmission (or a late copy)
    // the INVITE re-sent after a 401/407, or another INVITE transaction of the same call
    leg.seq = seq;
    leg.addOpen(seq, msg.viaBranch);
    leg.awaitingAuth = false;
    leg.lastInvite = t;
    this.move(leg, table.pending, table.pending, t);
  }

  private attemptInvite(msg: SipView, meta: PacketMeta, dialog: Dialog | undefined, callId: string, seq: number, t: number): void {
    const dst = meta.dstIp ?? '';
    const branch = msg.viaBranch ?? '';
    const known = dialog?.attempt(branch);
    if (known !== undefined) return this.again(this.attempts, known, msg, seq, t);
    // no challenge waiting (nearly always): no key to build and hash
    const ck = this.challenged.size === 0 ? null : `${callId}\n${dst}`;
    const challenged = ck === null ? undefined : this.challenged.get(ck);
    if (challenged !== undefined && challenged.state === PENDING && seq > challenged.seq) {
      // the INVITE re-sent to the same carrier after its challenge: the same attempt (of the same
      // dialog), now known by its new branch; again() moves it to the end of the pending list
      this.challenged.delete(ck!);
      challenged.branchKey = branch;
      return this.again(this.attempts, challenged, msg, seq, t);
    }
    if (dialog !== undefined && dialog.nAttempts >= ATTEMPTS_PER_DIALOG) {
      this.sink.selfStat('attempts_untracked', 1);
      return;
    }
    let dl = dialog;
    if (this.attempts.size >= this.opt.maxCalls) {
      this.evictOldest(this.attempts);
      dl = this.dialogs.get(callId); // (the eviction may have released this Call-ID's dialog)
    }
    const call = dl?.call ?? this.correlate(msg, meta, callId);
    const carrier = this.carrierOf!(msg, meta) ?? 'unknown';
    const scope: { carrier: string; destination?: string } = { carrier };
    const cd = this.destinationOf === null ? null : this.scopes.get({ carrier, destination: this.destinationOf(msg) }, t);
    const da = this.dialogOf(dl, callId);
    const a = new Leg(t, this.own, seq, msg.viaBranch, this.scopeList(this.scopes.get(scope, t), cd, null), da, branch, dst, false);
    a.call = call;
    da.addAttempt(a);
    this.attempts.pending.append(a);
    this.started(a, t);
    if (this.parseSdp) this.sdpOf(a, msg, true);
    if (this.early.size > 0) this.lateInvite(a, `${callId}\n${branch}`);
    this.sink.selfStat('attempts_started', 1);
    if (call === null) this.sink.selfStat('attempts_uncorrelated', 1);
    else if (++call.attempts === 2) this.sink.selfStat('calls_failed_over', 1);
  }

  /**
   * The scopes a leg feeds, as one shared list per combination (a leg holds a reference, not a list
   * of its own: 500 000 tracked calls share a few thousand lists).
   */
  private scopeList(a: ScopeHandles, b: ScopeHandles | null, c: ScopeHandles | null): readonly ScopeHandles[] {
    if (b === null || c === null) {
      const x = b ?? c;
      if (x === null) return a.alone;
      let byA = this.pairs.get(a);
      let l = byA?.get(x);
      if (l === undefined) {
        if (this.listsFull()) byA = undefined;
        if (byA === undefined) this.pairs.set(a, (byA = new Map()));
        // (written whole: an array pushed to reserves 17 places, ~150 bytes, for every new customer)
        byA.set(x, (l = [a, x]));
        this.listCount++;
      }
      return l;
    }
    let byB = this.triples.get(a);
    let byC = byB?.get(b);
    let l = byC?.get(c);
    if (l === undefined) {
      if (this.listsFull()) {
        byB = undefined;
        byC = undefined;
      }
      if (byB === undefined) this.triples.set(a, (byB = new Map()));
      if (byC === undefined) byB.set(b, (byC = new Map()));
      byC.set(c, (l = [a, b, c]));
      this.listCount++;
    }
    return l;
  }

  /** At the bound of shared scope lists, they are let go (legs keep theirs): true then. */
  private listsFull(): boolean {
    if (this.listCount < 100_000) return false;
    this.pairs = new Map();
    this.triples = new Map();
    this.listCount = 0;
    return true;
  }

  /** The call of an attempt with a Call-ID of its own (a B2BUA's leg): the one its correlation names. */
  private correlate(msg: SipView, meta: PacketMeta, callId: string): Leg | null {
    if (this.corrHeader !== null) {
      const v = msg.header(this.corrHeader);
      const c = v === null ? null : (this.dialogs.get(v.trim())?.call ?? null);
      if (c !== null) return c;
    }
    if (this.corrHep && meta.correlationId !== undefined && meta.correlationId !== callId) {
      const c = this.dialogs.get(meta.correlationId)?.call ?? null;
      if (c !== null) return c;
    }
    return null;
  }

  private otherRequest(method: string, dialog: Dialog | undefined, callId: string, seq: number, t: number, side: number): void {
    let last: Seen | null = null;
    let n = 0;
    let again: Seen | null = null;
    for (let e = dialog?.seen ?? null; e !== null; e = e.next, n++) {
      if (e.seq === seq && e.method === method) {
        // a retransmission, or the same request forwarded by a proxy: counted once; except a BYE
        // whose first copy ended nothing (captured before its INVITE) while the dialog has a leg now
        if (method !== 'BYE' || e.applied || dialog === undefined || (dialog.call === null && dialog.attempts === null)) return;
        again = e;
        break;
      }
      last = e;
    }
    let seen = again;
    if (seen === null) {
      if (n < SEEN_PER_DIALOG) {
        const d = this.dialogOf(dialog, callId);
        seen = new Seen(d, seq, method, t);
        if (last === null) d.seen = seen;
        else last.next = seen;
        this.recentQueue.push(seen);
      } else this.sink.selfStat('requests_unremembered', 1); // a flood of requests in one dialog: bounded work per request
      if (this.opt.inviteSeries && side === IN) this.sink.updateStatSeries(INVITE_SERIES.ratio.profile, INVITE_SERIES.ratio.name, -1);
    }
    if (method !== 'BYE' || dialog === undefined) return;
    const call = dialog.call;
    let ended = false;
    if (call !== null && call.state === ANSWERED) {
      this.end(this.calls, call, t);
      ended = true;
    }
    const a = dialog.answered;
    if (a !== null) {
      dialog.answered = null;
      this.end(this.attempts, a, t);
      ended = true;
    }
    if (!ended && ((call !== null && call.state === PENDING) || dialog.attempts !== null)) {
      dialog.byeAt = this.own; // (the leg answered next ends at once: see Dialog.byeAt)
      ended = true;
    }
    if (seen !== null) seen.applied = ended;
  }

  private end(table: LegTable, leg: Leg, t: number): void {
    this.add(leg, KPI_INDEX.ACD, (this.own - (this.acdFromAnswer ? leg.answeredAt : leg.t0)) / 1000, t);
    // short-duration ratio: answered and over within kpi.short_call of its answer; the duration histogram
    const held = Math.max(0, this.own - leg.answeredAt);
    this.add(leg, KPI_INDEX.SDR, held < this.opt.shortCallMs ? 1 : -1, t);
    for (const s of leg.scopes) s.addDuration(held / 1000);
    this.finish(table, leg, table.answered, t);
  }

  private reply(table: LegTable, leg: Leg, msg: SipView, seq: number, t: number): void {
    if (seq < leg.firstSeq || seq > leg.seq) return; // a re-INVITE's reply, or unknown
    const branch = leg.openBranchOf(seq);
    const code = msg.status;
    if (this.parseSdp && code < 300 && branch !== undefined) this.sdpOf(leg, msg, false);
    if (code < 200) {
      if (branch !== undefined && !leg.pddDone && this.ringing.has(code)) this.pdd(leg, t);
      return;
    }
    if (branch === undefined) return; // its transaction had its final reply already: a retransmission
    if (code >= 300 && branch !== null && msg.viaBranch !== null && msg.viaBranch !== branch) return; // another leg's failure (proxy seen from both sides)
    if (code === 401 || code === 407) {
      if (leg.close(seq) === 0) {
        leg.awaitingAuth = true; // a challenge: not an outcome, and it does not end PDD
        if (table === this.attempts) this.challenged.set(`${leg.callId}\n${leg.dst}`, leg);
      }
      return;
    }
    const out = this.outcomes.of(code);
    if (out === undefined) return;
    const stillOpen = leg.close(seq);
    if (!out.answered && stillOpen > 0) return; // an earlier transaction may still answer the call
    if (!leg.pddDone) this.pdd(leg, t);
    this.decide(leg, out, t);
    if (!out.answered) this.failedWith(leg, code, msg);
    if (out.answered) {
      this.add(leg, KPI_INDEX.AST, this.own - leg.t0, t);
      leg.state = ANSWERED;
      leg.answeredAt = this.own;
      this.move(leg, table.pending, table.answered, t);
      if (table === this.attempts && leg.dialog.answered === null) leg.dialog.answered = leg;
      const bye = leg.dialog.byeAt;
      if (bye >= 0) {
        // its BYE came first (reordered): over at once, at the later of the two times
        if (table === this.attempts && leg.dialog.answered === leg) leg.dialog.answered = null;
        const own = this.own;
        this.own = Math.max(bye, own);
        this.end(table, leg, t);
        this.own = own;
      }
    } else this.finish(table, leg, table.pending, t);
  }

  /**
   * Advances time to `now`: pending legs past the INVITE timeout fail (or, when they were only
   * challenged and never re-sent, are dropped), answered legs past the maximum duration are
   * forgotten, decided legs and seen requests past the linger time are released, idle dimension
   * values lose their series.
   */
  tick(now: number): void {
    this.nextSweep = now + 100;
    if (this.forHead < this.forDue.length) this.decideFailovers(now - EARLY_REPLY_MS);
    // (early replies are kept in the order they came: the first one still in time ends the pass)
    for (const [k, r] of this.early) {
      if (r.t + EARLY_REPLY_MS > now) break;
      // its INVITE never came: a reply of a call the tracker never saw start (counted, not guessed)
      this.early.delete(k);
      this.sink.selfStat('replies_unmatched', 1);
    }
    for (const leg of this.media.due(now)) this.mediaEnd(leg, now);
    for (const table of [this.calls, this.attempts]) {
      const what = table === this.calls ? 'calls' : 'attempts';
      for (let leg = table.pending.head, next: Leg | null; leg !== null; leg = next) {
        next = leg.next; // finish() relinks `leg` into the done list
        if (leg.lastInvite + this.opt.inviteTimeoutMs > now) break;
        if (leg.awaitingAuth) {
          this.sink.selfStat(`${what}_abandoned_after_challenge`, 1);
        } else {
          const out = this.outcomes.of(TIMEOUT);
          if (out !== undefined) this.decide(leg, out, now);
          for (const s of leg.scopes) s.addReply(REPLY_TIMEOUT, now);
          this.sink.selfStat(`${what}_timed_out`, 1);
        }
        this.finish(table, leg, table.pending, now);
      }
      for (let leg = table.answered.head, next: Leg | null; leg !== null; leg = next) {
        next = leg.next;
        if (leg.since + this.opt.maxCallDurationMs > now) break;
        this.sink.selfStat(`${what}_unended`, 1);
        if (table === this.calls) this.dialogStats.expired.value++;
        this.finish(table, leg, table.answered, now);
      }
      for (let leg = table.done.head; leg !== null; leg = table.done.head) {
        if (leg.since + this.opt.lingerMs > now) break;
        table.done.remove(leg);
        this.release(leg);
      }
    }
    const q = this.recentQueue;
    while (this.recentHead < q.length && !(q[this.recentHead]!.t + this.opt.lingerMs > now)) this.releaseSeen();
    // bound the retransmission memory too (an OPTIONS flood must not grow it without limit)
    while (q.length - this.recentHead > this.opt.maxCalls) this.releaseSeen();
    if (this.recentHead > 1024 && this.recentHead * 2 > q.length) {
      // drop the released front: the queue's array holds what is still remembered, not every request since the start
      this.recentQueue = q.slice(this.recentHead);
      this.recentHead = 0;
    }
    if (now >= this.nextExpiry) {
      this.nextExpiry = now + 10_000;
      this.scopes.expire(now);
    }
    if (now >= this.nextUpSample) {
      // calls up for longer than a window still count in its CC_max, and CC_avg gets the call time
      // since the last sample: every scope with a leg up, or call time not sampled yet, once per
      // UP_SAMPLE_MS (every slot of the finest window has one). A scope with no call up adds nothing:
      // its average falls as its window's time passes (how an outage shows), at no cost per scope
      this.nextUpSample = now + UP_SAMPLE_MS;
      const at = this.sink.now();
      this.scopes.forEachSampled((s) => {
        if (s.up > 0) {
          if (at >= s.maxSlotEnd) newMaxSlot(s, at);
          if (s.up > s.ccMaxFed) {
            s.ccMaxFed = s.up;
            s.add(KPI_INDEX.CC_max, s.up, now, at);
          }
        }
        upChanges(s, at);
        if (s.upMs > 0) {
          s.add(KPI_INDEX.CC_avg, s.upMs / 1000, now, at);
          s.upMs = 0;
        }
        if (s.overSince >= 0) s.setLevel(L_CC_OVER, Math.floor((s.overMs + now - s.overSince) / 1000));
      });
    }
    this.publishGauges();
  }

  /**
   * The legs up now (answered, not ended), as text for a snapshot section: a restart restores them
   * (restoreUp), so CC does not drop to 0 and their BYEs still end them (ACD, SDR). Calls setting
   * up are not kept: their outcome is unknown to the next server (docs/persistence.md).
   */
  saveUp(): string {
    const row = (leg: Leg) => {
      const sc = leg.scopes.find((x) => x.scope.destination !== undefined)?.scope.destination ?? null;
      const who = leg.isCall ? (leg.scopes.find((x) => x.scope.customer !== undefined)?.scope.customer ?? null) : (leg.scopes[0]?.scope.carrier ?? null);
      return [leg.callId, who, sc, leg.t0, leg.answeredAt, leg.since, leg.seq, leg.branchKey, leg.dst, leg.call?.callId ?? null];
    };
    const calls: unknown[] = [];
    const attempts: unknown[] = [];
    for (let l = this.calls.answered.head; l !== null; l = l.next) calls.push(row(l));
    for (let l = this.attempts.answered.head; l !== null; l = l.next) attempts.push(row(l));
    return JSON.stringify({ v: 1, calls, attempts });
  }

  /**
   * Restores the legs up that saveUp() wrote, at `now` (packet timeline): those answered less than
   * the idle limit for answered calls (maxCallDurationMs) before `now`; returns how many legs came
   * back and how many were too old. Text that does not parse restores nothing (counted by the caller).
   */
  restoreUp(text: string, now: number): { restored: number; tooOld: number } {
    const data = JSON.parse(text) as { v?: number; calls?: unknown[][]; attempts?: unknown[][] };
    if (data.v !== 1 || !Array.isArray(data.calls) || !Array.isArray(data.attempts)) throw new SipstatsError('E_SNAPSHOT_VERSION', 'not a calls-up section of version 1');
    let restored = 0;
    let tooOld = 0;
    const str = (x: unknown) => (typeof x === 'string' ? x : null);
    const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
    for (const [isCall, rows] of [[true, data.calls], [false, data.attempts]] as const) {
      const table = isCall ? this.calls : this.attempts;
      for (const r of rows) {
        if (!Array.isArray(r)) continue;
        const callId = str(r[0]);
        const who = str(r[1]);
        const dest = str(r[2]);
        const t0 = num(r[3]);
        const answeredAt = num(r[4]);
        const since = num(r[5]);
        const seq = num(r[6]);
        if (callId === null || t0 === null || answeredAt === null || since === null || seq === null) continue;
        if (since + this.opt.maxCallDurationMs <= now) {
          tooOld++;
          continue;
        }
        const known = this.dialogs.get(callId);
        if (isCall ? known?.call != null : known?.answered != null) continue; // (seen since the start: the live one wins)
        let scopes: readonly ScopeHandles[];
        if (isCall) {
          const c = who === null ? null : this.scopes.get({ customer: who }, since);
          const d = dest === null ? null : this.scopes.get({ destination: dest }, since);
          scopes = this.scopeList(this.scopes.all, c, d);
        } else {
          const carrier = who ?? 'unknown';
          const cd = dest === null ? null : this.scopes.get({ carrier, destination: dest }, since);
          scopes = this.scopeList(this.scopes.get({ carrier }, since), cd, null);
        }
        const d = this.dialogOf(known, callId);
        const leg = new Leg(since, t0, seq, null, scopes, d, str(r[7]) ?? '', str(r[8]) ?? '', isCall);
        leg.openSeq = -1;
        leg.pddDone = true;
        leg.state = ANSWERED;
        leg.answeredAt = answeredAt;
        leg.since = since;
        if (isCall) d.call = leg;
        else {
          d.addAttempt(leg);
          if (d.answered === null) d.answered = leg;
          const callOf = str(r[9]);
          leg.call = callOf === null ? null : (this.dialogs.get(callOf)?.call ?? null);
        }
        table.answered.append(leg);
        for (const sc of scopes) {
          if (!sc.countsListed) sc.listCounts();
          upChanges(sc, this.sink.now());
          sc.up++;
        }
        restored++;
      }
    }
    this.publishDialogs();
    return { restored, tooOld };
  }

  /** Visits the call-duration histogram of every scope that has one (the scope's dimension values; {} for all traffic). */
  forEachDurations(cb: (scope: Scope, h: Float64Array) => void): void {
    this.scopes.forEachDurations((s, h) => cb(s.scope, h));
  }

  /** The tracked-leg gauges (`sipstats:calls_tracked`, with `kpi.platform` `attempts_tracked`): at every tick, and from the start. */
  private publishGauges(): void {
    this.publishDialogs();
    this.sink.gauge('calls_tracked', this.calls.size);
    if (this.isPlatform !== null) this.sink.gauge('attempts_tracked', this.attempts.size);
  }

  /** Releases the oldest remembered request: first in the queue, so first in its Call-ID's chain too. */
  private releaseSeen(): void {
    const e = this.recentQueue[this.recentHead]!;
    this.recentQueue[this.recentHead++] = undefined;
    const d = e.dialog;
    // (the oldest in the queue is the head of its dialog's chain: both are in arrival order)
    if (d.seen === e) {
      d.seen = e.next;
      this.letGo(d);
    }
  }

  private evictOldest(table: LegTable): void {
    const what = table === this.calls ? 'calls_evicted' : 'attempts_evicted';
    for (const list of [table.pending, table.answered]) {
      const first = list.head;
      if (first === null) continue;
      this.forget(first);
      list.remove(first);
      this.changed(first, list, null, first.since);
      this.release(first);
      this.sink.selfStat(what, 1);
      return;
    }
  }

  /** Moves a leg from the list it is in to the end of `to` (the end of its own list too). */
  private move(leg: Leg, from: LegList, to: LegList, t: number): void {
    from.remove(leg);
    leg.since = t;
    to.append(leg);
    if (from !== to) this.changed(leg, from, to, t);
  }

  /**
   * A new leg, ringing from now (CC_early of each of its scopes), one more start (CPS; CPS_max:
   * the starts in its second, packet time); a call is one more `dialog:processed_dialogs`.
   */
  private started(leg: Leg, t: number): void {
    // (the second on the capture agent's own clock: a backlog delivered in a burst has the same seconds)
    const sec = Math.floor(this.own / 1000);
    const now = this.sink.now();
    for (const s of leg.scopes) {
      // (CC reads 0, not absent, from a scope's first call)
      if (!s.countsListed) s.listCounts();
      s.early++;
      if (s.sec !== sec) {
        s.sec = sec;
        s.inSec = 0;
      }
      s.add(KPI_INDEX.CPS, 1, t, now);
      // a maximum needs a sample only when it is one: past what its finest slot already holds
      if (now >= s.maxSlotEnd) newMaxSlot(s, now);
      if (++s.inSec > s.cpsMaxFed) {
        s.cpsMaxFed = s.inSec;
        s.add(KPI_INDEX.CPS_max, s.inSec, t, now);
        if (s.cpsLimit > 0) s.add(KPI_INDEX.CPS_util, (100 * s.inSec) / s.cpsLimit, t, now);
      }
      if (s.cpsLimit > 0) {
        // a second over the limit counts once, when its first call past the limit starts
        if (s.inSec > s.cpsLimit && s.inSec - 1 <= s.cpsLimit) s.setLevel(L_CPS_OVER, ++s.overCps);
      }
    }
    if (leg.isCall) {
      this.dialogStats.processed.value++;
      this.dialogStats.early.value = this.calls.pending.size;
    }
  }

  /**
   * A leg left list `from` for list `to` (null: forgotten, evicted): its scopes' levels follow. A
   * leg is up (CC) from its 2xx to its end (BYE either side, the idle limit for answered calls,
   * eviction) and ringing (CC_early) from its INVITE to its final reply or timeout; neither goes
   * below 0. Each rise of CC is a sample of CC_max (which tick() also refreshes).
   */
  private changed(leg: Leg, from: LegList, to: LegList | null, t: number): void {
    const table = leg.isCall ? this.calls : this.attempts;
    const wasEarly = from === table.pending;
    const wasUp = from === table.answered;
    const isUp = to === table.answered;
    if (!wasEarly && !wasUp && !isUp) return;
    const now = this.sink.now();
    for (const s of leg.scopes) {
      if (wasEarly && s.early > 0) s.early--;
      if (wasUp || isUp) upChanges(s, now);
      if (wasUp && s.up > 0) s.up--;
      if (isUp) {
        s.up++;
        if (now >= s.maxSlotEnd) newMaxSlot(s, now);
        if (s.up > s.ccMaxFed) {
          s.ccMaxFed = s.up;
          s.add(KPI_INDEX.CC_max, s.up, t, now);
        }
      }
      if ((wasUp || isUp) && s.channels > 0) this.utilisation(s, t);
    }
    if (leg.isCall) this.publishDialogs();
    if (!isUp) {
      // its media ends with it: an answered leg's figures count once the reports that come with
      // or just after its end are in (QUALITY_GRACE_MS, or the BYE's reply); a failed one's are let go
      if (wasUp) this.media.close(leg, t + QUALITY_GRACE_MS);
      else this.media.end(leg);
    }
  }

  /** The audio an SDP body of `msg` (in an INVITE: the offer; in a reply: the answer) names for `leg`. */
  private sdpOf(leg: Leg, msg: SipView, offer: boolean): void {
    const body = msg.body;
    if (body === undefined || body.length < 10 || body.indexOf(M_AUDIO) < 0) return;
    const audio = sdpAudio(body);
    if (audio.length > 0) this.media.sdp(leg, audio, offer);
  }

  /**
   * A leg that was up ended with these media figures: LOSS and JITTER per stream, MOS and POOR per
   * call (its worst stream), NOMEDIA per answered call of 2 s or more whose SDP both sides sent
   * (docs/kpis.md). Nothing while no RTP of any call was seen (a capture of SIP alone).
   */
  private mediaKpis(leg: Leg, f: LegFigures, t: number, callLevel = true): void {
    if (!this.media.rtpSeen) return;
    let worst = Infinity;
    let reported = false;
    for (const st of f.streams) {
      const lost = Math.max(0, st.lost);
      if (lost > 0) this.add(leg, KPI_INDEX.LOSS, lost, t);
      if (st.expected - lost > 0) this.add(leg, KPI_INDEX.LOSS, -(st.expected - lost), t);
      if (st.received > 1) {
        this.add(leg, KPI_INDEX.JITTER, st.meanJitter, t);
        this.add(leg, KPI_INDEX.JITTER_max, st.maxJitter, t);
      }
      if (st.mos < worst) {
        worst = st.mos;
        reported = st.mosReported === true;
      }
    }
    if (!callLevel) return;
    if (worst !== Infinity) {
      // (a MOS the endpoint computed itself is kept as it reported it: counted apart)
      if (reported) this.sink.selfStat('mos_reported', 1);
      this.add(leg, KPI_INDEX.MOS, worst, t);
      this.add(leg, KPI_INDEX.POOR, worst < this.opt.poorMos ? 1 : -1, t);
    }
    if (f.bothSides && this.own - leg.answeredAt >= NOMEDIA_AFTER_MS) this.add(leg, KPI_INDEX.NOMEDIA, f.toOfferer && f.toAnswerer ? -1 : 1, t);
  }

  /**
   * The end of a capture: the legs still up add their media figures (a capture often stops
   * mid-call), as if they ended at `t`; they stay up.
   */
  finishMedia(t: number): void {
    for (const leg of this.media.closingLegs()) this.mediaEnd(leg, t);
    // (a leg whose media is open is ringing or up: one that left those lists had it ended or closed)
    for (const list of [this.calls.pending, this.calls.answered, this.attempts.pending, this.attempts.answered])
      for (let leg = list.head; leg !== null; leg = leg.next) {
        if (!this.media.isOpen(leg)) continue;
        const f = this.media.end(leg);
        if (f !== null && leg.state === ANSWERED) this.mediaKpis(leg, f, t);
      }
  }

  /** The destination a dialled number goes to, as a call to it is given its own; null without destinations. */
  destinationOfNumber(number: string): string | null {
    if (this.destinationOf === null) return null;
    return this.destinationOf({ ruriUser: number, toUser: number } as unknown as SipView);
  }

  /** The carriers the configuration names (a CIDR map's names), else those seen so far. */
  carrierNames(): string[] {
    const key = this.carrierKey;
    if (key !== null && key.kind === 'cidr') return [...new Set(Object.values(key.map) as string[])];
    return this.scopes.valuesOf('carrier');
  }

  /**
   * A final reply to an INVITE the tracker has not seen (yet): kept for EARLY_REPLY_MS, because
   * capture agents deliver out of order (Kamailio's siptrace sends an outgoing INVITE's HEP after
   * the carrier's immediate 503 reached it, from another process). When the INVITE comes, the reply
   * is applied (lateInvite). What a reply needs is copied: the message's buffer is not kept.
   */
  private earlyReply(msg: SipView, callId: string, toAttempt: boolean, seq: number, t: number): void {
    if (this.early.size >= this.opt.maxCalls) {
      this.sink.selfStat('replies_unmatched', 1);
      return;
    }
    const key = toAttempt ? `${callId}\n${msg.viaBranch ?? ''}` : `${callId}\n`;
    if (this.early.has(key)) return; // (a retransmission)
    this.early.set(key, { status: msg.status, viaBranch: msg.viaBranch, reason: msg.header(REASON), seq, t, own: this.own });
  }

  /** An INVITE whose final reply came first: the reply, applied now, at its own time. */
  private lateInvite(leg: Leg, key: string): void {
    const r = this.early.get(key);
    if (r === undefined) return;
    this.early.delete(key);
    this.sink.selfStat('replies_before_invite', 1);
    const own = this.own;
    this.own = Math.max(r.own, leg.t0);
    const reason = r.reason;
    const view = { isRequest: false, method: null, status: r.status, viaBranch: r.viaBranch, header: (h: HeaderName) => (h === REASON ? reason : null) } as unknown as SipView;
    this.reply(leg.isCall ? this.calls : this.attempts, leg, view, r.seq, Math.max(r.t, leg.since));
    this.own = own;
  }

  /** Final replies whose INVITE was not seen yet, by Call-ID and branch (see earlyReply). */
  /** Calls decided whose FOR waits EARLY_REPLY_MS (decideFailovers), in decision order, and their decision times. */
  private readonly forDue: Leg[] = [];
  private readonly forAt: number[] = [];
  private forHead = 0;
  private readonly early = new Map<string, { status: number; viaBranch: string | null; reason: string | null; seq: number; t: number; own: number }>();

  /** A UDP datagram of a capture that is not SIP (see MediaTracker.packet). */
  onMedia(b: Uint8Array, start: number, end: number, dst: Addr, dport: number, src: Addr, sport: number, t: number): boolean {
    return this.parseSdp && this.media.packet(b, start, end, dst, dport, src, sport, t);
  }

  /**
   * An RTCP report (HEP type 5: rtpengine, heplify...) about the call whose Call-ID is `callId`
   * (the HEP correlation id): it counts for that dialog's call leg and its answered attempt (a
   * proxied call: both; a B2BUA's leg: the one with that Call-ID). Counted `rtcp_reports`, or
   * `rtcp_unmatched` when no tracked call has that Call-ID.
   */
  onRtcp(report: RtcpReport, callId: string): void {
    const d = this.dialogs.get(callId);
    let n = 0;
    for (const leg of [d?.call ?? null, d?.answered ?? null]) {
      if (leg === null || leg.state === DONE) continue;
      this.media.report(leg, report);
      n++;
    }
    this.sink.selfStat(n > 0 ? 'rtcp_reports' : 'rtcp_unmatched', 1);
  }

  /** A scope with a channel limit whose CC changed: CC_util now, and the time over the limit (CC_over). */
  private utilisation(s: ScopeHandles, t: number): void {
    s.setLevel(L_CC_UTIL, Math.round((10_000 * s.up) / s.channels) / 100);
    const over = s.up > s.channels;
    if (over && s.overSince < 0) s.overSince = t;
    else if (!over && s.overSince >= 0) {
      s.overMs += Math.max(0, t - s.overSince);
      s.overSince = -1;
    } else return;
    s.setLevel(L_CC_OVER, Math.floor((s.overMs + (s.overSince >= 0 ? t - s.overSince : 0)) / 1000));
  }

  /** The dialog module's levels for all traffic (OpenSIPS `dialog:active_dialogs`, `dialog:early_dialogs`). */
  private publishDialogs(): void {
    this.dialogStats.active.value = this.calls.answered.size;
    this.dialogStats.early.value = this.calls.pending.size;
  }

  private finish(table: LegTable, leg: Leg, from: LegList, t: number): void {
    if (leg.isCall && from === table.pending) this.dialogStats.failed.value++;
    leg.state = DONE;
    this.forget(leg);
    this.move(leg, from, table.done, t);
  }

  /** Drops the side indexes of a leg that leaves the pending/answered lists. */
  private forget(leg: Leg): void {
    // only attempts are in these maps (calls are never answered attempts or challenged ones), and
    // `challenged` is nearly always empty: no key to build then
    if (leg.isCall) return;
    if (leg.dialog.answered === leg) leg.dialog.answered = null;
    if (this.challenged.size > 0) {
      const ck = `${leg.callId}\n${leg.dst}`;
      if (this.challenged.get(ck) === leg) this.challenged.delete(ck);
    }
  }

  private pdd(leg: Leg, t: number): void {
    leg.pddDone = true;
    this.add(leg, KPI_INDEX.PDD, this.own - leg.t0, t);
  }

  /**
   * A failed leg's final reply, by code (the "why calls fail" view: catalogue REPLIES), and the Q.850
   * cause of its Reason header when it has one (`Reason: Q.850;cause=34;text="..."`).
   */
  private failedWith(leg: Leg, code: number, msg: SipView): void {
    const key = replyKey(code);
    const reason = msg.header(REASON);
    const m = reason === null ? null : Q850_RE.exec(reason);
    const cause = m === null ? null : Number(m[1]);
    const t = this.own;
    for (const s of leg.scopes) {
      s.addReply(key, t);
      if (cause !== null && cause >= 1 && cause <= 127) s.addReply(REPLIES.q850 + cause, t);
    }
  }

  private decide(leg: Leg, out: Outcome, t: number): void {
    const w = out.weights;
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) this.add(leg, OUTCOME_INDEX[i], w[i], t);
    if (this.isPlatform !== null && leg.isCall) {
      this.forDue.push(leg);
      this.forAt.push(t);
    }
  }

  /**
   * Decides FOR (more than one attempt?) for the calls decided at or before packet time `until`:
   * EARLY_REPLY_MS after their final reply, because the HEP of an attempt's INVITE can come after
   * the reply the platform relays to the customer (Kamailio's siptrace sends them from two
   * processes: seen in the routing closed loop, where FOR read 33 % for 50 % of calls failed over).
   */
  private decideFailovers(until: number): void {
    const due = this.forDue;
    const at = this.forAt;
    let h = this.forHead;
    while (h < due.length && at[h] <= until) {
      const leg = due[h];
      due[h] = undefined!; // (let the leg go)
      this.add(leg, KPI_INDEX.FOR, leg.attempts > 1 ? 1 : -1, at[h]);
      h++;
    }
    if (h > 1024 && h * 2 > due.length) {
      due.splice(0, h);
      at.splice(0, h);
      h = 0;
    }
    this.forHead = h;
  }

  /**
   * The end of a capture: what waits for a later message is decided now (FOR of the calls decided
   * in the capture's last EARLY_REPLY_MS), and the legs still up add their media (finishMedia).
   */
  settle(t: number): void {
    this.decideFailovers(Infinity);
    this.finishMedia(t);
  }

  /** One KPI value to every window of every scope of the leg (and the percentiles that rank it: catalogue `of`). */
  private add(leg: Leg, k: number, v: number, t: number): void {
    const pct = this.opt.percentiles ? PERCENTILES_OF[k] : NONE;
    const now = this.sink.now();
    for (const s of leg.scopes) {
      s.add(k, v, t, now);
      for (let i = 0; i < pct.length; i++) s.add(pct[i], v, t, now);
    }
  }
}

/**
 * Remembers which addresses are the platform's: the same few addresses come back in every message,
 * and a Map probe is cheaper than parsing the address text (bounded: cleared past 4 096 entries).
 */
function memoIp(match: (ip: string) => string | null): (ip: string) => boolean {
  const seen = new Map<string, boolean>();
  return (ip) => {
    let v = seen.get(ip);
    if (v === undefined) {
      if (seen.size >= 4096) seen.clear();
      seen.set(ip, (v = match(ip) !== null));
    }
    return v;
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type { Scope };
