import type { ConfigIssue, ErrorCode, Result } from '../errors.ts';
import { ALGORITHMS, ALGORITHM_OPTION_KEYS } from '../core/algorithms/index.ts';
import type { CounterDef, EngineConfig, ProfileDef } from '../core/types.ts';
import { isValidIdent, isValidStatName } from '../core/value.ts';
import { scanModparams } from './modparam-scanner.ts';
import { DEFAULTS } from '../defaults.ts';

/** Limits of profile keys; outside them OpenSIPS crashes or misbehaves, sipstats refuses. */
export const PROFILE_LIMITS = {
  /** seconds */
  maxWindow: 604800,
  maxSlots: 86400,
  maxPrecision: 6,
} as const;

/** Defaults of `stat_series_profile` keys, as in OpenSIPS. */
export const PROFILE_DEFAULTS = DEFAULTS.profile;

export interface ProfileInput {
  name: string;
  algorithm?: string;
  window?: number;
  slots?: number;
  group?: string;
  percentageFactor?: number;
  precision?: number | null;
  minSamples?: number;
  options?: Record<string, number>;
  maxSeries?: number;
  idle?: number;
  overflow?: string;
}


const isInt = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi;

/**
 * Validates a profile and fills its defaults. Returns the problems found (all of them) as messages.
 * Used by the OpenSIPS text parser and by the native config loader.
 */
export function buildProfile(input: ProfileInput): { value?: ProfileDef; problems: string[] } {
  const problems: string[] = [];
  if (!isValidIdent(input.name)) problems.push(`profile name ${JSON.stringify(input.name)} is invalid (letters, digits, '_', '-', '.'; at most 64)`);
  const algorithm = (input.algorithm ?? PROFILE_DEFAULTS.algorithm).toLowerCase();
  const factory = ALGORITHMS.get(algorithm);
  if (factory === undefined) problems.push(`unknown algorithm '${input.algorithm}' (one of: ${[...ALGORITHMS.keys()].join(', ')})`);
  else {
    for (const k of Object.keys(input.options ?? {})) if (!factory.options.includes(k)) problems.push(`key '${k}' does not apply to algorithm=${algorithm}`);
    problems.push(...factory.validate(input.options ?? {}));
  }
  const window = input.window ?? PROFILE_DEFAULTS.window;
  if (!isInt(window, 1, PROFILE_LIMITS.maxWindow)) problems.push(`window=${input.window} must be an integer number of seconds from 1 to ${PROFILE_LIMITS.maxWindow}`);
  const windowOk = isInt(window, 1, PROFILE_LIMITS.maxWindow);
  const slots = input.slots ?? (windowOk ? Math.min(window, PROFILE_LIMITS.maxSlots) : 1);
  if (!isInt(slots, 1, PROFILE_LIMITS.maxSlots)) problems.push(`slots=${input.slots} must be an integer from 1 to ${PROFILE_LIMITS.maxSlots}`);
  else if (windowOk && slots > window * 1000) problems.push(`slots=${slots} is more than window*1000 (${window * 1000}): a slot must last at least 1 ms`);
  const group = input.group ?? input.name;
  if (!isValidIdent(group)) problems.push(`group ${JSON.stringify(group)} is invalid`);
  const percentageFactor = input.percentageFactor ?? PROFILE_DEFAULTS.percentageFactor;
  if (!(isInt(percentageFactor, 1, 1e9) && Number.isInteger(Math.log10(percentageFactor)) && 10 ** Math.log10(percentageFactor) === percentageFactor))
    problems.push(`percentage_factor=${input.percentageFactor} must be a power of 10 (1, 10, 100, 1000, ...)`);
  const precision = input.precision ?? null;
  if (precision !== null && !isInt(precision, 0, PROFILE_LIMITS.maxPrecision)) problems.push(`precision=${input.precision} must be an integer from 0 to ${PROFILE_LIMITS.maxPrecision}`);
  const minSamples = input.minSamples ?? 0;
  if (!isInt(minSamples, 0, 1e9)) problems.push(`min_samples=${input.minSamples} must be an integer from 0 to 1000000000`);
  const maxSeries = input.maxSeries ?? 0;
  if (!isInt(maxSeries, 0, 1e8)) problems.push(`max_series=${input.maxSeries} must be an integer from 0 (unlimited) to 100000000`);
  const idle = input.idle ?? 0;
  if (!isInt(idle, 0, 31_536_000)) problems.push(`idle=${input.idle} must be a number of seconds from 0 (never) to 31536000`);
  else if (idle > 0 && windowOk && idle < window) problems.push(`idle=${idle} is shorter than the window (${window} s): a series would be removed while it still holds data`);
  const overflow = (input.overflow ?? 'refuse').toLowerCase();
  if (overflow !== 'refuse' && overflow !== 'other') problems.push(`overflow=${input.overflow} must be 'refuse' or 'other'`);
  if (problems.length > 0) return { problems };
  const limits = maxSeries > 0 || idle > 0 ? { maxSeries, idle, overflow: overflow as 'refuse' | 'other' } : {};
  return {
    problems,
    value: Object.freeze({ name: input.name, algorithm, window, slots, group, percentageFactor, precision, minSamples, options: Object.freeze({ ...(input.options ?? {}) }), ...limits }),
  };
}

