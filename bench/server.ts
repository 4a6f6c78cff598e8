/**
 * Server benchmark, everything on 127.0.0.1 through real sockets, client in the same
 * process (so client work is counted too):
 * - MI `get_statistics` of a 10 000-statistic group: median ms per reply over HTTP (target < 20 ms);
 * - `/metrics` scrape of 100 000 series over HTTP: median ms (target < 300 ms), the same asking for
 *   gzip as Prometheus does (and the bytes sent), the serializer alone, and prom-client's
 *   `registry.metrics()` on the same 100 000 labelled series for comparison;
 * - MI requests per second with 32 requests in flight on a keep-alive agent.
 */
import { Agent, request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import client from 'prom-client';
import { start } from '../src/app/server.ts';
import { parseConfigText } from '../src/config/load.ts';
import { PrometheusSerializer } from '../src/export/prometheus.ts';
import type { BenchResult } from './lib.ts';
import { median, printResults } from './lib.ts';

const CONFIG = `
modparam("statistics", "stat_series_profile", "big: algorithm=accumulate window=60 slots=60 group=big")
modparam("statistics", "stat_series_profile", "10m-perc: algorithm=percentage window=600 slots=10 group=stats_10m")
modparam("statistics", "stat_series_profile", "10m-avg: algorithm=average window=600 slots=10 group=stats_10m")
`;

/**
 * One request on the keep-alive agent. A reused idle socket that the server closed (its keep-alive
 * timeout) as the request went out fails with ECONNRESET: sent again once on a new socket, as any
 * keep-alive client does (seen when building the 100 000 series took longer than the server's
 * 5 s keep-alive timeout on a slow run).
 */
function send(agent: Agent, port: number, path: string, body: string | null, retried = false, gzip = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body === null ? {} : { 'content-type': 'application/json' };
    if (gzip) headers['accept-encoding'] = 'gzip'; // what Prometheus sends
    const req = request({ host: '127.0.0.1', port, path, method: body === null ? 'GET' : 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const all = Buffer.concat(chunks);
        if (gzip) gzipSizes.push(all.length);
        resolve((res.headers['content-encoding'] === 'gzip' ? gunzipSync(all) : all).toString('utf8'));
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (req.reusedSocket && e.code === 'ECONNRESET' && !retried) send(agent, port, path, body, true, gzip).then(resolve, reject);
      else reject(e);
    });
    req.end(body ?? undefined);
  });
}

