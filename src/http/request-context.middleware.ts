import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { type Logger, preparedLine } from '../logger.ts';
import { context, type RequestContext, routeTemplate } from './context.ts';
import type { Metrics } from './metrics.ts';

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const REQUEST_LINE = [
  'request_id',
  'actor',
  'identity_failure',
  'method',
  'route',
  'status',
  'duration_ms',
  'upstream_status',
  'upstream_duration_ms',
  'upstream_attempts',
] as const;

const round = (ms: number) => Math.round(ms * 10) / 10;

type Series = { count: { inc(): void }; duration: { observe(value: number): void } };

/** The labelled series of each method × route × status, looked up once (labels are bounded: no raw paths). */
function seriesCache(metrics: Metrics): (method: string, route: string, status: string) => Series {
  const cache = new Map<string, Series>();
  return (method, route, status) => {
    const key = `${method} ${route} ${status}`;
    let series = cache.get(key);
    if (series === undefined) {
      const labels = { method, route, status };
      series = { count: metrics.requests.labels(labels), duration: metrics.requestDuration.labels(labels) };
      cache.set(key, series);
    }
    return series;
  };
}

function observe(metrics: Metrics, ctx: RequestContext, series: Series): void {
  series.count.inc();
  series.duration.observe((performance.now() - ctx.startedAt) / 1000);
  if (ctx.upstream)
    metrics.upstreamDuration.observe({ status: String(ctx.upstream.status ?? 'none') }, ctx.upstream.durationMs / 1000);
  if (ctx.identityFailure) metrics.identityFailures.inc({ reason: ctx.identityFailure });
  if (ctx.rateLimitedBy) metrics.rateLimitRejections.inc({ budget: ctx.rateLimitedBy });
}

/** Keeps a well-formed inbound X-Request-Id (or makes one), echoes it, and logs and counts each request once. */
export function requestContext(logger: Logger, metrics: Metrics): RequestHandler {
  const seriesOf = seriesCache(metrics);
  // Chosen fields only: never headers or bodies, which carry identities, credentials and secrets.
  const logRequest = preparedLine(logger, 'request', REQUEST_LINE);
  return (req, res, next) => {
    const inbound = req.headers['x-request-id'];
    const requestId = typeof inbound === 'string' && WELL_FORMED_REQUEST_ID.test(inbound) ? inbound : randomUUID();
    res.locals.ctx = { requestId, startedAt: performance.now() };
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const ctx = context(res);
      const route = routeTemplate(req);
      observe(metrics, ctx, seriesOf(req.method, route, String(res.statusCode)));
      logRequest({
        request_id: ctx.requestId,
        actor: ctx.identity?.email ?? null,
        identity_failure: ctx.identityFailure,
        method: req.method,
        route,
        status: res.statusCode,
        duration_ms: round(performance.now() - ctx.startedAt),
        upstream_status: ctx.upstream?.status ?? null,
        upstream_duration_ms: ctx.upstream ? round(ctx.upstream.durationMs) : null,
        upstream_attempts: ctx.upstream?.attempts,
      });
    });
    next();
  };
}
