import { parseArgs } from 'node:util';
import { replayCapture } from '../app/replay.ts';
import { boundHeapGrowth, keepYoungGenerationSmall } from '../app/heap.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import { DEFAULT_TABLE_VIEW, formatKpiTable, TABLE_VIEWS, tableView } from '../kpi/kpi-table.ts';
import { trackerFlags, UsageError } from './args.ts';
import { completeTracker } from '../config/ingest-config.ts';
import type { ServerConfig } from '../config/schema.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';
import { TRACKER_DEFAULTS } from '../kpi/call-tracker.ts';

import type { ReplayResult } from '../app/replay.ts';
import { SKIP_REASONS, TRANSPORTS } from '../protocol/net/capture-counts.ts';
import type { SkipReason, Transport } from '../protocol/net/capture-counts.ts';

/** The configuration's `kpi` section, with the command-line flags over it. */
function replayTracker(config: ServerConfig, flags: Parameters<typeof trackerFlags>[0]): TrackerOptions {
  return completeTracker({ ...config.ingest.tracker, ...trackerFlags(flags) });
}

/** `read: udp 120, tcp 40 SIP messages; 3 HEP frames` and `skipped: not_sip 12 (...), ...`. */
export function captureSummary(r: Pick<ReplayResult, 'read' | 'skippedBy' | 'packets'>): string {
  const read = (Object.keys(TRANSPORTS) as Transport[]).filter((t) => t !== 'hep' && r.read[t] > 0).map((t) => `${t} ${r.read[t]}`);
  let out = `  read: ${read.length > 0 ? `${read.join(', ')} SIP messages` : 'no SIP messages'}${r.read.hep > 0 ? `; ${r.read.hep} HEP frames` : ''}\n`;
  const skipped = (Object.keys(SKIP_REASONS) as SkipReason[]).filter((k) => r.skippedBy[k] > 0);
  if (skipped.length === 0) out += '  skipped: nothing\n';
  else {
    out += '  skipped:\n';
    for (const k of skipped) out += `    ${k.padEnd(22)} ${String(r.skippedBy[k]).padStart(9)}  ${SKIP_REASONS[k]}\n`;
  }
  if (read.length === 0 && r.read.hep === 0 && r.packets > 0 && skipped.length === 0) out += '  (no packet carried SIP)\n';
  return out;
}

/**
 * With a platform, when no call and no attempt was seen and SIP was only between platform addresses
 * or only outside them: why, naming the platform given (`source`), so that the user fixes it.
 */
export function platformMissed(r: Pick<ReplayResult, 'stats'>, platform: readonly string[], source: string): string | null {
  if (platform.length === 0) return null;
  const n = (name: string) => Number(r.stats.getStat(`sipstats:${name}`) ?? 0);
  if (n('calls_started') + n('attempts_started') > 0) return null;
  const inside = n('sip_internal');
  const outside = n('sip_outside_platform');
  if (inside + outside === 0) return null;
  const given = `${source} ${platform.join(',')}`;
  const what =
    outside === 0
      ? `every SIP message (${inside}) was between platform addresses (${given})`
      : inside === 0
        ? `no SIP message (${outside}) was to or from a platform address (${given})`
        : `${inside} SIP messages were between platform addresses and ${outside} to or from none (${given})`;
  return `no call: ${what}; calls come in from outside the platform, attempts go out of it: check ${source}`;
}

export const REPLAY_USAGE = `usage: sipstats replay FILE [options]
KPIs of a pcap/pcapng capture on the capture's clock: SIP over UDP, TCP, SCTP and WebSocket, HEP
(compressed too), through VLAN/QinQ, PPPoE, MPLS, GRE/ERSPAN, VXLAN, IP-in-IP; what could not be
read is listed per reason.
  --json               print what get_statistics all returns at the end of the capture
  --config FILE        profiles and the kpi section (default: the embedded KPI profiles)
  --by VIEW            rows of the table: customer (default, with all traffic), carrier,
                       destination, or carrier,destination (carriers need --platform)
  --invite-timeout S   a call with no final reply after S seconds fails (default ${TRACKER_DEFAULTS.inviteTimeoutMs / 1000})
  --customer-key K     header:NAME (default header:X-Customer), from-user, from-domain, to-domain,
                       source-ip, hep-node
  --platform CIDRS     the platform's own SIP servers: calls in, attempts out (carrier KPIs)
  --carrier-key K      carrier of an attempt: dst-ip (default), ruri-host, header:NAME
  --acd-from W         ACD from the first INVITE (invite, default) or from the answer (answer)
  --no-media           leave the capture's RTP aside: no SDP read, no media KPIs (faster on big
                       captures without RTP)
  --no-progress        no progress bar on stderr
  -h, --help           this text
`;

