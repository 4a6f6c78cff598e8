import { parseRouting } from '../kpi/routing.ts';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import type * as YamlLib from 'yaml';
import { ALGORITHM_OPTION_KEYS, ALGORITHMS } from '../core/algorithms/index.ts';
import { readIngest } from './ingest-config.ts';
import { parseAlertsConfig } from '../alerts/rules.ts';
import { readRedis } from './redis-config.ts';
import type { CounterDef, EngineConfig, ProfileDef } from '../core/types.ts';
import { isValidIdent, isValidStatName } from '../core/value.ts';
import type { Result } from '../errors.ts';
import { DEFAULTS } from './defaults.ts';
import { defaultProfiles } from './default-profiles.ts';
import { buildProfile, PROFILE_LIMITS } from './opensips.ts';
import type { OpaqueSection, ServerConfig } from './schema.ts';

const requireHere = createRequire(import.meta.url);
let yaml: typeof YamlLib | undefined;
/** The yaml package, loaded at the first YAML text: a command that reads none starts ~30 ms sooner. */
const yamlLib = (): typeof YamlLib => (yaml ??= requireHere('yaml') as typeof YamlLib);

import { deepFreeze, Issues, isPlainObject, join, parseListen, show } from './fields.ts';

/**
 * The native configuration format, YAML or JSON (docs/config.md has a complete example):
 *   listen: 127.0.0.1:8888
 *   auth: { token: s3cret, readToken: r3ad }
 *   groups: [custgrp]
 *   variables: [register_counter, { name: active_calls, noReset: true }]
 *   profiles: [{ name: 10m-perc, algorithm: percentage, window: 600, slots: 10, group: stats_10m }]
 * Unknown keys are refused, in every section with one code (E_CFG_UNKNOWN_PARAM); every problem is
 * reported at once with its path; the result is frozen.
 * Without `profiles` the embedded default profiles apply; with `profiles: []` there are none.
 */

export const TOP_KEYS = ['listen', 'auth', 'variables', 'groups', 'profiles', 'hep', 'dataDir', 'redis', 'kpi', 'limits', 'routing', 'alerts', 'notify'] as const;
export const PROFILE_KEYS = ['name', 'algorithm', 'window', 'slots', 'group', 'percentage_factor', 'precision', 'min_samples', 'max_series', 'idle', 'overflow'] as const;
export const VARIABLE_KEYS = ['name', 'noReset', 'group'] as const;

function profile(p: unknown, path: string, is: Issues): ProfileDef | undefined {
  const code = 'E_CFG_BAD_PROFILE';
  if (!isPlainObject(p)) {
    is.add(path, code, `must be an object {name, algorithm, window, ...}, got ${show(p)}`);
    return undefined;
  }
  const before = is.list.length;
  is.keys(p, [...PROFILE_KEYS, ...ALGORITHM_OPTION_KEYS], path);
  if (p.name === undefined) is.add(join(path, 'name'), code, 'is required');
  const name = is.str(p, 'name', path, code, isValidIdent, "a name of letters, digits, '_', '-', '.' (at most 64)");
  const algorithm = is.str(p, 'algorithm', path, code, (a) => ALGORITHMS.has(a.toLowerCase()), `one of ${[...ALGORITHMS.keys()].join(', ')}`);
  const window = is.int(p, 'window', 1, PROFILE_LIMITS.maxWindow, path, code);
  const slots = is.int(p, 'slots', 1, PROFILE_LIMITS.maxSlots, path, code);
  if (slots !== undefined && slots > (window ?? 60) * 1000) is.add(join(path, 'slots'), code, `must be at most window*1000 (${(window ?? 60) * 1000}): a slot lasts at least 1 ms`);
  const group = is.str(p, 'group', path, code, isValidIdent, "a group name of letters, digits, '_', '-', '.' (at most 64)");
  const percentageFactor = is.int(p, 'percentage_factor', 1, 1e9, path, code);
  if (percentageFactor !== undefined && !/^10*$/.test(String(percentageFactor))) is.add(join(path, 'percentage_factor'), code, `must be a power of 10 (1, 10, 100, ...), got ${percentageFactor}`);
  const precision = p.precision === null ? null : is.int(p, 'precision', 0, PROFILE_LIMITS.maxPrecision, path, code);
  const minSamples = is.int(p, 'min_samples', 0, 1e9, path, code);
  // series limits (engine keys; their ranges are checked by buildProfile, reported at the profile)
  const maxSeries = is.int(p, 'max_series', 0, Number.MAX_SAFE_INTEGER, path, code);
  const idle = is.int(p, 'idle', 0, Number.MAX_SAFE_INTEGER, path, code);
  const overflow = is.str(p, 'overflow', path, code);
  const options: Record<string, number> = {};
  for (const k of ALGORITHM_OPTION_KEYS) {
    if (p[k] === undefined) continue;
    if (typeof p[k] === 'number' && Number.isFinite(p[k])) options[k] = p[k];
    else is.add(join(path, k), code, `must be a number, got ${show(p[k])}`);
  }
  if (is.list.length > before || name === undefined) return undefined;
  const r = buildProfile({ name, algorithm, window, slots, group, percentageFactor, precision, minSamples, options, maxSeries, idle, overflow });
  for (const m of r.problems) is.add(path, code, m);
  return r.value;
}

