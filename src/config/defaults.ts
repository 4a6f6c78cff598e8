import { KPI_MODPARAMS } from '../kpi/catalogue.ts';
/**
 * Every default of the server in one place, each with its unit. The embedded statistics
 * configuration is the KPI catalogue's profiles (data: KPI_PROFILES, built by
 * default-profiles.ts), shown here as the OpenSIPS modparam text an operator would write.
 */

/**
 * The embedded default configuration: the call-KPI profiles (docs/kpis.md: `perc`, `10m-perc`,
 * `1h-perc`, `avg`, `10m-avg`, `1h-avg`), the 95th-percentile profiles of PDD and AST, and the two
 * per-minute INVITE profiles of the OpenSIPS statistics module's documentation example. `perc` and `avg` keep OpenSIPS' defaults:
 * window=60 s, slots=60 (1 s each). Written from the catalogue's data; the server builds its
 * profiles from that data (src/config/default-profiles.ts), not from this text.
 */
export const DEFAULT_MODPARAMS = `# sipstats embedded default configuration (OpenSIPS modparam syntax)
${KPI_MODPARAMS}`;

export const DEFAULTS = Object.freeze({
  /** HTTP listener, `HOST:PORT`; 127.0.0.1 like OpenSIPS' httpd, never all interfaces by default. */
  listen: '127.0.0.1:8888',
  /** Bearer token for /mi and /metrics; null = no token needed. */
  token: null as string | null,
  /** Environment variable that may carry the read-only token (reads and /metrics; no MI command that changes statistics). */
  readTokenEnv: 'SIPSTATS_READ_TOKEN',
  /** Environment variable that may carry the token (the config's `auth.token` wins over none, the flag over both). */
  tokenEnv: 'SIPSTATS_TOKEN',
  /** Snapshot directory of `serve` (relative to the working directory; one server per directory). */
  dataDir: './data',
  /** Seconds between periodic snapshots (`--snapshot-interval`). */
  snapshotIntervalS: 5,
  /** Series written between event-loop yields while a snapshot is encoded. */
  snapshotYieldEvery: 5000,
  /** Cluster sync: ms between pushes; keys outlive their window by this margin (clock skew); reconnect backoff cap. */
  clusterFlushMs: 1000,
  clusterExpiryMarginMs: 30_000,
  clusterMaxReconnectDelayMs: 5000,
  /** TCP listeners (HEP, OpenSIPS event_stream): connections at once, and idle time before a connection is closed (ms). */
  tcpMaxConnections: 256,
  tcpIdleTimeoutMs: 300_000,
  /** URL the `sipstats mi` client talks to. */
  miUrl: 'http://127.0.0.1:8888/mi',
  replay: Object.freeze({
    /** Bytes read from the capture file at a time, in bytes (1 MiB). */
    chunkBytes: 1024 * 1024,
    /**
     * How far V8 lets the heap of a `sipstats replay` process grow past the memory still in use
     * after a full collection before the next one, in percent (V8's `--heap-growing-percent`; its
     * own choice is up to 300 %, i.e. 4×). Replay holds a bounded set (tracked calls, seen
     * requests, series: docs/kpis.md#replay-memory), so this only stops the heap from growing
     * lazily: with V8's choice RSS rose with the file (about 220 MB at 0.29 GB, 350 MB at 1 GB,
     * 430 MB at 5 GB of the benchmark's mix); at 50 % it stays at about 230 MB, at the cost of
     * more frequent full collections. Not a limit: a larger set in use still fits. A
     * `--heap-growing-percent` given to node wins.
     */
    heapGrowingPercent: 50,
  }),
  http: Object.freeze({
    /** Largest request body read, in bytes (1 MiB); past it the reply is 413. */
    bodyLimit: 1024 * 1024,
    /** Time to receive the request headers, in ms (then 408 and close). */
    headersTimeout: 10_000,
    /** Time to receive a whole request, in ms (then 408 and close). */
    requestTimeout: 30_000,
    /** Idle time of a keep-alive connection between requests, in ms. */
    keepAliveTimeout: 5_000,
    /** A socket with no traffic at all for this long is closed, in ms. */
    idleTimeout: 60_000,
    /** Resolution of the header/request timeouts (how often Node checks them), in ms. */
    checkInterval: 1_000,
    /** After a 413, how long the rest of the body is read and dropped before the socket is cut, in ms. */
    drainTimeout: 2_000,
    /** After a 413, how many more bytes are read and dropped before the socket is cut, in bytes. */
    drainLimit: 4 * 1024 * 1024,
    /** On shutdown, how long in-flight requests may still take, in ms. */
    shutdownGrace: 10_000,
  }),
});
