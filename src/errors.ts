/**
 * One registry of coded errors. Every error sipstats reports carries a stable `code` (asserted in
 * tests, listed in docs/errors.md) and its numeric code: the MI code, or for the HTTP listener's own
 * replies (E_HTTP_*) the HTTP status.
 */
export const ERRORS = {
  // the HTTP listener's own replies: the body is {"error": title, "code": "E_HTTP_...", "message"?}
  E_HTTP_BAD_REQUEST: { mi: 400, title: 'Bad Request' },
  E_HTTP_UNAUTHORIZED: { mi: 401, title: 'Unauthorized' },
  E_HTTP_NOT_FOUND: { mi: 404, title: 'Not Found' },
  E_HTTP_METHOD: { mi: 405, title: 'Method Not Allowed' },
  E_HTTP_TOO_LARGE: { mi: 413, title: 'Payload Too Large' },
  E_HTTP_UNAVAILABLE: { mi: 503, title: 'Service Unavailable' },
  E_HTTP_INTERNAL: { mi: 500, title: 'Internal Server Error' },
  E_BAD_VALUE: { mi: 400, title: 'Bad value' },
  E_BAD_NAME: { mi: 400, title: 'Bad statistic name' },
  E_BAD_PARAMS: { mi: -32602, title: 'Invalid params' },
  E_UNKNOWN_GROUP: { mi: 404, title: 'Group not declared' },
  E_UNKNOWN_PROFILE: { mi: 404, title: 'Profile not found' },
  E_NAME_TAKEN: { mi: 409, title: 'Statistic name already in use' },
  E_NOT_FOUND: { mi: 404, title: 'Statistics Not Found' },
  E_SERIES_LIMIT: { mi: 429, title: 'Series limit reached' },
  E_CONFIG: { mi: 400, title: 'Invalid configuration' },
  E_READ_ONLY: { mi: 403, title: 'Forbidden' },
  E_CLUSTER_UNAVAILABLE: { mi: 503, title: 'Cluster values unavailable' },
  E_DATA_DIR_LOCKED: { mi: 500, title: 'Data directory in use' },
  // what cannot happen unless sipstats itself is wrong (a table that disagrees with the catalogue...)
  E_INTERNAL: { mi: 500, title: 'Internal error' },
  // an alert notification not delivered (no answer in time, shutting down): retried, then dropped and counted
  E_NOTIFY: { mi: 502, title: 'Notification not delivered' },
  // a listener (HTTP, HEP, OpenSIPS events) that cannot bind: the message names it and its address
  E_LISTEN: { mi: 500, title: 'Cannot listen' },
  // snapshots (reported at start; the file is moved aside, never deleted)
  E_SNAPSHOT_MAGIC: { mi: 500, title: 'Not a sipstats snapshot' },
  E_SNAPSHOT_VERSION: { mi: 500, title: 'Snapshot format version not supported' },
  E_SNAPSHOT_TRUNCATED: { mi: 500, title: 'Snapshot truncated' },
  E_SNAPSHOT_CORRUPT: { mi: 500, title: 'Snapshot checksum mismatch' },
  E_SNAPSHOT_READ: { mi: 500, title: 'Snapshot unreadable' },
  E_SNAPSHOT_WRITE: { mi: 500, title: 'Snapshot not written' },
  // configuration issues (each one a line of an E_CONFIG error)
  E_CFG_SYNTAX: { mi: 400, title: 'Syntax error' },
  E_CFG_UNKNOWN_PARAM: { mi: 400, title: 'Unknown parameter' },
  E_CFG_BAD_VARIABLE: { mi: 400, title: 'Bad variable' },
  E_CFG_BAD_GROUP: { mi: 400, title: 'Bad group' },
  E_CFG_BAD_PROFILE: { mi: 400, title: 'Bad profile' },
  E_CFG_DUPLICATE: { mi: 400, title: 'Duplicate definition' },
  E_CFG_BAD_ALERT: { mi: 400, title: 'Bad alert rule' },
  E_CFG_BAD_NOTIFY: { mi: 400, title: 'Bad notification target' },
  E_CFG_BAD_REDIS: { mi: 400, title: 'Bad Redis settings' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class SipstatsError extends Error {
  readonly code: ErrorCode;
  readonly miCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail: string, details?: Record<string, unknown>) {
    super(`${ERRORS[code].title}: ${detail}`);
    this.name = 'SipstatsError';
    this.code = code;
    this.miCode = ERRORS[code].mi;
    this.details = details;
  }
}

/** A problem found in configuration input, with where it is. */
export interface ConfigIssue {
  readonly code: ErrorCode;
  /** 1-based line number (OpenSIPS text) or 0 when not line-based. */
  readonly line: number;
  /** Path in a native config document, e.g. `profiles[2].window`. */
  readonly path?: string;
  readonly message: string;
}

/** Thrown when configuration is refused: lists every problem at once. */
export class ConfigError extends SipstatsError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], source = 'config') {
    super(
      'E_CONFIG',
      `${source}: ${issues.length} problem(s)\n` +
        issues.map((i) => `  ${i.line ? `line ${i.line}` : i.path ?? ''}: [${i.code}] ${i.message}`).join('\n'),
      { issues },
    );
    this.issues = issues;
  }
}

/** What a bind failure's errno means, in the words of the message. */
const BIND_ERRNO: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'address not available on this host',
};

/**
 * A listener that cannot bind, named with its address: `HEP listener 127.0.0.1:9060 (UDP): address
 * already in use`. `details.errno` keeps the system code (EADDRINUSE, ...).
 */
export function listenError(listener: string, host: string, port: number, e: unknown, transport?: 'UDP' | 'TCP'): SipstatsError {
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  const what = (errno !== undefined ? BIND_ERRNO[errno] : undefined) ?? (e instanceof Error ? e.message : String(e));
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new SipstatsError('E_LISTEN', `${listener} ${at}${transport !== undefined ? ` (${transport})` : ''}: ${what}`, { listener, address: at, ...(transport !== undefined ? { transport } : {}), ...(errno !== undefined ? { errno } : {}) });
}

export type Result<T, E = ConfigIssue[]> = { ok: true; value: T } | { ok: false; issues: E };
