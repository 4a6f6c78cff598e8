import { ERRORS, SipstatsError } from '../errors.ts';
import type { MiErrorBody, MiParams } from './types.ts';

/** A JSON-RPC -32602 error with OpenSIPS' `data` text. */
/**
 * MI params that do not fit the command: E_BAD_PARAMS (-32602). Its reply keeps OpenSIPS' shape,
 * `data` being the plain text OpenSIPS sends (clients such as opensips-cli print it), not an object.
 */
export class ParamError extends SipstatsError {
  constructor(readonly data: string) {
    super('E_BAD_PARAMS', data);
  }
  body(): MiErrorBody {
    return { code: ERRORS.E_BAD_PARAMS.mi, message: ERRORS.E_BAD_PARAMS.title, data: this.data };
  }
}

export const TOO_FEW_OR_MANY = 'Too few or too many parameters';
export const NAMED_MISMATCH = 'Named parameters do not match';

/** True for absent params and for empty arrays/objects (they count as no params, docs/mi.md). */
export function isEmpty(params: MiParams): boolean {
  if (params === undefined || params === null) return true;
  if (Array.isArray(params)) return params.length === 0;
  return Object.keys(params).length === 0;
}

/**
 * Matches params against a command's parameter list (positional or named), like OpenSIPS: the
 * number of given params must be one of the accepted shapes and named params must match exactly.
 * `required` names come first in positional order; `optional` may follow.
 */
export function bind(params: MiParams, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  const all = [...required, ...optional];
  const out: Record<string, unknown> = {};
  if (isEmpty(params)) {
    if (required.length > 0) throw new ParamError(TOO_FEW_OR_MANY);
    return out;
  }
  if (Array.isArray(params)) {
    if (params.length < required.length || params.length > all.length) throw new ParamError(TOO_FEW_OR_MANY);
    params.forEach((v, i) => (out[all[i]] = v));
    return out;
  }
  const keys = Object.keys(params as object);
  for (const k of keys) if (!all.includes(k)) throw new ParamError(NAMED_MISMATCH);
  for (const r of required) if (!keys.includes(r)) throw new ParamError(keys.length < required.length ? TOO_FEW_OR_MANY : NAMED_MISMATCH);
  for (const k of keys) out[k] = (params as Record<string, unknown>)[k];
  return out;
}

/** The `statistics` array parameter: an array of strings, not empty. */
export function statisticsParam(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ParamError("Bad type for parameter 'statistics'");
  if (v.length === 0) throw new ParamError("Empty array in parameter 'statistics'");
  return v as string[];
}

export function stringParam(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new ParamError(`Bad type for parameter '${name}'`);
  return v;
}
