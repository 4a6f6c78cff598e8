import type { StatsEngine } from '../core/engine.ts';
import { identityOf, StatKind } from '../core/stat.ts';
import type { Stat } from '../core/stat.ts';
import { kpiByName, NOW, seriesName, viewOf } from '../kpi/catalogue.ts';
import type { AlertRule } from './rules.ts';
import { DEFAULTS } from '../defaults.ts';

/**
 * The alert evaluator (pure: time is passed in, no I/O, no timers). One alert instance per rule and
 * dimension value; each pass reads every bound statistic once and steps each instance's state
 * machine: inactive → pending (condition holds, waiting `for`) → firing → resolved (back to inactive).
 *
 * Binding: a statistic is matched against the rules once, the first time a pass sees it (through the
 * labels the catalogue gave the series when it was created: no name parsing), and the result is kept
 * beside it, so a pass is one walk over the engine's statistics with a map probe each, plus the
 * reads and state steps of the bound ones.
 */

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface AlertInstance {
  /** Fingerprint: rule name and dimension values (`asr_low|customer=acme`). */
  readonly key: string;
  rule: AlertRule;
  /** Dimension values (`{ customer: 'acme' }`), or `{ stat: name }` for group rules; {} for all traffic. */
  readonly dims: Readonly<Record<string, string>>;
  state: AlertState;
  /** When the condition started to hold (pending since), ms. */
  activeAt: number;
  /** When it fired, ms (0 if it has not). */
  firedAt: number;
  /** The last value read and its sample count (null: no value, under min_samples, or not counted). */
  value: number | null;
  samples: number | null;
  /** Pass in which its statistic was last seen. */
  seen: number;
  /** A `drop` rule's level (CC of the instance's scope), found when bound; its value is compared with the average read. */
  level?: Stat | undefined;
}

/** A state change to notify: an alert fired or resolved. `seq` grows by one per change, never reused. */
export interface AlertChange {
  readonly seq: number;
  readonly key: string;
  readonly rule: string;
  readonly status: 'firing' | 'resolved';
  /** alertname, severity, kpi/window (KPI rules), the dimension values, the rule's labels. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly value: number | null;
  readonly samples: number | null;
  /** When the condition started to hold (Alertmanager's startsAt), ms. */
  readonly startsAt: number;
  /** When it fired, ms. */
  readonly firedAt: number;
  /** Resolved: when, ms; firing: null. */
  readonly endsAt: number | null;
  /** Why a resolved alert resolved: the value recovered, its statistic went away, or its rule was removed. */
  readonly reason?: 'recovered' | 'gone' | 'rule removed';
}

/**
 * A drop rule's value: how far the level now is below its average `avg` over the window, in % (0 when
 * at or above it); null when the average is 0 or unknown (nothing to drop from) or the level is gone.
 */
export function dropOf(inst: AlertInstance, avg: number | null): number | null {
  const lvl = inst.level;
  if (avg === null || !(avg > 0) || lvl === undefined || lvl.kind !== StatKind.Counter) return null;
  return Math.max(0, Math.round(10_000 * (1 - lvl.value / avg)) / 100);
}

/** What happens to one instance at one pass (exported for the property tests). */
export function stepInstance(inst: AlertInstance, v: number | null, n: number | null, t: number): 'fire' | 'resolve' | null {
  const r = inst.rule;
  inst.value = v;
  inst.samples = n;
  // no value, or too few calls/attempts in the window: no decision (a pending alert starts over)
  const valid = v !== null && v === v && (r.minSamples === 0 || n === null || n >= r.minSamples);
  // (a drop of `drop` % or more: at the threshold already)
  const breach = valid && (r.op === 'below' ? v < r.threshold : r.drop !== undefined ? v >= r.threshold : v > r.threshold);
  switch (inst.state) {
    case 'inactive':
      if (!breach) return null;
      inst.activeAt = t;
      if (r.forMs > 0) {
        inst.state = 'pending';
        return null;
      }
      inst.state = 'firing';
      inst.firedAt = t;
      return 'fire';
    case 'pending':
      if (!breach) {
        inst.state = 'inactive';
        return null;
      }
      if (t - inst.activeAt < r.forMs) return null;
      inst.state = 'firing';
      inst.firedAt = t;
      return 'fire';
    case 'firing': {
      const recovered = valid && (r.op === 'below' ? v >= r.clear : r.drop !== undefined ? v < r.clear : v <= r.clear);
      if (!recovered) return null;
      inst.state = 'inactive';
      return 'resolve';
    }
  }
}

