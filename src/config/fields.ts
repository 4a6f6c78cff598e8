/**
 * The small checking kit the configuration readers use: values read with their path, every problem
 * collected (Issues), none stopping the others; listen addresses; frozen results.
 */
import type { ConfigIssue, ErrorCode } from '../errors.ts';

export interface ListenAddress {
  readonly host: string;
  /** TCP port; 0 = any free port (the chosen one is printed). */
  readonly port: number;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Collects issues with their path (`profiles[2].window`); ConfigError prints `path: [code] message`. */
export class Issues {
  readonly list: ConfigIssue[] = [];

  add(path: string, code: ErrorCode, message: string, line = 0): void {
    this.list.push({ code, line, path, message });
  }

  /** Refuses keys not in `allowed`. */
  keys(obj: Record<string, unknown>, allowed: readonly string[], path: string, code: ErrorCode = 'E_CFG_UNKNOWN_PARAM'): void {
    for (const k of Object.keys(obj))
      if (!allowed.includes(k)) this.add(join(path, k), code, `unknown key (allowed: ${allowed.join(', ')})`);
  }

  /** An integer in [lo, hi], or undefined when absent; reports and returns undefined when bad. */
  int(obj: Record<string, unknown>, key: string, lo: number, hi: number, path: string, code: ErrorCode): number | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      this.add(join(path, key), code, `must be an integer ${lo}..${hi}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  /** A non-empty string, or undefined when absent; reports and returns undefined when bad. */
  str(obj: Record<string, unknown>, key: string, path: string, code: ErrorCode, valid?: (s: string) => boolean, what = 'a non-empty string'): string | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '' || (valid !== undefined && !valid(v))) {
      this.add(join(path, key), code, `must be ${what}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }
}

export const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`);

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof v;
  }
}

/** Parses `HOST:PORT` (`[::1]:8888` for IPv6). */
export function parseListen(text: string): { ok: true; value: ListenAddress } | { ok: false; message: string } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return { ok: false, message: `must be HOST:PORT (IPv6 as [::1]:8888), got ${show(text)}` };
  const port = Number(m[3]);
  if (port > 65535) return { ok: false, message: `port ${port} is above 65535` };
  return { ok: true, value: Object.freeze({ host: m[1] ?? m[2], port }) };
}

/**
 * Freezes a plain JSON-like value and everything in it. Objects of a class (compiled tables such as
 * a prefix trie, whose typed arrays cannot be frozen) are left as they are.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v) && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
