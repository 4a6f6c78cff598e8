import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { listenHep } from '../../src/ingest/ingest.ts';
import { listenUdp } from '../../src/ingest/hep-udp.ts';
import type { UdpReceiver } from '../../src/ingest/hep-udp.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { invite, newBranch, reply } from '../support/sip-builder.ts';

/**
 * Two capture agents left at the same HEP capture id (Kamailio's and OpenSIPS' default is 1) and
 * no node name, one an hour behind, were one agent to the server: each packet of the other moved
 * the shift (AgentClocks), so the late agent's times became arrival times (its PDD was whatever the
 * network delay made it) and `capture_clock_adjustments` counted every packet. Now the address a
 * frame comes from is part of the agent: each keeps one shift, set once, and exact durations.
 * Through real sockets: the native UDP receiver, the JavaScript receiving thread, and HEP over TCP.
 */
const SERVER = 1_795_508_400_000;
const AN_HOUR = 3600_000;

const wait = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
};

/** One call of agent `who` (PDD `pdd` ms on its own clock), frames in order. */
function call(who: string, behind: number, pdd: number): Buffer[] {
  const l = { callId: `by-address-${who}@test`, fromTag: 'ft', customer: who };
  const br = newBranch();
  const at = (dt: number) => SERVER - behind + dt;
  const frame = (sip: Buffer, dt: number) => encodeHep({ srcIp: '192.0.2.1', dstIp: '192.0.2.2', srcPort: 5060, dstPort: 5060, timeMs: at(dt), payload: sip, captureId: 1 });
  return [frame(invite(l, { branch: br }), 0), frame(reply(180, 'Ringing', l, { branch: br, toTag: 't' }), pdd), frame(reply(486, 'Busy Here', l, { branch: br, toTag: 't' }), pdd + 100)];
}

/** The two agents' frames, interleaved as they would arrive. */
function interleaved(): [Buffer, number][] {
  const late = call('late', AN_HOUR, 2000);
  const onTime = call('ontime', 0, 1500);
  const out: [Buffer, number][] = [];
  for (let i = 0; i < 3; i++) out.push([late[i], 0], [onTime[i], 1]);
  return out;
}

function check(stats: ReturnType<typeof createStats>): void {
  assert.equal(stats.getStat('PDDlate'), 2000);
  assert.equal(stats.getStat('PDDontime'), 1500);
  assert.equal(stats.getStat('sipstats:capture_clock_adjustments'), 1, 'one shift, set once, for the late agent');
  assert.equal(stats.getStat('sipstats:calls_timed_out'), null);
}

const sendUdp = (s: UdpSocket, b: Buffer, port: number) => new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()));

for (const receiver of ['native', 'thread'] as UdpReceiver[]) {
  test(`two agents with one capture id, no node name, an hour apart, over UDP (${receiver} receiver): one shift each`, async () => {
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => SERVER });
    const pipe = new SipPipeline(stats.engine, { clock: () => SERVER });
    const udp = await listenUdp('127.0.0.1', 0, (f, sender) => pipe.onFrame(f, sender), { receiver });
    const agents = [createSocket('udp4'), createSocket('udp4')];
    try {
      const frames = interleaved();
      for (const [f, who] of frames) await sendUdp(agents[who], f, udp.port);
      await wait(() => stats.getStat('ASRontime') !== null && stats.getStat('ASRlate') !== null, 'both calls');
      check(stats);
    } finally {
      for (const a of agents) a.close();
      await udp.close();
    }
  });
}

test('two agents with one capture id, no node name, an hour apart, over HEP/TCP (a connection each): one shift each', async () => {
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => SERVER });
  const pipe = new SipPipeline(stats.engine, { clock: () => SERVER });
  const hep = await listenHep({ host: '127.0.0.1', port: 0 }, pipe, stats.engine);
  const open = () => new Promise<Socket>((resolve, reject) => {
    const c = connect(hep.tcp.port, '127.0.0.1', () => resolve(c));
    c.on('error', reject);
  });
  const conns = [await open(), await open()];
  try {
    const before = () => stats.getStat('sipstats:hep_packets') ?? 0;
    for (const [f, who] of interleaved()) {
      // one frame at a time, each handled before the next is sent: the two connections' order is the test's
      const n = before();
      conns[who].write(f);
      await wait(() => before() === n + 1, 'the frame');
    }
    check(stats);
  } finally {
    for (const c of conns) c.destroy();
    await hep.close();
  }
});
