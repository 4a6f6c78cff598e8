import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sdpAudio } from '../../src/media/sdp.ts';
import { sdpAudioOracle } from '../support/sdp-oracle.ts';

/** What a reader gives, with the codec maps as sorted entries (comparable). */
const plain = (streams: ReturnType<typeof sdpAudioOracle>) =>
  streams.map((s) => ({ addr: s.addr, port: s.port, pts: [...s.pts], codecs: [...s.codecs.entries()].sort((a, b) => a[0] - b[0]).map(([pt, c]) => [pt, c.name, c.clock]) }));

// SDP-looking lines, and the pieces that make readers disagree: odd spaces (tab, NBSP, VT), CR
// alone, ports with /N, 0x and exponent numbers, long digit runs, latin1 letters, missing parts
const ws = fc.constantFrom(' ', '  ', '\t', '\u00a0', '\v', '\f', '\r', '');
const numText = fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('', '0x10', '1e2', '+8', '-1', '08', '99999999999999999999', '8.5', '4000/2', '/2'));
const word = fc.constantFrom('audio', 'video', 'RTP/AVP', 'RTP/SAVP', 'UDP/TLS/RTP/SAVPF', 'IN', 'IP4', 'IP6', '10.0.0.1', '2001:db8::1', '192.0.2.9/127', 'PCMA/8000', 'opus/48000/2', 'telephone-event/8000', 'G729/8000', 'ÿé/8000', 'x', '/');
const piece = fc.oneof(numText, word);
const lineOf = (prefix: string) => fc.array(fc.tuple(ws, piece), { maxLength: 7 }).map((parts) => prefix + parts.map(([w, p]) => w + p).join(''));
const line = fc.oneof(
  fc.constantFrom('m=audio 4000 RTP/AVP 0 8 101', 'c=IN IP4 10.1.2.3', 'a=rtpmap:101 telephone-event/8000', 'a=rtpmap:8 PCMA/8000', 'v=0', 'm=video 5000 RTP/AVP 96', 'm=audio 0 RTP/AVP 8', ''),
  lineOf('m='),
  lineOf('c='),
  lineOf('a=rtpmap:'),
  fc.tuple(fc.constantFrom('a=rtpmap:', 'a=rtpmap: ', 'a=', 'a=rtpmap:1'), numText, ws, word, fc.constantFrom('/', ' /', ''), numText).map((p) => p.join('')),
  fc.string({ maxLength: 6 }),
);
const eol = fc.constantFrom('\r\n', '\n', '\r\r\n', '\n\r');

test('the byte-level SDP reader gives what the line-and-regex reader gives, on any latin1 text', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(line, eol), { maxLength: 14 }), fc.boolean(), (lines, lastEol) => {
      let body = lines.map(([l, e]) => l + e).join('');
      if (!lastEol && lines.length > 0) body = body.slice(0, -lines[lines.length - 1][1].length);
      body = Buffer.from(body, 'latin1').toString('latin1'); // (latin1 only: what a SIP body read as bytes is)
      const want = plain(sdpAudioOracle(body));
      assert.deepEqual(plain(sdpAudio(body)), want, JSON.stringify(body));
      // the same from the bytes, inside a larger buffer
      const bytes = Buffer.concat([Buffer.from('xx\n'), Buffer.from(body, 'latin1'), Buffer.from('\nm=audio 9 RTP/AVP 0')]);
      assert.deepEqual(plain(sdpAudio(bytes, 3, 3 + Buffer.byteLength(body, 'latin1'))), want);
    }),
    { numRuns: 3000 },
  );
});
