/**
 * Child of bench/replay.ts and bench/media-replay.ts: replays one capture file with the built code
 * (dist/, what `sipstats replay` runs: `npm run bench` builds first) and prints one JSON line with
 * the figures (wall time of the replay itself, messages, peak RSS of this process). Plain
 * JavaScript: no TypeScript loader in the process whose memory is measured.
 */
import { replayCapture } from '../dist/app/replay.js';
import { boundHeapGrowth, keepYoungGenerationSmall } from '../dist/app/heap.js';
import { defaultConfig } from '../dist/config/load.js';
import { DEFAULTS } from '../dist/defaults.js';

const file = process.argv[2];
boundHeapGrowth(DEFAULTS.replay.heapGrowingPercent); // as `sipstats replay` does
if (DEFAULTS.replay.smallYoungGeneration) keepYoungGenerationSmall();
const t0 = process.hrtime.bigint();
const r = await replayCapture(file, { config: defaultConfig().engine });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(
  JSON.stringify({
    seconds,
    bytes: r.bytes,
    packets: r.packets,
    sipMessages: r.sipMessages,
    read: r.read,
    skipped: r.skipped,
    skippedBy: Object.fromEntries(Object.entries(r.skippedBy).filter(([, v]) => v > 0)),
    calls: r.stats.getStat('sipstats:calls_started'),
    asr: r.stats.getStat('ASR'),
    rtp: r.stats.getStat('sipstats:rtp_packets'),
    loss: r.stats.getStat('LOSS_1h'),
    jitter: r.stats.getStat('JITTER_1h'),
    mos: r.stats.getStat('MOS_1h'),
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  }),
);
