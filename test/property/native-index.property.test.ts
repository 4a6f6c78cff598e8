/**
 * The native frame indexer (native/sip-index.c) against the JavaScript decoder and parser, the
 * reference: whenever it takes a frame, the packet and the message made from what it found equal,
 * field by field, what decodeHep and parseSip give for the same bytes; what it does not take (IPv6,
 * compressed, folded headers, unknown methods, anything malformed) the JavaScript path reads, and a
 * pipeline with the indexer counts exactly what one without it counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { nativeIndexer } from '../../src/ingest/load-native-index.ts';
import { decodeHep, hepFromIndex } from '../../src/protocol/hep/decode.ts';
import type { DecodedHep } from '../../src/protocol/hep/decode.ts';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { acceptedIndexer, IX } from '../../src/protocol/native-index.ts';
import { parseSip, sipFromIndex } from '../../src/protocol/sip/parse.ts';
import type { SipMessage } from '../../src/protocol/sip/parse.ts';
import { createStats } from '../../src/index.ts';
import { KPI_MODPARAMS } from '../../src/kpi/catalogue.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';

const { indexer, why } = nativeIndexer();

test('the native frame indexer is built by `npm run build` (scripts/build-native.mjs)', () => {
  assert.ok(indexer !== null, why);
});

const HEP_FIELDS = ['ipFamily', 'protocol', 'srcIp', 'dstIp', 'srcPort', 'dstPort', 'tsSec', 'tsUsec', 'timeMs', 'protoType', 'captureId', 'nodeId', 'authKey', 'payloadStart', 'payloadEnd', 'compressed', 'correlationId', 'nodeName'] as const;

/** Every field a consumer can read of a message, header look-ups included. */
function sipFields(m: SipMessage): unknown[] {
  return [
    m.isRequest, m.method, m.status, m.end, m.callId, m.cseq, m.fromTag, m.toTag, m.viaBranch, m.contentLength,
    m.ruriUser, m.ruriHost, m.fromUser, m.fromDomain, m.toUser, m.toDomain,
    m.header('X-Customer'), m.header('v'), m.header('Call-ID'), m.header('x-cid'), m.body.toString('latin1'),
    m.rtpStatHeader(),
  ];
}

let taken = 0;
let declined = 0;

/** The indexer's answer for `frame`, checked against the JavaScript path when it takes it. */
function check(frame: Buffer): boolean {
  if (!indexer!.indexFrame(frame)) {
    declined++;
    return false;
  }
  taken++;
  const fast = hepFromIndex(frame, IX);
  const msg = sipFromIndex(frame, IX);
  // (read before the JavaScript path runs: IX is the indexer's scratch, and nothing here may need it later)
  const fastSip = sipFields(msg);
  const r = decodeHep(frame);
  assert.ok(r.ok, 'the indexer took a frame the decoder refuses');
  const ref = r.value as DecodedHep;
  for (const k of HEP_FIELDS) assert.deepEqual(fast[k], ref[k], `HEP field ${k}`);
  const s = parseSip(ref.frame, ref.payloadStart, ref.payloadEnd);
  assert.ok(s.ok, 'the indexer took a message the parser refuses');
  assert.deepEqual(fastSip, sipFields(s.value), JSON.stringify(frame.toString('latin1', ref.payloadStart, ref.payloadEnd)));
  return true;
}