interface CompiledRule {
  readonly rule: AlertRule;
  readonly matchers: readonly (readonly [string, RegExp])[];
}

/** A resolved alert, kept for `list_alerts`. */
export interface RecentAlert {
  readonly key: string;
  readonly rule: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number | null;
  readonly startsAt: number;
  readonly firedAt: number;
  readonly endsAt: number;
  readonly reason: string;
}

/** Saved state of the evaluator (snapshot section). */
export interface EvaluatorState {
  readonly seq: number;
  readonly instances: readonly { key: string; rule: string; dims: Record<string, string>; state: 'pending' | 'firing'; activeAt: number; firedAt: number; value: number | null }[];
  readonly recent: readonly RecentAlert[];
}

const EMPTY: readonly AlertInstance[] = Object.freeze([]);

export interface EvaluatorOptions {
  /** Resolved alerts kept for list_alerts (default 200). */
  readonly recentMax?: number;
  /**
   * Statistics bound to the rules at most per pass (default 5 000): after a start or a reload with
   * 100 000 series, binding is spread over a few passes instead of stalling one for long.
   */
  readonly bindPerPass?: number;
}

export class AlertEvaluator {
  private rules: readonly AlertRule[] = [];
  /** KPI rules by `kpi|window|view`; statistic rules by bare name; group rules by lower-case group. */
  private byKpi = new Map<string, CompiledRule[]>();
  private byStat = new Map<string, CompiledRule[]>();
  private byGroup = new Map<string, CompiledRule[]>();
  /** Statistic → the instances it feeds (EMPTY for most statistics). */
  /** The instances each statistic feeds, by identityOf (a kept series is a new view at each listing). */
  private bindings = new Map<Stat | number, readonly AlertInstance[]>();
  private readonly instances = new Map<string, AlertInstance>();
  private readonly recentList: RecentAlert[] = [];
  private readonly recentMax: number;
  private readonly bindPerPass: number;
  /** States restored from a snapshot, claimed by the instance of the same key when it is bound. */
  private restored = new Map<string, EvaluatorState['instances'][number]>();
  private gen = 0;
  private seqNo = 0;
  private readonly out = { v: null as number | null, n: null as number | null };
  /** Instances in state pending or firing (for the reading side). */
  private activeCount = 0;

  constructor(
    private readonly engine: StatsEngine,
    rules: readonly AlertRule[] = [],
    options: EvaluatorOptions = {},
  ) {
    this.recentMax = options.recentMax ?? DEFAULTS.evaluator.recentMax;
    this.bindPerPass = options.bindPerPass ?? DEFAULTS.evaluator.bindPerPass;
    this.setRules(rules);
  }

  get ruleList(): readonly AlertRule[] {
    return this.rules;
  }

  get seq(): number {
    return this.seqNo;
  }

  /** Number of alert instances (rule × dimension value) bound to a statistic. */
  get size(): number {
    return this.instances.size;
  }

