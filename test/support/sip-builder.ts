/** Builds SIP messages for tests (the shape a UAC/UAS pair on loopback would send). */
export interface Leg {
  callId: string;
  fromTag: string;
  customer?: string;
}

let branchSeq = 0;
export const newBranch = () => `z9hG4bK-t${++branchSeq}`;

export function invite(leg: Leg, o: { seq?: number; branch?: string; toTag?: string; auth?: boolean; ruri?: string; headers?: string[] } = {}): Buffer {
  const lines = [
    `INVITE sip:${o.ruri ?? 'bob@127.0.0.1:5070'} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${o.branch ?? newBranch()}`,
    `From: "Alice" <sip:alice@example.com>;tag=${leg.fromTag}`,
    `To: <sip:bob@example.net>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${leg.callId}`,
    `CSeq: ${o.seq ?? 1} INVITE`,
    `Contact: <sip:alice@127.0.0.1:5060>`,
    ...(leg.customer ? [`X-Customer: ${leg.customer}`] : []),
    ...(o.auth ? ['Authorization: Digest username="alice", realm="x", nonce="n", uri="sip:bob@127.0.0.1", response="r"'] : []),
    ...(o.headers ?? []),
    `Content-Length: 0`,
  ];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n');
}

export function request(method: string, leg: Leg, o: { seq: number; branch?: string; toTag?: string }): Buffer {
  const lines = [
    `${method} sip:bob@127.0.0.1:5070 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${o.branch ?? newBranch()}`,
    `From: <sip:alice@example.com>;tag=${leg.fromTag}`,
    `To: <sip:bob@example.net>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${leg.callId}`,
    `CSeq: ${o.seq} ${method}`,
    `Content-Length: 0`,
  ];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n');
}

export function reply(code: number, reason: string, leg: Leg, o: { seq?: number; method?: string; branch: string; toTag?: string }): Buffer {
  const lines = [
    `SIP/2.0 ${code} ${reason}`,
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${o.branch}`,
    `From: "Alice" <sip:alice@example.com>;tag=${leg.fromTag}`,
    `To: <sip:bob@example.net>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${leg.callId}`,
    `CSeq: ${o.seq ?? 1} ${o.method ?? 'INVITE'}`,
    `Content-Length: 0`,
  ];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n');
}
