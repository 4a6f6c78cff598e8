/**
 * Media quality end to end with real programs: Kamailio (Debian `kamailio`, its rtpengine module)
 * relays the calls of a SIPp customer to two SIPp carriers, each in a network namespace of its own;
 * rtpengine (Debian `rtpengine-daemon`, userspace) relays their media and sends the RTCP it relays
 * to sipstats as HEP (`--homer`); Kamailio sends the SIP as HEP (siptrace). The media comes from
 * GStreamer (Debian `gstreamer1.0-tools`, `-plugins-good`: rtpbin, a real RTP stack with its RTCP
 * sender and receiver reports), one endpoint on each side of each call. carrier_lossy's calls lose
 * LOSS_PCT % of their RTP and RTCP both ways on its link (nftables' random drop in its namespace and
 * on the host side: `tc netem` would be the usual tool, but this machine's kernel has no sch_netem,
 * "Specified qdisc kind is unknown"), and their endpoints hold each packet 5 to 35 ms (GStreamer's
 * netsim: jitter); carrier_clean's are left alone.
 *
 * Checked live (what rtpengine's RTCP says, per carrier): carrier_lossy's LOSS within 1 point of
 * the injected loss, its JITTER above carrier_clean's, its MOS below; carrier_clean at MOS ≥ 4.2.
 * Then `sipstats replay` of the tcpdump capture of the same calls: LOSS and JITTER per carrier and
 * per customer equal to what tshark -z rtp,streams reads of the same file (± 0.2 points, ± 10 %).
 *
 * Needs root (network namespaces, nftables, tcpdump), kamailio, rtpengine-daemon, sip-tester, tcpdump,
 * tshark, nftables, gstreamer1.0-tools, -plugins-good and -plugins-bad (.ci/run installs them). About 40 s:
 *   node --import tsx --test test/e2e/media-rtpengine.test.ts
 * SIPSTATS_KEEP_CAPTURE=1 keeps the run directory (configs, logs, capture) and prints its path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import { replayCapture } from '../../src/app/replay.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { completeTracker, readIngest } from '../../src/config/ingest-config.ts';
import { kamailioBinary, kamailioModules } from '../support/kamailio.ts';
import { alive, killGroup, stop, tail } from '../support/processes.ts';

const LOSS_PCT = 5;
const HOLD_MS = 20_000;
const CALLS_PER_CARRIER = 2;
const CUSTOMER_IP = '127.0.0.11';
const SIP_PORT = 5060;
const NG_PORT = 22290;
/** rtpengine's ports: 32768-33791 (one u32 match: dport & 0xfc00 == 0x8000). */
const RTPE_PORTS = { min: 32768, max: 33791 };
/** The carriers' media ports (uas.xml: 410N0, 410N1 for call N < 10): 40960-41023 (dport & 0xffc0 == 0xa000). */
const NETS = {
  lossy: { ns: 'sipstats-m-lossy', host: 'sm-lossy0', peer: 'sm-lossy1', hostIp: '10.201.0.1', peerIp: '10.201.0.2', impaired: true, dial: '+4420700' },
  clean: { ns: 'sipstats-m-clean', host: 'sm-clean0', peer: 'sm-clean1', hostIp: '10.202.0.1', peerIp: '10.202.0.2', impaired: false, dial: '+4930700' },
} as const;
type Net = (typeof NETS)[keyof typeof NETS];
const PLATFORM_IP = NETS.lossy.hostIp;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** Runs `nft -f` (through `run`: here or in a namespace) on `text`, from a temporary file removed after. */
function nftScript(run: (file: string) => void, text: string): void {
  const d = mkdtempSync(join(tmpdir(), 'sipstats-nft-'));
  try {
    writeFileSync(join(d, 'rules.nft'), `${text}\n`);
    run(join(d, 'rules.nft'));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

function requireTools(): void {
  for (const [bin, args, pkg] of [
    ['rtpengine', ['--version'], 'rtpengine-daemon'],
    ['gst-launch-1.0', ['--version'], 'gstreamer1.0-tools'],
    ['sipp', ['-v'], 'sip-tester'],
    ['tcpdump', ['--version'], 'tcpdump'],
    ['tshark', ['--version'], 'tshark'],
    ['ip', ['-V'], 'iproute2'],
  ] as const) {
    const r = spawnSync(bin, [...args], { stdio: 'ignore' });
    if (r.error !== undefined) throw new Error(`${bin} is missing: apt-get install ${pkg}`);
  }
  if (spawnSync('gst-inspect-1.0', ['rtpbin'], { stdio: 'ignore' }).status !== 0) throw new Error('GStreamer rtpbin is missing: apt-get install gstreamer1.0-plugins-good');
  if (spawnSync('gst-inspect-1.0', ['netsim'], { stdio: 'ignore' }).status !== 0) throw new Error('GStreamer netsim is missing: apt-get install gstreamer1.0-plugins-bad');
  if (spawnSync('nft', ['--version'], { stdio: 'ignore' }).error !== undefined) throw new Error('nft is missing: apt-get install nftables');
}

/** The two namespaces, their veth links, and netem on carrier_lossy's (both ways, RTP/RTCP ports only). */
function setUpNets(): () => void {
  const down = () => {
    spawnSync('nft', ['delete', 'table', 'inet', 'sipstats_media'], { stdio: 'ignore' });
    for (const n of Object.values(NETS)) {
      spawnSync('ip', ['link', 'del', n.host], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'del', n.ns], { stdio: 'ignore' });
    }
  };
  down();
  for (const n of Object.values(NETS)) {
    sh('ip', ['netns', 'add', n.ns]);
    sh('ip', ['link', 'add', n.host, 'type', 'veth', 'peer', 'name', n.peer]);
    sh('ip', ['link', 'set', n.peer, 'netns', n.ns]);
    sh('ip', ['addr', 'add', `${n.hostIp}/24`, 'dev', n.host]);
    sh('ip', ['link', 'set', n.host, 'up']);
    const ns = (...a: string[]) => sh('ip', ['netns', 'exec', n.ns, ...a]);
    ns('ip', 'addr', 'add', `${n.peerIp}/24`, 'dev', n.peer);
    ns('ip', 'link', 'set', n.peer, 'up');
    ns('ip', 'link', 'set', 'lo', 'up');
    ns('ip', 'route', 'add', 'default', 'via', n.hostIp);
    if (!n.impaired) continue;
    // loss on the link, both ways, RTP and RTCP only (SIP keeps its way): nftables' random drop
    // in the carrier's namespace (to rtpengine's ports) and here (to the carrier's media ports)
    const rule = (dst: string, ports: string) => `add rule inet sipstats_media out ip daddr ${dst} udp dport ${ports} numgen random mod 1000 < ${LOSS_PCT * 10} drop`;
    const script = (dst: string, ports: string) => ['add table inet sipstats_media', 'add chain inet sipstats_media out { type filter hook output priority 0; }', rule(dst, ports)].join('\n');
    nftScript((f) => sh('nft', ['-f', f]), script(n.peerIp, '40960-41023'));
    nftScript((f) => ns('nft', '-f', f), script(n.hostIp, `${RTPE_PORTS.min}-${RTPE_PORTS.max}`));
  }
  return down;
}

function bencode(v: unknown): string {
  if (typeof v === 'number') return `i${v}e`;
  if (typeof v === 'string') return `${Buffer.byteLength(v)}:${v}`;
  if (Array.isArray(v)) return `l${v.map(bencode).join('')}e`;
  const o = v as Record<string, unknown>;
  return `d${Object.keys(o)
    .sort()
    .map((k) => bencode(k) + bencode(o[k]))
    .join('')}e`;
}

/** Decodes bencode (rtpengine's ng replies). */
function bdecode(b: Buffer): unknown {
  let i = 0;
  const one = (): unknown => {
    const c = b[i];
    if (c === 0x69) {
      const e = b.indexOf(0x65, i);
      const n = Number(b.toString('latin1', i + 1, e));
      i = e + 1;
      return n;
    }
    if (c === 0x6c || c === 0x64) {
      i++;
      const items: unknown[] = [];
      while (b[i] !== 0x65) items.push(one());
      i++;
      if (c === 0x6c) return items;
      const o: Record<string, unknown> = {};
      for (let k = 0; k < items.length; k += 2) o[String(items[k])] = items[k + 1];
      return o;
    }
    const colon = b.indexOf(0x3a, i);
    const len = Number(b.toString('latin1', i, colon));
    const s = b.toString('latin1', colon + 1, colon + 1 + len);
    i = colon + 1 + len;
    return s;
  };
  return one();
}

let ngCookie = 0;

/** rtpengine's ng protocol (bencoded over UDP): the decoded reply. */
async function ng(command: Record<string, unknown>): Promise<Record<string, unknown>> {
  const s = dgram.createSocket('udp4');
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`rtpengine ng: no reply to ${String(command.command)}`)), 2000);
      s.once('message', (m) => {
        clearTimeout(timer);
        resolve(bdecode(m.subarray(m.indexOf(0x20) + 1)) as Record<string, unknown>);
      });
      // a cookie of its own: rtpengine answers a cookie it has seen with its cached reply (retransmissions)
      s.send(`t${process.pid}x${++ngCookie} ${bencode(command)}`, NG_PORT, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

/** The calls rtpengine holds, and for each where each side sends its RTP (rtpengine's port facing it) and where it listens. */
async function mediaOf(): Promise<{ callId: string; customer: { listen: number; sendTo: number }; carrier: { ip: string; listen: number; sendTo: number } }[]> {
  const ids = ((await ng({ command: 'list' })).calls ?? []) as string[];
  const out = [];
  for (const callId of ids) {
    const q = await ng({ command: 'query', 'call-id': callId });
    // per stream of each side (tag): rtpengine's local port and the endpoint (address, port) it faces
    type Stream = { 'local port': number; endpoint?: { address: string; port: number } };
    const streams: { local: number; ip: string; port: number }[] = [];
    for (const tag of Object.values((q.tags ?? {}) as Record<string, { medias?: { streams?: Stream[] }[] }>))
      for (const m of tag.medias ?? []) for (const st of m.streams ?? []) if (st.endpoint !== undefined) streams.push({ local: st['local port'], ip: st.endpoint.address, port: st.endpoint.port });
    const rtp = streams.filter((s) => s.local % 2 === 0 && s.port % 2 === 0);
    const cust = rtp.find((s) => s.ip === CUSTOMER_IP);
    const carr = rtp.find((s) => s.ip !== CUSTOMER_IP);
    if (cust === undefined || carr === undefined) continue;
    out.push({ callId, customer: { listen: cust.port, sendTo: cust.local }, carrier: { ip: carr.ip, listen: carr.port, sendTo: carr.local } });
  }
  return out;
}

/** A GStreamer endpoint: G.711 A-law at 20 ms to rtpengine, receiving at `listen`, RTCP on the ports above both. */
function gst(ip: string, listen: number, sendTo: number, ns: string | null, jitter: boolean, log: number): ChildProcess {
  const args = [
    '-q',
    // on SIGINT: an end of stream, so that rtpbin sends its last reports (and an RTCP BYE) before it quits
    '-e',
    'rtpbin',
    'name=rb',
    'audiotestsrc',
    'is-live=true',
    'samplesperbuffer=160',
    '!',
    'audio/x-raw,rate=8000,channels=1',
    '!',
    'alawenc',
    '!',
    'rtppcmapay',
    'pt=8',
    'min-ptime=20000000',
    'max-ptime=20000000',
    '!',
    // jitter: every packet held 5 to 35 ms (GStreamer's network simulator), overtaking allowed
    ...(jitter ? ['netsim', 'delay-probability=1', 'min-delay=5', 'max-delay=35', 'allow-reordering=true', '!'] : []),
    'rb.send_rtp_sink_0',
    'rb.send_rtp_src_0',
    '!',
    'udpsink',
    `host=${PLATFORM_IP}`,
    `port=${sendTo}`,
    'sync=false',
    'async=false',
    'rb.send_rtcp_src_0',
    '!',
    'udpsink',
    `host=${PLATFORM_IP}`,
    `port=${sendTo + 1}`,
    'sync=false',
    'async=false',
    'udpsrc',
    `address=${ip}`,
    `port=${listen}`,
    'caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMA,payload=8',
    '!',
    'rb.recv_rtp_sink_0',
    'udpsrc',
    `address=${ip}`,
    `port=${listen + 1}`,
    '!',
    'rb.recv_rtcp_sink_0',
    'rb.',
    '!',
    'rtppcmadepay',
    '!',
    'fakesink',
    'sync=false',
  ];
  return ns === null ? spawn('gst-launch-1.0', args, { stdio: ['ignore', log, log] }) : spawn('ip', ['netns', 'exec', ns, 'gst-launch-1.0', ...args], { stdio: ['ignore', log, log] });
}

interface TsharkStream {
  src: string;
  dst: string;
  packets: number;
  lost: number;
  meanJitter: number;
}

function tsharkStreams(file: string): TsharkStream[] {
  const out: TsharkStream[] = [];
  for (const line of sh('tshark', ['-q', '-r', file, '-z', 'rtp,streams']).split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+\d+\s+(\S+)\s+\d+\s+0x[0-9A-Fa-f]+\s+\S+\s+(\d+)\s+(-?\d+)\s+\([^)]*\)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)/.exec(line);
    if (m !== null) out.push({ src: m[1], dst: m[2], packets: Number(m[3]), lost: Number(m[4]), meanJitter: Number(m[5]) });
  }
  return out;
}