  /**
   * Replaces the rules (a reload). Instances of a rule that is kept (same name) keep their state and
   * take the new definition at the next pass; those of a removed rule resolve at the next pass.
   */
  setRules(rules: readonly AlertRule[]): void {
    this.rules = rules;
    const byKpi = new Map<string, CompiledRule[]>();
    const byStat = new Map<string, CompiledRule[]>();
    const byGroup = new Map<string, CompiledRule[]>();
    const add = (m: Map<string, CompiledRule[]>, k: string, c: CompiledRule) => {
      const l = m.get(k);
      if (l === undefined) m.set(k, [c]);
      else l.push(c);
    };
    for (const rule of rules) {
      const c: CompiledRule = { rule, matchers: Object.entries(rule.match).map(([d, re]) => [d, new RegExp(`^(?:${re})$`)] as const) };
      const t = rule.target;
      // (a drop rule watches the level's average over the window: bound to that series)
      if (t.type === 'kpi') add(byKpi, `${rule.drop?.avg ?? t.kpi}|${t.window}|${viewOf(Object.fromEntries(rule.by.map((d) => [d, ''])))?.name}`, c);
      else if (t.type === 'stat') add(byStat, t.name.slice(t.name.indexOf(':') + 1), c);
      else add(byGroup, t.group.toLowerCase(), c);
    }
    this.byKpi = byKpi;
    this.byStat = byStat;
    this.byGroup = byGroup;
    this.bindings = new Map();
    const byName = new Map(rules.map((r) => [r.name, r]));
    for (const inst of this.instances.values()) {
      const r = byName.get(inst.rule.name);
      if (r !== undefined) inst.rule = r;
    }
  }

  /** The instances a statistic feeds (computed once per statistic). */
  private bind(s: Stat): readonly AlertInstance[] {
    let out: AlertInstance[] | undefined;
    const push = (rule: AlertRule, dims: Record<string, string>) => {
      let key = rule.name;
      for (const [k, v] of Object.entries(dims)) key += `|${k}=${v}`;
      let inst = this.instances.get(key);
      if (inst === undefined) {
        inst = { key, rule, dims, state: 'inactive', activeAt: 0, firedAt: 0, value: null, samples: null, seen: 0 };
        const saved = this.restored.get(key);
        if (saved !== undefined) {
          this.restored.delete(key);
          inst.state = saved.state;
          inst.activeAt = saved.activeAt;
          inst.firedAt = saved.firedAt;
          inst.value = saved.value;
          this.activeCount++;
        }
        this.instances.set(key, inst);
      }
      (out ??= []).push(inst);
    };
    const l = s.labels; // (a series' or a KPI level's; read once: a kept series' labels are spelled when asked)
    if (l != null && l.kpi !== undefined) {
      const view = viewOf(l);
      const rules = view === undefined ? undefined : this.byKpi.get(`${l.kpi}|${l.window}|${view.name}`);
      if (rules !== undefined)
        for (const c of rules) {
          if (c.matchers.every(([d, re]) => re.test(l[d] ?? ''))) {
            const dims: Record<string, string> = {};
            for (const d of c.rule.by) dims[d] = l[d] ?? '';
            push(c.rule, dims);
            if (c.rule.drop !== undefined && c.rule.target.type === 'kpi') {
              // the level of the same scope (CCacme beside CC_avg_10macme)
              const lvl = kpiByName(c.rule.target.kpi)!;
              const inst = out![out!.length - 1];
              inst.level = this.engine.lookup(`${NOW.group}:${seriesName(lvl, NOW, dims)}`);
            }
          }
        }
    }
    const named = this.byStat.get(s.name);
    if (named !== undefined)
      for (const c of named) {
        const n = (c.rule.target as { name: string }).name;
        const colon = n.indexOf(':');
        const ok = colon < 0 ? sameStat(this.engine.lookup(n), s) : s.group.name.toLowerCase() === n.slice(0, colon).toLowerCase();
        if (ok) push(c.rule, {});
      }
    const grouped = this.byGroup.get(s.group.name.toLowerCase());
    if (grouped !== undefined) for (const c of grouped) push(c.rule, { stat: s.name });
    return out ?? EMPTY;
  }

