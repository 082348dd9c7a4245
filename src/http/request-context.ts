/**
 * Request id (kept from a sane X-Request-Id, otherwise new), echoed in the response, the
 * request's scope for every part below (request-scope.ts), and one access-log line per
 * request: method, route (the route table's pattern, never the raw path: queries and
 * paths can carry secrets and user input), status, duration, tenant, upstream time.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Metrics } from '../metrics/metrics.js';
import type { Logger } from './logger.js';
import { runInScope, type RequestScope } from '../request-scope.js';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const round = (ms: number) => Math.round(ms * 10) / 10;

/** The surface a route pattern belongs to (a metrics label: a fixed set). */
function surfaceOf(route: string | undefined): string {
  if (!route) return 'none';
  if (route.startsWith('/auth/api/v1')) return 'connect';
  if (route.startsWith('/v1/auth')) return 'scaiwave';
  if (route.startsWith('/api/v1/platform')) return 'platform';
  if (route.startsWith('/api/v1/auth/tenants')) return 'tenant';
  return 'other';
}

export function requestContext(log: Logger, metrics?: Metrics): Koa.Middleware {
  return async function requestContext(ctx, next) {
    const given = ctx.get('x-request-id');
    const scope: RequestScope = { requestId: SAFE_ID.test(given) ? given : randomUUID(), upstreamMs: 0 };
    ctx.state.requestId = scope.requestId;
    ctx.set('X-Request-Id', scope.requestId);
    const start = performance.now();
    try {
      await runInScope(scope, next);
    } finally {
      const ms = performance.now() - start;
      // The route table's pattern, never the raw path: unmatched paths are one label value.
      const route = (ctx as Koa.Context & { _matchedRoute?: string })._matchedRoute;
      metrics?.httpDuration.observe({ surface: surfaceOf(route), route: route ?? '(unmatched)', method: KNOWN_METHODS.has(ctx.method) ? ctx.method : 'other', status_class: `${Math.floor(ctx.status / 100)}xx` }, ms / 1000);
      log.access({
        method: ctx.method,
        route: route ?? '(none)',
        status: ctx.status,
        ms: round(ms),
        tenant: (ctx.state.tenant as { slug?: string } | undefined)?.slug ?? (ctx.state.issuer as { tenant?: { slug?: string } } | undefined)?.tenant?.slug,
        upstreamMs: round(scope.upstreamMs),
        reqId: scope.requestId,
      });
    }
  };
}
