/** The fields of a JSON object, or the reason the text is not one (what media reports over HEP carry: RTCP, RTP agents). */
export function jsonObject(text: string): Record<string, unknown> | string {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object';
  return o as Record<string, unknown>;
}
