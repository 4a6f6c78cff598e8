import { Agent, request } from 'node:http';
import type { AlertChange } from './evaluator.ts';
import type { NotifyTarget } from './rules.ts';
import { SipstatsError } from '../errors.ts';
import type { SelfStatName } from '../self-stats.ts';

/**
 * Delivery of alert changes to notification targets, off the ingest path: each target has its own
 * bounded queue and at most one request in flight, so a receiver that hangs or fails delays only
 * itself. Failed requests are retried with exponential backoff (0.5 s doubling up to `max_backoff`,
 * default 30 s); past
 * `max_queue` the oldest waiting changes are dropped and counted.
 *
 * - `json`: one POST per change, in order, body one JSON object with a unique `id`
 *   (`<fingerprint>#<seq>`, also sent as the `Idempotency-Key` header). A change is sent again only
 *   when its earlier request failed or timed out (at least once); the id lets a receiver drop a
 *   second copy, and a change once acknowledged is never queued again, across restarts too.
 * - `alertmanager`: POST /api/v2/alerts with a list of alerts. Changes are merged per alert (only the
 *   newest state of each is sent), and firing alerts are sent again every `resend`, with
 *   `endsAt` = now + 4 × resend, as Alertmanager expects of its clients (Prometheus does the same):
 *   if sipstats stops, Alertmanager resolves them by itself. Alertmanager merges copies by labels.
 */

export interface DeliveryCounters {
  /** Counts an event in `sipstats:<name>` (alerts_notifications_sent, _failed, _dropped, _rejected). */
  count(name: SelfStatName, by?: number): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Unix ms (payload times). */
  now(): number;
}

export interface TargetStatus {
  readonly url: string;
  readonly format: string;
  readonly queued: number;
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly lastError: string | null;
  readonly lastSuccess: number | null;
}

/** Saved state of a target (snapshot section): what has not been acknowledged yet. */
export interface SenderState {
  readonly id: string;
  /** Highest seq acknowledged (json), so that nothing older is queued again. */
  readonly acked: number;
  readonly queue: readonly AlertChange[];
}

const BACKOFF_MIN_MS = 500;
const AM_BATCH = 500;

export const targetId = (t: NotifyTarget) => `${t.format} ${t.url}`;

/** The JSON body of a change as the `json` format sends it. */
export function jsonPayload(c: AlertChange): Record<string, unknown> {
  return {
    id: `${c.key}#${c.seq}`,
    seq: c.seq,
    status: c.status,
    alertname: c.rule,
    fingerprint: c.key,
    labels: c.labels,
    annotations: c.annotations,
    value: c.value,
    samples: c.samples,
    startsAt: new Date(c.startsAt).toISOString(),
    firedAt: new Date(c.firedAt).toISOString(),
    endsAt: c.endsAt === null ? null : new Date(c.endsAt).toISOString(),
    ...(c.reason !== undefined ? { reason: c.reason } : {}),
    source: 'sipstats',
  };
}

type Outcome = { ok: true } | { ok: false; retry: boolean; error: string };

