/** In-process MI: what `stats.mi(method, params)` answers, before any JSON-RPC envelope. */
export type MiParams = unknown[] | Record<string, unknown> | undefined;

export interface MiErrorBody {
  /** JSON-RPC / OpenSIPS error code, e.g. -32602, -32601, 404. */
  code: number;
  message: string;
  data?: unknown;
}

export type MiReply = { result: unknown } | { error: MiErrorBody };

/** Anything that answers MI commands: the engine facade, or a server that adds its own commands. */
export interface MiHandler {
  mi(method: string, params?: MiParams): Promise<MiReply>;
  /** Every command name this handler answers, aliases included (OpenSIPS `which`). */
  miCommands(): string[];
  /** Whether a command changes statistics (refused to a read-only token); absent: none does. */
  writes?(method: string): boolean;
}