/** Parses the value of a `stat_series_profile` modparam: `NAME: key=value key=value ...`. */
export function parseProfileLine(text: string): { value?: ProfileDef; problems: string[] } {
  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).trim();
  const rest = colon < 0 ? '' : text.slice(colon + 1).trim();
  const input: ProfileInput = { name };
  const problems: string[] = [];
  const seen = new Set<string>();
  const num = (key: string, v: string): number => {
    if (!/^[+-]?\d+(\.\d+)?$/.test(v)) {
      problems.push(`${key}=${v} is not a number`);
      return NaN;
    }
    return Number(v);
  };
  for (const tok of rest === '' ? [] : rest.split(/\s+/)) {
    const eq = tok.indexOf('=');
    if (eq <= 0) {
      problems.push(`'${tok}' is not key=value`);
      continue;
    }
    const key = tok.slice(0, eq).toLowerCase();
    const v = tok.slice(eq + 1);
    if (seen.has(key)) problems.push(`key '${key}' given twice`);
    seen.add(key);
    switch (key) {
      case 'algorithm': input.algorithm = v; break;
      case 'window': input.window = num(key, v); break;
      case 'slots': input.slots = num(key, v); break;
      case 'group': input.group = v; break;
      case 'percentage_factor': input.percentageFactor = num(key, v); break;
      case 'precision': input.precision = num(key, v); break;
      case 'min_samples': input.minSamples = num(key, v); break;
      case 'max_series': input.maxSeries = num(key, v); break;
      case 'idle': input.idle = num(key, v); break;
      case 'overflow': input.overflow = v; break;
      default:
        if (ALGORITHM_OPTION_KEYS.has(key)) (input.options ??= {})[key] = num(key, v);
        else problems.push(`unknown key '${key}' (algorithm, window, slots, group, percentage_factor, precision, min_samples, max_series, idle, overflow${[...ALGORITHM_OPTION_KEYS].map((k) => ', ' + k).join('')})`);
    }
  }
  if (problems.length > 0) return { problems };
  return buildProfile(input);
}

/**
 * Parses OpenSIPS `modparam("statistics", ...)` lines, alone or inside a whole opensips.cfg (other
 * lines are ignored). Every problem is reported, each with its line number.
 */
