/**
 * The state that two replicas must agree on (DESIGN decision 6) goes through this
 * narrow interface. Values are JSON; every key has a TTL. Two backends implement it
 * (memory, Redis) and one conformance suite (test/store/) holds them to the same contract.
 */
/**
 * Keys of a cache's entries (record kinds named `cache:…`): an entry lost costs only a call
 * to Keycloak, so the memory store keeps them apart from the flows' state, bounded by their
 * size (memory-store.ts). Redis keeps them as any key, each with its TTL.
 */
export const CACHE_PREFIX = 'cache:';

/**
 * Keys of the state a stranger can make (record kinds named `pending:…`): a sign-in started, a
 * pushed request, a device code and its pacing. Limited per address where they are made, and
 * in the memory store kept apart from what a signed-in user holds (sessions, codes, the
 * tenancy and key records), so that a flood of them evicts only their own kind: a pushed
 * request flood once signed every user out (attack helper, 2026-12-06).
 */
export const PENDING_PREFIX = 'pending:';

export interface Store {
  /** Set `key` to `value` for `ttlSeconds`, replacing any value. */
  put<T>(key: string, value: T, ttlSeconds: number): Promise<void>;
  /** Set `key` only when it is absent; true when this call set it. */
  putIfAbsent<T>(key: string, value: T, ttlSeconds: number): Promise<boolean>;
  /**
   * Set `key` only while it is there, keeping the time it has left; true when this call set it.
   * A change to a record another request may end meanwhile: a plain put brought it back.
   */
  replace<T>(key: string, value: T): Promise<boolean>;
  get<T>(key: string): Promise<T | undefined>;
  /** Atomic get-and-delete: of two concurrent takes, one gets the value. */
  take<T>(key: string): Promise<T | undefined>;
  /** Add one and return the new count; the TTL starts with the first increment (a fixed window). */
  increment(key: string, ttlSeconds: number): Promise<number>;
  /** Seconds left before `key` expires, or undefined when absent. */
  ttl(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  /** Throws when the backend cannot serve (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
  readonly kind: 'memory' | 'redis';
}
