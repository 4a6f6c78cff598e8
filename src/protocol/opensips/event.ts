/**
 * OpenSIPS Event Interface payloads, pure. event_datagram (3.x) and event_stream send a JSON-RPC
 * 2.0 notification `{"jsonrpc":"2.0","method":"E_ACC_CDR","params":{...}}`; event_datagram before
 * 3.0 sent text: the event name on the first line, then `name::value` lines.
 */
export interface OpensipsEvent {
  readonly name: string;
  readonly params: Readonly<Record<string, string | number | null>>;
}

export type EventResult = { ok: true; value: OpensipsEvent } | { ok: false; error: { code: 'EVENT_BAD_JSON' | 'EVENT_BAD_SHAPE' | 'EVENT_EMPTY'; message: string } };

export function decodeEvent(buf: Buffer | string): EventResult {
  const text = (typeof buf === 'string' ? buf : buf.toString('utf8')).trim();
  if (text === '') return { ok: false, error: { code: 'EVENT_EMPTY', message: 'empty event' } };
  if (text[0] === '{') {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return { ok: false, error: { code: 'EVENT_BAD_JSON', message: `not JSON: ${(e as Error).message}` } };
    }
    return fromJson(v);
  }
  const lines = text.split(/\r?\n/);
  const name = lines[0].trim();
  if (!/^E_[A-Za-z0-9_]+$/.test(name)) return { ok: false, error: { code: 'EVENT_BAD_SHAPE', message: `bad event name '${name.slice(0, 40)}'` } };
  const params: Record<string, string> = {};
  let n = 0;
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const sep = line.indexOf('::');
    const key = sep < 0 ? String(n++) : line.slice(0, sep);
    let val = sep < 0 ? line : line.slice(sep + 2);
    if (val.length >= 2 && val[0] === '"' && val[val.length - 1] === '"') val = val.slice(1, -1);
    params[key] = val;
  }
  return { ok: true, value: { name, params } };
}

export function fromJson(v: unknown): EventResult {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: { code: 'EVENT_BAD_SHAPE', message: 'not a JSON object' } };
  const o = v as Record<string, unknown>;
  if (typeof o.method !== 'string' || !/^E_[A-Za-z0-9_]+$/.test(o.method)) return { ok: false, error: { code: 'EVENT_BAD_SHAPE', message: 'no E_* method' } };
  const p = o.params ?? {};
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return { ok: false, error: { code: 'EVENT_BAD_SHAPE', message: 'params must be an object' } };
  const params: Record<string, string | number | null> = {};
  for (const [k, x] of Object.entries(p as Record<string, unknown>)) params[k] = typeof x === 'string' || typeof x === 'number' || x === null ? x : JSON.stringify(x);
  return { ok: true, value: { name: o.method, params } };
}

/**
 * Splits a TCP byte stream of back-to-back JSON objects (event_stream) into complete objects,
 * by brace depth outside strings. Bounded: an object over `maxBytes` is dropped and counted.
 */
export class JsonObjectStream {
  private buf = '';
  private depth = 0;
  private inStr = false;
  private esc = false;
  private scanned = 0;
  dropped = 0;
  constructor(private readonly maxBytes = 1 << 20) {}

  push(chunk: Buffer | string): string[] {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const out: string[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.depth === 0 && c !== '{') {
        start = i + 1; // skip whitespace/garbage between objects
        continue;
      }
      if (this.inStr) {
        if (this.esc) this.esc = false;
        else if (c === '\\') this.esc = true;
        else if (c === '"') this.inStr = false;
        continue;
      }
      if (c === '"') this.inStr = true;
      else if (c === '{') this.depth++;
      else if (c === '}') {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.buf.slice(start, i + 1));
          start = i + 1;
        }
      }
    }
    this.buf = this.buf.slice(start);
    this.scanned = this.buf.length;
    if (this.buf.length > this.maxBytes) {
      this.dropped++;
      this.buf = '';
      this.scanned = 0;
      this.depth = 0;
      this.inStr = false;
      this.esc = false;
    }
    return out;
  }
}
