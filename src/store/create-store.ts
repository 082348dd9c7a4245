import type { Config } from '../config/schema.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore, StoreSetupError } from './redis-store.js';
import type { Store } from './store.js';

/**
 * Redis when REDIS_URL is set (several replicas), memory otherwise (one process).
 * A Redis that is down at start does not stop the broker: requests that need the store
 * answer 503 until ioredis has reconnected by itself. A Redis that refuses the database
 * REDIS_URL names does (StoreSetupError).
 */
export async function createStore(config: Config['store'], onDown?: (err: unknown) => void): Promise<Store> {
  if (!config.redisUrl) return new MemoryStore();
  const store = new RedisStore({ url: config.redisUrl, prefix: config.prefix, timeoutMs: config.timeoutMs });
  await store.connect().catch((err: unknown) => {
    if (err instanceof StoreSetupError) throw err; // a setting to mend, not an outage to wait out
    onDown?.(err);
  });
  return store;
}
