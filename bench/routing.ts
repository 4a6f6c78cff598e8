/**
 * Routing answers ("which carrier for this number?"): answers per second in-process (Router.answer,
 * 5 carriers asked a question) and the latency of `GET /api/route` over HTTP on loopback (p50, p99,
 * one request at a time on a kept-alive connection, from a client process of its own on the other
 * core) beside a plain `GET /health` on the same server and a bare Node HTTP server in the same
 * process (the floor of the machine), the three alternating. The server holds the figures of 1 000 carriers and 250 destinations (the ITU
 * country codes), 20 carriers a destination (5 000 carrier × destination pairs, 3 attempts each,
 * some failing). The targets: ≥ 100 000 answers/s in-process and p99 < 1 ms over HTTP.
 *   npm run bench -- routing
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { start } from '../src/app/server.ts';
import { parseNativeText } from '../src/config/yaml-format.ts';
import { encodeHep } from '../src/protocol/hep/encode.ts';
import type { BenchResult } from './lib.ts';
import { median, opsPerSec, printResults } from './lib.ts';

const CARRIERS = 1000;
const DESTINATIONS = 250;
const PER_DESTINATION = 20;
const PLATFORM = '10.0.0.1';
const carrierIp = (c: number) => `172.16.${c >> 8}.${c & 255}`;

/** Country codes of the default prefix table that the numbers dial (one per destination). */
const CODES = ['1', '7', '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49', '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86', '90', '91', '92', '93', '94', '95', '98', '211', '212', '213', '216', '218', '220', '221', '222', '223', '224', '225', '226', '227', '228', '229', '230', '231', '232', '233', '234', '235', '236', '237', '238', '239', '240', '241', '242', '243', '244', '245', '246', '248', '249', '250', '251', '252', '253', '254', '255', '256', '257', '258', '260', '261', '262', '263', '264', '265', '266', '267', '268', '269', '290', '291', '297', '298', '299', '350', '351', '352', '353', '354', '355', '356', '357', '358', '359', '370', '371', '372', '373', '374', '375', '376', '377', '378', '380', '381', '382', '383', '385', '386', '387', '389', '420', '421', '423', '500', '501', '502', '503', '504', '505', '506', '507', '508', '509', '590', '591', '592', '593', '594', '595', '596', '597', '598', '599', '670', '672', '673', '674', '675', '676', '677', '678', '679', '680', '681', '682', '683', '685', '686', '687', '688', '689', '690', '691', '692', '850', '852', '853', '855', '856', '880', '886', '960', '961', '962', '963', '964', '965', '966', '967', '968', '970', '971', '972', '973', '974', '975', '976', '977', '992', '993', '994', '995', '996', '998'];

function yaml(): string {
  const map = Array.from({ length: CARRIERS }, (_, c) => `"${carrierIp(c)}/32": carrier_${c}`).join(', ');
  return `kpi:\n  platform: ["${PLATFORM}/32"]\n  maxCarriers: 2000\n  maxDestinations: 1000\n  carrier: { kind: cidr, map: { ${map} } }\nrouting: { kpi: ASR, window: 1m, min_samples: 1, warn: 50, crit: 20 }\n`;
}