  /**
   * One evaluation pass at time `t` (ms): reads each bound statistic once, steps its instances,
   * returns the changes (fired and resolved alerts) in order.
   */
  evaluate(t: number): AlertChange[] {
    // no rule and nothing to resolve: no pass over every statistic (a second's worth of the
    // server's event loop at a few hundred thousand series)
    if (this.rules.length === 0 && this.instances.size === 0 && this.restored.size === 0) {
      if (this.bindings.size > 0) this.bindings = new Map();
      return [];
    }
    const gen = ++this.gen;
    const changes: AlertChange[] = [];
    const out = this.out;
    const bindings = this.bindings;
    let stats = 0;
    let budget = this.bindPerPass;
    let complete = true;
    for (const s of this.engine.all()) {
      stats++;
      const id = identityOf(s);
      let b = bindings.get(id);
      if (b === undefined) {
        if (budget <= 0) {
          complete = false; // bound at a later pass
          continue;
        }
        budget--;
        bindings.set(id, (b = this.bind(s)));
      }
      if (b.length === 0) continue;
      let v: number | null;
      let n: number | null;
      if (s.kind === StatKind.Series) {
        s.profile.readWithCount(s, t, out);
        v = out.v;
        n = out.n;
      } else {
        v = s.value;
        n = null;
      }
      for (let i = 0; i < b.length; i++) {
        const inst = b[i];
        if (inst.seen === gen) continue; // two statistics feeding one instance: the first wins
        inst.seen = gen;
        const was = inst.state;
        const what = stepInstance(inst, inst.rule.drop === undefined ? v : dropOf(inst, v), n, t);
        if (was === 'inactive' && inst.state !== 'inactive') this.activeCount++;
        else if (was !== 'inactive' && inst.state === 'inactive') this.activeCount--;
        if (what === 'fire') changes.push(this.change(inst, 'firing', t));
        else if (what === 'resolve') changes.push(this.resolved(inst, t, 'recovered'));
      }
    }
    // statistics that went away (idle sweep, reset) and rules that were removed (once every
    // statistic is bound: until then an instance not seen may just not be bound yet)
    const live = new Set(this.rules);
    for (const [key, inst] of this.instances) {
      const removed = !live.has(inst.rule);
      if (inst.seen === gen && !removed) continue;
      if (!complete && !removed) continue;
      if (inst.state === 'firing') changes.push(this.resolved(inst, t, removed ? 'rule removed' : 'gone'));
      if (inst.state !== 'inactive') this.activeCount--;
      inst.state = 'inactive';
      this.instances.delete(key);
    }
    if (bindings.size > stats + 1024) {
      // statistics gone since they were bound: keep the bindings of those still there
      const kept = new Map<Stat | number, readonly AlertInstance[]>();
      for (const s of this.engine.all()) {
        const id = identityOf(s);
        const b = bindings.get(id);
        if (b !== undefined) kept.set(id, b);
      }
      this.bindings = kept;
    }
    // restored alerts nobody claimed at the first pass (their rule or statistic is gone): resolve the firing ones
    if (this.restored.size > 0) {
      const byName = new Map(this.rules.map((r) => [r.name, r]));
      for (const saved of this.restored.values()) {
        if (saved.state !== 'firing') continue;
        const rule = byName.get(saved.rule);
        const inst: AlertInstance = {
          key: saved.key,
          rule: rule ?? ({ name: saved.rule, severity: 'warning', labels: {}, annotations: {}, target: { type: 'stat', name: '?' } } as unknown as AlertRule),
          dims: saved.dims,
          state: 'inactive',
          activeAt: saved.activeAt,
          firedAt: saved.firedAt,
          value: saved.value,
          samples: null,
          seen: gen,
        };
        changes.push(this.resolved(inst, t, rule === undefined ? 'rule removed' : 'gone'));
      }
      this.restored.clear();
    }
    return changes;
  }

  /** The labels of an alert: alertname, severity, kpi and window (KPI rules), dimensions, the rule's labels. */
  static labelsOf(inst: Pick<AlertInstance, 'rule' | 'dims'>): Record<string, string> {
    const r = inst.rule;
    const l: Record<string, string> = { alertname: r.name, severity: r.severity };
    if (r.target.type === 'kpi') {
      l.kpi = r.target.kpi;
      l.window = r.target.window;
    }
    Object.assign(l, inst.dims, r.labels);
    return l;
  }

