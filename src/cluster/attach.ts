import type { RedisOptions } from 'ioredis';
import { DEFAULTS } from '../config/defaults.ts';
import type { StatView } from '../core/types.ts';
import { bind, statisticsParam } from '../mi/params.ts';
import { toErrorBody } from '../mi/registry.ts';
import { SipstatsError } from '../errors.ts';
import type { Stats } from '../stats.ts';
import { ClusterKeys, NODE_ID } from './keys.ts';
import { PushTracker } from './push.ts';
import type { RedisCommand } from './push.ts';
import { ClusterReader, execAll } from './read.ts';
import type { ClusterView } from './read.ts';
import { openLink, redactUrl } from './link.ts';
import type { LinkNode, RedisTarget, ResyncReason } from './link.ts';

/** Where the cluster link says what happens (the server passes its log). */
export type ClusterLog = (level: 'info' | 'warn' | 'error', message: string) => void;

const defaultLog: ClusterLog = (level, message) => {
  if (level !== 'info') console.error(`sipstats ${level}: ${message}`);
};

export type { RedisTarget, HostPort, LinkNode } from './link.ts';

export interface ClusterOptions {
  /** `redis://host:port[/db]` (CLI `--redis`): one Redis. Give either this or `redis`. */
  readonly redisUrl?: string;
  /** One Redis, a Redis Cluster (`--redis-cluster`) or a Sentinel-managed master (`--redis-sentinel`). */
  readonly redis?: RedisTarget;
  /** Unique and stable per node (CLI `--node-id`, default the host name): a restarted node must
   *  overwrite its own fields, or what it restored from its snapshot would count twice. */
  readonly nodeId: string;
  /** Milliseconds between pushes; default 1000. Cluster values lag local ones by up to this much. */
  readonly flushIntervalMs?: number;
  readonly log?: ClusterLog;
  /** Key prefix; default `sipstats:` (several clusters can share one Redis). */
  readonly keyPrefix?: string;
  /** Keys outlive their window by this much (clock skew between nodes); default 30 000 ms. */
  readonly expiryMarginMs?: number;
  /** Slot fields per pipeline; default 20 000 (a series is never split across pipelines). */
  readonly maxFieldsPerBatch?: number;
  /** Reconnect backoff: 100 ms doubling up to this; default 5000 ms. */
  readonly maxReconnectDelayMs?: number;
  /** Extra ioredis options (tests). Offline queueing stays off whatever is passed. */
  readonly redisOptions?: RedisOptions;
}

export interface FlushReport {
  /** Slots (and counters) pushed and acknowledged. */
  readonly pushed: number;
  /** Slots still differing from Redis (Redis down, or a pipeline failed): retried next flush. */
  readonly pending: number;
  readonly commands: number;
  readonly ok: boolean;
  readonly error?: string;
}

export interface ClusterStatus {
  readonly nodeId: string;
  /** Redis deployment: single (one Redis), cluster (Redis Cluster) or sentinel. */
  readonly mode: RedisTarget['mode'];
  /** The target as configured (passwords redacted). */
  readonly redis: string;
  /** Known Redis nodes and their roles (cluster: masters with their slot counts, replicas; sentinel: the current master and the sentinels). */
  readonly redisNodes: LinkNode[];
  readonly redisUp: boolean;
  /** ioredis connection state: wait, connecting, connect, ready, reconnecting, close, end. */
  readonly redisState: string;
  readonly pendingSlots: number;
  readonly pushErrors: number;
  readonly commands: number;
  readonly lastFlushAt: number | null;
  readonly lastError: string | null;
  /** How many times the connection became ready (each one followed by a full re-push). */
  readonly connections: number;
  /** Full re-pushes of every live slot and counter so far (connection ready, failed push, topology change). */
  readonly resyncs: number;
  /** Why the last full re-push was made: ready, push-failed or topology. */
  readonly lastResync: ResyncReason | null;
}

export interface ClusterHandle {
  /** Pushes what changed now (a flush in progress is awaited instead of started twice). */
  flush(): Promise<FlushReport>;
  /** Cluster values for MI `statistics` items, in get_statistics' shape. Rejects when Redis is unreachable. */
  getStatistics(items: readonly string[]): Promise<Record<string, number | null>>;
  /** A scratch engine holding the cluster-wide merge (for exporters and the dashboard). */
  view(items?: readonly string[]): Promise<ClusterView>;
  /**
   * Visits every cluster statistic as a StatView (the shape of Stats.forEachStat). The server exports
   * them at /metrics/cluster under the `sipstats_cluster_` prefix (docs/cluster.md).
   */
  forEachClusterStat(cb: (v: StatView) => void): Promise<void>;
  status(): ClusterStatus;
  /** Resolves when Redis is connected and ready (or rejects after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops the timer, pushes a last time if Redis is up, disconnects. */
  close(): Promise<void>;
}

