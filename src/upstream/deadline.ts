/**
 * One deadline per request. Every call to Keycloak made while serving a request shares
 * the request's AbortSignal, started when the request starts, so a request that calls
 * Keycloak several times in a row (the tenant list, then realm metadata, then the grant)
 * answers within UPSTREAM_TIMEOUT_MS in all, not that much per call.
 *
 * Carried in AsyncLocalStorage so that no signature between the route and the connector
 * has to pass it along. Outside a request (start-up, background refreshes, the breaker's
 * probes) each call gets its own timeout.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<AbortSignal>();

/** Runs `fn` (a request's handling) under a deadline `ms` from now. */
export async function withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // Our own timer, cleared when the request ends: AbortSignal.timeout's would live on
  // for the full timeout after every request.
  const timer = setTimeout(() => controller.abort(new DOMException('The request deadline passed', 'TimeoutError')), ms);
  try {
    return await current.run(controller.signal, fn);
  } finally {
    clearTimeout(timer);
  }
}

/** The signal an upstream call must honour: the request's deadline, else `fallbackMs` from now. */
export function deadlineSignal(fallbackMs: number): AbortSignal {
  return current.getStore() ?? AbortSignal.timeout(fallbackMs);
}
