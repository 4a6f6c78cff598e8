import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { DEFAULTS } from '../config/defaults.ts';
import { TRACKER_DEFAULTS } from '../kpi/call-tracker.ts';
import { HEADLINE_KPI } from '../kpi/catalogue.ts';
import { callMi, miParams } from '../mi/client.ts';
import { ConfigError } from '../errors.ts';
import { INGEST_DEFAULTS } from '../config/ingest-config.ts';
import { loadConfigFile } from '../config/load.ts';
import { redisTargetFromFlags } from '../config/redis-config.ts';
import { replayCommand } from './replay.ts';
import { boundHeapGrowth, keepYoungGenerationSmall } from '../app/heap.ts';
import { trimMemoryEvery } from '../app/mem-trim.ts';
import { exportCommand } from './export.ts';
import { trackerFlags, UsageError } from './args.ts';

/** `sipstats` command line: argument parsing only; the work is in src/app. */

const USAGE = `usage: sipstats <command> [options]

commands:
  serve              run the server (MI over HTTP, /metrics, /health)
    --config FILE    OpenSIPS modparam lines, a whole opensips.cfg, or native YAML/JSON
                     (default: the embedded KPI profiles)
    --listen H:P     HTTP listener (default ${DEFAULTS.listen}; port 0 = any free port)
    --token TOKEN    bearer token required for /mi and /metrics (also $${DEFAULTS.tokenEnv})
    --read-token T   a second token for reads only: /metrics, the dashboard, MI reads (also $${DEFAULTS.readTokenEnv})
    --allow-unauthenticated  serve beyond loopback without a token (refused otherwise)
    --hep-listen H:P HEP v3 over UDP and TCP (default ${INGEST_DEFAULTS.hepListen})
    --no-hep         no HEP listener
    --hep-auth-key K HEP packets must carry this auth key
    --events-listen H:P  OpenSIPS E_ACC_CDR / E_ACC_MISSED_EVENT (event_datagram UDP, event_stream TCP)
    --invite-timeout S   a call with no final reply after S seconds fails (default ${TRACKER_DEFAULTS.inviteTimeoutMs / 1000})
    --customer-key K     header:NAME (default header:X-Customer), from-user, from-domain,
                         to-domain, source-ip, hep-node
    --platform CIDRS     the platform's own SIP servers (10.0.0.0/24,...): INVITEs in from outside
                         are calls, INVITEs out to carriers are attempts (carrier KPIs)
    --carrier-key K      carrier of an attempt: dst-ip (default), ruri-host, header:NAME
    --acd-from W         ACD from the first INVITE (invite, default) or from the answer (answer)
    --data-dir DIR       snapshots: restored at start, saved periodically and on exit (default ./data)
    --snapshot-interval S  seconds between snapshots (default ${DEFAULTS.snapshotIntervalS})
    --no-persist         no snapshots
    --redis URL          share series with the other nodes through Redis (redis://127.0.0.1:6379)
    --redis-cluster H:P[,H:P...]  ... through a Redis Cluster (seed nodes)
    --redis-sentinel H:P[,H:P...] --redis-master NAME  ... through the master Sentinel manages
                         (one of --redis, --redis-cluster, --redis-sentinel; password: config redis.password)
    --node-id ID         this node's id in the cluster (default: the host name)
    --demo               also run the built-in demo traffic generator (as \`sipstats demo\`)
  mi METHOD [ARGS]   call an MI command on a running server, print the JSON result
    --url URL        MI endpoint (default ${DEFAULTS.miUrl})
    --token TOKEN    bearer token (also $${DEFAULTS.tokenEnv})
    --params JSON    send these params as they are (instead of ARGS)
                     ARGS as opensips-cli shapes them: all key=value → named params
                     ({"statistics": [...]} split on spaces); else positional, the
                     commands taking statistics names (get_statistics, get_history,
                     cluster_get_statistics, ...) taking every ARG as one array:
                     [["${HEADLINE_KPI.name}","stats_10m:"]] (get_history: points=N beside it)
  replay FILE        KPIs of a pcap/pcapng capture (UDP SIP, HEP-in-UDP), on the capture's clock
    --json           print what get_statistics all returns at the end of the capture
    --config FILE    profiles (default: the embedded KPI profiles)
    --invite-timeout S, --customer-key K, --platform CIDRS, --carrier-key K, --acd-from W   as for serve
    --by VIEW        rows of the table: customer (default, with all traffic), carrier,
                     destination, or carrier,destination (carriers need --platform)
  export prometheus-rules   the configuration's alert rules as Prometheus alerting rules (YAML)
    --config FILE    native YAML/JSON with an \`alerts\` section (default: none)
    --out FILE       write there instead of stdout
  demo [OPTIONS]     serve plus a built-in HEP traffic generator (several customers of different
                     quality), so the dashboard moves at once; same options as serve
  help               this text
`;

export { UsageError } from './args.ts';


/** The configuration file's own `dataDir`, so that the flag default does not hide it. */
async function configDataDir(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  return (await loadConfigFile(path)).dataDir ?? undefined;
}