/** The MI error of a cluster read that could not reach Redis. */

/**
 * Shares the series of `stats` through Redis: pushes per-slot parts on a timer, answers the MI
 * commands `cluster_get_statistics` (same params and shape as get_statistics) and `cluster_status`,
 * and keeps the self-statistics sipstats:cluster_redis_up (1/0), cluster_pending_slots,
 * cluster_push_errors and cluster_commands. Never fails when Redis is down: the node keeps counting
 * locally and catches up when Redis returns.
 */
export async function attachCluster(stats: Stats, options: ClusterOptions): Promise<ClusterHandle> {
  const engine = stats.engine;
  const log = options.log ?? defaultLog;
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULTS.clusterFlushMs;
  if (!(flushIntervalMs > 0)) throw new RangeError(`cluster flush interval must be > 0 ms, got ${flushIntervalMs}`);
  if (typeof options.nodeId !== 'string' || !NODE_ID.test(options.nodeId)) {
    throw new RangeError(`node id must be 1..128 characters of A-Z a-z 0-9 _ . @ -, got ${JSON.stringify(options.nodeId)}`);
  }
  const maxDelay = options.maxReconnectDelayMs ?? DEFAULTS.clusterMaxReconnectDelayMs;
  const keys = new ClusterKeys(options.keyPrefix ?? 'sipstats:');
  const tracker = new PushTracker(engine, keys, {
    nodeId: options.nodeId,
    marginMs: options.expiryMarginMs ?? DEFAULTS.clusterExpiryMarginMs,
    nodeTtlMs: Math.max(30_000, 5 * flushIntervalMs),
    maxFieldsPerBatch: options.maxFieldsPerBatch,
  });
  const setUp = (v: 0 | 1) => engine.setGauge('cluster_redis_up', v);
  let pending = 0;
  const setPending = (v: number) => engine.setGauge('cluster_pending_slots', (pending = v));
  engine.selfStat('cluster_push_errors', 0);
  engine.selfStat('cluster_commands', 0);
  setPending(0);
  let pushErrorCount = 0;
  let commandCount = 0;
  let lastFlushAt: number | null = null;
  let lastError: string | null = null;
  setUp(0);

  const target: RedisTarget | undefined = options.redis ?? (options.redisUrl !== undefined ? { mode: 'single', url: options.redisUrl } : undefined);
  if (target === undefined || (options.redis !== undefined && options.redisUrl !== undefined)) throw new RangeError('give exactly one of redisUrl and redis');
  const link = openLink(target, { maxReconnectDelayMs: maxDelay, redisOptions: options.redisOptions });
  const redis = link.io;
  const client = link.client;
  const reader = new ClusterReader(engine, client, keys);
  let wasUp = false;
  let connections = 0;
  let resyncs = 0;
  let lastResync: ResyncReason | null = null;
  /**
   * Forgets what Redis acknowledged: the next flush pushes every live slot and counter again. Pushes
   * are idempotent (complete parts into this node's own fields), so this never counts anything twice,
   * and it heals writes a master acknowledged but lost before its replica got them (asynchronous
   * replication): after a failover, a failed push, or a new connection.
   */
  const resync = (why: ResyncReason) => {
    tracker.reset();
    resyncs++;
    lastResync = why;
  };
  link.onTopologyChange((why) => {
    resync('topology');
    log('info', `cluster: Redis topology changed (${why}); pushing every live slot again`);
    if (redis.status === 'ready') void flush();
  });
  redis.on('ready', () => {
    connections++;
    // whatever Redis holds now (it may have restarted empty, or be a promoted replica), push everything again: idempotent
    resync('ready');
    setUp(1);
    wasUp = true;
    log('info', `cluster: connected to Redis ${link.description} as node '${options.nodeId}'`);
    void flush();
  });
  const down = (why: string) => {
    setUp(0);
    if (wasUp) log('warn', `cluster: Redis unavailable (${why}); counting locally, will catch up`);
    wasUp = false;
  };
  redis.on('close', () => down('connection closed'));
  redis.on('error', (e: Error) => {
    lastError = e.message;
    if (wasUp) down(e.message);
  });
  // the client gives up ('end') only when told to, or when a reconnect races a failover (ioredis'
  // Sentinel failover detector can abort a reconnect in progress): start again, unless closing
  let closed = false;
  let revive: NodeJS.Timeout | null = null;
  redis.on('end', () => {
    down('connection ended');
    if (closed || revive !== null) return;
    revive = setTimeout(() => {
      revive = null;
      if (closed || redis.status !== 'end') return;
      log('warn', `cluster: the Redis client gave up (${lastError ?? 'connection ended'}); connecting again`);
      redis.connect().catch((e: Error) => (lastError = e.message));
    }, Math.min(1000, maxDelay));
    revive.unref();
  });
  redis.connect().catch((e: Error) => {
    lastError = e.message;
    log('warn', `cluster: cannot reach Redis ${link.description} yet (${e.message}); retrying in the background`);
  });

  const exec = async (cmds: RedisCommand[]) => {
    commandCount += cmds.length;
    engine.selfStat('cluster_commands', cmds.length);
    await execAll(client, cmds);
  };

  let flushing: Promise<FlushReport> | null = null;
  const doFlush = async (): Promise<FlushReport> => {
    const t = engine.clock();
    const ready = redis.status === 'ready';
    const r = await tracker.push(t, ready ? exec : null);
    setPending(r.pending);
    if (!ready) return { ...r, ok: false, error: `Redis ${redis.status}` };
    if (r.error !== undefined) {
      // what the failed commands did is unknown, and a master may have gone with writes it had
      // acknowledged: push everything again (from the next flush on, until one succeeds)
      resync('push-failed');
      pushErrorCount++;
      engine.selfStat('cluster_push_errors');
      lastError = r.error;
      return { ...r, ok: false };
    }
    lastFlushAt = t;
    return { ...r, ok: true };
  };

  /** Starts a flush now, or, while one runs, one more right after it (shared by every caller meanwhile):
   *  whatever changed before the call is in the flush the returned promise reports on. */
  let queued: Promise<FlushReport> | null = null;
  const start = (): Promise<FlushReport> => {
    const p = doFlush().finally(() => {
      if (flushing === p) flushing = null;
    });
    flushing = p;
    return p;
  };
  const flush = (): Promise<FlushReport> => {
    if (flushing === null) return start();
    queued ??= flushing.then(() => {
      queued = null;
      return flushing ?? start();
    });
    return queued;
  };

  const timer = setInterval(() => {
    if (flushing === null) void start(); // a slow push is never queued behind itself
  }, flushIntervalMs);
  timer.unref();

  const status = (): ClusterStatus => ({
    nodeId: options.nodeId,
    mode: link.mode,
    redis: link.description,
    redisNodes: link.nodes(),
    redisUp: redis.status === 'ready',
    redisState: redis.status,
    pendingSlots: pending,
    pushErrors: pushErrorCount,
    commands: commandCount,
    lastFlushAt,
    lastError,
    connections,
    resyncs,
    lastResync,
  });

  const getStatistics = (items: readonly string[]) => {
    if (redis.status !== 'ready') return Promise.reject(new SipstatsError('E_CLUSTER_UNAVAILABLE', `Redis ${redis.status}`));
    return reader.getStatistics(items);
  };

  stats.addMiCommand({
    name: 'cluster_get_statistics',
    aliases: ['cluster:get'],
    run(params) {
      // params are checked before any I/O: errors are get_statistics' own -32602 replies
      const items = statisticsParam(bind(params, ['statistics']).statistics);
      return getStatistics(items).catch((e: Error) => ({ error: toErrorBody(new SipstatsError('E_CLUSTER_UNAVAILABLE', e.message)) }));
    },
  });
  stats.addMiCommand({
    name: 'cluster_status',
    run(params) {
      bind(params, []);
      return status();
    },
  });

  return {
    flush,
    getStatistics,
    view: (items = ['all']) => reader.view(items),
    forEachClusterStat: (cb) => reader.forEachStat(cb),
    status,
    ready(timeoutMs = 10_000) {
      if (redis.status === 'ready') return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const to = setTimeout(() => {
          redis.off('ready', ok);
          reject(new SipstatsError('E_CLUSTER_UNAVAILABLE', `Redis not ready after ${timeoutMs} ms (${redis.status})`));
        }, timeoutMs);
        const ok = () => {
          clearTimeout(to);
          resolve();
        };
        redis.once('ready', ok);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (revive !== null) clearTimeout(revive);
      if (flushing !== null) await flushing;
      if (redis.status === 'ready') {
        const r = await doFlush();
        if (!r.ok) log('warn', `cluster: last push failed (${r.error}); ${r.pending} slot(s) not shared`);
      }
      redis.disconnect();
      setUp(0);
    },
  };
}

export { redactUrl };
