/**
 * Request id (kept from a sane X-Request-Id, otherwise new), echoed in the response, the
 * request's scope for every part below (request-scope.ts), and one access-log line per
 * request: method, route (the route table's pattern, never the raw path: queries and
 * paths can carry secrets and user input), status, duration, tenant, upstream time.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { Metrics } from '../metrics/metrics.js';
import type { DirectLane } from './direct-lane.js';
import { sendMemo, type AnswerMemo } from './answer-memo.js';
import type { AccessFields, Logger } from './logger.js';
import { endScope, runInScope, type RequestScope } from '../request-scope.js';
import { clientAddress } from './client-address.js';

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

/** A caller's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}

/** The access line and the duration metric of one request, however it was answered. */
export function observe(log: Logger, metrics: Metrics | undefined, fields: AccessFields & { matched: boolean }): void {
  metrics?.httpDuration.observe({
    surface: fields.matched ? surfaceOf(fields.route) : 'none', route: fields.matched ? fields.route : '(unmatched)',
    method: KNOWN_METHODS.has(fields.method) ? fields.method : 'other', status_class: `${Math.floor(fields.status / 100)}xx`,
  }, fields.ms / 1000);
  log.access({ method: fields.method, route: fields.route, status: fields.status, ms: round(fields.ms), tenant: fields.tenant, upstreamMs: round(fields.upstreamMs), reqId: fields.reqId });
}

export function requestContext(log: Logger, metrics?: Metrics, memo?: AnswerMemo): Koa.Middleware {
  return async function requestContext(ctx, next) {
    let address: string | undefined; // read once, if ever: the gates and each slot ask for it
    const scope: RequestScope = { requestId: requestIdOf(ctx.get('x-request-id')), upstreamMs: 0, address: () => (address ??= clientAddress(ctx)) };
    ctx.state.requestId = scope.requestId;
    ctx.set('X-Request-Id', scope.requestId);
    const start = performance.now();
    try {
      await runInScope(scope, next);
    } finally {
      endScope(scope);
      // The route table's pattern, never the raw path: unmatched paths are one label value.
      const route = (ctx as Koa.Context & { _matchedRoute?: string })._matchedRoute;
      const tenant = ctx.state.tenant?.slug ?? ctx.state.issuer?.tenant?.slug;
      const local = ctx.state.localAnswer;
      if (memo && local && route && ctx.status === 200 && ctx.body === local.body) {
        memo.record(ctx.req, ctx.response.headers, local.body, local.etag, route, tenant);
      }
      observe(log, metrics, { method: ctx.method, route: route ?? '(none)', matched: route !== undefined, status: ctx.status, ms: performance.now() - start, tenant, upstreamMs: scope.upstreamMs, reqId: scope.requestId });
    }
  };
}

/**
 * The server's request listener: a local answer recorded in `memo` is sent from there
 * (answer-memo.ts), with its own request id, access line and metrics; a direct route's
 * canonical request goes to the direct lane (direct-lane.ts); everything else to Koa.
 */
export function frontDoor(memo: AnswerMemo, lane: DirectLane, koa: (req: IncomingMessage, res: ServerResponse) => void, log: Logger, metrics?: Metrics) {
  return function frontDoor(req: IncomingMessage, res: ServerResponse): void {
    const answer = memo.find(req);
    if (!answer) {
      const direct = lane.find(req);
      return direct ? lane.serve(direct, req, res) : koa(req, res);
    }
    const start = performance.now();
    const reqId = requestIdOf(req.headers['x-request-id']);
    const status = sendMemo(res, req, answer, reqId);
    observe(log, metrics, { method: 'GET', route: answer.route, matched: true, status, ms: performance.now() - start, tenant: answer.tenant, upstreamMs: 0, reqId });
  };
}
