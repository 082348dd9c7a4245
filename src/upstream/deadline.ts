/**
 * One deadline per request. Every call to Keycloak made while serving a request shares
 * the request's AbortSignal, so a request that calls Keycloak several times in a row (the
 * tenant list, then realm metadata, then the grant) answers within UPSTREAM_TIMEOUT_MS in
 * all, not that much per call.
 *
 * Kept in the request's scope (request-scope.ts), so that no signature between the route and
 * the connector has to pass it along; the signal and its timer are made on the first call
 * to Keycloak only (the broker's own answers make none) and the timer is cleared when the
 * request ends (`endScope`). Outside a request (start-up, the breaker's probes) each call
 * gets its own timeout.
 */
import { currentScope } from '../request-scope.js';

/** Starts the current request's deadline, `ms` from now (its body is read); request-scope.ts ends it. */
export function startDeadline(ms: number): void {
  const scope = currentScope();
  if (scope) scope.deadlineAt = performance.now() + ms;
}

/** The signal an upstream call must honour: the request's deadline, else `fallbackMs` from now. */
export function deadlineSignal(fallbackMs: number): AbortSignal {
  const scope = currentScope();
  if (scope?.deadlineAt === undefined) return AbortSignal.timeout(fallbackMs);
  if (!scope.deadline) {
    const controller = new AbortController();
    const left = Math.max(0, scope.deadlineAt - performance.now());
    const timer = setTimeout(() => controller.abort(new DOMException('The request deadline passed', 'TimeoutError')), left);
    scope.deadline = { controller, timer };
  }
  return scope.deadline.controller.signal;
}
