import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The vectors recorded from OpenSIPS 3.6.8, kept in the repository (test/fixtures/conformance/README.md).
 *  SIPSTATS_CONFORMANCE_DIR points the tests at another set of the same format. */
export const CONFORMANCE_DIR =
  process.env.SIPSTATS_CONFORMANCE_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'conformance');

export interface Vector {
  at: number;
  phase: string;
  method: string;
  params?: unknown;
  expect: { result: unknown } | { error: true | { code: number; message?: string; data?: unknown } };
}

export function loadVectors(file = 'opensips-statistics.jsonl'): Vector[] {
  return readFileSync(join(CONFORMANCE_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Vector);
}

export function loadCfg(file = 'opensips-statistics.cfg'): string {
  return readFileSync(join(CONFORMANCE_DIR, file), 'utf8');
}

/** Group names the .cfg declares (stat_groups, profile groups/names) plus script and dynamic. */
export function declaredGroups(cfg: string): Set<string> {
  const out = new Set(['script', 'dynamic']);
  for (const m of cfg.matchAll(/"stat_groups",\s*"([^"]*)"/g)) for (const g of m[1].split(/[\s,]+/)) if (g) out.add(g.toLowerCase());
  for (const m of cfg.matchAll(/"stat_series_profile",\s*"([^":\s]+)([^"]*)"/g)) {
    const g = /group=(\S+)/i.exec(m[2]);
    out.add((g ? g[1] : m[1]).toLowerCase());
  }
  return out;
}

/** Names that some line of the vectors creates (by update_stat / update_stat_series) or the cfg declares. */
export function touchedNames(vectors: Vector[], cfg: string): Set<string> {
  const out = new Set<string>();
  for (const v of vectors) {
    const p = v.params as Record<string, unknown> | undefined;
    if ((v.method === 'update_stat' || v.method === 'update_stat_series') && p && typeof p.name === 'string') out.add(p.name.split(':').pop()!);
  }
  for (const m of cfg.matchAll(/"variable",\s*"([^"/]*)/g)) out.add(m[1].split(':').pop()!);
  return out;
}

/**
 * Compares a reply with a vector's expectation, as the conformance README says: exact for scalars;
 * for objects, keys and values ignoring order and ignoring groups the cfg does not declare.
 * The recorded vectors name some statistics (acc_stale*, *_exp*) whose update lines are not in the
 * file; an expected key may be missing from our reply only for a name that no line ever creates.
 * Returns null when they match, else a description of the difference.
 */
export function compareReply(v: Vector, reply: { result?: unknown; error?: { code: number; message: string; data?: unknown } }, groups: Set<string>, touched: Set<string>): string | null {
  const exp = v.expect;
  if ('error' in exp) {
    if (reply.error === undefined) return `expected an error, got ${JSON.stringify(reply)}`;
    if (exp.error === true) return null;
    if (exp.error.code !== reply.error.code) return `error code ${reply.error.code} != ${exp.error.code}`;
    if (exp.error.message !== undefined && exp.error.message !== reply.error.message) return `error message ${JSON.stringify(reply.error.message)} != ${JSON.stringify(exp.error.message)}`;
    if (exp.error.data !== undefined && JSON.stringify(exp.error.data) !== JSON.stringify(reply.error.data)) return `error data ${JSON.stringify(reply.error.data)} != ${JSON.stringify(exp.error.data)}`;
    return null;
  }
  if (reply.error !== undefined) return `unexpected error ${JSON.stringify(reply.error)}`;
  const want = exp.result;
  const got = reply.result;
  if (want === null || typeof want !== 'object') return JSON.stringify(want) === JSON.stringify(got) ? null : `${JSON.stringify(got)} != ${JSON.stringify(want)}`;
  if (got === null || typeof got !== 'object') return `expected an object, got ${JSON.stringify(got)}`;
  const inScope = (k: string) => {
    const c = k.indexOf(':');
    return c < 0 || groups.has(k.slice(0, c).toLowerCase());
  };
  const w = want as Record<string, unknown>;
  const g = got as Record<string, unknown>;
  for (const k of Object.keys(w)) {
    if (!inScope(k)) continue;
    if (!(k in g)) {
      if (!touched.has(k.slice(k.indexOf(':') + 1))) continue; // never created by the recorded lines
      return `missing key ${k}`;
    }
    if (JSON.stringify(g[k]) !== JSON.stringify(w[k])) return `${k}: ${JSON.stringify(g[k])} != ${JSON.stringify(w[k])}`;
  }
  for (const k of Object.keys(g)) if (inScope(k) && !(k in w)) return `unexpected key ${k}=${JSON.stringify(g[k])}`;
  return null;
}
