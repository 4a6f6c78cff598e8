import { ConfigError } from '../errors.ts';
import type { ConfigIssue } from '../errors.ts';
import type { Issues } from './fields.ts';
import { isPlainObject, join, parseListen, show } from './fields.ts';

/**
 * The `redis` section of the native configuration and the `--redis*` flags: where the cluster
 * statistics live (one Redis, a Redis Cluster, or a master managed by Redis Sentinel) and this
 * node's id. Exactly one deployment; everything else is refused with a path and a code.
 *
 *   redis: { url: redis://10.0.0.5:6379, nodeId: sip1 }
 *   redis: { cluster: [10.0.0.5:7000, 10.0.0.6:7000], password: s3cret, nodeId: sip1 }
 *   redis: { sentinels: [10.0.0.5:26379, 10.0.0.6:26379, 10.0.0.7:26379], master: mymaster }
 */

/** `HOST:PORT` of a Redis Cluster seed node or of a Sentinel. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Where the cluster statistics live: exactly one Redis deployment. */
export type RedisTarget =
  /** One Redis (or a proxy): `redis://[user:password@]host:port[/db]`. */
  | { readonly mode: 'single'; readonly url: string }
  /** Redis Cluster: seed nodes (any reachable one is enough; the others are discovered). */
  | { readonly mode: 'cluster'; readonly nodes: readonly HostPort[]; readonly password?: string }
  /** Redis Sentinel: the sentinels, and the name of the monitored master (`sentinel monitor NAME ...`). */
  | { readonly mode: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly master: string; readonly password?: string; readonly sentinelPassword?: string };

/** The checked `redis` section: empty when the section is `{}` (no cluster unless a flag gives one). */
export interface RedisSettings {
  readonly target?: RedisTarget;
  readonly nodeId?: string;
}

export const REDIS_KEYS = ['url', 'cluster', 'sentinels', 'master', 'password', 'sentinelPassword', 'nodeId'] as const;
/** Node ids: no '|' (the field separator of the Redis keys), nothing a key or a log line would mangle. */
export const NODE_ID = /^[A-Za-z0-9_.@-]{1,128}$/;
const MASTER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const URL_RE = /^rediss?:\/\/[^\s]+$/;
const MAX_ADDRESSES = 64;

const CODE = 'E_CFG_BAD_REDIS';

/** `HOST:PORT[,HOST:PORT...]` (or a list of them) → addresses, or the reason it is not. */
export function parseHostPorts(v: unknown): { ok: true; value: HostPort[] } | { ok: false; message: string } {
  const items = typeof v === 'string' ? v.split(',').map((x) => x.trim()) : Array.isArray(v) ? v : null;
  if (items === null) return { ok: false, message: `must be a list of HOST:PORT, got ${show(v)}` };
  if (items.length === 0 || (items.length === 1 && items[0] === '')) return { ok: false, message: 'must name at least one HOST:PORT' };
  if (items.length > MAX_ADDRESSES) return { ok: false, message: `at most ${MAX_ADDRESSES} addresses, got ${items.length}` };
  const out: HostPort[] = [];
  for (const [i, x] of items.entries()) {
    const p = typeof x === 'string' ? parseListen(x) : ({ ok: false, message: `must be a string HOST:PORT, got ${show(x)}` } as const);
    if (!p.ok) return { ok: false, message: `[${i}] ${p.message}` };
    if (p.value.port === 0) return { ok: false, message: `[${i}] port 0 is not a Redis port` };
    out.push(p.value);
  }
  return { ok: true, value: out };
}

