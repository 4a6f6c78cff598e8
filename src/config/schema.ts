import type { EngineConfig } from '../core/types.ts';
import type { ConfigIssue, ErrorCode } from '../errors.ts';
import type { AlertsConfig } from '../alerts/rules.ts';
import type { RedisSettings } from './redis-config.ts';
import type { IngestSettings } from './ingest-config.ts';
import type { RoutingConfig } from '../kpi/routing.ts';

/**
 * What a loaded server configuration is (whatever the file format), and the small checking kit
 * the native format uses: every problem is collected with its path, none stops the others.
 */

export interface ListenAddress {
  readonly host: string;
  /** TCP port; 0 = any free port (the chosen one is printed). */
  readonly port: number;
}

/** Sections read by their own modules (hep/kpi: config/ingest-config.ts; redis: checked in native.ts). */
export type OpaqueSection = Readonly<Record<string, unknown>>;

export interface ServerConfig {
  readonly listen: ListenAddress;
  /** token: admin; readToken: reads and /metrics only; allowUnauthenticated: serve beyond loopback without a token. */
  readonly auth: { readonly token: string | null; readonly readToken: string | null; readonly allowUnauthenticated: boolean };
  /** Counters, groups and profiles, as the engine takes them. */
  readonly engine: EngineConfig;
  /** HEP listener settings (`listen`, `authKey`, `enabled`), read by config/ingest-config.ts. */
  readonly hep: OpaqueSection | null;
  /** Directory of snapshots (--data-dir wins over it); null = the default `./data`. */
  readonly dataDir: string | null;
  /** Redis deployment and node id of the cluster statistics (checked: redis-config.ts). */
  readonly redis: RedisSettings | null;
  /** KPI rules (customer key, outcome table, platform, ...) as written; parsed once into `ingest`. */
  readonly kpi: OpaqueSection | null;
  /** Alert rules and notification targets (native `alerts` and `notify`; src/alerts/rules.ts). */
  readonly alerts?: AlertsConfig;
  /** Routing answers (native `routing`; src/kpi/routing.ts); absent: the defaults (ASR over 1 minute). */
  readonly routing?: RoutingConfig;
  /** The `hep` and `kpi` sections parsed once (listeners, tracker options with compiled tables). */
  readonly ingest: IngestSettings;
  /** Where the engine part came from. */
  readonly source: 'default' | 'opensips' | 'native';
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Collects issues with their path (`profiles[2].window`); ConfigError prints `path: [code] message`. */
export class Issues {
  readonly list: ConfigIssue[] = [];

  add(path: string, code: ErrorCode, message: string, line = 0): void {
    this.list.push({ code, line, path, message });
  }

  /** Refuses keys not in `allowed`. */
  keys(obj: Record<string, unknown>, allowed: readonly string[], path: string, code: ErrorCode = 'E_CFG_UNKNOWN_PARAM'): void {
    for (const k of Object.keys(obj))
      if (!allowed.includes(k)) this.add(join(path, k), code, `unknown key (allowed: ${allowed.join(', ')})`);
  }

  /** An integer in [lo, hi], or undefined when absent; reports and returns undefined when bad. */
  int(obj: Record<string, unknown>, key: string, lo: number, hi: number, path: string, code: ErrorCode): number | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      this.add(join(path, key), code, `must be an integer ${lo}..${hi}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  /** A non-empty string, or undefined when absent; reports and returns undefined when bad. */
  str(obj: Record<string, unknown>, key: string, path: string, code: ErrorCode, valid?: (s: string) => boolean, what = 'a non-empty string'): string | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '' || (valid !== undefined && !valid(v))) {
      this.add(join(path, key), code, `must be ${what}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }
}

export const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`);

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
}

/** Parses `HOST:PORT` (`[::1]:8888` for IPv6). */
export function parseListen(text: string): { ok: true; value: ListenAddress } | { ok: false; message: string } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return { ok: false, message: `must be HOST:PORT (IPv6 as [::1]:8888), got ${show(text)}` };
  const port = Number(m[3]);
  if (port > 65535) return { ok: false, message: `port ${port} is above 65535` };
  return { ok: true, value: Object.freeze({ host: m[1] ?? m[2], port }) };
}

/**
 * Freezes a plain JSON-like value and everything in it. Objects of a class (compiled tables such as
 * a prefix trie, whose typed arrays cannot be frozen) are left as they are.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v) && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
