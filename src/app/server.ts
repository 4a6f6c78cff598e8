import { Router } from '../kpi/router.ts';
import { defaultRouting } from '../kpi/routing.ts';
import { routeApi, routeCarriersCommand } from './route-answers.ts';
import { readFileSync } from 'node:fs';
import { createStats } from '../index.ts';
import type { Stats } from '../index.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { ConfigError, listenError } from '../errors.ts';
import { dirLockKind } from '../persist/dir-lock.ts';
import { inflatePayload } from '../ingest/inflate.ts';
import { durationHistogramText } from '../export/duration-histogram.ts';
import { processMetricsText } from '../export/process-metrics.ts';
import { processFigures } from './process-figures.ts';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import type { ServerConfig } from '../config/schema.ts';
import { parseListen } from '../config/fields.ts';
import { asyncMetricsRoute, metricsRoute } from '../export/metrics-route.ts';
import { createHttpServer, healthRoute, sessionRoute } from '../http/server.ts';
import { miRoute } from '../mi/route.ts';
import { completeTracker } from '../config/ingest-config.ts';
import type { IngestSettings } from '../config/ingest-config.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';
import { SipPipeline } from '../kpi/sip-pipeline.ts';
import { AccKpiFeeder } from '../kpi/acc-events.ts';
import { listenHep, listenOpensipsEvents } from '../ingest/ingest.ts';
import { nativeUdp } from '../ingest/native-udp.ts';
import { nativeIndexer } from '../ingest/load-native-index.ts';
import { hostname } from 'node:os';
import { HISTORY_DEFAULTS } from '../core/history.ts';
import { kpiHistory } from '../kpi/kpi-history.ts';
import { historyCommand } from '../mi/history-command.ts';
import { dashboardRoutes } from '../web/routes.ts';
import { DEMO_KPI, startDemoTraffic } from '../demo/traffic.ts';
import { attachPersistence } from '../persist/attach.ts';
import type { PersistenceHandle } from '../persist/attach.ts';
import { attachCluster } from '../cluster/attach.ts';
import type { ClusterHandle } from '../cluster/attach.ts';
import { resolveRedisTarget } from '../config/redis-config.ts';
import type { RedisTarget } from '../config/redis-config.ts';
import type { HttpLimits, SipstatsHttpServer } from '../http/server.ts';
import { AlertService } from '../alerts/service.ts';
import { describeDeclared, withKpiProfiles } from './kpi-profiles.ts';

/** Composition root: config → engine → HTTP listener. Owns the shutdown order. */

export interface StartOptions {
  /** Configuration file (OpenSIPS modparam text, opensips.cfg, native YAML/JSON); default: the embedded one. */
  configPath?: string;
  /** An already loaded configuration (wins over configPath). */
  config?: ServerConfig;
  /** `HOST:PORT`, wins over the configuration. */
  listen?: string;
  /** Bearer token, wins over $SIPSTATS_TOKEN and the configuration's auth.token. */
  token?: string;
  /** Read-only token (reads and /metrics), wins over $SIPSTATS_READ_TOKEN and auth.readToken. */
  readToken?: string;
  /** Serve the MI beyond loopback without a token (refused otherwise, as Redis' protected mode does). */
  allowUnauthenticated?: boolean;
  env?: Record<string, string | undefined>;
  /** Test hook: the engine's clock (Unix ms). */
  clock?: () => number;
  http?: Partial<HttpLimits>;
  /** Where `listening on ...` is written (default stdout). */
  print?: (line: string) => void;
  /** HEP listener `HOST:PORT` (wins over the configuration); null = none. */
  hepListen?: string | null;
  hepAuthKey?: string;
  /** OpenSIPS accounting events listener `HOST:PORT` (UDP event_datagram + TCP event_stream). */
  eventsListen?: string | null;
  /** Call tracking options that win over the configuration's `kpi` section. */
  tracker?: TrackerOptions;
  /** Snapshot directory (wins over the configuration's `dataDir`); null = no persistence. */
  dataDir?: string | null;
  /** Seconds between snapshots (default DEFAULTS.snapshotIntervalS). */
  snapshotIntervalS?: number;
  /** Redis URL for cluster aggregation (wins over the configuration's `redis` section). */
  redis?: string;
  /** A Redis Cluster or Sentinel deployment (`--redis-cluster`, `--redis-sentinel`; wins over the configuration's `redis` section). */
  redisTarget?: RedisTarget;
  /** This node's id in the cluster (default: the host name). */
  nodeId?: string;
  /** Run the built-in demo traffic generator against the HEP listener (`sipstats demo`). */
  demo?: boolean;
  /** Where warnings and notices go (default stderr). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface ReloadReport {
  /** What changed (profiles, variables, groups added or changed; tracking options). */
  readonly changes: string[];
  /** Settings that changed in the file but take effect only at the next start. */
  readonly restart: string[];
}

