/**
 * Every capture transport, end to end with real tools: SIPp calls over UDP, over TCP (`-t t1`, one connection;
 * `-t tn`, one per call) captured with tcpdump on lo, and over UDP with an INVITE large enough to be
 * IP-fragmented on a 576-byte-MTU veth pair between two network namespaces. Each capture replayed
 * gives the same KPIs as the same calls over plain UDP.
 *
 * Needs Debian sip-tester (sipp), tcpdump, iproute2 and root (capture, network namespaces). A
 * missing tool fails the test with the package to install. Every process and namespace started
 * here is removed, whatever happens.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcap } from '../support/pcap-read.ts';
import { replayCapture } from '../../src/app/replay.ts';
import type { ReplayResult } from '../../src/app/replay.ts';
import { defaultConfig } from '../../src/config/load.ts';

const SCENARIOS = resolve(fileURLToPath(new URL('./sipp/', import.meta.url)));
const CALLS = 10;
const dir = mkdtempSync(join(tmpdir(), 'sipstats-transports-'));
const children: ChildProcess[] = [];
const NS_A = `sipstats-e2e-a-${process.pid}`;
const NS_B = `sipstats-e2e-b-${process.pid}`;

function requireTool(cmd: string, args: string[], pkg: string): void {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.error !== undefined) throw new Error(`${cmd} not found: install Debian ${pkg} (apt-get install ${pkg})`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function start(cmd: string, args: string[], ns?: string): ChildProcess {
  const argv = ns === undefined ? [cmd, ...args] : ['ip', 'netns', 'exec', ns, cmd, ...args];
  // coreutils timeout as a last resort: nothing outlives the test for long
  const c = spawn('timeout', ['-s', 'INT', '-k', '5', '60', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  c.on('error', () => {});
  // keep reading: SIPp redraws its screen on stdout, and a full pipe would stall it
  c.stdout!.on('data', () => {});
  c.stderr!.on('data', () => {});
  children.push(c);
  return c;
}

function exited(c: ChildProcess, ms: number): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((res) => {
    const t = setTimeout(() => res(null), ms);
    c.once('exit', (code) => {
      clearTimeout(t);
      res(code);
    });
  });
}

async function stop(c: ChildProcess, sig: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  c.kill(sig);
  // `timeout -k 5` kills the tool itself 5 s after passing the signal on
  if ((await exited(c, 8000)) === null) c.kill('SIGKILL');
}

function cleanupNetns(): void {
  for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

after(async () => {
  // SIGINT first: `timeout` passes it on to the tool (a SIGKILL would orphan the tool)
  await Promise.all(children.map((c) => stop(c, 'SIGINT')));
  cleanupNetns();
  if (process.env.SIPSTATS_KEEP_CAPTURE === undefined) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  name: string;
  transport: 'u1' | 't1' | 'tn';
  /** Built-in `uac`, or a scenario file of test/e2e/sipp. */
  uac: string;
  ns?: boolean;
}

/** Plays CALLS calls UAC → UAS under tcpdump; returns the capture file. */
async function play(run: Run, port: number): Promise<string> {
  const pcap = join(dir, `${run.name}.pcap`);
  const [uacIp, uasIp, iface] = run.ns ? ['10.99.0.1', '10.99.0.2', 'veth-b'] : ['127.0.0.1', '127.0.0.1', 'lo'];
  const proto = run.transport === 'u1' ? 'udp' : 'tcp';
  // in the namespace, capture everything on the link: fragments carry no port
  const filter = run.ns ? 'ip' : `${proto} port ${port}`;
  const td = start('tcpdump', ['-i', iface, '-n', '-U', '--immediate-mode', '-w', pcap, filter], run.ns ? NS_B : undefined);
  let err = '';
  td.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 100 && !err.includes('listening on'); i++) await sleep(50);
  assert.ok(err.includes('listening on'), `tcpdump did not start: ${err}`);
  const uas = start('sipp', ['-sn', 'uas', '-t', run.transport === 'tn' ? 't1' : run.transport, '-i', uasIp, '-p', String(port), '-nostdin', '-timeout', '40s'], run.ns ? NS_B : undefined);
  await sleep(500);
  const scen = run.uac === 'uac' ? ['-sn', 'uac'] : ['-sf', join(SCENARIOS, run.uac)];
  const uac = start('sipp', [`${uasIp}:${port}`, ...scen, '-t', run.transport, '-i', uacIp, ...(run.transport === 'tn' ? [] : ['-p', String(port + 1)]), '-m', String(CALLS), '-r', '20', '-d', '300', '-nostdin', '-timeout', '30s', '-timeout_error', '-max_socket', '64'], run.ns ? NS_A : undefined);
  let out = '';
  uac.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await exited(uac, 40_000);
  if (code !== 0) await Promise.all([td, uas, uac].map((c) => stop(c)));
  assert.equal(code, 0, `sipp UAC (${run.name}) failed: ${out.slice(-2000)}`);
  if (process.env.SIPSTATS_E2E_DEBUG) console.error(run.name, out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').slice(-1500));
  await sleep(300);
  await stop(td);
  await stop(uas, 'SIGTERM');
  assert.ok(existsSync(pcap), `${run.name}: no capture`);
  return pcap;
}

