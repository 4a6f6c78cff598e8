import { createRequire } from 'node:module';
import type * as IoRedis from 'ioredis';
import type { Cluster, ClusterOptions as IoClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { HostPort, RedisTarget } from '../config/redis-config.ts';
import type { RedisCommand } from './push.ts';
import type { RedisPipelineClient } from './read.ts';
import { CLUSTER_SLOTS, keySlot } from './slot.ts';
import { SipstatsError } from '../errors.ts';

export type { HostPort, RedisTarget } from '../config/redis-config.ts';

export interface LinkNode {
  /** `host:port` */
  readonly address: string;
  readonly role: 'master' | 'replica' | 'sentinel' | 'server';
  /** Redis Cluster: how many of the 16384 slots this master serves. */
  readonly slots?: number;
}

/** Why every live slot is pushed again (see docs/cluster.md, "Failover"). */
export type ResyncReason = 'ready' | 'push-failed' | 'topology';

export interface LinkOptions {
  readonly maxReconnectDelayMs: number;
  readonly redisOptions?: RedisOptions;
}

/**
 * One connection to the statistics' Redis, whatever its deployment: the client the push and read
 * code pipelines through, its state, and the events that call for a full re-push.
 */
export interface RedisLink {
  readonly mode: RedisTarget['mode'];
  /** ioredis client (Redis or Cluster): 'ready', 'close', 'error' events, `status`. */
  readonly io: Redis | Cluster;
  /** Pipelines of mixed keys; in Cluster mode split per key slot (see SlotPipelineClient). */
  readonly client: RedisPipelineClient;
  /** What the target is, for logs (passwords redacted). */
  readonly description: string;
  /** Known nodes and their roles (cluster_status). */
  nodes(): LinkNode[];
  /** Called when the topology changed in a way that may have lost acknowledged writes (Cluster). */
  onTopologyChange(cb: (why: string) => void): void;
}

const backoff = (max: number) => (times: number) => Math.min(100 * 2 ** Math.min(times - 1, 16), max);

/** Opens (lazily: call `io.connect()`) a link to `target`. Offline queueing and command retries stay off. */
export function openLink(target: RedisTarget, o: LinkOptions): RedisLink {
  // (loaded at the first link, not at start: ~35 ms that every command without Redis does without)
  const { Cluster, Redis } = createRequire(import.meta.url)('ioredis') as typeof IoRedis;
  const base: RedisOptions = {
    ...o.redisOptions,
    lazyConnect: true,
    // no offline queue: while Redis is away commands fail at once and the tracker keeps the backlog,
    // bounded by the live slots, instead of an ever-growing client queue
    enableOfflineQueue: false,
    // commands in flight when a connection drops fail instead of being re-sent later by the client:
    // a late re-send could overwrite a newer push of the same slot with older parts
    maxRetriesPerRequest: 0,
    connectTimeout: o.redisOptions?.connectTimeout ?? 2000,
    commandTimeout: o.redisOptions?.commandTimeout ?? 5000,
  };
  const retryStrategy = backoff(o.maxReconnectDelayMs);
  if (target.mode === 'single') {
    const io = new Redis(target.url, { ...base, retryStrategy });
    return {
      mode: 'single',
      io,
      client: io as unknown as RedisPipelineClient,
      description: redactUrl(target.url),
      nodes: () => [{ address: `${io.options.host ?? '127.0.0.1'}:${io.options.port ?? 6379}`, role: 'server' }],
      onTopologyChange: () => {},
    };
  }
  if (target.mode === 'sentinel') {
    const io = new Redis({
      ...base,
      retryStrategy,
      sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: target.master,
      role: 'master',
      password: target.password,
      sentinelPassword: target.sentinelPassword ?? target.password,
      sentinelRetryStrategy: retryStrategy,
      // subscribe to +switch-master: leave a demoted master at once instead of at its next error
      failoverDetector: true,
      sentinelCommandTimeout: base.connectTimeout,
    });
    return {
      mode: 'sentinel',
      io,
      client: io as unknown as RedisPipelineClient,
      description: `sentinel master '${target.master}' via ${target.sentinels.map(addr).join(',')}`,
      nodes: () => {
        const out: LinkNode[] = [];
        const s = io.status === 'ready' ? (io.stream as { remoteAddress?: string; remotePort?: number } | undefined) : undefined;
        if (s?.remoteAddress !== undefined) out.push({ address: `${s.remoteAddress}:${s.remotePort}`, role: 'master' });
        for (const x of target.sentinels) out.push({ address: addr(x), role: 'sentinel' });
        return out;
      },
      onTopologyChange: () => {},
    };
  }
  const { lazyConnect: _l, enableOfflineQueue: _q, ...nodeOptions } = base;
  const copts: IoClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    clusterRetryStrategy: retryStrategy,
    // refresh the slot map now and then: a failover seen without a failed command is seen anyway
    slotsRefreshInterval: 5000,
    redisOptions: { ...nodeOptions, password: target.password },
  };
  const io = new Cluster(target.nodes.map((n) => ({ host: n.host, port: n.port })), copts);
  const topologyCbs: ((why: string) => void)[] = [];
  const changed = (why: string) => {
    for (const cb of topologyCbs) cb(why);
  };
  // the master of every slot range: a change (a replica promoted, slots moved) may mean writes
  // acknowledged by a master that is gone now never reached its replica
  let layout = '';
  const masters = () => {
    let out = '';
    let prev: string | undefined;
    for (let s = 0; s < CLUSTER_SLOTS; s++) {
      const m = io.slots[s]?.[0];
      if (m !== prev) out += `${s}=${m ?? '-'};`;
      prev = m;
    }
    return out;
  };
  io.on('refresh', () => {
    const now = masters();
    const before = layout;
    layout = now;
    if (before !== '' && before !== now) changed('slot masters changed');
  });
  io.on('-node', (r: Redis) => changed(`node ${r.options.host}:${r.options.port} left`));
  io.on('+node', (r: Redis) => {
    if (io.status === 'ready') changed(`node ${r.options.host}:${r.options.port} joined`);
  });
  return {
    mode: 'cluster',
    io,
    client: new SlotPipelineClient(io),
    description: `cluster via ${target.nodes.map(addr).join(',')}`,
    nodes: () => {
      const roles = new Map<string, { role: 'master' | 'replica'; slots: number }>();
      for (let s = 0; s < CLUSTER_SLOTS; s++) {
        const ks = io.slots[s];
        if (ks === undefined) continue;
        ks.forEach((k, i) => {
          const cur = roles.get(k);
          if (i === 0) roles.set(k, { role: 'master', slots: (cur?.role === 'master' ? cur.slots : 0) + 1 });
          else if (cur === undefined) roles.set(k, { role: 'replica', slots: 0 });
        });
      }
      return [...roles]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([address, r]) => (r.role === 'master' ? { address, role: r.role, slots: r.slots } : { address, role: r.role }));
    },
    onTopologyChange: (cb) => topologyCbs.push(cb),
  };
}