export interface Running {
  /** Re-reads the configuration file; rejects with a ConfigError (the old configuration stays). */
  reload(): Promise<ReloadReport>;
  readonly url: string;
  /** `HOST:PORT` of the HEP listener (UDP and TCP), when there is one. */
  readonly hepAddress: string | null;
  readonly eventsAddress: string | null;
  readonly pipeline: SipPipeline;
  readonly persistence: PersistenceHandle | null;
  readonly cluster: ClusterHandle | null;
  readonly stats: Stats;
  readonly http: SipstatsHttpServer;
  readonly config: ServerConfig;
  /** Alert rules, their state and delivery (docs/alerts.md). */
  readonly alerts: AlertService;
  /** Stops accepting, finishes in-flight requests, closes. Idempotent. */
  close(): Promise<void>;
}

export function packageVersion(): string {
  try {
    // src/app/ and dist/app/ are both two levels below the package root
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function start(options: StartOptions = {}): Promise<Running> {
  const config = options.config ?? (options.configPath !== undefined ? await loadConfigFile(options.configPath) : defaultConfig());
  let listen = config.listen;
  if (options.listen !== undefined) {
    const l = parseListen(options.listen);
    if (!l.ok) throw new ConfigError([{ code: 'E_CONFIG', line: 0, path: '--listen', message: l.message }], '--listen');
    listen = l.value;
  }
  const env = options.env ?? process.env;
  const token = options.token || env[DEFAULTS.tokenEnv] || config.auth.token || null;
  const readToken = options.readToken || env[DEFAULTS.readTokenEnv] || config.auth.readToken || null;
  const log = options.log ?? ((level, m) => process.stderr.write(`sipstats ${level}: ${m}\n`));
  checkExposure(listen, token, readToken, options.allowUnauthenticated === true || config.auth.allowUnauthenticated, log);

  const ingest = ingestSettings(config, options);
  const clock = options.clock ?? Date.now;
  // the KPI inputs feed fixed profiles: declare those the configuration lacks, and say so
  const kpi = ingest.hep !== null || ingest.events !== null ? withKpiProfiles(config.engine, ingest.tracker) : { engine: config.engine, declared: [] };
  if (kpi.declared.length > 0) log('info', describeDeclared(kpi.declared));
  const stats = createStats({ config: kpi.engine, clock });
  const indexer = nativeIndexer();
  const pipeline = new SipPipeline(stats.engine, { ...ingest.tracker, hepAuthKey: ingest.hepAuthKey, log, clock, indexer: indexer.indexer, inflate: inflatePayload });
  const history = kpiHistory(stats.engine, { recordFrom: HISTORY_DEFAULTS.serverRecordFrom, stepSeries: HISTORY_DEFAULTS.serverStepSeries });
  // the limits in force (a reload replaces them): drawn on the dashboard's charts
  let limits = ingest.tracker.limits;
  stats.addMiCommand(historyCommand(history, stats.engine));
  const configPath = options.config === undefined ? options.configPath : undefined;
  const alerts = new AlertService(stats.engine, {
    config: config.alerts ?? { rules: [], notify: [] },
    now: clock,
    log,
    // reload_alerts re-reads the configuration file; a file with problems keeps the rules in force
    reload: configPath === undefined ? undefined : async () => (await loadConfigFile(configPath)).alerts ?? { rules: [], notify: [] },
  });
  for (const c of alerts.miCommands()) stats.addMiCommand(c);
  // "which carrier for this number?" (the `routing` section; a reload replaces it)
  const router = new Router(pipeline.tracker, () => stats.engine.clock());
  if (config.routing !== undefined) router.configure(config.routing);
  stats.addMiCommand(routeCarriersCommand(router));
  const http = createHttpServer({
    token,
    readToken,
    limits: { ...DEFAULTS.http, ...options.http },
    routes: [miRoute(stats), metricsRoute(stats, undefined, '/metrics', () => alerts.metricsText() + durationHistogramText((cb) => pipeline.tracker.forEachDurations(cb)) + processMetricsText(processFigures())), healthRoute(packageVersion()), ...dashboardRoutes(stats, history, { limits: () => limits }), alerts.route(), routeApi(router)],
  });
  http.addRoute(sessionRoute(http));
  const closers: (() => Promise<void>)[] = [];
  let persistence: PersistenceHandle | null = null;
  let cluster: ClusterHandle | null = null;
  try {
    // restore first (a corrupt snapshot is moved aside and reported; the server still starts)
    const dataDir = options.dataDir !== undefined ? options.dataDir : config.dataDir;
    if (dataDir !== null) persistence = await attachPersistence(stats, { dataDir, intervalMs: (options.snapshotIntervalS ?? DEFAULTS.snapshotIntervalS) * 1000, log, sections: [alerts.snapshotSection(), pipeline.snapshotSection()] });
    const redisTarget = resolveRedisTarget(options.redisTarget ?? (options.redis !== undefined ? { mode: 'single', url: options.redis } : undefined), config.redis);
    if (redisTarget !== undefined) {
      const nodeId = options.nodeId ?? config.redis?.nodeId ?? hostname();
      cluster = await attachCluster(stats, { redis: redisTarget, nodeId, log });
    }
    if (cluster !== null) {
      const c = cluster;
      http.addRoute(asyncMetricsRoute((cb) => c.forEachClusterStat(cb), { namespace: 'sipstats_cluster', freshViews: true }, '/metrics/cluster'));
    }
    const url = await http.listen(listen.host, listen.port).catch((e: unknown) => {
      throw listenError('HTTP listener', listen.host, listen.port, e);
    });
    if (ingest.hep !== null && !isLoopback(ingest.hep.host) && ingest.hepAuthKey === undefined)
      log('warn', `HEP on ${ingest.hep.host}:${ingest.hep.port} without an auth key takes packets from anyone who can reach it: set --hep-auth-key (hep.authKey)`);
    if (ingest.events !== null && !isLoopback(ingest.events.host))
      log('warn', `OpenSIPS events on ${ingest.events.host}:${ingest.events.port} are taken from anyone who can reach it (event_datagram/event_stream carry no credentials): keep it on a private network`);
    const hep = ingest.hep === null ? null : await listenHep(ingest.hep, pipeline, stats.engine, {}, (m) => log('error', m));
    if (hep !== null) closers.push(hep.close);
    const accOptions = (i: IngestSettings) => ({
      customerParam: i.accCustomerParam,
      setupMsParam: i.accSetupMsParam,
      outcomes: i.tracker.outcomes,
      acdFrom: i.tracker.acdFrom,
      maxCustomers: i.tracker.maxCustomers,
      percentiles: i.tracker.percentiles,
    });
    const acc = new AccKpiFeeder(pipeline.sink, accOptions(ingest));
    const events = ingest.events === null ? null : await listenOpensipsEvents(ingest.events, acc, stats.engine);
    if (events !== null) closers.push(events.close);
    if (options.demo === true && hep === null) throw new ConfigError([{ code: 'E_CONFIG', line: 0, path: '--demo', message: 'the demo sends HEP: it needs the HEP listener (drop --no-hep)' }], '--demo');
    const demoTarget = hep === null ? null : hep.udp.address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
    const demo = options.demo === true && hep !== null ? startDemoTraffic({ host: demoTarget!.startsWith('[') ? '::1' : demoTarget!.split(':')[0], port: hep.udp.port, authKey: ingest.hepAuthKey }) : null;
    if (demo !== null) closers.unshift(async () => demo.stop());
    // one coarse timer: call timeouts and chart history every second, idle-series sweep every 10 s
    let ticks = 0;
    const timer = setInterval(() => {
      const now = clock();
      pipeline.tick(now);
      history.sample(now);
      // (the history's pass goes on in steps, requests and packets answered between them)
      if (history.busy) setImmediate(function more() {
        if (history.resume()) setImmediate(more);
      });
      alerts.tick(now);
      if (++ticks % 10 === 0) stats.engine.sweep();
    }, 1000);
    timer.unref();
    const print = options.print ?? ((l) => process.stdout.write(`${l}\n`));
    print(`listening on ${url}`);
    print(`dashboard: ${url}/`);
    if (hep !== null) print(`HEP on udp+tcp ${hep.udp.address} (UDP read by ${hep.udp.receiver === 'native' ? 'the native receiver' : `a JavaScript thread: ${nativeUdp().why}`}; frames read by ${indexer.indexer !== null ? 'the native frame indexer, JavaScript for the rest' : `JavaScript only: ${indexer.why}`})`);
    if (events !== null) print(`OpenSIPS events on udp+tcp ${events.udp.address}`);
    if (persistence !== null) print(`data directory locked with ${dirLockKind().why}`);
    if (demo !== null) print('demo traffic: customers acme, globex, initech, umbrella through a platform to carrier_a, carrier_b, carrier_c (failover on 503), six countries (HEP, about 20 calls/s)');

    let closing: Promise<void> | undefined;
    const close = async () => {
      // shutdown order: stop ingest → stop timers → last cluster push → final snapshot → close HTTP
      for (const c of closers.splice(0)) await c();
      clearInterval(timer);
      await alerts.close();
      await cluster?.close();
      await persistence?.close();
      await http.close();
    };
    let current = config;
    /**
     * Re-reads the configuration file (SIGHUP, MI reload_config), all or nothing: the engine takes
     * new groups, variables and profiles (a profile with series keeps its layout, see
     * StatsEngine.reconfigure), the tracker new customer/carrier/destination keys, prefix tables,
     * outcome table and platform; every statistic and every tracked call stays. A bad file, or a
     * change that needs a restart, is refused with its coded errors and the old configuration stays.
     */
    const reload = async (): Promise<ReloadReport> => {
      if (options.configPath === undefined) throw new ConfigError([{ code: 'E_CONFIG', line: 0, path: '--config', message: 'started without a configuration file: nothing to reload' }], 'reload');
      const next = await loadConfigFile(options.configPath);
      const nextIngest = ingestSettings(next, options);
      const r = stats.engine.reconfigure(next.engine);
      if (!r.ok) throw new ConfigError(r.problems.map((m) => ({ code: 'E_CONFIG' as const, line: 0, path: 'profiles', message: m })), `reload of ${options.configPath}`);
      pipeline.reconfigure({ ...nextIngest.tracker, hepAuthKey: nextIngest.hepAuthKey });
      limits = nextIngest.tracker.limits;
      router.configure(next.routing ?? defaultRouting());
      acc.reconfigure(accOptions(nextIngest));
      history.syncProfiles();
      alerts.apply(next.alerts ?? { rules: [], notify: [] });
      const restart: string[] = [];
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      if (!same(next.listen, current.listen)) restart.push('listen');
      if (!same(next.auth, current.auth)) restart.push('auth');
      if (!same(next.hep?.listen, current.hep?.listen) || !same(next.hep?.enabled, current.hep?.enabled)) restart.push('hep.listen');
      if (!same(next.kpi?.eventsListen, current.kpi?.eventsListen)) restart.push('kpi.eventsListen');
      if (!same(next.redis, current.redis)) restart.push('redis');
      if (!same(next.dataDir, current.dataDir)) restart.push('dataDir');
      current = next;
      const report: ReloadReport = { changes: [...r.changes, 'call tracking options applied', `alert rules applied (${alerts.rules.length})`], restart };
      log('info', `configuration reloaded from ${options.configPath}: ${report.changes.join('; ')}${restart.length ? `; not applied until a restart: ${restart.join(', ')}` : ''}`);
      return report;
    };
    stats.addMiCommand({ name: 'reload_config', writes: true, run: () => reload() });

    return {
      reload,
      url,
      persistence,
      cluster,
      hepAddress: hep?.udp.address ?? null,
      eventsAddress: events?.udp.address ?? null,
      pipeline,
      stats,
      http,
      config,
      alerts,
      close: () => (closing ??= close()),
    };
  } catch (e) {
    for (const c of closers) await c().catch(() => {});
    await alerts.close(0).catch(() => {});
    await cluster?.close().catch(() => {});
    await persistence?.close().catch(() => {});
    await http.close().catch(() => {});
    throw e;
  }
}

/** 127.0.0.0/8, ::1, localhost: only this machine can reach a listener there. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}

/**
 * Exposure rules: the MI changes statistics (reset_statistics, update_stat, clear_statistics), so
 * it is not served beyond loopback without a token unless `allowUnauthenticated` says so (the way
 * Redis' protected mode refuses); a read-only token alone would leave those commands to anyone.
 */
function checkExposure(listen: { host: string; port: number }, token: string | null, readToken: string | null, allow: boolean, log: (level: 'info' | 'warn' | 'error', m: string) => void): void {
  if (readToken !== null && token === null)
    throw new ConfigError([{ code: 'E_CONFIG', line: 0, path: 'auth.readToken', message: 'a read-only token needs an admin token too (--token, auth.token): without one, nobody could change statistics, or everybody could' }], 'auth');
  if (isLoopback(listen.host) || token !== null) return;
  if (!allow)
    throw new ConfigError(
      [{ code: 'E_CONFIG', line: 0, path: '--listen', message: `refusing to serve the MI on ${listen.host}:${listen.port} without a token: anyone who reaches it could reset or change statistics. Set --token (or $${DEFAULTS.tokenEnv}, auth.token), listen on 127.0.0.1, or pass --allow-unauthenticated` }],
      'exposure',
    );
  log('warn', `serving the MI on ${listen.host}:${listen.port} without a token (--allow-unauthenticated): anyone who reaches it can reset or change statistics`);
}

/** The traffic inputs: the configuration's (parsed once, `config.ingest`), then command-line options over them. */
function ingestSettings(config: ServerConfig, o: StartOptions): IngestSettings {
  const parsed = config.ingest;
  const at = (flag: string, v: string | null | undefined, dflt: IngestSettings['hep']) => {
    if (v === undefined) return dflt;
    if (v === null) return null;
    const l = parseListen(v);
    if (!l.ok) throw new ConfigError([{ code: 'E_CONFIG', line: 0, path: flag, message: l.message }], flag);
    return l.value;
  };
  return {
    ...parsed,
    hep: at('--hep-listen', o.hepListen, parsed.hep),
    hepAuthKey: o.hepAuthKey ?? parsed.hepAuthKey,
    events: at('--events-listen', o.eventsListen, parsed.events),
    // (the demo's platform, carriers and limits, under what the configuration and the command line say)
    tracker: completeTracker({ ...(o.demo === true ? DEMO_KPI : {}), ...parsed.tracker, ...o.tracker }),
  };
}

/** SIGHUP: reload the configuration file; a refused one is logged with every problem, and the old one stays. */
export function reloadOnSignal(running: Running, log: (level: 'info' | 'warn' | 'error', m: string) => void = (l, m) => process.stderr.write(`sipstats ${l}: ${m}\n`)): void {
  process.on('SIGHUP', () => {
    running.reload().catch((e: unknown) => log('error', `reload refused, the running configuration stays: ${e instanceof Error ? e.message : String(e)}`));
  });
}

/** SIGTERM / SIGINT: close cleanly, then exit 0 (1 if closing failed). A second signal exits at once. */
export function exitOnSignals(running: Running, exit: (code: number) => void = (c) => process.exit(c)): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return exit(1);
    stopping = true;
    process.stderr.write(`sipstats: ${sig}, shutting down\n`);
    running.close().then(
      () => exit(0),
      (e: unknown) => {
        process.stderr.write(`sipstats: shutdown failed: ${String(e)}\n`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