async function replay(file: string): Promise<{ r: ReplayResult; kpis: Record<string, number> }> {
  const r = await replayCapture(file, { config: defaultConfig().engine });
  const reply = await r.stats.mi('get_statistics', [['all']]);
  const all = ('result' in reply ? reply.result : {}) as Record<string, number>;
  const kpis: Record<string, number> = {};
  for (const [k, v] of Object.entries(all)) if (/^stats(_10m|_1h)?:(ASR|NER|CCR)/.test(k) || k.startsWith('inv_') || k === 'sipstats:calls_started') kpis[k] = v;
  return { r, kpis };
}

/** PDD/AST averages: within `ms` of each other (the runs are different runs of SIPp). */
function closeTimes(a: ReplayResult, b: ReplayResult, ms: number): void {
  for (const k of ['PDD', 'AST']) {
    const x = a.stats.getStat(`stats:${k}`) ?? NaN;
    const y = b.stats.getStat(`stats:${k}`) ?? NaN;
    assert.ok(Math.abs(x - y) <= ms, `${k}: ${x} vs ${y}`);
  }
}

describe('SIPp over UDP, TCP and fragmented UDP, captured with tcpdump', () => {
  test('TCP (-t t1 and -t tn) gives the KPIs of the same calls over UDP', { timeout: 180_000 }, async () => {
    requireTool('sipp', ['-v'], 'sip-tester');
    requireTool('tcpdump', ['--version'], 'tcpdump');
    requireTool('timeout', ['--version'], 'coreutils');
    const base = 20000 + (process.pid % 2000) * 10;
    const udp = await replay(await play({ name: 'udp', transport: 'u1', uac: 'uac' }, base));
    assert.equal(udp.r.read.udp, CALLS * 6, JSON.stringify(udp.r.read));
    assert.equal(udp.kpis['sipstats:calls_started'], CALLS);
    assert.equal(udp.kpis['stats:ASR'], 100);
    for (const [i, t] of (['t1', 'tn'] as const).entries()) {
      const tcp = await replay(await play({ name: `tcp-${t}`, transport: t, uac: 'uac' }, base + 2 + 2 * i));
      assert.equal(tcp.r.read.tcp, CALLS * 6, `${t}: ${JSON.stringify(tcp.r.read)} ${JSON.stringify(tcp.r.skippedBy)}`);
      assert.deepEqual(tcp.kpis, udp.kpis, `${t}: KPIs`);
      closeTimes(tcp.r, udp.r, 50);
      for (const k of ['tcp_gap', 'tcp_incomplete', 'tcp_overflow', 'not_sip', 'malformed'] as const) assert.equal(tcp.r.skippedBy[k], 0, `${t}: skipped ${k}`);
      assert.ok(tcp.r.skippedBy.no_payload > 0, 'handshakes and ACKs are counted');
    }
  });

  test('UDP with an INVITE fragmented on a 576-byte MTU link gives the KPIs of the same calls unfragmented', { timeout: 180_000 }, async () => {
    requireTool('sipp', ['-v'], 'sip-tester');
    requireTool('tcpdump', ['--version'], 'tcpdump');
    requireTool('ip', ['-V'], 'iproute2');
    cleanupNetns();
    const sh = (args: string[]) => {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr} (network namespaces need root)`);
    };
    try {
      sh(['netns', 'add', NS_A]);
      sh(['netns', 'add', NS_B]);
      sh(['link', 'add', 'veth-a', 'netns', NS_A, 'mtu', '576', 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', NS_B, 'mtu', '576']);
      sh(['-n', NS_A, 'addr', 'add', '10.99.0.1/24', 'dev', 'veth-a']);
      sh(['-n', NS_B, 'addr', 'add', '10.99.0.2/24', 'dev', 'veth-b']);
      for (const [ns, dev] of [[NS_A, 'veth-a'], [NS_B, 'veth-b']]) {
        sh(['-n', ns, 'link', 'set', dev, 'up']);
        sh(['-n', ns, 'link', 'set', 'lo', 'up']);
      }
      const base = 24000 + (process.pid % 2000) * 10;
      const plain = await replay(await play({ name: 'big-sdp-lo', transport: 'u1', uac: 'uac-big-sdp.xml' }, base));
      const file = await play({ name: 'big-sdp-fragmented', transport: 'u1', uac: 'uac-big-sdp.xml', ns: true }, base + 2);
      // the capture really holds IPv4 fragments (MF set or offset > 0)
      const frags = readPcap(readFileSync(file)).packets.filter((p) => p.linkType === 1 && p.data.readUInt16BE(12) === 0x0800 && (p.data.readUInt16BE(20) & 0x3fff) !== 0).length;
      assert.ok(frags >= CALLS * 2, `${frags} fragments in the capture`);
      const frag = await replay(file);
      assert.equal(frag.r.read.udp, plain.r.read.udp, JSON.stringify(frag.r.skippedBy));
      assert.equal(frag.r.skippedBy.fragments_incomplete, 0);
      assert.deepEqual(frag.kpis, plain.kpis);
      assert.equal(frag.kpis['sipstats:calls_started'], CALLS);
      closeTimes(frag.r, plain.r, 50);
    } finally {
      cleanupNetns();
    }
  });
});