async function serve(argv: string[], demoMode = false): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      token: { type: 'string' },
      'read-token': { type: 'string' },
      'allow-unauthenticated': { type: 'boolean' },
      'hep-listen': { type: 'string' },
      'no-hep': { type: 'boolean' },
      'hep-auth-key': { type: 'string' },
      'events-listen': { type: 'string' },
      'invite-timeout': { type: 'string' },
      'customer-key': { type: 'string' },
      platform: { type: 'string' },
      'carrier-key': { type: 'string' },
      'acd-from': { type: 'string' },
      'data-dir': { type: 'string' },
      'snapshot-interval': { type: 'string' },
      'no-persist': { type: 'boolean' },
      redis: { type: 'string' },
      'redis-cluster': { type: 'string' },
      'redis-sentinel': { type: 'string' },
      'redis-master': { type: 'string' },
      'node-id': { type: 'string' },
      demo: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const iv = values['snapshot-interval'] === undefined ? DEFAULTS.snapshotIntervalS : Number(values['snapshot-interval']);
  if (!(iv > 0 && iv <= 86400)) throw new UsageError(`--snapshot-interval must be 0 < SECONDS <= 86400, got '${values['snapshot-interval']}'`);
  boundHeapGrowth(DEFAULTS.serveHeapGrowingPercent);
  if (DEFAULTS.serveSmallYoungGeneration) keepYoungGenerationSmall();
  // (the server's modules load only for the commands that run one: replay and mi start sooner)
  const { exitOnSignals, reloadOnSignal, start } = await import('../app/server.ts');
  const running = await start({
    // the demo keeps nothing on disk unless asked to (--data-dir)
    dataDir: values['no-persist'] || ((values.demo === true || demoMode) && values['data-dir'] === undefined) ? null : (values['data-dir'] ?? (await configDataDir(values.config)) ?? DEFAULTS.dataDir),
    snapshotIntervalS: iv,
    redisTarget: redisTargetFromFlags(values),
    nodeId: values['node-id'],
    demo: values.demo === true || demoMode,
    configPath: values.config,
    listen: values.listen,
    token: values.token,
    readToken: values['read-token'],
    allowUnauthenticated: values['allow-unauthenticated'],
    hepListen: values['no-hep'] ? null : values['hep-listen'],
    hepAuthKey: values['hep-auth-key'],
    eventsListen: values['events-listen'],
    tracker: trackerFlags(values),
  });
  exitOnSignals(running);
  reloadOnSignal(running);
  // (process-wide like the heap flags: the command line's call, not the server's)
  trimMemoryEvery(DEFAULTS.serveMemTrimMs);
  return -1; // keeps running
}

/**
 * Splits `mi` arguments: the options (anywhere), then METHOD and its ARGS verbatim, so that an ARG
 * such as `-1` (`sipstats mi update_stat calls -1`) is a value, not an unknown option. Before
 * METHOD any `-x` is an option (unknown ones are refused by parseArgs); `--` ends the options.
 */
function splitMiArgs(argv: string[]): { options: string[]; positionals: string[] } {
  const withValue = new Set(['--url', '--token', '--params']);
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const name = a.split('=')[0];
    if (withValue.has(name)) {
      options.push(a);
      if (!a.includes('=') && i + 1 < argv.length) options.push(argv[++i]);
    } else if (a === '--help' || a === '-h' || (positionals.length === 0 && a.startsWith('-'))) options.push(a);
    else positionals.push(a);
  }
  return { options, positionals };
}

async function mi(argv: string[]): Promise<number> {
  const split = splitMiArgs(argv);
  const positionals = split.positionals;
  const { values } = parseArgs({
    args: split.options,
    options: { url: { type: 'string' }, token: { type: 'string' }, params: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [method, ...args] = positionals;
  if (method === undefined) throw new UsageError('mi: METHOD missing (try: sipstats mi which)');
  let params: unknown;
  if (values.params !== undefined) {
    if (args.length > 0) throw new UsageError('mi: give either --params or ARGS, not both');
    try {
      params = JSON.parse(values.params);
    } catch {
      throw new UsageError('mi: --params is not valid JSON');
    }
  } else params = miParams(method, args);
  const token = values.token ?? process.env[DEFAULTS.tokenEnv];
  const url = values.url ?? DEFAULTS.miUrl;
  const r = await callMi(url, token, method, params);
  if (!r.ok) {
    process.stderr.write(`sipstats mi: ${r.problem}\n`);
    return 1;
  }
  const reply = r.reply;
  if (reply.error !== undefined) {
    const d = reply.error.data;
    process.stderr.write(`sipstats mi: error ${reply.error.code}: ${reply.error.message}${d !== undefined ? ` (${typeof d === 'string' ? d : JSON.stringify(d)})` : ''}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(reply.result, null, 4)}\n`);
  return 0;
}

/** What EPIPE on stdout/stderr does: a one-shot command ends, a server keeps running. */
let onClosedPipe: 'exit' | 'ignore' = 'exit';
let pipesWatched = false;

/**
 * The reader of our output went away (`sipstats replay FILE | head -1`): the write fails with EPIPE.
 * A one-shot command then ends quietly with exit 0 (nobody is left to read a word of it), as `yes |
 * head -1` ends; a server keeps running and what it would have printed is dropped. Other write
 * errors are thrown as before.
 */
function watchClosedPipes(mode: 'exit' | 'ignore'): void {
  onClosedPipe = mode;
  if (pipesWatched) return;
  pipesWatched = true;
  for (const s of [process.stdout, process.stderr])
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      if (onClosedPipe === 'exit') process.exit(0);
    });
}

/** Runs the CLI; resolves with the exit code, or -1 when a server keeps running. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  watchClosedPipes(command === 'serve' || command === 'demo' ? 'ignore' : 'exit');
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'mi':
        return await mi(rest);
      case 'replay':
        return await replayCommand(rest);
      case 'demo':
        return await serve(rest, true);
      case 'export':
        return await exportCommand(rest);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      case undefined:
        process.stderr.write(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`sipstats: ${(e as Error).message}\nrun 'sipstats help' for usage\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`sipstats: ${e.message}\n`);
      return 2;
    }
    if (code === 'E_DATA_DIR_LOCKED' || code === 'E_LISTEN') {
      process.stderr.write(`sipstats: ${(e as Error).message}\n`);
      return 1;
    }
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`sipstats: cannot listen: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`sipstats: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