const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'REGISTER', 'OPTIONS', 'PRACK', 'UPDATE', 'INFO', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH'];
const noise = fc.string({ unit: fc.constantFrom(...'ab:;<>"\\ \t=,@%/?[]01-é\u0000'), maxLength: 40 });
const word = fc.string({ unit: fc.constantFrom(...'abcXYZ019-.!%*_+`\'~'), minLength: 1, maxLength: 12 });
const method = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...METHODS) }, fc.constantFrom('invite', 'FOO', 'INVITE ', ''));
const startLine = fc.oneof(
  fc.tuple(method, fc.constantFrom('sip:+442071234567@h.example;user=phone', 'tel:+15551234', 'sip:%2B33@h', 'sips:u:pw@[::1]:5061', 'sip:h'), fc.constantFrom(' ', '\t', '  ')).map(([m, u, sp]) => `${m}${sp}${u}${sp}SIP/2.0`),
  fc.tuple(fc.constantFrom('SIP/2.0', 'sip/2.0', 'SIP/3.0'), fc.constantFrom('100', '180', '200', '486', '503', '99', '700', '2000', '20x'), fc.constantFrom(' OK', '', ' Service Unavailable ')).map(([v, c, r]) => `${v} ${c}${r}`),
  noise,
);
const nameOf = (full: string, compact: string) => fc.constantFrom(full, full.toUpperCase(), full.toLowerCase(), compact);
const tagged = fc.tuple(fc.constantFrom('', '"Disp;tag=no <x>" ', 'Anon ', '"q\\"x" '), fc.constantFrom('<sip:u@h;tag=inuri>', 'sip:u@h', '<sip:+31@h.example>', 'sip:u@h,x'), fc.constantFrom('', ';tag=abc', ';TAG = "q;x"', ' ; tag=z9', ';tag=', ';x=1;tag=t2,y', ';tag="unclosed'));
const header = fc.oneof(
  fc.tuple(nameOf('Call-ID', 'i'), fc.oneof(word.map((w) => `${w}@host`), noise)),
  fc.tuple(nameOf('CSeq', 'CSeq'), fc.oneof(fc.tuple(fc.constantFrom('1', '4294967295', '4294967296', '00012', '', 'abc', '12345678901'), fc.constantFrom(' ', '  ', '\t', ''), method, fc.constantFrom('', ' ', ' x')).map((p) => p.join('')), noise)),
  fc.tuple(nameOf('From', 'f'), tagged.map((p) => p.join(''))),
  fc.tuple(nameOf('To', 't'), tagged.map((p) => p.join(''))),
  fc.tuple(nameOf('Via', 'v'), fc.tuple(fc.constantFrom('SIP/2.0/UDP h:5060', 'SIP/2.0/TCP [::1]'), fc.constantFrom(';branch=z9hG4bK1;rport', ';rport;BRANCH = "a;b"', '', ';branch=', ';branch=x, SIP/2.0/UDP y;branch=2', ', SIP/2.0/UDP y;branch=3', ';received="1,2";branch=q')).map((p) => p.join(''))),
  fc.tuple(nameOf('Content-Length', 'l'), fc.constantFrom('0', ' 12 ', 'x', '99999999999999999', '4')),
  fc.tuple(fc.constantFrom('X-Customer', 'x-cid', 'Max-Forwards', 'Contact', 'NoColon', '', 'X-RTP-Stat', 'x-siemens-rtp-STATS', 'P-RTP-Sta', 'RTP-STAT'), noise),
);
const eol = fc.constantFrom('\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r');
const sep = fc.constantFrom(':', ': ', ' :', ':\t', ' : ');
const line = fc.tuple(header, sep, eol, fc.constantFrom('', '', '', '', '', '', '', '', ' folded\r\n', '\t\r\n')).map(([[n, v], s, e, fold]) => (n === 'NoColon' ? `NoColon ${v}${e}` : `${n}${s}${v}${e}${fold}`));
const message = fc.tuple(fc.constantFrom('', '\r\n'), startLine, eol, fc.array(line, { maxLength: 14 }), fc.constantFrom('\r\n', '\n', ''), fc.constantFrom('', 'v=0\r\nbody', 'x')).map(([lead, s, e, ls, blank, body]) => `${lead}${s}${e}${ls.join('')}${blank}${body}`);

