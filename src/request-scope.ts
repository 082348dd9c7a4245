/**
 * What the parts may learn about the request they serve, without passing it around: its
 * id (every log line carries it), the route and tenant (for the access log), and the
 * time spent waiting for upstreams. One AsyncLocalStorage, entered by request-context.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestScope {
  requestId: string;
  /** Milliseconds spent in calls to Keycloak while serving this request. */
  upstreamMs: number;
  tenant?: string;
  /** When the request's calls to Keycloak must all have answered (performance.now()). */
  deadlineAt?: number;
  /** The deadline's signal, made on the first call to Keycloak (most requests make none). */
  deadline?: { controller: AbortController; timer: NodeJS.Timeout };
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInScope<T>(scope: RequestScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** Ends what the scope holds: the deadline's timer, if a call to Keycloak made one. */
export function endScope(scope: RequestScope): void {
  // Our own timer, cleared now: AbortSignal.timeout's would live on (holding the request)
  // for the full timeout after every request.
  if (scope.deadline) clearTimeout(scope.deadline.timer);
}

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

/** Adds the time of one upstream call to the current request's upstream time. */
export function addUpstreamTime(ms: number): void {
  const scope = storage.getStore();
  if (scope) scope.upstreamMs += ms;
}
