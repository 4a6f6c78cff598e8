import { SipstatsError } from '../errors.ts';
import { ParamError } from './params.ts';
import type { MiErrorBody, MiHandler, MiParams, MiReply } from './types.ts';

/**
 * One MI command. `run` returns the result, or `{ error }` for an OpenSIPS-style failure reply;
 * it may throw ParamError (-32602) or SipstatsError (its MI code, message saying why).
 */
export interface MiCommand {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** Changes statistics (updates, resets, removals): refused to a read-only token. */
  readonly writes?: boolean;
  run(params: MiParams): unknown;
}

/** A table of MI commands with their aliases; answers `which` with every name it knows. */
export class MiRegistry implements MiHandler {
  private readonly commands = new Map<string, MiCommand>();

  constructor(commands: Iterable<MiCommand> = []) {
    this.add({ name: 'which', run: () => this.miCommands() });
    for (const c of commands) this.add(c);
  }

  add(c: MiCommand): void {
    for (const n of [c.name, ...(c.aliases ?? [])]) this.commands.set(n, c);
  }

  miCommands(): string[] {
    return [...this.commands.keys()];
  }

  /** Whether a command changes statistics (a read-only token may not call it). */
  writes(method: string): boolean {
    return this.commands.get(method)?.writes === true;
  }

  /** Answers a command; commands that return a promise (cluster reads) are awaited. */
  async mi(method: string, params?: MiParams): Promise<MiReply> {
    const r = this.call(method, params);
    if (!('result' in r) || !(r.result instanceof Promise)) return r;
    try {
      const v: unknown = await r.result;
      if (v !== null && typeof v === 'object' && 'error' in v && isErrorBody((v as { error: unknown }).error)) return v as { error: MiErrorBody };
      return { result: v };
    } catch (e) {
      return { error: toErrorBody(e) };
    }
  }

  /** Synchronous form of `mi` (the engine's commands never wait). */
  call(method: string, params?: MiParams): MiReply {
    const c = typeof method === 'string' ? this.commands.get(method) : undefined;
    if (c === undefined) return { error: { code: -32601, message: 'Method not found' } };
    if (params !== undefined && params !== null && typeof params !== 'object') return { error: new ParamError('Bad type for params').body() };
    try {
      const r = c.run(params ?? undefined);
      if (r !== null && typeof r === 'object' && 'error' in r && isErrorBody((r as { error: unknown }).error)) return r as { error: MiErrorBody };
      return { result: r };
    } catch (e) {
      return { error: toErrorBody(e) };
    }
  }
}

function isErrorBody(e: unknown): e is MiErrorBody {
  return e !== null && typeof e === 'object' && typeof (e as MiErrorBody).code === 'number' && typeof (e as MiErrorBody).message === 'string';
}

export function toErrorBody(e: unknown): MiErrorBody {
  if (e instanceof ParamError) return e.body();
  if (e instanceof SipstatsError) return { code: e.miCode, message: e.message, data: { code: e.code, ...(e.details ?? {}) } };
  return { code: 500, message: `Internal error: ${e instanceof Error ? e.message : String(e)}` };
}