function frame(src: string, dst: string, t: number, lines: string[]): Buffer {
  return encodeHep({ srcIp: src, dstIp: dst, srcPort: 5060, dstPort: 5060, timeMs: t, payload: Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`) });
}

export async function run(): Promise<BenchResult[]> {
  const parsed = parseNativeText(yaml());
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const srv = await start({ config: parsed.value, listen: '127.0.0.1:0', hepListen: null, dataDir: null, print: () => {}, log: () => {}, env: {} });
  try {
    // the figures: each destination's 20 carriers get 3 attempts, the odd carriers failing one in three
    const dests = CODES.slice(0, DESTINATIONS);
    const t0 = Date.now() - 5000;
    let n = 0;
    for (const [d, code] of dests.entries())
      for (let k = 0; k < PER_DESTINATION; k++) {
        const c = (d * 7 + k * 50) % CARRIERS;
        for (let a = 0; a < 3; a++, n++) {
          const number = `+${code}5550${n}`;
          const head = (first: string, cseq: string, tag = '') => [first, `Via: SIP/2.0/UDP ${PLATFORM};branch=z9hG4bKr${n}`, `From: <sip:c@x>;tag=f${n}`, `To: <sip:${number}@x>${tag}`, `Call-ID: bench-${n}@x`, `CSeq: ${cseq}`];
          srv.pipeline.onFrame(frame(PLATFORM, carrierIp(c), t0, head(`INVITE sip:${number}@${carrierIp(c)} SIP/2.0`, '1 INVITE')));
          srv.pipeline.onFrame(frame(carrierIp(c), PLATFORM, t0 + 100, head(c % 2 === 1 && a === 0 ? 'SIP/2.0 503 Service Unavailable' : 'SIP/2.0 200 OK', '1 INVITE', ';tag=t')));
        }
      }
    const pairs = srv.pipeline.tracker.scopes.size;
    // the questions: a destination's 5 first carriers, in a rotating order
    const questions = dests.map((code, d) => ({ number: `+${code}4444`, carriers: Array.from({ length: 5 }, (_, k) => `carrier_${(d * 7 + k * 50) % CARRIERS}`) }));
    // in-process: the server's own MI command (what a plugin or script in the same process calls)
    const mi = srv.stats.registry;
    const first = mi.call('route_carriers', questions[0]) as { result?: { carriers: { state: string }[] } };
    if (first.result === undefined) throw new Error(`route_carriers: ${JSON.stringify(first)}`);
    const states = first.result.carriers.map((c) => c.state).join(',');
    const ROUNDS = 20_000;
    const inProcess = opsPerSec(() => {
      for (let i = 0; i < ROUNDS; i++) mi.call('route_carriers', questions[i % questions.length]);
    }, ROUNDS);

    // HTTP: a client of its own (a proxy is another process, another machine: here the other core
    // when taskset is there), one request at a time on one kept-alive connection
    const url = new URL(srv.url);
    const paths = questions.map((q) => `/api/route?number=${encodeURIComponent(q.number)}&carriers=${q.carriers.join(',')}&format=text`);
    // the floor: a bare Node HTTP server in the same process, answering "ok" (no routing, no auth, nothing)
    const bare = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const barePort = (bare.address() as AddressInfo).port;
    let lat: Awaited<ReturnType<typeof httpClient>>;
    try {
      lat = await httpClient(url, paths, barePort);
    } finally {
      bare.close();
    }
    const stats = (ms: number[]) => {
      ms.sort((a, b) => a - b);
      return { p50: median(ms), p99: ms[Math.floor(ms.length * 0.99)], p999: ms[Math.floor(ms.length * 0.999)], max: ms[ms.length - 1] };
    };
    const route = stats(lat.route);
    const health = stats(lat.health);
    const cold = stats(lat.cold);
    const floor = stats(lat.bare);
    return [
      { name: 'route_carriers in-process (5 carriers asked)', value: inProcess, unit: 'answers/s', note: `${CARRIERS} carriers, ${DESTINATIONS} destinations, ${pairs} scopes held (first answer's states: ${states}); target >= 100 000` },
      { name: 'GET /api/route p50 (loopback, one at a time)', value: route.p50, unit: 'ms', note: `p99.9 ${route.p999.toFixed(2)} ms, slowest ${route.max.toFixed(2)} ms` },
      { name: 'GET /api/route p99', value: route.p99, unit: 'ms', note: `target < 1 ms; GET /health p99 ${health.p99.toFixed(3)} ms in the same run (${(route.p99 / health.p99).toFixed(2)}x)` },
      { name: 'GET /api/route p99 of a server\'s first 1 000 questions', value: cold.p99, unit: 'ms', note: `p50 ${cold.p50.toFixed(3)} ms: the request path is not optimised yet` },
      { name: 'GET /health p50 / p99 (the same server, the same way)', value: health.p50, unit: 'ms', note: `p99 ${health.p99.toFixed(3)} ms` },
      { name: 'bare Node HTTP server p50 / p99 (the same process, the same client)', value: floor.p50, unit: 'ms', note: `p99 ${floor.p99.toFixed(3)} ms: the floor of this machine in this run; /api/route p99 is ${(route.p99 / floor.p99).toFixed(2)}x it` },
    ];
  } finally {
    await srv.close();
  }
}

/**
 * The client: warms both paths up (3 000 of each: a server's request path is optimised by the
 * JavaScript engine over its first thousand or so requests, which a server running for a while is
 * long past), waits out the server's first passes over the figures just fed (its history decides
 * which series to record, once each), then alternates a route question and a /health, 5 000 each,
 * timing each request. The warm-up's first 1 000 route questions are timed too: the tail a server
 * just started shows.
 */
const CLIENT = `
const http = require('node:http');
const [host, port, paths, barePort] = [process.argv[1], Number(process.argv[2]), JSON.parse(process.argv[3]), Number(process.argv[4])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (path, p = port, a = agent) => new Promise((resolve, reject) => {
  const t = process.hrtime.bigint();
  http.get({ host, port: p, path, agent: a }, (res) => { res.resume(); res.on('end', () => resolve(Number(process.hrtime.bigint() - t) / 1e6)); }).on('error', reject);
});
(async () => {
  const cold = [];
  for (let i = 0; i < 3000; i++) { const ms = await get(paths[i % paths.length]); if (i < 1000) cold.push(ms); await get('/health'); await get('/', barePort, bareAgent); }
  await new Promise((r) => setTimeout(r, 2500));
  const route = [], health = [], bare = [];
  for (let i = 0; i < 5000; i++) { route.push(await get(paths[i % paths.length])); health.push(await get('/health')); bare.push(await get('/', barePort, bareAgent)); }
  agent.destroy();
  bareAgent.destroy();
  process.stdout.write(JSON.stringify({ route, health, cold, bare }));
})();
`;

async function httpClient(url: URL, paths: string[], barePort: number): Promise<{ route: number[]; health: number[]; cold: number[]; bare: number[] }> {
  const args = ['-e', CLIENT, url.hostname, url.port, JSON.stringify(paths), String(barePort)];
  const elsewhere = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
  const child = elsewhere ? spawn('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`the HTTP client exited with ${code}`);
  return JSON.parse(out) as { route: number[]; health: number[]; cold: number[]; bare: number[] };
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('Routing answers', await run());