  private change(inst: AlertInstance, status: 'firing' | 'resolved', t: number, reason?: AlertChange['reason']): AlertChange {
    return {
      seq: ++this.seqNo,
      key: inst.key,
      rule: inst.rule.name,
      status,
      labels: AlertEvaluator.labelsOf(inst),
      annotations: annotationsOf(inst),
      value: inst.value,
      samples: inst.samples,
      startsAt: inst.activeAt,
      firedAt: inst.firedAt,
      endsAt: status === 'resolved' ? t : null,
      ...(reason !== undefined ? { reason } : {}),
    };
  }

  private resolved(inst: AlertInstance, t: number, reason: NonNullable<AlertChange['reason']>): AlertChange {
    const c = this.change(inst, 'resolved', t, reason);
    this.recentList.push({ key: c.key, rule: c.rule, labels: c.labels, value: c.value, startsAt: c.startsAt, firedAt: c.firedAt, endsAt: t, reason });
    if (this.recentList.length > this.recentMax) this.recentList.splice(0, this.recentList.length - this.recentMax);
    return c;
  }

  /** Pending and firing instances, firing first, then by when they started. */
  active(): AlertInstance[] {
    const out: AlertInstance[] = [];
    if (this.activeCount > 0) for (const i of this.instances.values()) if (i.state !== 'inactive') out.push(i);
    return out.sort((a, b) => (a.state === b.state ? a.activeAt - b.activeAt : a.state === 'firing' ? -1 : 1));
  }

  /** Resolved alerts, newest first. */
  recent(): readonly RecentAlert[] {
    return [...this.recentList].reverse();
  }

  exportState(): EvaluatorState {
    const instances: EvaluatorState['instances'][number][] = [];
    for (const i of this.active()) instances.push({ key: i.key, rule: i.rule.name, dims: { ...i.dims }, state: i.state as 'pending' | 'firing', activeAt: i.activeAt, firedAt: i.firedAt, value: i.value });
    // restored states not yet claimed stay saved
    for (const s of this.restored.values()) if (!this.instances.has(s.key)) instances.push(s);
    return { seq: this.seqNo, instances, recent: [...this.recentList] };
  }

  /** Restores a saved state (before the first pass): instances take it back when their statistic is bound. */
  restoreState(s: EvaluatorState): void {
    this.seqNo = Math.max(this.seqNo, s.seq);
    // instances of rules still configured are back at once (list_alerts shows them before the first
    // pass); those of removed rules are kept aside, to be resolved at the first pass
    const byName = new Map(this.rules.map((r) => [r.name, r]));
    this.restored = new Map();
    for (const i of s.instances) {
      const rule = byName.get(i.rule);
      if (rule === undefined || this.instances.has(i.key)) {
        if (rule === undefined) this.restored.set(i.key, i);
        continue;
      }
      this.instances.set(i.key, { key: i.key, rule, dims: { ...i.dims }, state: i.state, activeAt: i.activeAt, firedAt: i.firedAt, value: i.value, samples: null, seen: 0 });
      this.activeCount++;
    }
    this.recentList.splice(0, this.recentList.length, ...s.recent.slice(-this.recentMax));
    this.bindings = new Map();
  }
}

function annotationsOf(inst: AlertInstance): Record<string, string> {
  const r = inst.rule;
  const dims = Object.entries(inst.dims)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const what = r.target.type === 'kpi' ? `${r.target.kpi} (${r.target.window})` : r.target.type === 'stat' ? r.target.name : `${inst.dims.stat ?? '?'}`;
  const of = dims !== '' && r.target.type === 'kpi' ? ` of ${dims}` : r.target.type === 'kpi' ? ' of all traffic' : '';
  const summary =
    r.drop !== undefined && r.target.type === 'kpi'
      ? `${r.target.kpi}${of} is ${inst.value ?? 'n/a'} % below its ${r.target.window} average (${inst.level?.kind === StatKind.Counter ? inst.level.value : '?'} now), a drop of ${r.threshold} % or more`
      : `${what}${of} is ${inst.value ?? 'n/a'}, ${r.op} ${r.threshold}`;
  return { summary, ...r.annotations };
}

/** Whether a lookup found statistic `s` itself (a kept series is a view: compared by identityOf). */
function sameStat(found: Stat | undefined, s: Stat): boolean {
  return found !== undefined && identityOf(found) === identityOf(s);
}
