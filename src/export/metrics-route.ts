import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatView } from '../core/types.ts';
import { PrometheusSerializer } from './prometheus.ts';
import type { PrometheusOptions } from './prometheus.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A route as the HTTP listener's route table takes it (structural: export does not import app). */
export interface MetricsRoute {
  readonly methods: readonly string[];
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** `GET /metrics`: the Prometheus text of every statistic `source` yields (one serializer, its cache kept). */
export function metricsRoute(source: { forEachStat(cb: (v: StatView) => void): void }, options?: PrometheusOptions, path = '/metrics'): MetricsRoute {
  const serializer = new PrometheusSerializer(options);
  return {
    methods: ['GET'],
    path,
    handle(_req, res) {
      // encoded once: the length and the bytes come from one pass over the text
      const body = Buffer.from(serializer.serialize((cb) => source.forEachStat(cb)), 'utf8');
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': body.length });
      res.end(body);
    },
  };
}
