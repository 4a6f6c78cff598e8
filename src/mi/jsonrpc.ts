import type { MiErrorBody, MiHandler, MiParams } from './types.ts';

/**
 * The JSON-RPC 2.0 envelope of the MI (docs/mi.md), pure: body text in, reply text out (or null when
 * nothing must be answered). It knows no command: every valid request goes to a MiHandler, which
 * answers the commands, their aliases (`statistics:get`, ...) and `-32601 Method not found`.
 *
 *   const reply = await handleJsonRpc('{"jsonrpc":"2.0","method":"which","id":1}', stats);
 */

export type JsonRpcId = number | string | null;

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INTERNAL_ERROR = -32603;

/** Most requests one batch may carry; the body limit (1 MiB) bounds it anyway, this bounds work per body. */
export const MAX_BATCH = 10_000;

export interface JsonRpcRequest {
  method: string;
  params: MiParams;
  /** undefined for a notification (no `id` member). */
  id: JsonRpcId | undefined;
}

/** Reply object of one request; `id` is null when the request's id could not be read. */
export type JsonRpcResponse =
  | { jsonrpc: '2.0'; result: unknown; id: JsonRpcId }
  | { jsonrpc: '2.0'; error: MiErrorBody; id: JsonRpcId };

const errorReply = (id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse => ({
  jsonrpc: '2.0',
  error: data === undefined ? { code, message } : { code, message, data },
  id,
});

const isId = (v: unknown): v is JsonRpcId => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/**
 * Checks one request object. Returns the request, or the -32600 reply to send (JSON-RPC 2.0 answers
 * an invalid request even when it has no id, with the id when it is readable, else null).
 */
export function validateRequest(v: unknown): { ok: true; request: JsonRpcRequest } | { ok: false; reply: JsonRpcResponse } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, reply: errorReply(null, INVALID_REQUEST, 'Invalid Request') };
  const o = v as Record<string, unknown>;
  const hasId = Object.prototype.hasOwnProperty.call(o, 'id');
  const id = hasId && isId(o.id) ? o.id : null;
  const bad = (why: string) => ({ ok: false as const, reply: errorReply(id, INVALID_REQUEST, 'Invalid Request', why) });
  if (o.jsonrpc !== '2.0') return bad("'jsonrpc' must be \"2.0\"");
  if (typeof o.method !== 'string') return bad("'method' must be a string");
  if (hasId && !isId(o.id)) return bad("'id' must be a number, a string or null");
  const hasParams = Object.prototype.hasOwnProperty.call(o, 'params');
  if (hasParams && (o.params === null || typeof o.params !== 'object')) return bad("'params' must be an array or an object");
  return { ok: true, request: { method: o.method, params: hasParams ? (o.params as MiParams) : undefined, id: hasId ? (o.id as JsonRpcId) : undefined } };
}

/** Runs one valid request; returns its reply, or null for a notification. A throwing handler gives -32603. */
export async function dispatch(req: JsonRpcRequest, handler: MiHandler): Promise<JsonRpcResponse | null> {
  let reply;
  try {
    reply = await handler.mi(req.method, req.params);
  } catch (e) {
    reply = { error: { code: INTERNAL_ERROR, message: 'Internal error', data: e instanceof Error ? e.message : String(e) } };
  }
  if (req.id === undefined) return null;
  if ('error' in reply) return { jsonrpc: '2.0', error: reply.error, id: req.id };
  return { jsonrpc: '2.0', result: reply.result === undefined ? null : reply.result, id: req.id };
}

/** Answers a parsed JSON value: one request or a batch. null = nothing to send (notifications only). */
export async function handleJsonRpcValue(value: unknown, handler: MiHandler): Promise<JsonRpcResponse | JsonRpcResponse[] | null> {
  if (!Array.isArray(value)) {
    const v = validateRequest(value);
    return v.ok ? dispatch(v.request, handler) : v.reply;
  }
  if (value.length === 0) return errorReply(null, INVALID_REQUEST, 'Invalid Request', 'empty batch');
  if (value.length > MAX_BATCH) return errorReply(null, INVALID_REQUEST, 'Invalid Request', `batch of more than ${MAX_BATCH} requests`);
  const out: JsonRpcResponse[] = [];
  // in order, one after the other: updates and reads of one batch see each other as sent
  for (const item of value) {
    const v = validateRequest(item);
    const r = v.ok ? await dispatch(v.request, handler) : v.reply;
    if (r !== null) out.push(r);
  }
  return out.length === 0 ? null : out;
}

/**
 * Answers a request body. Returns the reply text, or null when no body must be sent (a notification,
 * or a batch of notifications only). Never throws: a handler failure becomes -32603.
 */
export async function handleJsonRpc(body: string, handler: MiHandler): Promise<string | null> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return JSON.stringify(errorReply(null, PARSE_ERROR, 'Parse error'));
  }
  const reply = await handleJsonRpcValue(value, handler);
  if (reply === null) return null;
  try {
    return JSON.stringify(reply);
  } catch (e) {
    // a result that does not serialise (a cycle, a BigInt) is a handler bug, not the client's
    const id = Array.isArray(reply) ? null : reply.id;
    return JSON.stringify(errorReply(id, INTERNAL_ERROR, 'Internal error', e instanceof Error ? e.message : String(e)));
  }
}