const hepOf = (payload: string, o: { v6: boolean; node: boolean; corr: boolean; auth: boolean; proto: number }) =>
  encodeHep({
    srcIp: o.v6 ? '2001:db8::1' : '192.0.2.10',
    dstIp: o.v6 ? '2001:db8::2' : '10.0.0.1',
    srcPort: 5060,
    dstPort: 5080,
    tsSec: 4_000_000_000,
    tsUsec: 999_999,
    captureId: 0xfffffff0,
    protoType: o.proto,
    payload,
    ...(o.node ? { nodeName: 'edge1' } : {}),
    ...(o.corr ? { correlationId: 'corr-1@x' } : {}),
    ...(o.auth ? { authKey: 'k3y' } : {}),
  });
const frameOpts = fc.record({ v6: fc.constantFrom(false, false, false, false, true), node: fc.boolean(), corr: fc.boolean(), auth: fc.boolean(), proto: fc.constantFrom(1, 1, 1, 1, 1, 1, 1, 5) });

test('a frame the indexer takes gives, field by field, what the JavaScript decoder and parser give', { skip: indexer === null ? why : false }, () => {
  taken = declined = 0;
  fc.assert(
    fc.property(message, frameOpts, (text, o) => {
      check(hepOf(text, o));
    }),
    { numRuns: 8000 },
  );
  // (not vacuous: the generator makes both kinds, about one frame in six taken)
  assert.ok(taken > 1000, `only ${taken} frames taken, ${declined} declined`);
  assert.ok(declined > 1000, `only ${declined} frames declined`);
});

test('bytes flipped in a taken frame: taken only when the JavaScript path reads the same', { skip: indexer === null ? why : false }, () => {
  const base = hepOf('INVITE sip:+4420@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c1@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n', { v6: false, node: true, corr: true, auth: false, proto: 1 });
  assert.ok(check(base));
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(base.length), (flips, cut) => {
      const f = Buffer.from(base);
      for (const [at, v] of flips) f[at] = v;
      check(f);
      check(f.subarray(0, cut));
    }),
    { numRuns: 3000 },
  );
});

test('what the indexer declines (IPv6, compressed, not SIP, folded, unknown method) is read in JavaScript', { skip: indexer === null ? why : false }, () => {
  const sip = (extra = '', m = 'INVITE') => `${m} sip:1@h SIP/2.0\r\nCall-ID: c@h\r\n${extra}CSeq: 1 ${m}\r\n\r\n`;
  const o = { v6: false, node: false, corr: false, auth: false, proto: 1 };
  assert.equal(indexer!.indexFrame(hepOf(sip(), o)), true);
  for (const [what, frame] of [
    ['IPv6', hepOf(sip(), { ...o, v6: true })],
    ['compressed', encodeHep({ srcIp: '192.0.2.1', dstIp: '10.0.0.1', srcPort: 1, dstPort: 2, payload: deflateSync(sip()), compressedPayload: true })],
    ['not SIP', hepOf(sip(), { ...o, proto: 5 })],
    ['a folded well-known header', hepOf(sip('Via: SIP/2.0/UDP h\r\n ;branch=x\r\n'), o)],
    ['an unknown method', hepOf(sip('', 'FOO'), o)],
  ] as const) {
    assert.equal(indexer!.indexFrame(frame), false, what);
    assert.ok(decodeHep(frame).ok, what);
  }
});