export function parseOpenSipsConfig(text: string): Result<EngineConfig> {
  const issues: ConfigIssue[] = [];
  const issue = (line: number, code: ErrorCode, message: string) => issues.push({ line, code, message });
  const groups: string[] = [];
  const variables: { line: number; name: string; noReset: boolean }[] = [];
  const profiles: ProfileDef[] = [];
  const profileNames = new Map<string, number>();

  for (const mp of scanModparams(text)) {
    if (mp.error !== undefined) {
      issue(mp.line, 'E_CFG_SYNTAX', mp.error);
      continue;
    }
    if (mp.module !== 'statistics') continue;
    const value = mp.value;
    if (typeof value !== 'string') {
      issue(mp.line, 'E_CFG_SYNTAX', `modparam("statistics", "${mp.param}", ...) needs a string value`);
      continue;
    }
    switch (mp.param) {
      case 'variable': {
        const slash = value.indexOf('/');
        const name = (slash < 0 ? value : value.slice(0, slash)).trim();
        const flag = slash < 0 ? '' : value.slice(slash + 1).trim();
        let ok = true;
        if (flag !== '' && flag.toLowerCase() !== 'no_reset') {
          issue(mp.line, 'E_CFG_BAD_VARIABLE', `variable '${value}': unknown flag '/${flag}' (only /no_reset)`);
          ok = false;
        }
        const colon = name.indexOf(':');
        const bare = colon < 0 ? name : name.slice(colon + 1);
        if (!isValidStatName(bare) || (colon >= 0 && !isValidIdent(name.slice(0, colon)))) {
          issue(mp.line, 'E_CFG_BAD_VARIABLE', `variable ${JSON.stringify(value)}: invalid statistic name`);
          ok = false;
        }
        if (ok) variables.push({ line: mp.line, name, noReset: flag !== '' });
        break;
      }
      case 'stat_groups':
        for (const g of value.split(/[\s,]+/).filter((x) => x !== '')) {
          if (isValidIdent(g)) groups.push(g);
          else issue(mp.line, 'E_CFG_BAD_GROUP', `stat_groups: invalid group name ${JSON.stringify(g)}`);
        }
        if (value.trim() === '') issue(mp.line, 'E_CFG_BAD_GROUP', 'stat_groups: empty value');
        break;
      case 'stat_series_profile': {
        const r = parseProfileLine(value);
        if (r.value === undefined) {
          for (const p of r.problems) issue(mp.line, 'E_CFG_BAD_PROFILE', `profile ${JSON.stringify(value.split(':')[0].trim())}: ${p}`);
          break;
        }
        const key = r.value.name.toLowerCase();
        const prev = profileNames.get(key);
        if (prev !== undefined) issue(mp.line, 'E_CFG_DUPLICATE', `profile '${r.value.name}' already defined on line ${prev}`);
        else {
          profileNames.set(key, mp.line);
          profiles.push(r.value);
        }
        break;
      }
      default:
        issue(mp.line, 'E_CFG_UNKNOWN_PARAM', `unknown statistics parameter '${mp.param}' (variable, stat_groups, stat_series_profile)`);
    }
  }

  const declared = new Set(['script', 'dynamic', ...groups.map((g) => g.toLowerCase()), ...profiles.map((p) => p.group.toLowerCase())]);
  const counters: CounterDef[] = [];
  const seen = new Map<string, number>();
  for (const v of variables) {
    const colon = v.name.indexOf(':');
    const group = colon < 0 ? 'script' : v.name.slice(0, colon);
    const name = colon < 0 ? v.name : v.name.slice(colon + 1);
    if (!declared.has(group.toLowerCase())) {
      issue(v.line, 'E_CFG_BAD_VARIABLE', `variable '${v.name}': group '${group}' is not declared`);
      continue;
    }
    const key = `${group.toLowerCase()}:${name}`;
    const prev = seen.get(key);
    if (prev !== undefined) {
      issue(v.line, 'E_CFG_DUPLICATE', `variable '${name}' already defined on line ${prev}`);
      continue;
    }
    seen.set(key, v.line);
    counters.push(Object.freeze({ name, group, noReset: v.noReset }));
  }
  if (issues.length > 0) return { ok: false, issues: issues.sort((a, b) => a.line - b.line) };
  return { ok: true, value: Object.freeze({ counters: Object.freeze(counters), groups: Object.freeze(groups), profiles: Object.freeze(profiles) }) };
}