const post = (agent: Agent, port: number, body: string) => send(agent, port, '/mi', body);
const get = (agent: Agent, port: number, path: string, gzip = false) => send(agent, port, path, null, false, gzip);
/** The compressed sizes of the gzip scrapes. */
const gzipSizes: number[] = [];

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export async function run(): Promise<BenchResult[]> {
  const cfg = parseConfigText(CONFIG);
  if (!cfg.ok) throw new Error(JSON.stringify(cfg.issues));
  let now = 1_795_508_514_000;
  const srv = await start({ config: cfg.value, listen: '127.0.0.1:0', hepListen: null, dataDir: null, clock: () => now, print: () => {}, log: () => {}, env: {} });
  const port = Number(new URL(srv.url).port);
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const out: BenchResult[] = [];
  try {
    // 1. get_statistics of a 10 000-statistic group
    for (let i = 0; i < 10_000; i++) srv.stats.updateStatSeries('big', `cust${i}_calls`, i + 1);
    const getBig = JSON.stringify({ jsonrpc: '2.0', method: 'get_statistics', params: [['big:']], id: '1' });
    const first = JSON.parse(await post(agent, port, getBig));
    if (Object.keys(first.result).length !== 10_000) throw new Error('expected 10 000 statistics');
    const times: number[] = [];
    for (let r = 0; r < 40; r++) {
      now += 250;
      const t0 = process.hrtime.bigint();
      JSON.parse(await post(agent, port, getBig));
      times.push(ms(t0));
    }
    out.push({ name: 'MI get_statistics of a 10 000-statistic group (HTTP)', value: median(times), unit: 'ms', note: `median of 40, reply ${(Buffer.byteLength(JSON.stringify(first)) / 1024).toFixed(0)} KiB; target < 20 ms` });

    // 2. /metrics with 100 000 series (90 000 KPI series with labels + the 10 000 above)
    const kpis = ['ASR', 'NER', 'CCR', 'PDD', 'AST', 'ACD'];
    for (let c = 0; c < 15_000; c++)
      for (const k of kpis) srv.stats.updateStatSeries(k === 'PDD' || k === 'AST' || k === 'ACD' ? '10m-avg' : '10m-perc', `${k}_10mcustomer${c}`, c % 3 === 0 ? -1 : 1);
    // the server's once-a-second tick makes its gauges (calls_tracked) when it first runs: wait for it, so the count holds
    while (srv.stats.getStat('sipstats:calls_tracked') === null) await new Promise((r) => setTimeout(r, 50));
    let series = 0;
    srv.stats.forEachStat(() => series++);
    const cold0 = process.hrtime.bigint();
    const text = await get(agent, port, '/metrics');
    const cold = ms(cold0);
    // (the process's own figures, process_* and nodejs_*, are not statistics: left out of the count)
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('process_') && !l.startsWith('nodejs_')).length;
    // 100 000 of the bench's own, and the server's self-statistics; a KPI series has a second
    // line, the samples behind it (sipstats_kpi_samples): 90 000 more
    if (lines !== series + 90_000 || series < 100_000 || series > 100_100) throw new Error(`expected 100 000 series and the self-statistics, and a samples line per KPI series: got ${series} stats / ${lines} lines`);
    const scrapes: number[] = [];
    for (let r = 0; r < 11; r++) {
      now += 1000;
      const t0 = process.hrtime.bigint();
      await get(agent, port, '/metrics');
      scrapes.push(ms(t0));
    }
    out.push({ name: '/metrics scrape of 100 000 series (HTTP)', value: median(scrapes), unit: 'ms', note: `median of 11; first (cold cache) ${cold.toFixed(0)} ms; ${(text.length / 1048576).toFixed(1)} MiB; target < 300 ms` });
    const zipped: number[] = [];
    for (let r = 0; r < 11; r++) {
      now += 1000;
      const t0 = process.hrtime.bigint();
      const z = await get(agent, port, '/metrics', true);
      zipped.push(ms(t0));
      if (r === 0 && z.split('\n').length !== text.split('\n').length) throw new Error('the gzip scrape unpacks to another number of lines');
    }
    out.push({ name: '/metrics scrape of 100 000 series, gzip (as Prometheus asks)', value: median(zipped), unit: 'ms', note: `median of 11; ${(median(gzipSizes) / 1048576).toFixed(2)} MiB sent for the ${(text.length / 1048576).toFixed(1)} MiB of text (the client's unpacking counts)` });

    const ser = new PrometheusSerializer();
    ser.serializeChunks((cb) => srv.stats.forEachStat(cb));
    const pure: number[] = [];
    for (let r = 0; r < 11; r++) {
      const t0 = process.hrtime.bigint();
      ser.serializeChunks((cb) => srv.stats.forEachStat(cb));
      pure.push(ms(t0));
    }
    const walk: number[] = [];
    for (let r = 0; r < 11; r++) {
      const t0 = process.hrtime.bigint();
      let n = 0;
      srv.stats.forEachStat(() => n++);
      walk.push(ms(t0));
    }
    out.push({ name: 'PrometheusSerializer.serializeChunks (the scrape body), 100 000 series', value: median(pure), unit: 'ms', note: `of which engine forEachStat ${median(walk).toFixed(1)} ms` });

    // the peer: prom-client holding the same 100 000 series as labelled gauges
    const reg = new client.Registry();
    const g = new client.Gauge({ name: 'sipstats_kpi', help: 'h', labelNames: ['kpi', 'window', 'customer', 'group'], registers: [reg] });
    for (let c = 0; c < 15_000; c++) for (const k of kpis) g.set({ kpi: k, window: '10m', customer: `customer${c}`, group: 'stats_10m' }, c % 3 === 0 ? 0 : 100);
    const g2 = new client.Gauge({ name: 'sipstats_calls', help: 'h', labelNames: ['group', 'stat'], registers: [reg] });
    for (let i = 0; i < 10_000; i++) g2.set({ group: 'big', stat: `cust${i}_calls` }, i + 1);
    await reg.metrics();
    const prom: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      await reg.metrics();
      prom.push(ms(t0));
    }
    out.push({ name: 'prom-client registry.metrics(), same 100 000 series', value: median(prom), unit: 'ms', note: `sipstats serializer is ${(median(prom) / median(pure)).toFixed(1)}x faster` });

    // 3. MI requests per second, 32 in flight
    const small = JSON.stringify({ jsonrpc: '2.0', method: 'get_statistics', params: [['ASR_10mcustomer7', 'cust7_calls']], id: 1 });
    const total = 20_000;
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        sent++;
        await post(agent, port, small);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker)); // warm-up
    sent = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 32 }, worker));
    const rps = total / (ms(t0) / 1000);
    out.push({ name: 'MI requests/s, 32 in flight, keep-alive (small get_statistics)', value: rps, unit: 'req/s', note: 'client in the same process' });
  } finally {
    agent.destroy();
    await srv.close();
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  printResults('server', await run());
}