test('a pipeline with the indexer counts exactly what one without it counts', { skip: indexer === null ? why : false }, async () => {
  // calls of every outcome, both legs through a platform, in frames the indexer takes or declines
  const reply = (code: number, leg: number, n: number, tag: boolean) =>
    `SIP/2.0 ${code} X\r\nVia: SIP/2.0/UDP ${leg === 0 ? '192.0.2.10' : '10.0.0.1'};branch=z9hG4bK${leg}x${n}\r\nFrom: <sip:a@h>;tag=f${n}\r\nTo: <sip:b@h>${tag ? `;tag=t${n}` : ''}\r\nCall-ID: call${n}@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
  const invite = (leg: number, n: number, folded: boolean) =>
    `INVITE sip:+4420${n}@h SIP/2.0\r\nVia: SIP/2.0/UDP ${leg === 0 ? '192.0.2.10' : '10.0.0.1'};branch=z9hG4bK${leg}x${n}\r\nFrom: <sip:a@h>;tag=f${n}\r\nTo: <sip:b@h>\r\n${folded ? 'Call-ID:\r\n call' : 'Call-ID: call'}${n}@h\r\nCSeq: 1 INVITE\r\nX-Customer: c${n % 7}\r\nContent-Length: 0\r\n\r\n`;
  const frames: Buffer[] = [];
  const at = (src: string, dst: string, text: string, ms: number) => encodeHep({ srcIp: src, dstIp: dst, srcPort: 5060, dstPort: 5060, timeMs: 1_795_508_400_000 + ms, payload: text });
  for (let n = 0; n < 300; n++) {
    const t = n * 50;
    const code = [200, 486, 503, 404, 180][n % 5];
    frames.push(at('192.0.2.10', '10.0.0.1', invite(0, n, n % 11 === 0), t));
    frames.push(at('10.0.0.1', '198.51.100.1', invite(1, n, false), t + 5));
    frames.push(at('198.51.100.1', '10.0.0.1', reply(code, 1, n, true), t + 900));
    frames.push(at('10.0.0.1', '192.0.2.10', reply(code, 0, n, true), t + 905));
    if (code === 200) frames.push(at('10.0.0.1', '192.0.2.10', `BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb${n}\r\nFrom: <sip:b@h>;tag=t${n}\r\nTo: <sip:a@h>;tag=f${n}\r\nCall-ID: call${n}@h\r\nCSeq: 2 BYE\r\n\r\n`, t + 20_000));
  }
  const run = (withIndexer: boolean) => {
    let now = 1_795_508_400_000;
    const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
    const pipe = new SipPipeline(stats.engine, { platform: ['10.0.0.0/24'], indexer: withIndexer ? indexer : null, onPacketTime: (t) => (now = Math.max(now, t)) });
    for (const f of frames) pipe.onFrame(f);
    pipe.tick(now + 60_000);
    return stats.mi('get_statistics', { statistics: ['all'] });
  };
  const a = await run(true);
  const b = await run(false);
  assert.deepEqual(a, b);
  assert.ok(JSON.stringify(a).includes('ASR'), 'KPIs were computed');
});

test('a module built from another source (another layout) is not used: the JavaScript path reads every frame', () => {
  let set = 0;
  const old = { setOut: () => void set++, index: () => {}, layout: 0, size: 40 };
  const r = acceptedIndexer(old);
  assert.equal(r.indexer, null);
  assert.match(r.why, /rebuild it with `npm run build`/);
  assert.equal(set, 0, 'its output is not registered');
});

test('regression: a worker thread loading the indexer leaves the main thread its own output (it wrote into the worker\'s)', { skip: indexer === null ? why : false }, async () => {
  const frame = hepOf('BYE sip:a@h SIP/2.0\r\nCall-ID: main@h\r\nCSeq: 7 BYE\r\n\r\n', { v6: false, node: false, corr: false, auth: false, proto: 1 });
  // a worker (its own isolate) loads the module and indexes a frame of its own into its own array
  const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register();
    const { parentPort } = await import('node:worker_threads');
    const { nativeIndexer } = await import(${JSON.stringify(new URL('../../src/ingest/load-native-index.ts', import.meta.url).href)});
    const { encodeHep } = await import(${JSON.stringify(new URL('../../src/protocol/hep/encode.ts', import.meta.url).href)});
    const ok = nativeIndexer().indexer.indexFrame(encodeHep({ srcIp: '10.9.9.9', dstIp: '10.0.0.1', srcPort: 1, dstPort: 2, payload: 'OPTIONS sip:x SIP/2.0\\r\\nCall-ID: worker@h\\r\\nCSeq: 1 OPTIONS\\r\\n\\r\\n' }));
    parentPort.postMessage(ok);`;
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
  const workerOk = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  assert.equal(workerOk, true, 'the worker indexed its frame');
  assert.equal(indexer!.indexFrame(frame), true);
  const m = sipFromIndex(frame, IX);
  assert.equal(m.callId, 'main@h');
  assert.deepEqual(m.cseq, { seq: 7, method: 'BYE' });
  assert.equal(hepFromIndex(frame, IX).srcIp, '192.0.2.10');
});

