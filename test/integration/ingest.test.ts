import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { AccKpiFeeder } from '../../src/kpi/acc-events.ts';
import { listenHep, listenOpensipsEvents } from '../../src/ingest/ingest.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { invite, newBranch, reply } from '../support/sip-builder.ts';

const wait = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
};

function udpSend(port: number, bufs: Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    let left = bufs.length;
    for (const b of bufs) s.send(b, port, '127.0.0.1', () => --left === 0 && (s.close(), resolve()));
  });
}

function tcpSend(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', async () => {
      for (const ch of chunks) {
        c.write(ch);
        await new Promise((r) => setTimeout(r, 2));
      }
      c.end(() => resolve());
    });
    c.on('error', reject);
  });
}

test('HEP over UDP and over TCP (frames split anywhere, garbage between) feeds the KPIs; bad frames are counted', async () => {
  const stats = createStats({ config: KPI_MODPARAMS });
  const pipe = new SipPipeline(stats.engine);
  const hep = await listenHep({ host: '127.0.0.1', port: 0 }, pipe, stats.engine);
  try {
    const now = Date.now();
    const frame = (sip: Buffer, dt: number) => encodeHep({ srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: 5060, dstPort: 5070, timeMs: now + dt, payload: sip, nodeName: 'edge1' });
    const call = (id: string, code: number, customer: string) => {
      const l = { callId: id, fromTag: 'f', customer };
      const br = newBranch();
      return [frame(invite(l, { branch: br }), 0), frame(reply(180, 'Ringing', l, { branch: br, toTag: 't' }), 100), frame(reply(code, 'X', l, { branch: br, toTag: 't' }), 300)];
    };
    await udpSend(hep.udp.port, [...call('u1', 200, 'acme'), ...call('u2', 503, 'acme'), Buffer.from('not hep at all')]);
    const stream = Buffer.concat([...call('t1', 200, 'globex'), Buffer.from('garbage!'), ...call('t2', 200, 'globex')]);
    const cuts = [0, 7, 61, 200, 201, stream.length - 3, stream.length].filter((x, i, a) => a.indexOf(x) === i && x <= stream.length);
    await tcpSend(hep.tcp.port, cuts.slice(1).map((c, i) => stream.subarray(cuts[i], c)));
    await wait(() => stats.getStat('ASRglobex') === 100 && stats.getStat('ASRacme') === 50, 'KPIs');
    assert.equal(stats.getStat('ASR'), 75);
    assert.equal(stats.getStat('sipstats:hep_decode_errors'), 1);
    assert.ok((stats.getStat('sipstats:hep_packets') ?? 0) >= 12);
  } finally {
    await hep.close();
  }
});

test('OpenSIPS accounting events over event_datagram (JSON and legacy text) and event_stream feed the KPIs', async () => {
  const stats = createStats({ config: KPI_MODPARAMS });
  const acc = new AccKpiFeeder(new SipPipeline(stats.engine).sink);
  const ev = await listenOpensipsEvents({ host: '127.0.0.1', port: 0 }, acc, stats.engine);
  try {
    const cdr = (id: string, setup: number, dur: number, customer: string) =>
      JSON.stringify({ jsonrpc: '2.0', method: 'E_ACC_CDR', params: { method: 'INVITE', callid: id, sip_code: '200', sip_reason: 'OK', setuptime: setup, duration: dur, customer } });
    const missed = (id: string, code: number, customer: string) =>
      JSON.stringify({ jsonrpc: '2.0', method: 'E_ACC_MISSED_EVENT', params: { method: 'INVITE', callid: id, sip_code: String(code), sip_reason: 'X', customer } });
    await udpSend(ev.udp.port, [
      Buffer.from(cdr('a1', 2, 30, 'acme')),
      Buffer.from(cdr('a1', 2, 30, 'acme')), // re-sent: counts once
      Buffer.from('E_ACC_MISSED_EVENT\nmethod::INVITE\ncallid::a2\nsip_code::486\nsip_reason::Busy Here\ncustomer::acme\n'),
      Buffer.from('{"broken json'),
    ]);
    const streamed = missed('b1', 503, 'globex') + '\n' + cdr('b2', 4, 10, 'globex');
    const cut = streamed.lastIndexOf('glo') + 3; // split inside a string value
    await tcpSend(ev.tcp.port, [Buffer.from(streamed.slice(0, cut)), Buffer.from(streamed.slice(cut))]);
    await wait(() => stats.getStat('ASRglobex') === 50 && stats.getStat('ASRacme') === 50, `KPIs ${JSON.stringify((await stats.mi('get_statistics', [['all']])))}`);
    assert.equal(stats.getStat('NERacme'), 100); // answered + busy
    assert.equal(stats.getStat('CCRglobex'), 50); // 503 is a CCR failure
    assert.equal(stats.getStat('ACDacme'), 32);
    assert.equal(stats.getStat('ASTacme'), 2000);
    assert.equal(stats.getStat('sipstats:event_decode_errors'), 1);
  } finally {
    await ev.close();
  }
});

test('a port whose TCP side is taken: the listener fails with E_LISTEN (EADDRINUSE, named) and leaves no UDP socket bound', async () => {
  const stats = createStats({ config: KPI_MODPARAMS });
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  const port = (taken.address() as { port: number }).port;
  try {
    await assert.rejects(listenHep({ host: '127.0.0.1', port }, new SipPipeline(stats.engine), stats.engine), { code: 'E_LISTEN', message: `Cannot listen: HEP listener 127.0.0.1:${port} (TCP): address already in use` });
    await assert.rejects(listenOpensipsEvents({ host: '127.0.0.1', port }, new AccKpiFeeder(new SipPipeline(stats.engine).sink), stats.engine), { code: 'E_LISTEN', message: `Cannot listen: OpenSIPS events listener 127.0.0.1:${port} (TCP): address already in use` });
    // the UDP port the listeners bound first is free again (a leaked socket would also keep the process alive)
    const probe = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => probe.close(() => r()));
  } finally {
    await new Promise<void>((r) => taken.close(() => r()));
  }
});
