/**
 * The routing answers in a closed loop with a real Kamailio (Debian `kamailio`, its `http_client`
 * module from `kamailio-utils-modules`): for every call the proxy asks sipstats
 * (`GET /api/route?...&format=csv`, test/e2e/routing/kamailio.cfg) in which order to try
 * carrier_a and carrier_b, tries them in that order and fails over on a 503; sipstats learns from
 * the same calls (Kamailio's siptrace HEP). SIPp customer and carriers (Debian `sip-tester`).
 *
 * Phase 1: carrier_a refuses every call to +44 (503). Both carriers start `unknown` (too few
 * samples), so the proxy tries them in its own order, a then b, and each call fails over. Once
 * carrier_a has `min_samples` (3) attempts there, it is `crit` and the calls go to carrier_b first:
 * no more failovers (calls_failed_over stops rising).
 * Phase 2: carrier_a recovers (answers) and carrier_b starts refusing: calls go to carrier_b (still
 * `ok` on its good past), fail over to carrier_a, which answers; its ASR climbs back past `warn`
 * and carrier_a comes back `ok`, first.
 *   node --import tsx --test test/e2e/routing-kamailio.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../../src/app/server.ts';
import { parseNativeText } from '../../src/config/yaml-format.ts';
import { kamailioBinary, kamailioModules } from '../support/kamailio.ts';
import { alive, freeUdpPorts, killGroup, processesMentioning, stop, tail } from '../support/processes.ts';

const CUSTOMER = '127.0.0.11';
const CARRIER_A = '127.0.0.21';
const CARRIER_B = '127.0.0.22';
const PHASE1_CALLS = 6;
/** The routing section's min_samples (the sipstats config below). */
const MIN_SAMPLES = 3;
const PHASE2_CALLS = 8;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const YAML = (hepPort: number) => `
hep: { listen: 127.0.0.1:${hepPort} }
kpi:
  customer: { kind: cidr, map: { "${CUSTOMER}/32": acme } }
  platform: ["127.0.0.1/32"]
  carrier: { kind: cidr, map: { "${CARRIER_A}/32": carrier_a, "${CARRIER_B}/32": carrier_b } }
routing: { kpi: ASR, window: 1m, min_samples: ${MIN_SAMPLES}, warn: 50, crit: 20 }
`;

