import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSip, type SipParseResult } from '../../src/protocol/sip/parse.ts';

const CODES = new Set(['SIP_EMPTY', 'SIP_BAD_START_LINE', 'SIP_BAD_VERSION', 'SIP_BAD_STATUS']);

/** Parses and reads every field: nothing may throw, errors carry a known code. */
function parseAll(buf: Buffer): SipParseResult {
  const r = parseSip(buf);
  if (!r.ok) {
    assert.ok(CODES.has(r.error.code), r.error.code);
    return r;
  }
  const m = r.value;
  void [m.isRequest, m.method, m.status, m.ruriUser, m.ruriHost, m.callId, m.cseq, m.fromTag, m.fromUser, m.fromDomain];
  void [m.toTag, m.toUser, m.toDomain, m.viaBranch, m.header('Reason'), m.header('m'), m.contentLength, m.header('X-Customer'), m.header('v')];
  const body = m.body;
  assert.ok(body.length <= buf.length);
  if (m.contentLength !== null) assert.ok(body.length <= m.contentLength);
  return r;
}

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`\'~';
const token = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 24 });
/** Characters that matter to a SIP parser, plus some UTF-8 and controls. */
const sipish = fc.string({ unit: fc.constantFrom(...'ab:;<>"\\ \t\r\n=,@%/?[]01SIP-é日\u0000'), maxLength: 300 });

test('random bytes never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      parseAll(Buffer.from(bytes));
    }),
    { numRuns: 1000 },
  );
});

test('valid start lines followed by SIP-flavoured noise never throw', () => {
  const start = fc.constantFrom('INVITE sip:a@b SIP/2.0\r\n', 'SIP/2.0 200 OK\r\n', 'BYE sip:x SIP/2.0\n', 'SIP/2.0 180 Ringing\n');
  const names = fc.constantFrom('Via', 'v', 'From', 'f', 'To', 't', 'Call-ID', 'i', 'CSeq', 'Content-Length', 'l', 'Reason', 'm', 'X-Customer', ' ', '');
  const header = fc.tuple(names, fc.constantFrom(':', ' :', ''), sipish).map(([n, c, v]) => `${n}${c}${v}\r\n`);
  fc.assert(
    fc.property(start, fc.array(header, { maxLength: 12 }), sipish, (s, hs, tail) => {
      const r = parseAll(Buffer.from(s + hs.join('') + tail, 'utf8'));
      assert.ok(r.ok, 'a valid start line always parses');
    }),
    { numRuns: 1000 },
  );
});

interface Generated {
  text: string;
  callId: string;
  fromTag: string;
  toTag: string | null;
  seq: number;
  method: string;
  branch: string;
  customer: string;
  user: string;
  status: number;
  contentLength: number;
  body: string;
}

/** Random header-name casing and compact forms. */
function nameForm(full: string, compact: string | null, pick: number): string {
  if (compact !== null && pick % 3 === 0) return pick % 2 === 0 ? compact : compact.toUpperCase();
  return pick % 3 === 1 ? full.toUpperCase() : pick % 3 === 2 ? full.toLowerCase() : full;
}

const generated: fc.Arbitrary<Generated> = fc
  .record({
    request: fc.boolean(),
    method: fc.oneof(fc.constantFrom('INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'UPDATE'), token),
    status: fc.integer({ min: 100, max: 699 }),
    callId: fc.tuple(token, fc.option(token, { nil: null })).map(([a, b]) => (b === null ? a : `${a}@${b}`)),
    fromTag: token,
    toTag: fc.option(token, { nil: null }),
    seq: fc.nat(0x7fffffff),
    branch: token.map((t) => `z9hG4bK${t}`),
    customer: token,
    user: fc.string({ unit: fc.constantFrom(...'abcdefghij0123456789+-_.!~*'), minLength: 1, maxLength: 16 }),
    body: fc.string({ maxLength: 60 }),
    picks: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
    ws: fc.array(fc.constantFrom(' ', '  ', '\t', ' \r\n ', '\r\n\t'), { minLength: 8, maxLength: 8 }),
    order: fc.array(fc.nat(), { minLength: 9, maxLength: 9 }),
    eol: fc.constantFrom('\r\n', '\n'),
    filler: fc.array(fc.tuple(token, fc.string({ unit: fc.constantFrom(...'abc ;=<>@:"'), maxLength: 30 })), { maxLength: 5 }),
  })
  .map((g) => {
    const p = g.picks;
    const w = g.ws.map((s) => s.replace(/\r\n/g, g.eol)); // folding uses the message's own line end
    const bodyBytes = Buffer.byteLength(g.body, 'utf8');
    const headers = [
      `${nameForm('Via', 'v', p[0])}:${w[0]}SIP/2.0/UDP 192.0.2.1:5060;rport${w[1]};branch=${g.branch}, SIP/2.0/UDP 10.0.0.1;branch=other`,
      `${nameForm('From', 'f', p[1])} :${w[2]}"Caller"${w[3]}<sip:${g.user}@Example.COM;transport=udp>${w[4]};tag=${g.fromTag}`,
      `${nameForm('To', 't', p[2])}: <sip:callee@example.net;tag=not-this-one>${g.toTag === null ? '' : `;tag=${g.toTag}`}`,
      `${nameForm('Call-ID', 'i', p[3])}:${w[5]}${g.callId}`,
      `${nameForm('CSeq', null, p[4])}: ${g.seq}${w[6]}${g.method}`,
      `${nameForm('X-Customer', null, p[5])}:${w[7]}${g.customer}`,
      `${nameForm('Content-Length', 'l', p[6])}: ${bodyBytes}`,
      'Max-Forwards: 70',
      ...g.filler.map(([n, v]) => `X-F-${n}: ${v}`),
    ];
    // shuffle deterministically from the generated order values
    const shuffled = headers.map((h, i) => ({ h, k: g.order[i % g.order.length] * 31 + i })).sort((a, b) => a.k - b.k).map((x) => x.h);
    const start = g.request ? `${g.method} sip:callee@example.net SIP/2.0` : `SIP/2.0 ${g.status} Whatever Reason`;
    const text = [start, ...shuffled].join(g.eol) + g.eol + g.eol + g.body;
    return {
      text,
      callId: g.callId,
      fromTag: g.fromTag,
      toTag: g.toTag,
      seq: g.seq,
      method: g.method,
      branch: g.branch,
      customer: g.customer,
      user: g.user,
      status: g.request ? 0 : g.status,
      contentLength: bodyBytes,
      body: g.body,
    };
  });

test('generated messages (random casing, compact forms, folding, order) parse to what was generated', () => {
  fc.assert(
    fc.property(generated, (g) => {
      const r = parseAll(Buffer.from(g.text, 'utf8'));
      assert.ok(r.ok);
      const m = r.value;
      assert.equal(m.status, g.status);
      if (g.status === 0) assert.equal(m.method, g.method);
      assert.equal(m.callId, g.callId);
      assert.deepEqual(m.cseq, { seq: g.seq, method: g.method });
      assert.equal(m.fromTag, g.fromTag);
      assert.equal(m.toTag, g.toTag);
      assert.equal(m.viaBranch, g.branch);
      assert.equal(m.header('X-Customer'), g.customer);
      assert.equal(m.fromUser, g.user);
      assert.equal(m.fromDomain, 'example.com');
      assert.equal(m.toUser, 'callee');
      assert.equal(m.contentLength, g.contentLength);
      assert.equal(m.body.toString('utf8'), g.body);
    }),
    { numRuns: 500 },
  );
});

test('valid messages with flipped bytes, inserted line breaks or cut short never throw', () => {
  const edit = fc.tuple(fc.nat(), fc.constantFrom(-1, 0x00, 0x0a, 0x0d, 0x20, 0x3a, 0x3b, 0x22, 0x3c, 0xff));
  fc.assert(
    fc.property(generated, fc.array(edit, { minLength: 1, maxLength: 8 }), fc.nat(), (g, edits, cut) => {
      const buf = Buffer.from(g.text, 'utf8');
      for (const [at, v] of edits) buf[at % buf.length] = v < 0 ? buf[at % buf.length] ^ 0x20 : v;
      parseAll(buf);
      parseAll(buf.subarray(0, cut % (buf.length + 1)));
    }),
    { numRuns: 1000 },
  );
});

/** Every field the parser gives, as plain data. */
function fields(r: SipParseResult): unknown {
  if (!r.ok) return r.error;
  const m = r.value;
  return [m.isRequest, m.method, m.status, m.ruriUser, m.ruriHost, m.callId, m.cseq, m.fromTag, m.fromUser, m.fromDomain, m.toTag, m.toUser, m.toDomain, m.viaBranch, m.header('Reason'), m.header('X-Customer'), m.contentLength, [...m.body]];
}

test('a message parsed where it lies in a larger buffer (a frame payload) gives what it gives alone, bytes around it ignored', () => {
  const start = fc.constantFrom('INVITE sip:a@b SIP/2.0\r\n', 'SIP/2.0 200 OK\r\n', '\r\nBYE sip:x SIP/2.0\n', 'garbage\r\n', '');
  const names = fc.constantFrom('Via', 'From', 'To', 't', 'Call-ID', 'CSeq', 'Content-Length', 'l', 'Reason', 'X-Customer', ' ');
  const header = fc.tuple(names, fc.constantFrom(':', ' :'), sipish).map(([n, c, v]) => `${n}${c}${v}\r\n`);
  // what lies around it looks like more of it: line ends, headers, a blank line and a body
  const around = fc.array(fc.constantFrom('\n', '\r\n', 'Call-ID: other\r\n', 'X-Customer: evil\r\n', ';tag=t', '\r\n\r\nbody', 'x'), { maxLength: 6 }).map((a) => Buffer.from(a.join('')));
  fc.assert(
    fc.property(start, fc.array(header, { maxLength: 10 }), sipish, around, around, (s, hs, tail, before, after) => {
      const msg = Buffer.from(s + hs.join('') + tail, 'utf8');
      const frame = Buffer.concat([before, msg, after]);
      assert.deepEqual(fields(parseSip(frame, before.length, before.length + msg.length)), fields(parseSip(msg)));
    }),
    { numRuns: 1000 },
  );
});