const YAML = (hepPort: number) => `
hep: { listen: 127.0.0.1:${hepPort} }
kpi:
  customer: { kind: cidr, map: { "${CUSTOMER_IP}/32": acme } }
  platform: ["${PLATFORM_IP}/32"]
  carrier: { kind: cidr, map: { "${NETS.lossy.peerIp}/32": carrier_lossy, "${NETS.clean.peerIp}/32": carrier_clean } }
`;

test('rtpengine RTCP over HEP gives per-carrier LOSS, JITTER and MOS of loss and jitter on a real link; replay of the capture agrees with tshark', { timeout: 180_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: network namespaces, nftables and tcpdump');
  requireTools();
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-media-e2e-'));
  const children: ChildProcess[] = [];
  /** Children started in a process group of their own (the whole group is stopped at the end). */
  const groups: ChildProcess[] = [];
  const log = (name: string) => openSync(join(dir, name), 'w');
  const down = setUpNets();
  // the server: its HEP port is where rtpengine and Kamailio send
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const hepPort = (probe.address() as { port: number }).port;
  probe.close();
  const parsed = parseNativeText(YAML(hepPort));
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.issues));
  const srv = await start({ config: parsed.value, listen: '127.0.0.1:0', hepListen: `127.0.0.1:${hepPort}`, dataDir: null, print: () => {}, log: () => {}, env: {} });
  try {
    const run = (name: string, cmd: string, args: string[]) => {
      // (in the run directory: SIPp writes its error logs where it runs)
      // (a process group of its own: Kamailio's worker processes outlive a main process killed alone)
      const c = spawn(cmd, args, { cwd: dir, detached: true, stdio: ['ignore', log(`${name}.log`), log(`${name}.err`)] });
      c.on('error', () => {});
      children.push(c);
      groups.push(c);
      return c;
    };
    const pcap = join(dir, 'media.pcap');
    // (a large kernel buffer: the capture must not lose packets when the machine is busy)
    const td = spawn('tcpdump', ['-i', 'any', '-n', '-U', '--immediate-mode', '-B', '32768', '-w', pcap, `udp and not port ${hepPort} and not port ${NG_PORT}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(td);
    let tdErr = '';
    await new Promise<void>((res, rej) => {
      td.stderr!.on('data', (d: Buffer) => {
        tdErr += d.toString();
        if (tdErr.includes('listening on')) res();
      });
      td.once('exit', (c) => rej(new Error(`tcpdump exited ${c}: ${tdErr}`)));
    });
    run('rtpengine', 'rtpengine', ['--table=-1', `--interface=${PLATFORM_IP}`, `--listen-ng=127.0.0.1:${NG_PORT}`, '--foreground', '--log-stderr', `--homer=127.0.0.1:${hepPort}`, '--homer-id=2002', `--port-min=${RTPE_PORTS.min}`, `--port-max=${RTPE_PORTS.max}`, `--pidfile=${join(dir, 'rtpengine.pid')}`, '--log-level=5']);
    // Kamailio pings rtpengine at its start (and leaves it out if it does not answer)
    for (let i = 0; ; i++) {
      try {
        if ((await ng({ command: 'ping' })).result === 'pong') break;
      } catch (e) {
        if (i > 20) throw new Error(`rtpengine does not answer on its ng port: ${String(e)}\n${tail(readFileSync(join(dir, 'rtpengine.err'), 'utf8'))}`);
      }
    }
    const cfg = readFileSync(new URL('./media/kamailio.cfg', import.meta.url), 'utf8')
      .replaceAll('@PLATFORM_IP@', PLATFORM_IP)
      .replaceAll('@SIP_PORT@', String(SIP_PORT))
      .replaceAll('@MODULES@', kamailioModules())
      .replaceAll('@NG_PORT@', String(NG_PORT))
      .replaceAll('@HEP_PORT@', String(hepPort))
      .replaceAll('@CUSTOMER_IP@', CUSTOMER_IP)
      .replaceAll('@LOSSY@', `${NETS.lossy.peerIp}:${SIP_PORT}`)
      .replaceAll('@CLEAN@', `${NETS.clean.peerIp}:${SIP_PORT}`);
    writeFileSync(join(dir, 'kamailio.cfg'), cfg);
    run('kamailio', kamailioBinary(), ['-DD', '-E', '-f', join(dir, 'kamailio.cfg'), '-P', join(dir, 'kamailio.pid'), '-Y', dir]);
    await sleep(1500);
    for (const n of Object.values(NETS)) run(`uas-${n.ns}`, 'ip', ['netns', 'exec', n.ns, 'sipp', '-sf', new URL('./media/uas.xml', import.meta.url).pathname, '-i', n.peerIp, '-p', String(SIP_PORT), '-m', String(CALLS_PER_CARRIER), '-nostdin', '-trace_err']);
    await sleep(500);
    const uacs = Object.values(NETS).map((n: Net) =>
      run(`uac-${n.ns}`, 'sipp', [`${PLATFORM_IP}:${SIP_PORT}`, '-sf', new URL('./media/uac.xml', import.meta.url).pathname, '-i', CUSTOMER_IP, '-p', n === NETS.lossy ? '5071' : '5072', '-s', n.dial, '-key', 'media_prefix', n === NETS.lossy ? '421' : '422', '-m', String(CALLS_PER_CARRIER), '-r', String(CALLS_PER_CARRIER), '-d', String(HOLD_MS), '-nostdin', '-trace_err']),
    );
    // the media, once rtpengine holds every call
    let calls: Awaited<ReturnType<typeof mediaOf>> = [];
    const until = Date.now() + 10_000;
    while (calls.length < 2 * CALLS_PER_CARRIER && Date.now() < until) {
      await sleep(200);
      calls = await mediaOf();
    }
    assert.equal(calls.length, 2 * CALLS_PER_CARRIER, `rtpengine holds every call: ${JSON.stringify(calls)}\n${tail(readFileSync(join(dir, 'kamailio.err'), 'utf8'))}`);
    const gsts: ChildProcess[] = [];
    for (const [i, c] of calls.entries()) {
      const net = Object.values(NETS).find((n) => n.peerIp === c.carrier.ip)!;
      gsts.push(gst(CUSTOMER_IP, c.customer.listen, c.customer.sendTo, null, net.impaired, log(`gst-customer-${i}.log`)));
      gsts.push(gst(net.peerIp, c.carrier.listen, c.carrier.sendTo, net.ns, net.impaired, log(`gst-carrier-${i}.log`)));
    }
    children.push(...gsts);
    // the endpoints stop (their last reports, while rtpengine still relays them) a few seconds
    // before the UACs hang up, HOLD_MS after their ACK
    const mediaStart = Date.now();
    await sleep(HOLD_MS - 5000 - (Date.now() - mediaStart));
    await Promise.all(gsts.map((g) => stop(g, 'SIGINT', 3000)));
    await Promise.all(uacs.map((u) => new Promise<void>((r) => (alive(u) ? u.once('exit', () => r()) : r()))));
    for (const u of uacs) assert.equal(u.exitCode, 0, `SIPp UAC: ${tail(readFileSync(join(dir, `uac-${u === uacs[0] ? NETS.lossy.ns : NETS.clean.ns}.err`), 'utf8'))}`);
    await sleep(3000); // the BYEs' replies, the 2 s a call's media waits for late reports
    await stop(td, 'SIGINT', 3000);

    // 1. live: rtpengine's RTCP over HEP
    const g = (n: string) => srv.stats.getStat(n);
    const figures = Object.fromEntries(['LOSS', 'JITTER', 'MOS'].flatMap((k) => ['carrier_lossy', 'carrier_clean'].map((c) => [`${k} ${c}`, g(`${k}~carrier=${c}`)])));
    t.diagnostic(`live: ${JSON.stringify(figures)}; rtcp_reports ${g('sipstats:rtcp_reports')}, rtcp_unmatched ${g('sipstats:rtcp_unmatched')}`);
    assert.ok((g('sipstats:rtcp_reports') ?? 0) > 0, 'rtpengine sent RTCP reports over HEP');
    // the loss injected, as it fell: the packets of carrier_lossy's side the capture misses (both
    // ways: nftables drops before the capture point on either side of the link)
    const ts = tsharkStreams(pcap);
    const carrierSide = (net: Net) => ts.filter((s) => s.src === net.peerIp || s.dst === net.peerIp);
    const lostOf = (ss: TsharkStream[]) => (100 * ss.reduce((a, s) => a + Math.max(0, s.lost), 0)) / ss.reduce((a, s) => a + s.packets + s.lost, 0);
    const injected = lostOf(carrierSide(NETS.lossy));
    t.diagnostic(`injected loss: ${injected.toFixed(2)} % (nominal ${LOSS_PCT} %)`);
    assert.ok(Math.abs(injected - LOSS_PCT) <= 2, `the loss that fell (${injected.toFixed(2)} %) is near the nominal ${LOSS_PCT} %`);
    const lossy = g('LOSS~carrier=carrier_lossy');
    const clean = g('LOSS~carrier=carrier_clean');
    assert.ok(lossy !== null && Math.abs(lossy - injected) <= 1, `carrier_lossy LOSS ${lossy} within 1 point of the injected ${injected.toFixed(2)}`);
    assert.ok(clean !== null && clean <= 0.5, `carrier_clean LOSS ${clean}`);
    assert.ok(g('JITTER~carrier=carrier_lossy')! > g('JITTER~carrier=carrier_clean')! + 2, 'jitter rises with the injected jitter');
    assert.ok(g('MOS~carrier=carrier_clean')! >= 4.2, `clean MOS ${g('MOS~carrier=carrier_clean')}`);
    assert.ok(g('MOS~carrier=carrier_lossy')! < g('MOS~carrier=carrier_clean')!, 'MOS falls with loss and jitter');
    // Prometheus sees them as every KPI: sipstats_kpi{kpi="MOS",window="1m",carrier="..."}
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    for (const [kpi, carrier] of [
      ['MOS', 'carrier_clean'],
      ['LOSS', 'carrier_lossy'],
      ['JITTER', 'carrier_lossy'],
    ]) {
      const line = metrics.split('\n').find((l) => l.startsWith(`sipstats_kpi{`) && l.includes(`kpi="${kpi}"`) && l.includes('window="1m"') && l.includes(`carrier="${carrier}"`) && !l.includes('destination='));
      assert.ok(line !== undefined && Number(line.split(' ').pop()) === g(`${kpi}~carrier=${carrier}`), `/metrics: ${kpi} of ${carrier}: ${line}`);
    }

    // 2. the capture of the same calls through replay, against tshark on the same file
    const r = await replayCapture(pcap, { config: parsed.value.engine, ...completeTracker(readIngest(parsed.value.hep, parsed.value.kpi).value.tracker) });
    t.diagnostic(`tshark: ${ts.length} streams, ${ts.reduce((a, s) => a + s.packets, 0)} packets; replay rtp_packets ${r.stats.getStat('sipstats:rtp_packets')}, unmatched ${r.stats.getStat('sipstats:rtp_unmatched')}; tcpdump: ${/\d+ packets dropped by kernel/.exec(tdErr)?.[0] ?? '?'}`);
    if (process.env.SIPSTATS_KEEP_CAPTURE !== undefined) t.diagnostic(sh('tshark', ['-q', '-r', pcap, '-z', 'rtp,streams']));
    // replay tied every RTP packet tshark found (else the figures below compare different streams)
    assert.equal(r.stats.getStat('sipstats:rtp_packets'), ts.reduce((a, s) => a + s.packets, 0), 'every RTP packet of the capture tied to its call');
    const rg = (n: string) => r.stats.getStat(n);
    const side = (pred: (s: TsharkStream) => boolean) => {
      const ss = ts.filter(pred);
      const lost = ss.reduce((a, s) => a + Math.max(0, s.lost), 0);
      const expected = ss.reduce((a, s) => a + s.packets + s.lost, 0);
      return { loss: (100 * lost) / expected, jitter: ss.reduce((a, s) => a + s.meanJitter, 0) / ss.length, n: ss.length };
    };
    for (const [name, net] of [
      ['carrier_lossy', NETS.lossy],
      ['carrier_clean', NETS.clean],
    ] as const) {
      const want = side((s) => s.src === net.peerIp || s.dst === net.peerIp);
      assert.equal(want.n, 2 * CALLS_PER_CARRIER, `tshark: two streams a call on ${name}'s side`);
      assert.ok(Math.abs(rg(`LOSS~carrier=${name}`)! - want.loss) <= 0.2, `replay ${name} LOSS ${rg(`LOSS~carrier=${name}`)}, tshark ${want.loss.toFixed(2)}`);
      assert.ok(Math.abs(rg(`JITTER~carrier=${name}`)! - want.jitter) <= 0.1 * want.jitter + 0.01, `replay ${name} JITTER ${rg(`JITTER~carrier=${name}`)}, tshark ${want.jitter.toFixed(3)}`);
    }
    // the customer's side: every other stream (the customer's endpoint sends from the address its
    // route to rtpengine gives it, not from CUSTOMER_IP: the SDP ties those streams, not their source)
    const carriers: string[] = [NETS.lossy.peerIp, NETS.clean.peerIp];
    const cust = side((s) => !carriers.includes(s.src) && !carriers.includes(s.dst));
    assert.equal(cust.n, 2 * 2 * CALLS_PER_CARRIER, 'tshark: two streams a call on the customer side');
    assert.ok(Math.abs(rg('LOSSacme')! - cust.loss) <= 0.2, `replay acme LOSS ${rg('LOSSacme')}, tshark ${cust.loss.toFixed(2)}`);
    assert.ok(Math.abs(rg('JITTERacme')! - cust.jitter) <= 0.1 * cust.jitter + 0.01, `replay acme JITTER ${rg('JITTERacme')}, tshark ${cust.jitter.toFixed(3)}`);
  } finally {
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
    for (const c of groups) killGroup(c);
    await srv.close();
    down();
    if (process.env.SIPSTATS_KEEP_CAPTURE !== undefined) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
});