/**
 * A Redis Cluster client may only pipeline keys of one slot: this one splits a pipeline of mixed
 * keys (the first argument of every command is its key) into one pipeline per key slot, runs them
 * in parallel and answers in the original order. A group that fails as a whole (node unreachable,
 * cluster down) answers its error for each of its commands.
 */
export class SlotPipelineClient implements RedisPipelineClient {
  constructor(private readonly cluster: Pick<Cluster, 'pipeline'>) {}

  pipeline(commands: RedisCommand[]): { exec(): Promise<[Error | null, unknown][] | null> } {
    return {
      exec: async () => {
        const groups = new Map<number, number[]>();
        commands.forEach((c, i) => {
          const slot = keySlot(String(c[1]));
          let g = groups.get(slot);
          if (g === undefined) groups.set(slot, (g = []));
          g.push(i);
        });
        const out: [Error | null, unknown][] = new Array(commands.length);
        await Promise.all(
          [...groups.values()].map(async (idx) => {
            let res: [Error | null, unknown][] | null;
            try {
              res = await this.cluster.pipeline(idx.map((i) => commands[i])).exec();
              if (res === null) throw new SipstatsError('E_CLUSTER_UNAVAILABLE', 'Redis pipeline was not executed');
            } catch (e) {
              for (const i of idx) out[i] = [e as Error, null];
              return;
            }
            idx.forEach((i, j) => (out[i] = res![j]));
          }),
        );
        return out;
      },
    };
  }
}

const addr = (h: HostPort) => (h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`);

export function redactUrl(u: string): string {
  return u.replace(/\/\/[^@/]*@/, '//***@');
}
