import type { StatView } from '../core/types.ts';
import type { ServerResponse } from 'node:http';
import type { Route } from '../http/server.ts';
import { acceptsGzip } from '../http/encoding.ts';
import { ERRORS } from '../errors.ts';
import { GzipText } from './gzip.ts';
import { PrometheusSerializer } from './prometheus.ts';
import type { PrometheusOptions } from './prometheus.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `GET /metrics`: the Prometheus text of every statistic `source` yields (one serializer, its cache
 * kept), then what `extra` returns (complete metric families, e.g. `sipstats_alert`).
 */
export function metricsRoute(source: { forEachStat(cb: (v: StatView) => void): void }, options?: PrometheusOptions, path = '/metrics', extra?: () => string): Route {
  const serializer = new PrometheusSerializer(options);
  return {
    methods: ['GET'],
    path,
    handle(req, res) {
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      send(res, serializer.serializeChunks((cb) => source.forEachStat(cb), extra?.() ?? '', gzip ? GZIP : undefined), gzip);
    },
  };
}

const GZIP = new GzipText();

/** A scrape's reply: its chunks one after the other (never copied into one buffer), gzip when asked and taken. */
function send(res: ServerResponse, chunks: Buffer[], gzip: boolean): void {
  let length = 0;
  for (const c of chunks) length += c.length;
  res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': length, ...(gzip ? { 'content-encoding': 'gzip' } : {}), vary: 'Accept-Encoding' });
  res.cork();
  for (const c of chunks) res.write(c);
  res.uncork();
  res.end();
}

/**
 * A metrics route over a source that must be awaited (cluster values read from Redis). When the
 * source fails the scrape gets 503, so Prometheus marks it down rather than reading stale numbers.
 */
export function asyncMetricsRoute(collect: (cb: (v: StatView) => void) => Promise<void>, options: PrometheusOptions, path: string): Route {
  const serializer = new PrometheusSerializer(options);
  return {
    methods: ['GET'],
    path,
    handle(req, res) {
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      const views: StatView[] = [];
      return collect((v) => views.push(v)).then(
        () => {
          send(res, serializer.serializeChunks((cb) => views.forEach(cb), '', gzip ? GZIP : undefined), gzip);
        },
        (e: unknown) => {
          // Prometheus reads the text: the registry's code and title first (E_CLUSTER_UNAVAILABLE, 503)
          const body = `${ERRORS.E_CLUSTER_UNAVAILABLE.title} [E_CLUSTER_UNAVAILABLE]: ${e instanceof Error ? e.message : String(e)}\n`;
          res.writeHead(ERRORS.E_CLUSTER_UNAVAILABLE.mi, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        },
      );
    },
  };
}