test('random bytes, and random payloads in well-formed frames: the indexer returns, and what it takes the JavaScript path reads the same', { skip: indexer === null ? why : false }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, magic) => {
      const f = Buffer.from(bytes);
      if (magic && f.length >= 6) f.write('HEP3', 0, 'latin1');
      check(f);
    }),
    { numRuns: 3000 },
  );
  const sipBytes = fc.string({ unit: fc.constantFrom(...' \r\n:;"\\<>=,@aSIP/2.0tagbranchINVITECall-IDcseq1'), maxLength: 300 });
  fc.assert(
    fc.property(sipBytes, (text) => {
      check(hepOf(text, { v6: false, node: true, corr: false, auth: false, proto: 1 }));
    }),
    { numRuns: 3000 },
  );
});

/** indexSip's answer for buf[start, end), checked against the JavaScript parser when it takes it. */
function checkSip(buf: Buffer, start: number, end: number): boolean {
  if (!indexer!.indexSip(buf, start, end)) {
    declined++;
    return false;
  }
  taken++;
  const fastSip = sipFields(sipFromIndex(buf, IX));
  const s = parseSip(buf, start, end);
  assert.ok(s.ok, 'the indexer took a message the parser refuses');
  assert.deepEqual(fastSip, sipFields(s.value), JSON.stringify(buf.toString('latin1', start, end)));
  return true;
}

test('a bare SIP message (a capture\'s payload, anywhere in its buffer) the indexer takes gives, field by field, what the JavaScript parser gives', { skip: indexer === null ? why : false }, () => {
  taken = declined = 0;
  const junk = fc.uint8Array({ maxLength: 40 });
  fc.assert(
    fc.property(message, junk, junk, (text, before, after) => {
      const buf = Buffer.concat([Buffer.from(before), Buffer.from(text, 'latin1'), Buffer.from(after)]);
      checkSip(buf, before.length, before.length + Buffer.byteLength(text, 'latin1'));
    }),
    { numRuns: 6000 },
  );
  assert.ok(taken > 500, `only ${taken} messages taken, ${declined} declined`);
  assert.ok(declined > 500, `only ${declined} messages declined`);
  // random bytes and bounds past the buffer: it returns, and declines what it cannot read
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: -5, max: 310 }), fc.integer({ min: -5, max: 310 }), (bytes, s, e) => {
      const buf = Buffer.from(bytes);
      if (s < 0 || e < s || e > buf.length) assert.equal(indexer!.indexSip(buf, s, e), false);
      else checkSip(buf, s, e);
    }),
    { numRuns: 3000 },
  );
});

test('a replay with the indexer counts exactly what one with the JavaScript parser alone counts (the OpenSIPS 3.6.8 and Kamailio 5.6 captures)', { skip: indexer === null ? why : false }, async () => {
  const { replayCapture } = await import('../../src/app/replay.ts');
  const { defaultConfig } = await import('../../src/config/load.ts');
  for (const file of ['test/fixtures/opensips-3.6.8/sip.pcap', 'test/fixtures/kamailio-5.6/sip.pcap']) {
    const all = async (ix: typeof indexer) => {
      const r = await replayCapture(file, { config: defaultConfig().engine, indexer: ix });
      const reply = await r.stats.mi('get_statistics', [['all']]);
      return 'result' in reply ? reply.result : reply;
    };
    const fast = await all(indexer);
    const js = await all(null);
    assert.ok(Object.keys(js as object).length > 20, file);
    assert.deepEqual(fast, js, file);
  }
});
