/**
 * The two ways a proxy asks sipstats which carrier to use for a number (src/kpi/router.ts answers):
 * MI `route_carriers` and `GET /api/route` (JSON, or plain text for scripts: `format=text`, one
 * carrier a line; `format=csv`, comma-separated). Read-only: a read token is enough.
 */
import type { Route } from '../http/server.ts';
import type { MiCommand } from '../mi/registry.ts';
import { bind, ParamError } from '../mi/params.ts';
import type { MiParams } from '../mi/types.ts';
import { routeText } from '../kpi/routing.ts';
import { CARRIER_ROWS, RouteQuestionError } from '../kpi/router.ts';
import type { Router } from '../kpi/router.ts';

/** MI `route_carriers` with params { number, customer?, carriers?: [..] } (named or positional). */
export function routeCarriersCommand(router: Router): MiCommand {
  return {
    name: 'route_carriers',
    run(params: MiParams) {
      const p = bind(params, ['number'], ['customer', CARRIER_ROWS]);
      if (typeof p.number !== 'string') throw new ParamError('number must be a string');
      if (p.customer !== undefined && typeof p.customer !== 'string') throw new ParamError('customer must be a string');
      const given = p[CARRIER_ROWS];
      const carriers = given === undefined ? undefined : typeof given === 'string' ? given.split(',').map((c) => c.trim()).filter((c) => c !== '') : given;
      if (carriers !== undefined && !isStringList(carriers)) throw new ParamError('carriers must be a list of carrier names');
      try {
        return router.answer({ number: p.number, customer: p.customer as string | undefined, carriers: carriers as string[] | undefined });
      } catch (e) {
        if (e instanceof RouteQuestionError) throw new ParamError(e.message);
        throw e;
      }
    },
  };
}

/** `GET /api/route?number=...&customer=...&carriers=a,b&format=json|text|csv`. */
export function routeApi(router: Router): Route {
  return {
    methods: ['GET'],
    path: '/api/route',
    auth: true,
    handle(_req, res, ctx) {
      const q = ctx.url.searchParams;
      const number = q.get('number');
      if (number === null) return ctx.fail('E_HTTP_BAD_REQUEST', 'number is missing (GET /api/route?number=...)');
      const format = q.get('format') ?? 'json';
      if (format !== 'json' && format !== 'text' && format !== 'csv') return ctx.fail('E_HTTP_BAD_REQUEST', `format must be json, text or csv, got '${format}'`);
      const list = q.get(CARRIER_ROWS);
      let answer;
      try {
        answer = router.answer({ number, customer: q.get('customer') ?? undefined, carriers: list === null ? undefined : list.split(',').map((c) => c.trim()).filter((c) => c !== '') });
      } catch (e) {
        if (e instanceof RouteQuestionError) return ctx.fail('E_HTTP_BAD_REQUEST', e.message);
        throw e;
      }
      if (format === 'json') return ctx.json(200, answer, { 'cache-control': 'no-store' });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(routeText(answer.carriers, format));
    },
  };
}

function isStringList(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (typeof x !== 'string') return false;
  return true;
}
