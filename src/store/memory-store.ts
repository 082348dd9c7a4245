/**
 * The embedded default: one process's memory (lru-cache with per-entry TTL).
 * Values are kept serialized so that callers never share mutable objects, exactly
 * as with Redis.
 *
 * Three rooms, each bounded by its number of entries and by their length in characters (as
 * many bytes for the ASCII JSON they mostly are, twice that at worst), so that a flood of one
 * kind evicts only that kind:
 * - the caches' entries (keys under CACHE_PREFIX, store.ts): as many as the tokens being
 *   introspected; a lost entry costs one call to Keycloak;
 * - the state a stranger can make (keys under PENDING_PREFIX: sign-ins started, pushed
 *   requests, device codes); a lost one costs a failed sign-in. Full, it evicts from the client
 *   addresses that hold the most, not the oldest of anyone's (fair-room.ts);
 * - everything else: what signed-in users hold (sessions, codes) and the broker's own records
 *   (tenancy, keys, ended-session marks).
 * A pushed-request flood that filled the one map of state with 64 KiB records took a broker to
 * its heap limit and signed every user out on the way (attack helper, 2026-12-06).
 *
 * Expired entries are purged every 30 s: lru-cache drops one only when it is read or evicted,
 * and a flood's records are never read again.
 */
import { LRUCache } from 'lru-cache';
import { currentScope } from '../request-scope.js';
import { FairRoom } from './fair-room.js';
import { CACHE_PREFIX, PENDING_PREFIX, type Store } from './store.js';

export interface MemoryStoreBounds {
  /** Entries per room. */
  entries: number;
  /** Characters (keys and values) of each room. */
  stateChars: number;
  pendingChars: number;
  cacheChars: number;
  /**
   * Whom a pending entry is charged to: the client address of the request that writes it
   * (request-scope.ts), '' outside any request.
   */
  ownerOf: () => string;
}

const Mi = 1024 * 1024;
/**
 * Whom pending state is charged to: the client address (http/client-address.ts), an IPv6 one by
 * its /48. Limits count a /64, but a /48, a common allocation, holds 65,536 of them: charged per
 * /64, 92,000 of them held the whole room between them, and a person's sign-in went (round 28).
 */
export function pendingOwner(address: string): string {
  return address.endsWith('::/64') ? `${address.split(':').slice(0, 3).join(':')}::/48` : address;
}

export const DEFAULT_BOUNDS: MemoryStoreBounds = {
  entries: 100_000, stateChars: 256 * Mi, pendingChars: 128 * Mi, cacheChars: 32 * Mi, ownerOf: () => pendingOwner(currentScope()?.address?.() ?? ''),
};
const PURGE_EVERY_MS = 30_000;

/** What the store asks of a room: lru-cache's, and the fair room's. */
interface Room {
  get(key: string): string | undefined;
  has(key: string): boolean;
  set(key: string, value: string, options: { ttl: number }): unknown;
  delete(key: string): unknown;
  getRemainingTTL(key: string): number;
  purgeStale(): unknown;
  clear(): void;
  readonly calculatedSize: number;
}

const room = (entries: number, chars: number) => new LRUCache<string, string>({
  max: entries, maxSize: chars, sizeCalculation: (value, key) => value.length + key.length || 1, ttlAutopurge: false, allowStale: false,
});

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly state: Room;
  private readonly pending: Room;
  private readonly caches: Room;
  private readonly purge: NodeJS.Timeout;

  constructor(bounds: Partial<MemoryStoreBounds> = {}) {
    const b = { ...DEFAULT_BOUNDS, ...bounds };
    this.state = room(b.entries, b.stateChars);
    this.pending = new FairRoom(b.pendingChars, b.entries, b.ownerOf);
    this.caches = room(b.entries, b.cacheChars);
    this.purge = setInterval(() => this.purgeExpired(), PURGE_EVERY_MS).unref();
  }

  private mapOf(key: string): Room {
    return key.startsWith(CACHE_PREFIX) ? this.caches : key.startsWith(PENDING_PREFIX) ? this.pending : this.state;
  }

  /** Drops every expired entry now (the timer's work; tests call it). */
  purgeExpired(): void {
    for (const map of [this.state, this.pending, this.caches]) map.purgeStale();
  }

  /** Characters held per room (tests, bounds). */
  sizes(): { state: number; pending: number; caches: number } {
    return { state: this.state.calculatedSize, pending: this.pending.calculatedSize, caches: this.caches.calculatedSize };
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

  async replace<T>(key: string, value: T): Promise<boolean> {
    const map = this.mapOf(key);
    if (!map.has(key)) return false;
    map.set(key, JSON.stringify(value), { ttl: map.getRemainingTTL(key) });
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
    clearInterval(this.purge);
    for (const map of [this.state, this.pending, this.caches]) map.clear();
  }
}
