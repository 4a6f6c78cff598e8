import type { Route } from '../http/server.ts';
import type { StatsEngine } from '../core/engine.ts';
import { escapeLabelValue, formatValue } from '../export/prometheus.ts';
import type { MiCommand } from '../mi/registry.ts';
import { ParamError } from '../mi/params.ts';
import { SipstatsError } from '../errors.ts';
import type { ConfigIssue } from '../errors.ts';
import { AlertEvaluator } from './evaluator.ts';
import type { AlertChange, AlertInstance, EvaluatorState, RecentAlert } from './evaluator.ts';
import { AlertmanagerSender, createSender } from './delivery.ts';
import type { Sender, SenderState } from './delivery.ts';
import type { AlertRule, AlertsConfig, NotifyTarget } from './rules.ts';
import { DIMENSIONS } from '../kpi/catalogue.ts';

/**
 * Alerts in a running server: the evaluator on the server's 1-second timer, the notification
 * targets, the MI commands (`list_alerts`, `reload_alerts`), the `sipstats_alert` metric lines, the
 * `/api/alerts` JSON and the snapshot section. See docs/alerts.md.
 */

export interface AlertServiceOptions {
  readonly config: AlertsConfig;
  /** Unix ms; the engine's clock by default. */
  readonly now?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Re-reads the rules for `reload_alerts` (the server's configuration file); absent: reload is refused. */
  readonly reload?: () => Promise<AlertsConfig>;
}

/** One alert as list_alerts and /api/alerts show it. */
export interface AlertView {
  readonly alertname: string;
  readonly state: 'pending' | 'firing' | 'resolved';
  readonly severity: string;
  /** The dimension: `{ customer: 'acme' }`, `{ carrier: 'x', destination: '44' }`, `{ stat: name }`, or {} (all traffic). */
  readonly dimension: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly kpi: string | null;
  readonly window: string | null;
  readonly value: number | null;
  readonly samples: number | null;
  readonly threshold: string;
  /** ISO times: condition holding since, fired at, resolved at. */
  readonly since: string;
  readonly firedAt: string | null;
  readonly resolvedAt: string | null;
  readonly reason?: string;
}

/** The snapshot section `alerts` (JSON). */
interface SavedAlerts {
  readonly v: 1;
  readonly evaluator: EvaluatorState;
  readonly senders: readonly SenderState[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const thresholdText = (r: AlertRule) => `${r.op === 'below' ? '<' : '>'} ${r.threshold}${r.clear !== r.threshold ? ` (clears at ${r.clear})` : ''}`;

export class AlertService {
  readonly evaluator: AlertEvaluator;
  private senders: Sender[] = [];
  private config: AlertsConfig;
  private readonly now: () => number;
  private readonly log: NonNullable<AlertServiceOptions['log']>;
  private readonly reloader: AlertServiceOptions['reload'];
  /** Duration of the last evaluation pass, ms. */
  lastPassMs = 0;
  passes = 0;
  private closed = false;

  constructor(
    private readonly engine: StatsEngine,
    options: AlertServiceOptions,
  ) {
    this.config = options.config;
    this.now = options.now ?? (() => engine.clock());
    this.log = options.log ?? ((l, m) => process.stderr.write(`sipstats ${l}: ${m}\n`));
    this.reloader = options.reload;
    this.evaluator = new AlertEvaluator(engine, options.config.rules);
    this.senders = options.config.notify.map((t) => this.sender(t));
    // exported from the start (Prometheus rates and the Grafana dashboard need the series to exist)
    for (const c of ['alerts_changes', 'alerts_notifications_sent', 'alerts_notifications_failed', 'alerts_notifications_dropped', 'alerts_notifications_rejected'] as const) engine.selfStat(c, 0);
    engine.setGauge('alerts_firing', 0);
    engine.setGauge('alerts_pending', 0);
  }

  private sender(t: NotifyTarget): Sender {
    return createSender(t, { count: (name, by = 1) => this.engine.selfStat(name, by), log: this.log, now: this.now });
  }

  get rules(): readonly AlertRule[] {
    return this.config.rules;
  }

  private followUp: ReturnType<typeof setTimeout> | null = null;

  /** One evaluation pass (the server's 1 s timer): changes go to every target, without waiting. */
  tick(t: number = this.now()): AlertChange[] {
    if (this.closed) return [];
    const t0 = performance.now();
    const changes = this.evaluator.evaluate(t);
    this.lastPassMs = performance.now() - t0;
    this.passes++;
    for (const c of changes) for (const s of this.senders) s.push(c);
    for (const s of this.senders) s.tick(t);
    let firing = 0;
    let pending = 0;
    let due = Infinity;
    for (const i of this.evaluator.active())
      if (i.state === 'firing') firing++;
      else {
        pending++;
        due = Math.min(due, i.activeAt + i.rule.forMs);
      }
    // a pending alert fires when its `for` is over, not at the next whole-second pass after it
    if (this.followUp !== null) clearTimeout(this.followUp);
    this.followUp = null;
    if (due > t && due < t + 1000) {
      this.followUp = setTimeout(() => {
        this.followUp = null;
        this.tick();
      }, due - t + 1);
      this.followUp.unref();
    }
    this.engine.setGauge('alerts_firing', firing);
    this.engine.setGauge('alerts_pending', pending);
    if (changes.length > 0) this.engine.selfStat('alerts_changes', changes.length);
    return changes;
  }

  /** Replaces rules and targets (a reload). Targets whose URL and format are unchanged keep their queue. */
  apply(config: AlertsConfig): void {
    this.evaluator.setRules(config.rules);
    const old = new Map(this.senders.map((s) => [s.id, s]));
    const next: Sender[] = [];
    for (const t of config.notify) {
      const id = `${t.format} ${t.url}`;
      const prev = old.get(id);
      if (prev !== undefined && JSON.stringify(prev.target) === JSON.stringify(t)) {
        old.delete(id);
        next.push(prev);
      } else {
        const s = this.sender(t);
        if (prev !== undefined) {
          old.delete(id);
          s.restoreState(prev.exportState());
          void prev.close(0);
        }
        next.push(s);
      }
    }
    for (const s of old.values()) void s.close(0);
    this.senders = next;
    this.config = config;
    // a new Alertmanager target learns the alerts already firing
    for (const s of next) if (s instanceof AlertmanagerSender && s.queued === 0) for (const i of this.evaluator.active()) if (i.state === 'firing') s.push(this.firingChange(i));
  }

  private firingChange(i: AlertInstance): AlertChange {
    return { seq: 0, key: i.key, rule: i.rule.name, status: 'firing', labels: AlertEvaluator.labelsOf(i), annotations: {}, value: i.value, samples: i.samples, startsAt: i.activeAt, firedAt: i.firedAt, endsAt: null };
  }

  view(i: AlertInstance): AlertView {
    const r = i.rule;
    return {
      alertname: r.name,
      state: i.state === 'firing' ? 'firing' : 'pending',
      severity: r.severity,
      dimension: i.dims,
      labels: AlertEvaluator.labelsOf(i),
      kpi: r.target.type === 'kpi' ? r.target.kpi : null,
      window: r.target.type === 'kpi' ? r.target.window : null,
      value: i.value,
      samples: i.samples,
      threshold: thresholdText(r),
      since: iso(i.activeAt),
      firedAt: i.state === 'firing' ? iso(i.firedAt) : null,
      resolvedAt: null,
    };
  }

  private recentView(a: RecentAlert): AlertView {
    const dims: Record<string, string> = {};
    for (const d of [...DIMENSIONS.map((x) => x.name), 'stat']) if (a.labels[d] !== undefined) dims[d] = a.labels[d];
    const r = this.config.rules.find((x) => x.name === a.rule);
    return {
      alertname: a.rule,
      state: 'resolved',
      severity: a.labels.severity ?? '',
      dimension: dims,
      labels: a.labels,
      kpi: a.labels.kpi ?? null,
      window: a.labels.window ?? null,
      value: a.value,
      samples: null,
      threshold: r === undefined ? '' : thresholdText(r),
      since: iso(a.startsAt),
      firedAt: iso(a.firedAt),
      resolvedAt: iso(a.endsAt),
      reason: a.reason,
    };
  }

  /** What list_alerts and /api/alerts return. */
  list(filter: { state?: string; alertname?: string; recent?: number } = {}) {
    const keep = (v: AlertView) => (filter.state === undefined || v.state === filter.state) && (filter.alertname === undefined || v.alertname === filter.alertname);
    const active = this.evaluator.active().map((i) => this.view(i)).filter(keep);
    const recent = this.evaluator.recent().slice(0, filter.recent ?? 50).map((a) => this.recentView(a)).filter(keep);
    return {
      now: iso(this.now()),
      rules: this.config.rules.length,
      instances: this.evaluator.size,
      active,
      recent,
      notify: this.senders.map((s) => s.status()),
      evaluation: { passes: this.passes, lastPassMs: Math.round(this.lastPassMs * 1000) / 1000 },
    };
  }

  miCommands(): MiCommand[] {
    return [
      {
        name: 'list_alerts',
        run: (params) => {
          const p = (params ?? {}) as Record<string, unknown>;
          if (Array.isArray(p)) throw new ParamError('list_alerts takes named params: state, alertname, recent');
          const state = p.state;
          if (state !== undefined && !['pending', 'firing', 'resolved'].includes(state as string)) throw new ParamError("'state' must be pending, firing or resolved");
          if (p.alertname !== undefined && typeof p.alertname !== 'string') throw new ParamError("'alertname' must be a string");
          const recent = p.recent === undefined ? undefined : Number(p.recent);
          if (recent !== undefined && !(Number.isInteger(recent) && recent >= 0 && recent <= 1000)) throw new ParamError("'recent' must be an integer 0..1000");
          return this.list({ state: state as string | undefined, alertname: p.alertname as string | undefined, recent });
        },
      },
      {
        name: 'reload_alerts',
        writes: true,
        run: async () => {
          if (this.reloader === undefined) throw new SipstatsError('E_CONFIG', 'reload_alerts: the server was started without a configuration file');
          let next: AlertsConfig;
          try {
            next = await this.reloader();
          } catch (e) {
            // a bad file keeps the rules in force
            const issues = (e as { issues?: readonly ConfigIssue[] }).issues;
            this.log('error', `reload_alerts refused, the rules in force are kept: ${(e as Error).message}`);
            if (e instanceof SipstatsError) throw e;
            throw new SipstatsError('E_CONFIG', (e as Error).message, issues !== undefined ? { issues } : undefined);
          }
          this.apply(next);
          this.log('info', `alert rules reloaded: ${next.rules.length} rule(s), ${next.notify.length} target(s)`);
          return { rules: next.rules.length, notify: next.notify.length };
        },
      },
    ];
  }

  /**
   * `sipstats_alert{alertname,severity,<dimension>,state} 1` for each pending and firing alert,
   * like Prometheus' ALERTS (rule labels included); nothing when none is active.
   */
  metricsText(): string {
    const active = this.evaluator.active();
    if (active.length === 0) return '';
    let out = '# HELP sipstats_alert Active sipstats alerts (1 per pending or firing alert), like Prometheus ALERTS\n# TYPE sipstats_alert gauge\n';
    for (const i of active) {
      const l = AlertEvaluator.labelsOf(i);
      delete l.kpi;
      delete l.window;
      let s = '';
      for (const [k, v] of Object.entries(l)) s += `${k}="${escapeLabelValue(v)}",`;
      out += `sipstats_alert{${s}state="${i.state}"} ${formatValue(1)}\n`;
    }
    return out;
  }

  /** GET /api/alerts: list_alerts as JSON (the bearer token like /metrics). */
  route(): Route {
    return {
      methods: ['GET'],
      path: '/api/alerts',
      handle: (_req, res) => {
        const body = Buffer.from(JSON.stringify(this.list()), 'utf8');
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
        res.end(body);
      },
    };
  }

  /** The snapshot section: alert states, the change sequence, resolved alerts, undelivered changes. */
  snapshotSection(): { name: string; save(): string; restore(text: string): void } {
    return {
      name: 'alerts',
      save: () => JSON.stringify({ v: 1, evaluator: this.evaluator.exportState(), senders: this.senders.map((s) => s.exportState()) } satisfies SavedAlerts),
      restore: (text) => {
        let saved: SavedAlerts;
        try {
          saved = JSON.parse(text) as SavedAlerts;
          if (saved?.v !== 1 || typeof saved.evaluator?.seq !== 'number' || !Array.isArray(saved.evaluator.instances)) throw new SipstatsError('E_SNAPSHOT_VERSION', 'alert state: unknown layout');
        } catch (e) {
          this.log('warn', `snapshot: alert state not restored (${(e as Error).message})`);
          return;
        }
        this.evaluator.restoreState(saved.evaluator);
        const byId = new Map(saved.senders.map((s) => [s.id, s]));
        for (const s of this.senders) {
          const st = byId.get(s.id);
          if (st !== undefined) s.restoreState(st);
          // Alertmanager learns again which alerts are firing
          if (s instanceof AlertmanagerSender)
            for (const i of saved.evaluator.instances)
              if (i.state === 'firing') {
                const rule = this.config.rules.find((r) => r.name === i.rule);
                if (rule !== undefined) s.push(this.firingChange({ key: i.key, rule, dims: i.dims, state: 'firing', activeAt: i.activeAt, firedAt: i.firedAt, value: i.value, samples: null, seen: 0 }));
              }
        }
        const firing = saved.evaluator.instances.filter((i) => i.state === 'firing').length;
        this.log('info', `restored alert state: ${firing} firing, ${saved.evaluator.instances.length - firing} pending`);
      },
    };
  }

  /** Stops delivery (the request in flight gets up to `graceMs`); undelivered changes stay in the state. */
  async close(graceMs = 1000): Promise<void> {
    this.closed = true;
    if (this.followUp !== null) clearTimeout(this.followUp);
    await Promise.all(this.senders.map((s) => s.close(graceMs)));
  }
}
