/**
 * A 32-bit key of a datagram's or connection's sender (FNV-1a of its address text and port): what
 * tells apart capture agents that share a HEP capture id and node name (AgentClocks). The native
 * UDP receiver computes its own key from the address bytes (native/udp-recv.c); the JavaScript
 * receiving thread runs this very function (its source is put into the thread's).
 */
export function senderKey(address: string, port: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ port, 0x01000193) >>> 0;
}
