/**
 * What the parts may learn about the request they serve, without passing it around: its
 * id (every log line carries it), the route and tenant (for the access log), and the
 * time spent waiting for upstreams. One AsyncLocalStorage, entered by request-context.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Deadline } from './upstream/deadline.js';

export interface RequestScope {
  requestId: string;
  /** Milliseconds spent in calls to Keycloak while serving this request. */
  upstreamMs: number;
  tenant?: string;
  /** When the request's calls to Keycloak must all have answered (upstream/deadline.ts). */
  deadline?: Deadline;
  /** The client address (http/client-address.ts), read when a call takes a realm's slot. */
  address?: () => string;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function runInScope<T>(scope: RequestScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** Ends what the scope holds: the deadline signal's timer, if a call to Keycloak made one. */
export function endScope(scope: RequestScope): void {
  // Our own timer, cleared now: AbortSignal.timeout's would live on (holding the request)
  // for the full timeout after every request.
  scope.deadline?.end();
  // A timer started while serving the request (a rate limit's window: 60 s to 15 minutes, one
  // per address) keeps this scope as its async context for its whole life. The address reader
  // holds the request itself (Koa's context, the socket, the response): kept with it, a flood
  // from 30,000 addresses held 30,000 requests and responses, about 9 KB each, for a minute
  // (attack helper round 28: 842 MB of heap). So the scope keeps the address, not the request.
  const read = scope.address;
  if (read) {
    const known = read();
    scope.address = () => known;
  }
}

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

/** Adds the time of one upstream call to the current request's upstream time. */
export function addUpstreamTime(ms: number): void {
  const scope = storage.getStore();
  if (scope) scope.upstreamMs += ms;
}