test('Kamailio asks sipstats for each call: a failing carrier drops to crit and the failovers stop; it comes back ok when it recovers', { timeout: 120_000 }, async (t) => {
  if (spawnSync('sipp', ['-v'], { stdio: 'ignore' }).error !== undefined) throw new Error('sipp is missing: apt-get install sip-tester');
  const modules = kamailioModules();
  if (spawnSync('sh', ['-c', `test -e ${modules}/http_client.so`]).status !== 0) throw new Error('Kamailio http_client.so is missing: apt-get install kamailio-utils-modules');
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-routing-e2e-'));
  const children: ChildProcess[] = [];
  const [hepPort, sipPort, portA, portB, portC] = await freeUdpPorts(5);
  const parsed = parseNativeText(YAML(hepPort));
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.issues));
  const srv = await start({ config: parsed.value, listen: '127.0.0.1:0', hepListen: `127.0.0.1:${hepPort}`, dataDir: null, print: () => {}, log: () => {}, env: {} });
  const run = (name: string, cmd: string, args: string[]) => {
    // (in the run directory: SIPp writes its error logs where it runs)
    // (a process group of its own: Kamailio's worker processes outlive a main process killed alone)
    const c = spawn(cmd, args, { cwd: dir, detached: true, stdio: ['ignore', openSync(join(dir, `${name}.log`), 'w'), openSync(join(dir, `${name}.err`), 'w')] });
    c.on('error', () => {});
    children.push(c);
    return c;
  };
  const uas = (name: string, ip: string, port: number, scenario: string) => run(name, 'sipp', ['-sf', new URL(`./routing/${scenario}`, import.meta.url).pathname, '-i', ip, '-p', String(port), '-nostdin', '-trace_err']);
  const calls = async (name: string, n: number) => {
    const u = run(name, 'sipp', [`127.0.0.1:${sipPort}`, '-sf', new URL('./routing/uac.xml', import.meta.url).pathname, '-i', CUSTOMER, '-p', String(portC), '-s', '+442071234567', '-m', String(n), '-r', '2', '-l', '1', '-nostdin', '-trace_err']);
    await new Promise<void>((r) => (alive(u) ? u.once('exit', () => r()) : r()));
    assert.equal(u.exitCode, 0, `${name}: ${tail(readFileSync(join(dir, `${name}.err`), 'utf8'))}`);
    await sleep(300); // the last messages' HEP
  };
  const order = async () => (await (await fetch(`${srv.url}/api/route?number=%2B442071234567&carriers=carrier_a,carrier_b`)).json()) as { carriers: { carrier: string; state: string; score: number | null; samples: number }[] };
  try {
    const httpPort = new URL(srv.url).port;
    const cfg = readFileSync(new URL('./routing/kamailio.cfg', import.meta.url), 'utf8')
      .replaceAll('@SIP_PORT@', String(sipPort))
      .replaceAll('@HEP_PORT@', String(hepPort))
      .replaceAll('@HTTP_PORT@', httpPort)
      .replaceAll('@MODULES@', modules)
      .replaceAll('@CARRIER_A@', `${CARRIER_A}:${portA}`)
      .replaceAll('@CARRIER_B@', `${CARRIER_B}:${portB}`);
    writeFileSync(join(dir, 'kamailio.cfg'), cfg);
    run('kamailio', kamailioBinary(), ['-DD', '-E', '-f', join(dir, 'kamailio.cfg'), '-P', join(dir, 'kamailio.pid'), '-Y', dir]);
    const a1 = uas('carrier_a-503', CARRIER_A, portA, 'uas-503.xml');
    const b1 = uas('carrier_b-200', CARRIER_B, portB, 'uas-200.xml');
    await sleep(1500);

    // phase 1: carrier_a refuses. Its first min_samples calls fail over (FOR 100: both carriers are
    // unknown, the proxy's own order), the next ones go to carrier_b first: FOR falls. FOR is decided 2 s
    // after a call's final reply (Kamailio's siptrace may deliver the second attempt's INVITE after the
    // 200 it relays to the customer: test/regression/late-attempt-for.test.ts)
    await calls('phase1a', MIN_SAMPLES);
    await sleep(2500);
    const forFirst = srv.stats.getStat('FOR');
    await calls('phase1b', PHASE1_CALLS - MIN_SAMPLES);
    const failedOver1 = srv.stats.getStat('sipstats:calls_failed_over') ?? 0;
    const o1 = await order();
    t.diagnostic(`debug: ${JSON.stringify(Object.fromEntries(['ASR~carrier=carrier_a~dest=44', 'ASR~carrier=carrier_a', 'NER~carrier=carrier_a~dest=44', 'sipstats:attempts_started', 'sipstats:attempts_uncorrelated', 'CPS_1h~carrier=carrier_a~dest=44', 'ASR~carrier=carrier_b~dest=44', 'FOR'].map((n) => [n, srv.stats.getStat(n)])))}`);
    t.diagnostic(`phase 1: ${failedOver1} of ${PHASE1_CALLS} calls failed over; order now ${JSON.stringify(o1.carriers.map((c) => [c.carrier, c.state, c.score, c.samples]))}`);
    assert.equal(failedOver1, MIN_SAMPLES, 'the calls failed over until carrier_a had min_samples attempts to +44, then went to carrier_b first');
    assert.deepEqual(o1.carriers.map((c) => [c.carrier, c.state]), [
      ['carrier_b', 'ok'],
      ['carrier_a', 'crit'],
    ]);
    assert.equal(srv.stats.getStat('ASR~carrier=carrier_a~dest=44'), 0);
    assert.equal(srv.stats.getStat('sipstats:calls_started'), PHASE1_CALLS);
    await sleep(2500);
    const forAll = srv.stats.getStat('FOR');
    t.diagnostic(`FOR ${forFirst} after the first ${MIN_SAMPLES} calls, ${forAll} after ${PHASE1_CALLS}`);
    assert.equal(forFirst, 100, 'FOR: the first calls all failed over');
    assert.equal(forAll, Math.floor((100 * MIN_SAMPLES) / PHASE1_CALLS), 'FOR fell: the calls after carrier_a went crit took one attempt');
    const log = readFileSync(join(dir, 'kamailio.err'), 'utf8');
    assert.ok(log.includes('sipstats order for +442071234567: carrier_b,carrier_a (HTTP 200)'), `Kamailio used sipstats' order:\n${tail(log)}`);

    // phase 2: carrier_a recovers, carrier_b refuses
    await stop(a1, 'SIGTERM', 2000);
    await stop(b1, 'SIGTERM', 2000);
    uas('carrier_a-200', CARRIER_A, portA, 'uas-200.xml');
    uas('carrier_b-503', CARRIER_B, portB, 'uas-503.xml');
    await sleep(500);
    await calls('phase2', PHASE2_CALLS);
    const o2 = await order();
    t.diagnostic(`phase 2: order now ${JSON.stringify(o2.carriers.map((c) => [c.carrier, c.state, c.score, c.samples]))}`);
    assert.equal(o2.carriers[0].carrier, 'carrier_a', 'carrier_a first again');
    assert.equal(o2.carriers[0].state, 'ok', 'carrier_a ok again');
    assert.ok(o2.carriers[0].score! > 50);
  } finally {
    for (const c of children) killGroup(c);
    await srv.close();
    if (process.env.SIPSTATS_KEEP_CAPTURE !== undefined) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  // nothing it started is left running (Kamailio's workers outlived their main process killed alone)
  await sleep(200);
  assert.deepEqual(processesMentioning(dir), []);
});
