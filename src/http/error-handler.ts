/**
 * The one error policy: whatever a request throws is logged as it deserves (5xx causes with
 * the request id, never sent to the caller) and answered in the shape of the surface the
 * request was for. The Koa pipeline applies it in `errorHandler`, the direct lane
 * (direct-lane.ts) through the same `ErrorPolicy`.
 */
import type Koa from 'koa';
import { asBrokerError, BrokerError, publicMessage } from '../errors.js';
import type { Logger } from './logger.js';
import { FailureLog } from './upstream-failure-log.js';

/** What an error page is written onto (Koa's context is one). */
export interface PageTarget {
  status: number;
  type: string;
  body: unknown;
  set(name: string, value: string): void;
}

/** What an error is written onto: Koa's context, or the direct lane's answer. */
export interface ErrorTarget extends PageTarget {
  get(name: string): string;
  state: { page?: boolean };
}

/** Writes one error onto the response, in a surface's wire format. */
export type ErrorSerializer = (target: ErrorTarget, err: BrokerError) => void;

export interface SurfaceErrors {
  prefix: string;
  serialize: ErrorSerializer;
}

/** RFC 6749 §5.2's shape: the default for paths no surface claims. */
export const oauthErrorSerializer: ErrorSerializer = (target, err) => {
  target.status = err.status;
  target.body = { error: err.code, error_description: publicMessage(err) };
};

export class ErrorPolicy {
  private readonly failures: FailureLog;

  constructor(
    private readonly log: Logger,
    private readonly surfaces: SurfaceErrors[],
  ) {
    this.failures = new FailureLog(log);
  }

  /** Logs `thrown` and writes it onto `target` in the shape of `path`'s surface. */
  answer(target: ErrorTarget, thrown: unknown, path: string): void {
    const err = asBrokerError(thrown);
    // A 501 is the caller's method, not a failure of ours: an error line for each (anyone can
    // send PROPFIND by the thousand) would bury the real ones (attack helper, 2026-12-06).
    if (err.status >= 500 && err.code !== 'not_implemented') this.failures.serverError(err, thrown);
    else this.log.debug(err.message, { code: err.code, status: err.status, upstream: err.upstream });
    // Routes match case-insensitively, so the surface is found the same way.
    const lower = path.toLowerCase();
    const surface = this.surfaces.find((s) => lower.startsWith(s.prefix.toLowerCase()));
    // Anything set before the failure (cookies, caching) no longer applies.
    target.set('Cache-Control', 'no-store');
    if (err.retryAfter) target.set('Retry-After', String(err.retryAfter));
    // The rest of a body over the limit is not read: the connection ends with the answer, or
    // Node would read (and throw away) gigabytes for a caller who keeps sending.
    if (err.code === 'payload_too_large') target.set('Connection', 'close');
    (surface?.serialize ?? oauthErrorSerializer)(target, err);
  }
}

export function errorHandler(policy: ErrorPolicy): Koa.Middleware {
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
      policy.answer(ctx, thrown, ctx.path);
    }
  };
}