/** `sipstats replay FILE [--json] [--config FILE] [--invite-timeout S] [--customer-key K] ...` */
export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, config: { type: 'string' }, 'invite-timeout': { type: 'string' }, 'customer-key': { type: 'string' }, 'no-progress': { type: 'boolean' }, 'no-media': { type: 'boolean' }, by: { type: 'string' }, platform: { type: 'string' }, 'carrier-key': { type: 'string' }, 'acd-from': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) {
    process.stdout.write(REPLAY_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('replay: give exactly one capture file');
  const by = values.by === undefined ? DEFAULT_TABLE_VIEW : tableView(values.by);
  if (by === undefined) throw new UsageError(`replay: --by must be one of ${TABLE_VIEWS.map((v) => v.name).join(', ')}, got '${values.by}'`);
  const config = values.config !== undefined ? await loadConfigFile(values.config) : defaultConfig();
  const tracker = replayTracker(config, values);
  const platform = tracker.platform ?? [];
  // carriers are those of attempts, the INVITEs the platform sends out: without a platform there are none
  if (by.of === 'attempt' && platform.length === 0)
    throw new UsageError(`replay: --by ${by.name} needs --platform CIDRS (or kpi.platform in the --config file): calls come in to the platform, attempts go out to carriers`);
  const tty = process.stderr.isTTY === true && values['no-progress'] !== true;
  // memory follows what replay holds (bounded), not the file's size (DEFAULTS.replay)
  boundHeapGrowth(DEFAULTS.replay.heapGrowingPercent);
  if (DEFAULTS.replay.smallYoungGeneration) keepYoungGenerationSmall();
  let last = 0;
  const r = await replayCapture(positionals[0], {
    config: config.engine,
    ...tracker,
    media: values['no-media'] !== true,
    log: (level, m) => process.stderr.write(`sipstats replay ${level}: ${m}\n`),
    progress: (done, packets) => {
      if (!tty || (done < 1 && Date.now() - last < 100)) return;
      last = Date.now();
      const w = 30;
      const n = Math.round(done * w);
      process.stderr.write(`\r[${'#'.repeat(n)}${' '.repeat(w - n)}] ${(done * 100).toFixed(0).padStart(3)}%  ${packets} packets${done >= 1 ? '\n' : ''}`);
    },
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'EACCES') throw new UsageError(`replay: cannot read ${positionals[0]}: ${e.code}`);
    throw e;
  });
  if (r.error !== undefined && r.packets === 0) {
    process.stderr.write(`sipstats replay: ${positionals[0]}: ${r.error.code}: ${r.error.message}\n`);
    return 1;
  }
  if (r.error !== undefined) process.stderr.write(`sipstats replay: warning: ${r.error.code}: ${r.error.message} (stopped there)\n`);
  const missed = platformMissed(r, platform, values.platform !== undefined ? '--platform' : `kpi.platform of ${values.config}`);
  if (values.json) {
    // get_statistics all; what was read and skipped is in it as sipstats:read_* and sipstats:skipped_*
    const reply = await r.stats.mi('get_statistics', [['all']]);
    process.stdout.write(`${JSON.stringify('result' in reply ? reply.result : reply, null, 2)}\n`);
    if (missed !== null) process.stderr.write(`sipstats replay: ${missed}\n`);
  } else {
    const span = r.packets > 0 ? `${new Date(r.firstMs).toISOString()} .. ${new Date(r.lastMs).toISOString()}` : 'empty';
    process.stdout.write(`${positionals[0]}: ${r.packets} packets (${r.sipMessages} SIP, ${r.hepFrames} HEP, ${r.mediaPackets > 0 ? `${r.mediaPackets} RTP/RTCP, ` : ''}${r.skipped} skipped), ${span}\n`);
    process.stdout.write(captureSummary(r));
    process.stdout.write('\n');
    process.stdout.write(missed !== null ? `${missed}\n` : formatKpiTable(r.stats.engine, by, { spanMs: r.packets > 1 ? r.lastMs - r.firstMs : undefined }));
    const started = r.stats.getStat('sipstats:calls_started') ?? 0;
    process.stdout.write(`calls: ${started} started, ${r.stats.getStat('sipstats:calls_tracked') ?? 0} still open at the end, ${r.stats.getStat('sipstats:calls_timed_out') ?? 0} timed out\n`);
  }
  return 0;
}
