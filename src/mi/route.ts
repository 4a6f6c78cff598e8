import { SipstatsError } from '../errors.ts';
import type { Route } from '../http/server.ts';
import { handleJsonRpc } from './jsonrpc.ts';
import { toErrorBody } from './registry.ts';
import type { MiHandler } from './types.ts';

/**
 * `POST /mi` and `/mi/...`: a JSON-RPC 2.0 body (any Content-Type is accepted: OpenSIPS clients send
 * `application/json`, curl users often forget it). 200 with the reply for results and JSON-RPC
 * errors alike, 204 when nothing is to be answered (notifications).
 */
export function miRoute(handler: MiHandler, path = '/mi'): Route {
  return {
    methods: ['POST'],
    path,
    prefix: true,
    async handle(_req, res, ctx) {
      const body = await ctx.body();
      // a read-only token may call every command that changes nothing
      const h: MiHandler =
        ctx.access === 'admin' || handler.writes === undefined
          ? handler
          : {
              miCommands: () => handler.miCommands(),
              mi: async (method, params) =>
                handler.writes!(method) ? { error: toErrorBody(new SipstatsError('E_READ_ONLY', `'${method}' changes statistics: the read-only token may not call it`)) } : handler.mi(method, params),
            };
      const reply = await handleJsonRpc(body.toString('utf8'), h);
      if (reply === null) {
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    },
  };
}
