import type { EngineConfig } from '../core/types.ts';
import type { AlertsConfig } from '../alerts/rules.ts';
import type { RedisSettings } from './redis-config.ts';
import type { IngestSettings } from './ingest-config.ts';
import type { RoutingConfig } from '../kpi/routing.ts';
import type { ListenAddress } from './fields.ts';

/** What a loaded server configuration is (whatever the file format); config/fields.ts reads its values. */

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
