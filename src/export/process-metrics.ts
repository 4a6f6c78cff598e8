import { formatValue } from './prometheus.ts';

/** What a process reports about itself for `/metrics` (app/process-figures.ts reads them). */
export interface ProcessFigures {
  /** Resident set size, bytes. */
  rss: number;
  /** CPU time in user and system mode since the start, seconds. */
  cpuUser: number;
  cpuSystem: number;
  /** Start time, seconds since the Unix epoch. */
  startTime: number;
  /** V8 heap: committed and used bytes; memory outside it held by JavaScript objects (typed arrays...), bytes. */
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** V8 heap spaces (`new`, `old`, `code`, `large_object`...): committed and used bytes. */
  spaces: readonly { name: string; size: number; used: number }[];
}

/**
 * The process's own figures as Prometheus text (pure), named as Prometheus' client libraries name
 * them (`process_*`, and prom-client's `nodejs_*` for the V8 heap), so that the usual process and
 * Node.js dashboards read them: RSS, CPU seconds, start time, the V8 heap and its spaces.
 */
export function processMetricsText(p: ProcessFigures): string {
  const fam = (name: string, type: string, help: string, lines: string[]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${lines.join('\n')}\n`;
  const one = (name: string, type: string, help: string, v: number) => fam(name, type, help, [`${name} ${formatValue(v)}`]);
  const bySpace = (name: string, help: string, pick: (s: ProcessFigures['spaces'][number]) => number) =>
    fam(name, 'gauge', help, p.spaces.map((s) => `${name}{space="${s.name}"} ${formatValue(pick(s))}`));
  return [
    one('process_cpu_user_seconds_total', 'counter', 'CPU time the process spent in user mode, seconds', p.cpuUser),
    one('process_cpu_system_seconds_total', 'counter', 'CPU time the process spent in system mode, seconds', p.cpuSystem),
    one('process_cpu_seconds_total', 'counter', 'CPU time the process spent in user and system mode, seconds', p.cpuUser + p.cpuSystem),
    one('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch, seconds', p.startTime),
    one('process_resident_memory_bytes', 'gauge', 'Resident memory size of the process, bytes', p.rss),
    one('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap committed, bytes', p.heapTotal),
    one('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use, bytes', p.heapUsed),
    one('nodejs_external_memory_bytes', 'gauge', 'Memory outside the V8 heap held by JavaScript objects (typed arrays, buffers), bytes', p.external),
    bySpace('nodejs_heap_space_size_total_bytes', 'V8 heap space committed, bytes (new: the young generation)', (s) => s.size),
    bySpace('nodejs_heap_space_size_used_bytes', 'V8 heap space in use, bytes', (s) => s.used),
  ].join('');
}
