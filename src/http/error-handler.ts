/**
 * Catches everything below it and answers in the shape of the surface the request
 * was for. 5xx causes are logged with the request id and never sent to the caller.
 */
import type Koa from 'koa';
import { asBrokerError, BrokerError, publicMessage } from '../errors.js';
import type { Logger } from './logger.js';
import { FailureLog } from './upstream-failure-log.js';

/** Writes one error onto the response, in a surface's wire format. */
export type ErrorSerializer = (ctx: Koa.Context, err: BrokerError) => void;

export interface SurfaceErrors {
  prefix: string;
  serialize: ErrorSerializer;
}

/** RFC 6749 §5.2's shape: the default for paths no surface claims. */
export const oauthErrorSerializer: ErrorSerializer = (ctx, err) => {
  ctx.status = err.status;
  ctx.body = { error: err.code, error_description: publicMessage(err) };
};

export function errorHandler(log: Logger, surfaces: SurfaceErrors[]): Koa.Middleware {
  const failures = new FailureLog(log);
  return async function handleErrors(ctx, next) {
    try {
      await next();
      // The routers' own answers (no route, wrong method) come without a body: give them
      // the surface's shape like every other error (the router has set Allow already).
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) throw new BrokerError('not_found', 'Not found');
        if (ctx.status === 405) throw new BrokerError('method_not_allowed', `${ctx.method} is not allowed here`);
        if (ctx.status === 501) throw new BrokerError('not_implemented', `${ctx.method} is not supported`);
      }
    } catch (thrown) {
      const err = asBrokerError(thrown);
      if (err.status >= 500) failures.serverError(err, thrown);
      else log.debug(err.message, { code: err.code, status: err.status, upstream: err.upstream });
      // Routes match case-insensitively, so the surface is found the same way.
      const path = ctx.path.toLowerCase();
      const surface = surfaces.find((s) => path.startsWith(s.prefix.toLowerCase()));
      // Anything set before the failure (cookies, caching) no longer applies.
      ctx.set('Cache-Control', 'no-store');
      if (err.retryAfter) ctx.set('Retry-After', String(err.retryAfter));
      (surface?.serialize ?? oauthErrorSerializer)(ctx, err);
    }
  };
}
