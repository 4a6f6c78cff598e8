/**
 * Every default of sipstats in one place, each with its unit: the server's, the traffic inputs',
 * the call tracker's, the capture decoder's, the history's, the alerts' and the dashboard's. A leaf
 * (it imports nothing): every layer may read it, and none writes a default of its own (each
 * layer's `*_DEFAULTS` is a section of this object). Rules that are not settings (how long a reply
 * waits for its INVITE...) stay beside the code they rule, documented in docs/kpis.md.
 * The embedded statistics configuration (the KPI catalogue's profiles) is config/defaults.ts's
 * DEFAULT_MODPARAMS: it is built from the catalogue.
 */
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
  /**
   * How far V8 lets the heap of a `sipstats serve` process grow past what is in use after a full
   * collection, in percent (its own choice is up to 300 %): the server's memory then follows what
   * it holds (a burst of 10 000 new customers: 12.6 KB of RSS each with V8's choice, 9.3–9.5 KB at 50 %,
   * the pipeline's speed unchanged within noise). A `--heap-growing-percent` given to node wins.
   */
  serveHeapGrowingPercent: 50,
  /**
   * Keep V8's young generation of a `sipstats serve` process at its first size (2 MB) instead of
   * letting it grow to 32 MB under load and keep it (src/app/heap.ts keepYoungGenerationSmall):
   * after a burst of 10 000 new customers that growth was 3 KB of RSS a customer, never given back.
   * Node's own `--semi-space-growth-factor` or `--max-semi-space-size` wins.
   */
  serveSmallYoungGeneration: true,
  /**
   * How often `sipstats serve` gives the C heap's free pages back to the system, in ms (0: never;
   * src/app/mem-trim.ts, glibc only): typed arrays replaced as they grow leave freed pages between
   * live ones (2.2 KB of RSS a new customer after a burst, until trimmed).
   */
  serveMemTrimMs: 10_000,
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
    /**
     * Keep V8's young generation at its first size (2 MB) instead of letting it grow to 32 MB
     * (src/app/heap.ts keepYoungGenerationSmall): peak RSS 177 -> 138-143 MB on the benchmark's
     * capture of 62 000 calls up at once, for about 5-10 % more replay time. Node's own
     * `--semi-space-growth-factor` or `--max-semi-space-size` wins.
     */
    smallYoungGeneration: true,
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
  /** `stat_series_profile` keys, as in OpenSIPS: algorithm, window (seconds), percentage factor. */
  profile: Object.freeze({ algorithm: 'accumulate' as const, window: 60, percentageFactor: 100 }),
  /** Traffic inputs. */
  ingest: Object.freeze({
    /** HEP v3 over UDP and TCP (same port); loopback only unless told otherwise. */
    hepListen: '127.0.0.1:9060',
    /** OpenSIPS event_datagram (UDP) / event_stream (TCP) listener; off unless configured. */
    eventsListen: null as string | null,
  }),
  /** HEP over UDP, read by a thread of its own. */
  udp: Object.freeze({
    /** Receive buffer asked of the kernel, in bytes (Linux caps it at `net.core.rmem_max`, 4 MB by default). */
    recvBuffer: 16 * 1024 * 1024,
    /** A batch is posted once it holds this many bytes (or sooner, when nothing more is to be read). */
    batchBytes: 64 * 1024,
    /** Bytes received and not handled yet at most: at 20 000 HEP frames/s of ~700 bytes, 9 s of the main thread not reading. */
    maxQueued: 128 * 1024 * 1024,
  }),
  /** The call tracker (`kpi` section of the configuration; docs/kpis.md). */
  tracker: Object.freeze({
    /** A call with no final reply after this long fails, in ms (OpenSIPS tm fr_inv_timeout). */
    inviteTimeoutMs: 120_000,
    /** An answered call with no BYE is let go (and counted `calls_expired`) after this long, in ms. */
    maxCallDurationMs: 4 * 3600_000,
    /** Media quality from a capture's RTP (replay turns it on; live HEP has no RTP). */
    media: false,
    /** POOR: a call whose MOS is below this. */
    poorMos: 3.6,
    /** How long an ended transaction's retransmissions are recognised, in ms (64*T1). */
    lingerMs: 32_000,
    /** Calls (and attempts) tracked at most. */
    maxCalls: 500_000,
    /** Distinct values kept per dimension; past it new values fold into `other`. */
    maxCustomers: 10_000,
    maxCarriers: 1_000,
    maxDestinations: 5_000,
    /** A dimension value with no update for this long is removed with its series, in ms (longer than the longest window and the longest tracked call). */
    dimensionIdleMs: 6 * 3600_000,
    /** The INVITE profiles of the OpenSIPS documentation example. */
    inviteSeries: true,
    /** PDD_p95 and AST_p95. */
    percentiles: true,
    /** ACD counted from the INVITE or from the answer. */
    acdFrom: 'invite' as 'invite' | 'answer',
    /** SDR: an answered call that ended within this long is short, in ms. */
    shortCallMs: 10_000,
  }),
  /** The capture decoder's own bounds (docs/kpis.md states them: a test keeps the two in step). */
  capture: Object.freeze({
    maxMessage: 65536,
    /** (the live HEP listener inflates to the same bound) */
    maxInflated: 65536,
    maxSctpMessages: 1024,
  }),
  /** A TCP reassembler's bounds (docs/kpis.md). */
  tcp: Object.freeze({
    maxFlows: 8192,
    maxOutOfOrder: 256 * 1024,
    maxOutOfOrderSegments: 512,
    maxTotalBytes: 64 * 1024 * 1024,
    gapTimeoutMs: 5_000,
    idleMs: 600_000,
  }),
  /** An IP fragment table's bounds (docs/kpis.md). */
  fragments: Object.freeze({
    maxDatagrams: 4096,
    maxBytes: 16 * 1024 * 1024,
    timeoutMs: 30_000,
  }),
  /**
   * The dashboard's chart history: points a series, customer series at most, samples a series'
   * window holds before it is recorded (the recorder alone: 1; the server: 5), series a step of
   * the server's pass.
   */
  history: Object.freeze({ points: 120, maxSeries: 25_000, recordFrom: 1, serverRecordFrom: 5, serverStepSeries: 1024 }),
  /** Alert notifications: timeout, resend interval and backoff cap (ms), notifications queued at most. */
  notify: Object.freeze({ timeoutMs: 5_000, resendMs: 60_000, maxBackoffMs: 30_000, maxQueue: 10_000 }),
  /** The alert evaluator: resolved alerts kept for list_alerts; statistics bound to the rules per pass. */
  evaluator: Object.freeze({ recentMax: 200, bindPerPass: 5000 }),
  /** The dashboard: samples to show a value, under which it is "few"; counters listed; carrier × destination cells a window. */
  dashboard: Object.freeze({ minSamples: 1, lowSamples: 5, maxCounters: 1000, maxCells: 2000 }),
  /** Routing answers: samples for a carrier's state (its KPI and window: the catalogue's headline, shortest window). */
  routing: Object.freeze({ minSamples: 1 }),
});
