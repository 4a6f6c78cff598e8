import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSip, headerName, type SipMessage, type SipErrorCode } from '../../src/protocol/sip/parse.ts';

/** Joins lines with CRLF (or `eol`) and adds the blank line ending the headers. */
function msg(lines: string[], body = '', eol = '\r\n'): Buffer {
  return Buffer.from(lines.join(eol) + eol + eol + body, 'utf8');
}

function ok(buf: Buffer | string): SipMessage {
  const r = parseSip(typeof buf === 'string' ? Buffer.from(buf, 'utf8') : buf);
  if (!r.ok) assert.fail(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function err(buf: Buffer | string): SipErrorCode {
  const r = parseSip(typeof buf === 'string' ? Buffer.from(buf, 'latin1') : buf);
  if (r.ok) assert.fail('expected an error');
  return r.error.code;
}

/** Reads every field so that a lazy getter that throws would show up. */
function touchAll(m: SipMessage): void {
  void [m.isRequest, m.method, m.status, m.ruriUser, m.ruriHost, m.callId, m.cseq, m.fromTag, m.fromUser, m.fromDomain];
  void [m.toTag, m.toUser, m.toDomain, m.viaBranch, m.header('Reason'), m.header('m'), m.contentLength, m.body, m.header('x-customer'), m.header('via')];
}

const CALL = 'a84b4c76e66710@pc33.atlanta.example.com';
const dialog = (from: string, to: string, cseq: string, extra: string[] = []): string[] => [
  'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  `To: Bob <sip:bob@biloxi.example.com>${to}`,
  `From: Alice <sip:alice@atlanta.example.com>${from}`,
  `Call-ID: ${CALL}`,
  `CSeq: ${cseq}`,
  ...extra,
];

// ---------------------------------------------------------------- a typical call

test('INVITE: method, R-URI, Call-ID, CSeq, tags, users, domains, branch, X-Customer', () => {
  const m = ok(
    msg(
      [
        'INVITE sip:bob@biloxi.example.com SIP/2.0',
        ...dialog(';tag=1928301774', '', '314159 INVITE', [
          'Contact: <sip:alice@pc33.atlanta.example.com>',
          'X-Customer: acme-corp',
          'Content-Type: application/sdp',
          'Content-Length: 4',
        ]),
      ],
      'v=0\r\n',
    ),
  );
  assert.equal(m.isRequest, true);
  assert.equal(m.method, 'INVITE');
  assert.equal(m.status, 0);
  assert.equal(m.ruriUser, 'bob');
  assert.equal(m.ruriHost, 'biloxi.example.com');
  assert.equal(m.callId, CALL);
  assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
  assert.equal(m.fromTag, '1928301774');
  assert.equal(m.toTag, null);
  assert.equal(m.fromUser, 'alice');
  assert.equal(m.fromDomain, 'atlanta.example.com');
  assert.equal(m.toUser, 'bob');
  assert.equal(m.toDomain, 'biloxi.example.com');
  assert.equal(m.viaBranch, 'z9hG4bK776asdhds');
  assert.equal(m.header('Contact'), '<sip:alice@pc33.atlanta.example.com>');
  assert.equal(m.header('X-Customer'), 'acme-corp');
  assert.equal(m.header('x-cUSTOMER'), 'acme-corp');
  assert.equal(m.header(headerName('X-Customer')), 'acme-corp');
  assert.equal(m.header('X-Missing'), null);
  assert.equal(m.contentLength, 4);
  assert.equal(m.body.toString(), 'v=0\r');
  assert.equal(m.header('Reason'), null);
});

for (const [code, reason] of [
  [100, 'Trying'],
  [180, 'Ringing'],
  [200, 'OK'],
  [487, 'Request Terminated'],
] as const) {
  test(`${code} ${reason}: status, To tag, CSeq method`, () => {
    const toTag = code === 100 ? '' : ';tag=a6c85cf';
    const m = ok(msg([`SIP/2.0 ${code} ${reason}`, ...dialog(';tag=1928301774', toTag, '314159 INVITE', ['Content-Length: 0'])]));
    assert.equal(m.isRequest, false);
    assert.equal(m.method, null);
    assert.equal(m.ruriUser, null);
    assert.equal(m.status, code);
    assert.equal(m.toTag, code === 100 ? null : 'a6c85cf');
    assert.equal(m.fromTag, '1928301774');
    assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.callId, CALL);
    assert.equal(m.contentLength, 0);
    assert.equal(m.body.length, 0);
  });
}

test('ACK, BYE with Reason, CANCEL', () => {
  const ack = ok(msg(['ACK sip:bob@192.0.2.4 SIP/2.0', ...dialog(';tag=1928301774', ';tag=a6c85cf', '314159 ACK')]));
  assert.equal(ack.method, 'ACK');
  assert.equal(ack.toTag, 'a6c85cf');
  assert.deepEqual(ack.cseq, { seq: 314159, method: 'ACK' });

  const bye = ok(
    msg(['BYE sip:alice@pc33.atlanta.example.com SIP/2.0', ...dialog(';tag=1928301774', ';tag=a6c85cf', '231 BYE', ['Reason: Q.850 ;cause=16 ;text="Normal call clearing"'])]),
  );
  assert.equal(bye.method, 'BYE');
  assert.deepEqual(bye.cseq, { seq: 231, method: 'BYE' });
  assert.equal(bye.header('Reason'), 'Q.850 ;cause=16 ;text="Normal call clearing"');

  const cancel = ok(msg(['CANCEL sip:bob@biloxi.example.com SIP/2.0', ...dialog(';tag=1928301774', '', '314159 CANCEL')]));
  assert.equal(cancel.method, 'CANCEL');
  assert.equal(cancel.toTag, null);
  assert.deepEqual(cancel.cseq, { seq: 314159, method: 'CANCEL' });
});

test('compact header forms, any case', () => {
  const m = ok(
    msg(
      [
        'INVITE sip:bob@biloxi.example.com SIP/2.0',
        'v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKcompact',
        'f: <sip:alice@atlanta.example.com>;tag=cf',
        'T: <sip:bob@biloxi.example.com>;tag=ct',
        'I: compact-call@192.0.2.1',
        'm: <sip:alice@192.0.2.1>',
        'c: text/plain',
        'k: timer',
        'CSeq: 2 INVITE',
        'L: 5',
      ],
      'hello',
    ),
  );
  assert.equal(m.viaBranch, 'z9hG4bKcompact');
  assert.equal(m.fromTag, 'cf');
  assert.equal(m.toTag, 'ct');
  assert.equal(m.callId, 'compact-call@192.0.2.1');
  assert.equal(m.header('m'), '<sip:alice@192.0.2.1>');
  assert.equal(m.contentLength, 5);
  assert.equal(m.body.toString(), 'hello');
  // header() maps full <-> compact both ways
  assert.equal(m.header('Call-ID'), 'compact-call@192.0.2.1');
  assert.equal(m.header('content-type'), 'text/plain');
  assert.equal(m.header('Supported'), 'timer');
  assert.equal(m.header('i'), 'compact-call@192.0.2.1');
  const full = ok(msg(['OPTIONS sip:x SIP/2.0', 'Call-ID: full-form', 'Content-Type: a/b']));
  assert.equal(full.header('I'), 'full-form');
  assert.equal(full.header('c'), 'a/b');
});

test('folded headers, whitespace around colon, case-insensitive names', () => {
  const m = ok(
    msg([
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'VIA: SIP/2.0/UDP 192.0.2.1',
      '  ;branch=z9hG4bKfold',
      'cAlL-iD   :   folded@host   ',
      'From:',
      '   <sip:alice@atlanta.example.com>',
      '\t;tag=ftag',
      'to  : <sip:bob@biloxi.example.com>',
      'CSEQ: 9',
      '   INVITE',
      'Subject: first',
      ' \t second',
      '\tthird',
      'x-customer:\tglobex ',
    ]),
  );
  assert.equal(m.viaBranch, 'z9hG4bKfold');
  assert.equal(m.callId, 'folded@host');
  assert.equal(m.fromTag, 'ftag');
  assert.equal(m.fromUser, 'alice');
  assert.equal(m.toTag, null);
  assert.deepEqual(m.cseq, { seq: 9, method: 'INVITE' });
  assert.equal(m.header('subject'), 'first second third');
  assert.equal(m.header('X-Customer'), 'globex');
  assert.equal(m.header('From'), '<sip:alice@atlanta.example.com> ;tag=ftag');
});

test('repeated headers: the first wins for single-valued fields and for header()', () => {
  const m = ok(
    msg([
      'INVITE sip:x@y SIP/2.0',
      'Via: SIP/2.0/UDP first;branch=z9hG4bKone',
      'Via: SIP/2.0/UDP second;branch=z9hG4bKtwo',
      'Call-ID: first-call',
      'i: second-call',
      'X-Customer: one',
      'X-Customer: two',
      'CSeq: 1 INVITE',
      'CSeq: 2 INVITE',
    ]),
  );
  assert.equal(m.viaBranch, 'z9hG4bKone');
  assert.equal(m.callId, 'first-call');
  assert.deepEqual(m.cseq, { seq: 1, method: 'INVITE' });
  assert.equal(m.header('X-Customer'), 'one');
  assert.equal(m.header('i'), 'first-call');
  assert.equal(m.header('X-None'), null);
});

test('bare LF line ends, mixed line ends, leading keep-alive CRLFs', () => {
  const lf = ok(msg(['SIP/2.0 486 Busy Here', 'Call-ID: lf-only', 'To: <sip:b@b>;tag=t1', 'CSeq: 5 INVITE', 'Content-Length: 3'], 'abc', '\n'));
  assert.equal(lf.status, 486);
  assert.equal(lf.callId, 'lf-only');
  assert.equal(lf.toTag, 't1');
  assert.equal(lf.body.toString(), 'abc');
  const mixed = ok('\r\n\r\nBYE sip:a@b SIP/2.0\nCall-ID: mixed\r\nCSeq: 3 BYE\n\r\n');
  assert.equal(mixed.method, 'BYE');
  assert.equal(mixed.callId, 'mixed');
  assert.deepEqual(mixed.cseq, { seq: 3, method: 'BYE' });
});

// ---------------------------------------------------------------- torture: well-formed but unusual

test('torture: whitespace everywhere, quoted display names with escaped quotes', () => {
  const m = ok(
    msg([
      'OPTIONS   sip:carol@chicago.example.org;foo   SIP/2.0  ',
      'tO   :',
      '   <sip:carol@Chicago.Example.ORG>  ;   TAG   =   tt-77',
      'FROM:"Ann \\"The Hammer\\" O\'Neil"<sip:ann@boston.example.org>',
      '    ;',
      '      tag = ft-12',
      'CALL-id   :   ws-call-1@host',
      'cSeQ:   00042',
      '    OPTIONS',
      'VIA :  SIP / 2.0 / UDP  10.1.2.3:5070  ;  rport  ;   BRANCH  =  z9hG4bK.tw1  , SIP/2.0/TCP other;branch=z9hG4bKsecond',
      'X-Mixed:first part',
      '\tsecond part after a tab',
      'l:0',
    ]),
  );
  assert.equal(m.method, 'OPTIONS');
  assert.equal(m.ruriUser, 'carol');
  assert.equal(m.ruriHost, 'chicago.example.org');
  assert.equal(m.toTag, 'tt-77');
  assert.equal(m.toDomain, 'chicago.example.org');
  assert.equal(m.fromTag, 'ft-12');
  assert.equal(m.fromUser, 'ann');
  assert.equal(m.callId, 'ws-call-1@host');
  assert.deepEqual(m.cseq, { seq: 42, method: 'OPTIONS' });
  assert.equal(m.viaBranch, 'z9hG4bK.tw1');
  assert.equal(m.header('x-mixed'), 'first part second part after a tab');
  assert.equal(m.contentLength, 0);
});

test('torture: %-escapes in URIs, % that is not an escape, escaped NUL', () => {
  const m = ok(
    msg([
      'INVITE sip:%61lice%2Bwork@atlanta.example.com;transport=udp SIP/2.0',
      'To: <sip:%61lice%2Bwork@ATLANTA.example.com>',
      'From: <sip:100%pure@biloxi.example.com>;tag=esc-1',
      'Call-ID: esc-call%41@biloxi',
      'CSeq: 7 INVITE',
      'X-Null-User: x',
      'Via: SIP/2.0/UDP biloxi.example.com;branch=z9hG4bKesc',
    ]),
  );
  assert.equal(m.ruriUser, 'alice+work', 'R-URI user %-unescaped');
  assert.equal(m.ruriHost, 'atlanta.example.com');
  assert.equal(m.toUser, 'alice+work');
  assert.equal(m.toDomain, 'atlanta.example.com');
  assert.equal(m.fromUser, '100%pure');
  assert.equal(m.callId, 'esc-call%41@biloxi', 'Call-ID is compared as written, never unescaped');
  const n = ok(msg(['MESSAGE sip:a@b SIP/2.0', 'From: <sip:nul%00byte@example.net>;tag=n0', 'To: <sip:pct%25sign@example.net>']));
  assert.equal(n.fromUser, 'nul\u0000byte');
  assert.equal(n.toUser, 'pct%sign');
});

test('torture: no space between display name and <, separators inside quotes, tag only as a header param', () => {
  const m = ok(
    msg([
      'INVITE sip:x@y SIP/2.0',
      'From: "Evil <sip:x@y>;tag=fake, yes" <sip:real@r.example.com>;tag=real',
      'To:Bob Smith, Jr.<sip:bob@b.example.com;tag=uriparam;transport=tcp>',
      'Via: SIP/2.0/UDP h.example.com;foo="a;branch=bad,";branch=good',
      'Call-ID: c1',
    ]),
  );
  assert.equal(m.fromUser, 'real');
  assert.equal(m.fromDomain, 'r.example.com');
  assert.equal(m.fromTag, 'real');
  assert.equal(m.toUser, 'bob');
  assert.equal(m.toTag, null, 'a tag inside the <URI> is a URI parameter');
  assert.equal(m.viaBranch, 'good');
});

test('torture: addr-spec without <>, user parameters, tel and IPv6 hosts, password', () => {
  const m = ok(
    msg([
      'INVITE sip:x@y SIP/2.0',
      'From: sip:carol:secret@c.example.com;tag=t9',
      'To: <sip:+1-555-0100;npdi;rn=+1-555-0199@gw.example.com;user=phone>',
      'Call-ID: c2',
    ]),
  );
  assert.equal(m.fromUser, 'carol');
  assert.equal(m.fromDomain, 'c.example.com');
  assert.equal(m.fromTag, 't9');
  assert.equal(m.toUser, '+1-555-0100;npdi;rn=+1-555-0199');
  assert.equal(m.toDomain, 'gw.example.com');
  const t = ok(msg(['INVITE sip:x@y SIP/2.0', 'From: <tel:+4930123456;phone-context=+49>;tag=tel1', 'To: sip:dave@[2001:DB8::9]:5080;user=phone']));
  assert.equal(t.fromUser, '+4930123456');
  assert.equal(t.fromDomain, null);
  assert.equal(t.fromTag, 'tel1');
  assert.equal(t.toUser, 'dave');
  assert.equal(t.toDomain, '[2001:db8::9]');
  assert.equal(t.toTag, null, 'user=phone is a header parameter, not a tag');
  const h = ok(msg(['INVITE sip:x@y SIP/2.0', 'To: <sip:example.com>', 'From: <urn:service:sos>;tag=u']));
  assert.equal(h.toUser, null);
  assert.equal(h.toDomain, 'example.com');
  assert.equal(h.fromTag, 'u');
});

test('torture: long values and many headers', () => {
  const longId = 'L'.repeat(5000) + '@long.example';
  const longName = 'N'.repeat(3000);
  const filler = Array.from({ length: 400 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(i % 50)}`);
  const vias = Array.from({ length: 80 }, (_, i) => `Via: SIP/2.0/UDP hop${i}.example.com;branch=z9hG4bK-hop-${i}`);
  const m = ok(
    msg([
      `INVITE sip:${'u'.repeat(2000)}@example.com SIP/2.0`,
      ...vias,
      ...filler,
      `From: "${longName}" <sip:${'a'.repeat(1000)}@example.com>;tag=${'t'.repeat(700)}`,
      `Call-ID: ${longId}`,
      'X-Customer: at-the-end',
      'CSeq: 4294967295 INVITE',
    ]),
  );
  assert.equal(m.callId, longId);
  assert.equal(m.viaBranch, 'z9hG4bK-hop-0');
  assert.equal(m.fromUser, 'a'.repeat(1000));
  assert.equal(m.fromTag, 't'.repeat(700));
  assert.equal(m.header('X-Customer'), 'at-the-end');
  assert.equal(m.header('x-filler-399'), 'v'.repeat(399 % 50));
  assert.deepEqual(m.cseq, { seq: 4294967295, method: 'INVITE' });
  assert.equal(m.ruriUser?.length, 2000);
  assert.equal(m.ruriHost, 'example.com');
});

test('torture: unknown and unusual methods, token characters, unusual and empty reason phrases', () => {
  const m = ok(msg(["N!E%W*M_E+T`H'O~D.x-1 sip:svc@example.com SIP/2.0", 'CSeq: 8 N!E%W*M_E+T`H\'O~D.x-1', 'Call-ID: m1']));
  assert.equal(m.method, "N!E%W*M_E+T`H'O~D.x-1");
  assert.deepEqual(m.cseq, { seq: 8, method: "N!E%W*M_E+T`H'O~D.x-1" });
  assert.equal(ok(msg(['SIP/2.0 200 Ça va — 日本語 ✓ ok'])).status, 200);
  assert.equal(ok(msg(['SIP/2.0 183 '])).status, 183);
  assert.equal(ok(msg(['SIP/2.0 603'])).status, 603);
  assert.equal(ok(msg(['sip/2.0 200 lower-case version'])).status, 200);
  const other = ok(msg(['INVITE sip:x@y SIP/2.0', 'Via: SIP/2.0/NEW-TRANSPORT h.example.com;branch=z9hG4bKnt', 'Call-ID: t']));
  assert.equal(other.viaBranch, 'z9hG4bKnt');
});

test('torture: extra octets after the body (two messages in one datagram)', () => {
  const first = msg(['REGISTER sip:example.com SIP/2.0', 'Call-ID: first-msg', 'CSeq: 1 REGISTER', 'Content-Length: 0']).toString();
  const second = msg(['INVITE sip:x@y SIP/2.0', 'Call-ID: second-msg', 'CSeq: 2 INVITE']).toString();
  const m = ok(first + second);
  assert.equal(m.method, 'REGISTER');
  assert.equal(m.callId, 'first-msg');
  assert.deepEqual(m.cseq, { seq: 1, method: 'REGISTER' });
  assert.equal(m.body.length, 0);
});

// ---------------------------------------------------------------- torture: invalid messages

test('invalid: several Content-Length headers, negative, huge, non-numeric, larger than the body', () => {
  const cl = (...values: string[]): SipMessage => ok(msg(['MESSAGE sip:a@b SIP/2.0', 'Call-ID: cl', ...values.map((v) => `Content-Length: ${v}`)], 'abcdef'));
  assert.equal(cl('3', '6').contentLength, 3);
  assert.equal(cl('3', '6').body.toString(), 'abc');
  assert.equal(cl('-5').contentLength, null);
  assert.equal(cl('-5').body.toString(), 'abcdef', 'without a usable length the body is the rest');
  assert.equal(cl('99999999999999999999999').contentLength, null);
  assert.equal(cl('12abc').contentLength, null);
  assert.equal(cl('').contentLength, null);
  assert.equal(cl('9999').contentLength, 9999);
  assert.equal(cl('9999').body.toString(), 'abcdef', 'clipped to what arrived');
  assert.equal(cl('9999').callId, 'cl');
});

test('invalid: missing, overlarge and malformed CSeq; CSeq method not matching the request', () => {
  const c = (v: string | null): SipMessage => ok(msg(['INVITE sip:a@b SIP/2.0', 'Call-ID: cs', 'To: <sip:b@b>;tag=x', ...(v === null ? [] : [`CSeq: ${v}`])]));
  assert.equal(c(null).cseq, null);
  assert.equal(c(null).callId, 'cs');
  assert.equal(c(null).toTag, 'x');
  assert.equal(c('36893488147419103232 INVITE').cseq, null);
  assert.equal(c('4294967296 INVITE').cseq, null);
  assert.equal(c('INVITE').cseq, null);
  assert.equal(c('12').cseq, null);
  assert.equal(c('12INVITE').cseq, null);
  assert.equal(c('-1 INVITE').cseq, null);
  assert.equal(c('1 INVITE trailing').cseq, null);
  assert.deepEqual(c('1 ACK').cseq, { seq: 1, method: 'ACK' });
  assert.equal(c('1 ACK').method, 'INVITE');
});

test('invalid start lines give coded errors', () => {
  const cases: Array<[string, SipErrorCode]> = [
    ['', 'SIP_EMPTY'],
    ['\r\n\r\n', 'SIP_EMPTY'],
    ['\n', 'SIP_EMPTY'],
    ['INVITE sip:x@y SIP/7.0\r\n\r\n', 'SIP_BAD_VERSION'],
    ['SIP/3.0 200 OK\r\n\r\n', 'SIP_BAD_VERSION'],
    ['SIP/2.0 1000 Too Big\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['SIP/2.0 20 Short\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['SIP/2.0 2OO OK\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['SIP/2.0 OK\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['SIP/2.0 700 Nope\r\n\r\n', 'SIP_BAD_STATUS'],
    ['SIP/2.0 099 Nope\r\n\r\n', 'SIP_BAD_STATUS'],
    ['INVITE sip:user@example.com; lr SIP/2.0\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['INVITE\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['INVITE sip:x@y\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['INVITE sip:x@y HTTP/1.1\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['INV\u0000ITE sip:x@y SIP/2.0\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['INVITE sip:x\u0000@y SIP/2.0\r\n\r\n', 'SIP_BAD_START_LINE'],
    ['\u0000\u0000\u0000\u0000', 'SIP_BAD_START_LINE'],
    ['{"json": true}', 'SIP_BAD_START_LINE'],
    ['INVITE sip:x@y SIP/2.0 extra\r\n\r\n', 'SIP_BAD_START_LINE'],
  ];
  for (const [text, code] of cases) assert.equal(err(text), code, JSON.stringify(text));
});

test('invalid but readable: <> around the R-URI, escaped headers in it, several spaces between elements', () => {
  assert.equal(ok(msg(['INVITE <sip:x@y> SIP/2.0', 'Call-ID: lt'])).ruriHost, 'y');
  assert.equal(ok(msg(['INVITE sip:u@example.com?Route=%3Csip:e.example%3E SIP/2.0'])).ruriUser, 'u');
  const sp = ok(msg(['INVITE \t sip:x@y   SIP/2.0', 'Call-ID: sp']));
  assert.equal(sp.ruriUser, 'x');
  assert.equal(sp.ruriHost, 'y');
  assert.equal(sp.callId, 'sp');
});

test('invalid: unterminated quotes, spaces inside addr-spec, lines without colon, NUL bytes in headers', () => {
  const m = ok(
    msg([
      'INVITE sip:x@y SIP/2.0',
      'From: "Unclosed <sip:x@y>;tag=q1',
      'To: sip:eve @ e.example.com',
      'This line has no colon',
      'X-Nul: a\u0000b',
      'Call-ID: after-junk',
      'CSeq: 1 INVITE',
      'Via: SIP/2.0/UDP h;branch="z9hG4bKunterminated',
    ]),
  );
  touchAll(m);
  assert.equal(m.callId, 'after-junk');
  assert.deepEqual(m.cseq, { seq: 1, method: 'INVITE' });
  assert.equal(m.header('x-nul'), 'a\u0000b');
  assert.equal(m.toTag, null);
  assert.equal(m.header('This line has no colon'), null);
});

test('invalid: empty values and empty tags are null; a message cut before the blank line still parses', () => {
  const m = ok(msg(['INVITE sip:x@y SIP/2.0', 'Call-ID:', 'To:', 'From: <sip:a@b>;tag=', 'Via: SIP/2.0/UDP h;branch=', 'CSeq:']));
  assert.equal(m.callId, null);
  assert.equal(m.toTag, null);
  assert.equal(m.toUser, null);
  assert.equal(m.fromTag, null);
  assert.equal(m.fromUser, 'a');
  assert.equal(m.viaBranch, null);
  assert.equal(m.cseq, null);
  const cut = ok('SIP/2.0 180 Ringing\r\nCall-ID: cut\r\nTo: <sip:b@b>;tag=rt\r\nCSeq: 1 INV');
  assert.equal(cut.callId, 'cut');
  assert.equal(cut.toTag, 'rt');
  assert.deepEqual(cut.cseq, { seq: 1, method: 'INV' });
  assert.equal(cut.body.length, 0);
  const noHeaders = ok('OPTIONS sip:x SIP/2.0');
  touchAll(noHeaders);
  assert.equal(noHeaders.callId, null);
});

test('UTF-8 in header values survives', () => {
  const m = ok(msg(['INVITE sip:x@y SIP/2.0', 'From: "Zoë Ñandú 日本" <sip:zoë@exämple.com>;tag=ü', 'X-Customer: Ñandú 日本']));
  assert.equal(m.fromUser, 'zoë');
  assert.equal(m.fromDomain, 'exämple.com');
  assert.equal(m.fromTag, 'ü');
  assert.equal(m.header('X-Customer'), 'Ñandú 日本');
});
