/**
 * The embedded default: one process's memory (lru-cache with per-entry TTL).
 * Values are kept serialized so that callers never share mutable objects, exactly
 * as with Redis.
 *
 * Two bounded maps: the flows' state (transactions, codes, sessions, device grants), and the
 * caches' entries (keys under CACHE_PREFIX, store.ts), bounded by their length in characters
 * (32 Mi by default: as many bytes for the ASCII JSON they mostly are, twice that at worst).
 * Cache entries can be as many as the tokens being introspected, and a busy resource server's
 * flood of them must not evict a sign-in's transaction or a code: a lost cache entry costs one
 * call to Keycloak, a lost transaction a failed sign-in.
 */
import { LRUCache } from 'lru-cache';
import { CACHE_PREFIX, type Store } from './store.js';

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly cache: LRUCache<string, string>;
  private readonly caches: LRUCache<string, string>;

  constructor(max = 100_000, cacheChars = 32 * 1024 * 1024) {
    this.cache = new LRUCache<string, string>({ max, ttlAutopurge: false, allowStale: false });
    this.caches = new LRUCache<string, string>({
      maxSize: cacheChars, sizeCalculation: (value, key) => value.length + key.length, ttlAutopurge: false, allowStale: false,
    });
  }

  private mapOf(key: string): LRUCache<string, string> {
    return key.startsWith(CACHE_PREFIX) ? this.caches : this.cache;
  }

  async put<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    this.mapOf(key).set(key, JSON.stringify(value), { ttl: ttlSeconds * 1000 });
  }

  async putIfAbsent<T>(key: string, value: T, ttlSeconds: number): Promise<boolean> {
    const map = this.mapOf(key);
    if (map.has(key)) return false;
    map.set(key, JSON.stringify(value), { ttl: ttlSeconds * 1000 });
    return true;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const raw = this.mapOf(key).get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async take<T>(key: string): Promise<T | undefined> {
    const map = this.mapOf(key);
    const raw = map.get(key);
    if (raw === undefined) return undefined;
    map.delete(key);
    return JSON.parse(raw) as T;
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    const map = this.mapOf(key);
    const raw = map.get(key);
    if (raw === undefined) {
      map.set(key, '1', { ttl: ttlSeconds * 1000 });
      return 1;
    }
    const next = Number(raw) + 1;
    // Keep the window's original expiry.
    map.set(key, String(next), { ttl: Math.max(1, map.getRemainingTTL(key)) });
    return next;
  }

  async ttl(key: string): Promise<number | undefined> {
    const map = this.mapOf(key);
    if (!map.has(key)) return undefined;
    return Math.round(map.getRemainingTTL(key) / 1000); // as Redis TTL rounds
  }

  async delete(key: string): Promise<void> {
    this.mapOf(key).delete(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.cache.clear();
    this.caches.clear();
  }
}