/** One POST with a timeout; never throws. */
function post(agent: Agent, url: URL, body: string, headers: Record<string, string>, timeoutMs: number, onRequest: (abort: () => void) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'sipstats', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          if (s >= 200 && s < 300) finish({ ok: true });
          else finish({ ok: false, retry: s >= 500 || s === 408 || s === 429, error: `HTTP ${s}` });
        });
        res.on('error', (e) => finish({ ok: false, retry: true, error: e.message }));
      },
    );
    // a whole-request deadline: a receiver that accepts the connection and never answers
    const timer = setTimeout(() => {
      req.destroy(new SipstatsError('E_NOTIFY', `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    req.on('error', (e) => finish({ ok: false, retry: true, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    onRequest(() => req.destroy(new SipstatsError('E_NOTIFY', 'shutting down')));
    req.end(body);
  });
}

/** Common machinery: one request in flight, backoff, counters, close. */
abstract class Sender {
  readonly id: string;
  protected readonly url: URL;
  protected readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  protected inFlight = false;
  private attempt = 0;
  private nextAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private abort: (() => void) | undefined;
  protected closed = false;
  private idle: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | undefined;
  sent = 0;
  failed = 0;
  dropped = 0;
  lastError: string | null = null;
  lastSuccess: number | null = null;

  constructor(
    readonly target: NotifyTarget,
    protected readonly env: DeliveryCounters,
  ) {
    this.id = targetId(target);
    this.url = new URL(target.url);
  }

  abstract push(c: AlertChange): void;
  abstract get queued(): number;
  /** The next request body, or null when there is nothing to send. */
  protected abstract next(): { body: string; headers: Record<string, string>; count: number; done: () => void } | null;
  abstract exportState(): SenderState;
  abstract restoreState(s: SenderState): void;
  /** Periodic work (resends), and a kick for what is waiting (e.g. restored from a snapshot). */
  tick(_now: number): void {
    this.kick();
  }

  protected drop(n: number): void {
    this.dropped += n;
    this.env.count('alerts_notifications_dropped', n);
  }

  /** Sends what is waiting, unless a request is in flight or a backoff is running. */
  kick(): void {
    if (this.inFlight || this.closed || Date.now() < this.nextAt) return;
    const job = this.next();
    if (job === null) return;
    this.inFlight = true;
    this.idle = new Promise((r) => (this.idleResolve = r));
    void post(this.agent, this.url, job.body, { ...this.target.headers, ...job.headers }, this.target.timeoutMs, (a) => (this.abort = a)).then((o) => {
      this.inFlight = false;
      this.abort = undefined;
      if (o.ok) {
        this.attempt = 0;
        this.nextAt = 0;
        this.sent += job.count;
        this.lastSuccess = this.env.now();
        this.env.count('alerts_notifications_sent', job.count);
        job.done();
      } else if (!o.retry) {
        // the receiver refuses this payload (4xx): sending it again cannot help
        this.lastError = o.error;
        this.failed++;
        this.env.count('alerts_notifications_rejected', job.count);
        this.env.log('error', `alert notification to ${this.target.url} refused (${o.error}); ${job.count} change(s) dropped`);
        job.done();
      } else {
        this.failed++;
        this.lastError = o.error;
        this.env.count('alerts_notifications_failed');
        const delay = Math.min(this.target.maxBackoffMs, BACKOFF_MIN_MS * 2 ** Math.min(this.attempt++, 30));
        if (this.attempt === 1 || this.attempt % 10 === 0) this.env.log('warn', `alert notification to ${this.target.url} failed (${o.error}); retrying in ${delay} ms (${this.queued} waiting)`);
        this.nextAt = Date.now() + delay;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), delay);
        this.retryTimer.unref();
      }
      const r = this.idleResolve;
      this.idleResolve = undefined;
      r?.();
      if (o.ok || !o.retry) setImmediate(() => this.kick());
    });
  }

  status(): TargetStatus {
    return { url: this.target.url, format: this.target.format, queued: this.queued, sent: this.sent, failed: this.failed, dropped: this.dropped, lastError: this.lastError, lastSuccess: this.lastSuccess };
  }

  /** Stops sending: waits up to `graceMs` for the request in flight, then cuts it (its change stays queued). */
  async close(graceMs = 1000): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.inFlight) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.idle, new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
      this.abort?.();
      await this.idle;
    }
    this.agent.destroy();
  }
}

/** `format: json`: one POST per change, in order. */
export class JsonSender extends Sender {
  private queue: AlertChange[] = [];
  private acked = 0;

  get queued(): number {
    return this.queue.length;
  }

  push(c: AlertChange): void {
    if (c.seq <= this.acked) return;
    this.queue.push(c);
    if (this.queue.length > this.target.maxQueue) this.drop(this.queue.splice(0, this.queue.length - this.target.maxQueue).length);
    this.kick();
  }

  protected next() {
    const c = this.queue[0];
    if (c === undefined) return null;
    const payload = jsonPayload(c);
    return {
      body: JSON.stringify(payload),
      headers: { 'idempotency-key': String(payload.id) },
      count: 1,
      done: () => {
        if (this.queue[0] === c) this.queue.shift();
        else {
          const i = this.queue.indexOf(c);
          if (i >= 0) this.queue.splice(i, 1);
        }
        this.acked = Math.max(this.acked, c.seq);
      },
    };
  }

  exportState(): SenderState {
    return { id: this.id, acked: this.acked, queue: [...this.queue] };
  }

  restoreState(s: SenderState): void {
    this.acked = Math.max(this.acked, s.acked);
    const have = new Set(this.queue.map((c) => c.seq));
    this.queue = [...s.queue.filter((c) => c.seq > this.acked && !have.has(c.seq)), ...this.queue].sort((a, b) => a.seq - b.seq);
  }
}

/** `format: alertmanager`: the newest state of each alert, firing ones re-sent every `resend`. */
export class AlertmanagerSender extends Sender {
  /** Alerts waiting to be sent, newest state per fingerprint (insertion order: oldest first). */
  private pending = new Map<string, AlertChange>();
  private readonly firing = new Map<string, AlertChange>();
  private lastResend = 0;

  get queued(): number {
    return this.pending.size;
  }

  push(c: AlertChange): void {
    if (c.status === 'firing') this.firing.set(c.key, c);
    else this.firing.delete(c.key);
    this.pending.delete(c.key);
    this.pending.set(c.key, c);
    if (this.pending.size > this.target.maxQueue) {
      let n = this.pending.size - this.target.maxQueue;
      for (const k of this.pending.keys()) {
        if (n-- <= 0) break;
        this.pending.delete(k);
        this.drop(1);
      }
    }
    this.kick();
  }

  override tick(now: number): void {
    if (this.lastResend === 0) this.lastResend = now;
    if (now - this.lastResend >= this.target.resendMs) {
      this.lastResend = now;
      for (const [k, c] of this.firing) if (!this.pending.has(k)) this.pending.set(k, c);
    }
    this.kick();
  }

  protected next() {
    if (this.pending.size === 0) return null;
    const batch: AlertChange[] = [];
    for (const c of this.pending.values()) {
      batch.push(c);
      if (batch.length >= AM_BATCH) break;
    }
    const now = this.env.now();
    const validFor = 4 * this.target.resendMs;
    const body = JSON.stringify(
      batch.map((c) => ({
        labels: c.labels,
        annotations: { ...c.annotations, ...(c.value !== null ? { value: String(c.value) } : {}) },
        startsAt: new Date(c.startsAt).toISOString(),
        endsAt: new Date(c.status === 'resolved' ? (c.endsAt ?? now) : now + validFor).toISOString(),
      })),
    );
    return {
      body,
      headers: {},
      count: batch.length,
      done: () => {
        // a newer state that arrived while this one was in flight stays waiting
        for (const c of batch) if (this.pending.get(c.key) === c) this.pending.delete(c.key);
      },
    };
  }

  exportState(): SenderState {
    // firing alerts are rebuilt from the evaluator's state; resolved ones not yet sent are kept
    return { id: this.id, acked: 0, queue: [...this.pending.values()].filter((c) => c.status === 'resolved') };
  }

  restoreState(s: SenderState): void {
    for (const c of s.queue) if (!this.pending.has(c.key)) this.pending.set(c.key, c);
  }
}

export function createSender(t: NotifyTarget, env: DeliveryCounters): Sender {
  return t.format === 'alertmanager' ? new AlertmanagerSender(t, env) : new JsonSender(t, env);
}

export type { Sender };