/** Checks the `redis` section; problems go to `is` with their path (`redis.cluster`, ...). */
export function readRedis(v: unknown, is: Issues): RedisSettings | null {
  if (v === undefined || v === null) return null;
  if (!isPlainObject(v)) {
    is.add('redis', 'E_CFG_SYNTAX', `must be an object {url | cluster | sentinels + master, password, nodeId}, got ${show(v)}`);
    return null;
  }
  const before = is.list.length;
  is.keys(v, REDIS_KEYS, 'redis');
  if (Object.keys(v).length === 0) return {};
  const given = (['url', 'cluster', 'sentinels'] as const).filter((k) => v[k] !== undefined);
  if (given.length !== 1) is.add('redis', CODE, given.length === 0 ? 'give one of url, cluster or sentinels' : `give exactly one of url, cluster or sentinels, not ${given.join(' and ')}`);
  const url = is.str(v, 'url', 'redis', CODE, (s) => URL_RE.test(s), 'a redis:// or rediss:// URL');
  const addresses = (k: 'cluster' | 'sentinels') => {
    if (v[k] === undefined) return undefined;
    const r = parseHostPorts(v[k]);
    if (!r.ok) is.add(join('redis', k), CODE, r.message);
    return r.ok ? r.value : undefined;
  };
  const cluster = addresses('cluster');
  const sentinels = addresses('sentinels');
  const master = is.str(v, 'master', 'redis', CODE, (s) => MASTER_NAME.test(s), "a master name of letters, digits, '_', '-', '.' (at most 64)");
  if (v.sentinels !== undefined && v.master === undefined) is.add('redis.master', CODE, 'is required with sentinels (the name the sentinels monitor)');
  if (v.master !== undefined && v.sentinels === undefined) is.add('redis.master', CODE, 'only goes with sentinels');
  const password = is.str(v, 'password', 'redis', CODE);
  if (v.password !== undefined && v.url !== undefined) is.add('redis.password', CODE, 'goes in the URL with url (redis://:PASSWORD@host:port)');
  const sentinelPassword = is.str(v, 'sentinelPassword', 'redis', CODE);
  if (v.sentinelPassword !== undefined && v.sentinels === undefined) is.add('redis.sentinelPassword', CODE, 'only goes with sentinels');
  const nodeId = is.str(v, 'nodeId', 'redis', CODE, (s) => NODE_ID.test(s), 'a node id of 1..128 of A-Z a-z 0-9 _ . @ -');
  if (is.list.length > before) return null;
  const target: RedisTarget | undefined =
    url !== undefined
      ? { mode: 'single', url }
      : cluster !== undefined
        ? { mode: 'cluster', nodes: cluster, ...(password !== undefined ? { password } : {}) }
        : { mode: 'sentinel', sentinels: sentinels!, master: master!, ...(password !== undefined ? { password } : {}), ...(sentinelPassword !== undefined ? { sentinelPassword } : {}) };
  return { target, ...(nodeId !== undefined ? { nodeId } : {}) };
}

/** The `serve` flags of the Redis deployment. */
export interface RedisFlags {
  readonly redis?: string;
  readonly 'redis-cluster'?: string;
  readonly 'redis-sentinel'?: string;
  readonly 'redis-master'?: string;
  readonly 'node-id'?: string;
}

/**
 * The deployment the flags name (undefined: none, the configuration's applies). Throws a ConfigError
 * (E_CFG_BAD_REDIS, exit 2 from the CLI) for a bad address list or combination.
 */
export function redisTargetFromFlags(f: RedisFlags): RedisTarget | undefined {
  const issues: ConfigIssue[] = [];
  const bad = (path: string, message: string) => issues.push({ code: CODE, line: 0, path, message });
  const given = (['redis', 'redis-cluster', 'redis-sentinel'] as const).filter((k) => f[k] !== undefined).map((k) => `--${k}`);
  if (given.length > 1) bad(given.join(' '), `give one of --redis, --redis-cluster or --redis-sentinel, not ${given.join(' and ')}`);
  if (f.redis !== undefined && !URL_RE.test(f.redis)) bad('--redis', `must be a redis:// or rediss:// URL, got ${show(f.redis)}`);
  const list = (k: 'redis-cluster' | 'redis-sentinel') => {
    if (f[k] === undefined) return undefined;
    const r = parseHostPorts(f[k]);
    if (!r.ok) bad(`--${k}`, r.message);
    return r.ok ? r.value : undefined;
  };
  const nodes = list('redis-cluster');
  const sentinels = list('redis-sentinel');
  if (f['redis-sentinel'] !== undefined && f['redis-master'] === undefined) bad('--redis-master', 'is required with --redis-sentinel (the name the sentinels monitor)');
  if (f['redis-master'] !== undefined && f['redis-sentinel'] === undefined) bad('--redis-master', 'only goes with --redis-sentinel');
  if (f['redis-master'] !== undefined && !MASTER_NAME.test(f['redis-master'])) bad('--redis-master', `must be a master name of letters, digits, '_', '-', '.' (at most 64), got ${show(f['redis-master'])}`);
  if (f['node-id'] !== undefined && !NODE_ID.test(f['node-id'])) bad('--node-id', `must be 1..128 of A-Z a-z 0-9 _ . @ -, got ${show(f['node-id'])}`);
  if (issues.length > 0) throw new ConfigError(issues, 'command line');
  if (f.redis !== undefined) return { mode: 'single', url: f.redis };
  if (nodes !== undefined) return { mode: 'cluster', nodes };
  if (sentinels !== undefined) return { mode: 'sentinel', sentinels, master: f['redis-master']! };
  return undefined;
}

/**
 * The deployment to use: the flags' (with the configuration's password when they name a cluster or
 * sentinels: passwords never go on a command line), else the configuration's; undefined: no cluster.
 */
export function resolveRedisTarget(flags: RedisTarget | undefined, cfg: RedisSettings | null): RedisTarget | undefined {
  if (flags === undefined) return cfg?.target;
  const c = cfg?.target;
  if (flags.mode === 'single' || c === undefined || c.mode === 'single') return flags;
  const password = c.password;
  const sentinelPassword = c.mode === 'sentinel' ? c.sentinelPassword : undefined;
  if (flags.mode === 'cluster') return password === undefined ? flags : { ...flags, password };
  return { ...flags, ...(password !== undefined ? { password } : {}), ...(sentinelPassword !== undefined ? { sentinelPassword } : {}) };
}
