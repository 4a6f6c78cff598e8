import { readFileSync } from 'node:fs';
import { createStats } from '../index.ts';
import type { Stats } from '../index.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { ConfigError } from '../errors.ts';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import type { ServerConfig } from '../config/schema.ts';
import { parseListen } from '../config/schema.ts';
import { metricsRoute } from '../export/metrics-route.ts';
import { createHttpServer, healthRoute, miRoute } from './http-server.ts';
import type { HttpLimits, SipstatsHttpServer } from './http-server.ts';

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
  env?: Record<string, string | undefined>;
  /** Test hook: the engine's clock (Unix ms). */
  clock?: () => number;
  http?: Partial<HttpLimits>;
  /** Where `listening on ...` is written (default stdout). */
  print?: (line: string) => void;
}

export interface Running {
  readonly url: string;
  readonly stats: Stats;
  readonly http: SipstatsHttpServer;
  readonly config: ServerConfig;
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

  const stats = createStats({ config: config.engine, clock: options.clock });
  const http = createHttpServer({
    token,
    limits: options.http,
    routes: [miRoute(stats), metricsRoute(stats), healthRoute(packageVersion())],
  });
  const url = await http.listen(listen.host, listen.port);
  (options.print ?? ((l) => process.stdout.write(`${l}\n`)))(`listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    stats,
    http,
    config,
    close: () => (closing ??= http.close()),
  };
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