function variable(v: unknown, path: string, is: Issues): CounterDef | undefined {
  const code = 'E_CFG_BAD_VARIABLE';
  if (typeof v === 'string') {
    // OpenSIPS `variable` syntax: [group:]name[/no_reset]
    const m = /^(?:([^:/]+):)?([^:/]+)(?:\/(no_reset))?$/i.exec(v.trim());
    if (m === null || !isValidStatName(m[2]) || (m[1] !== undefined && !isValidIdent(m[1]))) {
      is.add(path, code, `must be [group:]name[/no_reset] or {name, noReset, group}, got ${show(v)}`);
      return undefined;
    }
    return { name: m[2], group: m[1] ?? 'script', noReset: m[3] !== undefined };
  }
  if (!isPlainObject(v)) {
    is.add(path, code, `must be a name or {name, noReset, group}, got ${show(v)}`);
    return undefined;
  }
  const before = is.list.length;
  is.keys(v, VARIABLE_KEYS, path);
  if (v.name === undefined) is.add(join(path, 'name'), code, 'is required');
  const name = is.str(v, 'name', path, code, isValidStatName, 'a statistic name (no spaces, quotes or ":")');
  const group = is.str(v, 'group', path, code, isValidIdent, "a group name of letters, digits, '_', '-', '.'");
  if (v.noReset !== undefined && typeof v.noReset !== 'boolean') is.add(join(path, 'noReset'), code, `must be true or false, got ${show(v.noReset)}`);
  if (is.list.length > before || name === undefined) return undefined;
  return { name, group: group ?? 'script', noReset: v.noReset === true };
}

function opaque(doc: Record<string, unknown>, key: string, is: Issues): OpaqueSection | null {
  const v = doc[key];
  if (v === undefined || v === null) return null;
  if (!isPlainObject(v)) {
    is.add(key, 'E_CFG_SYNTAX', `must be an object, got ${show(v)}`);
    return null;
  }
  return v;
}

function list(doc: Record<string, unknown>, key: string, is: Issues): unknown[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    is.add(key, 'E_CFG_SYNTAX', `must be a list, got ${show(v)}`);
    return [];
  }
  return v;
}

/**
 * Checks a parsed native document (the value of the YAML/JSON file). `baseDir`: the directory of
 * the file, against which relative paths in it (`dataDir`, `kpi.destination.prefixes`) resolve, as
 * nginx and Prometheus do; without it they stay relative to the working directory.
 */
