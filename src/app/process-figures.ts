import { getHeapSpaceStatistics } from 'node:v8';
import type { ProcessFigures } from '../export/process-metrics.ts';

const startTime = Math.round((Date.now() - process.uptime() * 1000) / 1000);

/** This process's figures for `/metrics` (export/process-metrics.ts): RSS, CPU, the V8 heap and its spaces. */
export function processFigures(): ProcessFigures {
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rss: m.rss,
    cpuUser: cpu.user / 1e6,
    cpuSystem: cpu.system / 1e6,
    startTime,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    spaces: getHeapSpaceStatistics().map((s) => ({ name: s.space_name.replace(/_space$/, ''), size: s.space_size, used: s.space_used_size })),
  };
}
