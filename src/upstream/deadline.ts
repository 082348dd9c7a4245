/**
 * One deadline per request. Every call to Keycloak made while serving a request shares
 * the request's AbortSignal, so a request that calls Keycloak several times in a row (the
 * tenant list, then realm metadata, then the grant) answers within UPSTREAM_TIMEOUT_MS in
 * all, not that much per call.
 *
 * Kept in the request's scope (request-scope.ts), so that no signature between the route and
 * the connector has to pass it along; the signal and its timer are made on the first call
 * to Keycloak only (the broker's own answers make none) and the timer is cleared when the
 * request ends. Outside a request (start-up, the breaker's probes) each call gets its own
 * timeout.
 */
import { currentScope } from '../request-scope.js';

/** Runs `fn` (a request's handling, from after its body is read) under a deadline `ms` from now. */
export async function withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const scope = currentScope();
  if (!scope) return fn();
  scope.deadlineAt = performance.now() + ms;
  try {
    return await fn();
  } finally {
    // Our own timer, cleared now: AbortSignal.timeout's would live on (holding the request)
    // for the full timeout after every request.
    if (scope.deadline) clearTimeout(scope.deadline.timer);
  }
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