export function parseNativeConfig(doc: unknown, baseDir?: string): Result<ServerConfig> {
  const is = new Issues();
  if (doc === null || doc === undefined) doc = {};
  if (!isPlainObject(doc)) return { ok: false, issues: [{ code: 'E_CFG_SYNTAX', line: 0, path: '', message: `the configuration must be a mapping of ${TOP_KEYS.join(', ')}; got ${show(doc)}` }] };
  is.keys(doc, TOP_KEYS, '');

  let listen = parseListen(DEFAULTS.listen);
  if (doc.listen !== undefined) {
    const l = typeof doc.listen === 'string' ? parseListen(doc.listen) : ({ ok: false, message: `must be a string HOST:PORT, got ${show(doc.listen)}` } as const);
    if (l.ok) listen = l;
    else is.add('listen', 'E_CFG_SYNTAX', l.message);
  }

  let token: string | null = DEFAULTS.token;
  let readToken: string | null = null;
  let allowUnauthenticated = false;
  if (doc.auth !== undefined && doc.auth !== null) {
    if (!isPlainObject(doc.auth)) is.add('auth', 'E_CFG_SYNTAX', `must be an object {token, readToken, allowUnauthenticated}, got ${show(doc.auth)}`);
    else {
      is.keys(doc.auth, ['token', 'readToken', 'allowUnauthenticated'], 'auth');
      const printable = (t: string) => /^[\x21-\x7e]+$/.test(t);
      if (doc.auth.token !== null) token = is.str(doc.auth, 'token', 'auth', 'E_CFG_SYNTAX', printable, 'a token of printable ASCII without spaces') ?? null;
      if (doc.auth.readToken !== null) readToken = is.str(doc.auth, 'readToken', 'auth', 'E_CFG_SYNTAX', printable, 'a token of printable ASCII without spaces') ?? null;
      if (doc.auth.allowUnauthenticated !== undefined) {
        if (typeof doc.auth.allowUnauthenticated !== 'boolean') is.add('auth.allowUnauthenticated', 'E_CFG_SYNTAX', `must be true or false, got ${show(doc.auth.allowUnauthenticated)}`);
        else allowUnauthenticated = doc.auth.allowUnauthenticated;
      }
    }
  }

  const groups: string[] = [];
  list(doc, 'groups', is).forEach((g, i) => {
    if (typeof g === 'string' && isValidIdent(g)) groups.push(g);
    else is.add(join('groups', i), 'E_CFG_BAD_GROUP', `must be a group name of letters, digits, '_', '-', '.' (at most 64), got ${show(g)}`);
  });

  let profiles: readonly ProfileDef[];
  if (doc.profiles === undefined) profiles = defaultProfiles();
  else {
    const out: ProfileDef[] = [];
    const seen = new Map<string, number>();
    list(doc, 'profiles', is).forEach((p, i) => {
      const def = profile(p, join('profiles', i), is);
      if (def === undefined) return;
      const prev = seen.get(def.name.toLowerCase());
      if (prev !== undefined) is.add(join(join('profiles', i), 'name'), 'E_CFG_DUPLICATE', `profile '${def.name}' already defined at profiles[${prev}]`);
      else {
        seen.set(def.name.toLowerCase(), i);
        out.push(def);
      }
    });
    profiles = out;
  }

  const declared = new Set(['script', 'dynamic', ...groups.map((g) => g.toLowerCase()), ...profiles.map((p) => p.group.toLowerCase())]);
  const counters: CounterDef[] = [];
  const seenVar = new Map<string, number>();
  list(doc, 'variables', is).forEach((v, i) => {
    const path = join('variables', i);
    const c = variable(v, path, is);
    if (c === undefined) return;
    if (!declared.has(c.group.toLowerCase())) return is.add(path, 'E_CFG_BAD_VARIABLE', `group '${c.group}' is not declared (in groups or as a profile's group)`);
    const key = `${c.group.toLowerCase()}:${c.name}`;
    const prev = seenVar.get(key);
    if (prev !== undefined) return is.add(path, 'E_CFG_DUPLICATE', `variable '${c.group}:${c.name}' already defined at variables[${prev}]`);
    seenVar.set(key, i);
    counters.push(c);
  });

  const hep = opaque(doc, 'hep', is);
  const redis = readRedis(doc.redis, is);
  const kpi = opaque(doc, 'kpi', is);
  const dataDirText = doc.dataDir === undefined || doc.dataDir === null ? null : (is.str(doc, 'dataDir', '', 'E_CFG_SYNTAX') ?? null);
  const dataDir = dataDirText === null || baseDir === undefined ? dataDirText : resolve(baseDir, dataDirText);
  const ingest = readIngest(hep, kpi, baseDir, doc.limits);
  for (const [path, msg, code] of ingest.problems) is.add(path, code ?? 'E_CFG_SYNTAX', msg);
  const alerts = parseAlertsConfig(doc.alerts, doc.notify);
  for (const [path, code, msg] of alerts.problems) is.add(path, code, msg);
  const routing = parseRouting(doc.routing);
  for (const [path, msg, code] of routing.problems) is.add(path, code, msg);

  if (is.list.length > 0 || !listen.ok) return { ok: false, issues: is.list };
  const engine: EngineConfig = { counters, groups, profiles };
  return { ok: true, value: deepFreeze({ listen: listen.value, auth: { token, readToken, allowUnauthenticated }, engine, hep, dataDir, redis, kpi, alerts: alerts.value, routing: routing.value, ingest: ingest.value, source: 'native' as const }) };
}

/**
 * Parses native YAML or JSON text (JSON is read by the YAML 1.2 parser too: duplicate keys are
 * refused). `baseDir`: see parseNativeConfig.
 */
export function parseNativeText(text: string, baseDir?: string): Result<ServerConfig> {
  const doc = yamlLib().parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0)
    return {
      ok: false,
      issues: doc.errors.map((e) => ({ code: 'E_CFG_SYNTAX' as const, line: e.linePos?.[0].line ?? 0, message: e.message.split('\n')[0].replace(/:$/, '') })),
    };
  return parseNativeConfig(doc.toJS({ maxAliasCount: 100 }), baseDir);
}
