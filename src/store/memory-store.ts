/**
 * The embedded default: one process's memory (lru-cache with per-entry TTL).
 * Values are kept serialized so that callers never share mutable objects, exactly
 * as with Redis.
 */
import { LRUCache } from 'lru-cache';
import type { Store } from './store.js';

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly cache: LRUCache<string, string>;

  constructor(max = 100_000) {
    this.cache = new LRUCache<string, string>({ max, ttlAutopurge: false, allowStale: false });
  }

  async put<T>(key: string, value: T, ttlSeconds: number): Promise<void> {
    this.cache.set(key, JSON.stringify(value), { ttl: ttlSeconds * 1000 });
  }

  async putIfAbsent<T>(key: string, value: T, ttlSeconds: number): Promise<boolean> {
    if (this.cache.has(key)) return false;
    this.cache.set(key, JSON.stringify(value), { ttl: ttlSeconds * 1000 });
    return true;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const raw = this.cache.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async take<T>(key: string): Promise<T | undefined> {
    const raw = this.cache.get(key);
    if (raw === undefined) return undefined;
    this.cache.delete(key);
    return JSON.parse(raw) as T;
  }

  async increment(key: string, ttlSeconds: number): Promise<number> {
    const raw = this.cache.get(key);
    if (raw === undefined) {
      this.cache.set(key, '1', { ttl: ttlSeconds * 1000 });
      return 1;
    }
    const next = Number(raw) + 1;
    // Keep the window's original expiry.
    this.cache.set(key, String(next), { ttl: Math.max(1, this.cache.getRemainingTTL(key)) });
    return next;
  }

  async ttl(key: string): Promise<number | undefined> {
    if (!this.cache.has(key)) return undefined;
    return Math.round(this.cache.getRemainingTTL(key) / 1000); // as Redis TTL rounds
  }

  async delete(key: string): Promise<void> {
    this.cache.delete(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.cache.clear();
  }
}
