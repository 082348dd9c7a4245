import type { Config } from '../config/schema.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { Store } from './store.js';

/**
 * Redis when REDIS_URL is set (several replicas), memory otherwise (one process).
 * A Redis that is down at start does not stop the broker: requests that need the store
 * answer 503 until ioredis has reconnected by itself.
 */
export async function createStore(config: Config['store'], onDown?: (err: unknown) => void): Promise<Store> {
  if (!config.redisUrl) return new MemoryStore();
  const store = new RedisStore({ url: config.redisUrl, prefix: config.prefix, timeoutMs: config.timeoutMs });
  await store.connect().catch((err: unknown) => onDown?.(err));
  return store;
}
