/**
 * Request id (kept from a sane X-Request-Id, otherwise new), echoed in the response,
 * and one access-log line per request: method, path without the query (queries can
 * carry secrets on the connect API), status, duration.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from './logger.js';

const SAFE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestContext(log: Logger): Koa.Middleware {
  return async function requestContext(ctx, next) {
    const given = ctx.get('x-request-id');
    ctx.state.requestId = SAFE_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      log.info('request', { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 });
    }
  };
}
