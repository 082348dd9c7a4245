/**
 * A kind of record in the store (Dex's way: typed records with their own keys and
 * lifetimes), so that no caller spells a key or a TTL by hand:
 *
 *   const codes = new RecordKind<AuthorizationCode>('code', 60);
 *   await codes.put(store, id, record); await codes.take(store, id);
 */
import type { Store } from './store.js';

export class RecordKind<T> {
  /** `ttlSeconds` omitted: every write names its own (lifetimes that come from config). */
  constructor(readonly prefix: string, readonly ttlSeconds?: number) {}

  private lifetime(ttlSeconds: number | undefined): number {
    const ttl = ttlSeconds ?? this.ttlSeconds;
    if (!ttl || ttl <= 0) throw new Error(`record ${this.prefix}: no lifetime given`);
    return ttl;
  }

  key(id: string): string {
    return `${this.prefix}:${id}`;
  }

  put(store: Store, id: string, value: T, ttlSeconds?: number): Promise<void> {
    return store.put(this.key(id), value, this.lifetime(ttlSeconds));
  }

  putIfAbsent(store: Store, id: string, value: T, ttlSeconds?: number): Promise<boolean> {
    return store.putIfAbsent(this.key(id), value, this.lifetime(ttlSeconds));
  }

  /** Sets the record only while it is there, keeping its time left; true when set. */
  replace(store: Store, id: string, value: T): Promise<boolean> {
    return store.replace(this.key(id), value);
  }

  get(store: Store, id: string): Promise<T | undefined> {
    return store.get<T>(this.key(id));
  }

  /** Atomic get-and-delete: of two concurrent takes, one gets the record. */
  take(store: Store, id: string): Promise<T | undefined> {
    return store.take<T>(this.key(id));
  }

  /** Adds one and returns the count (records that are counters). */
  increment(store: Store, id: string, ttlSeconds?: number): Promise<number> {
    return store.increment(this.key(id), this.lifetime(ttlSeconds));
  }

  delete(store: Store, id: string): Promise<void> {
    return store.delete(this.key(id));
  }
}
