import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { BrokerError } from '../../src/errors.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';
import { runStoreConformance } from './conformance.js';

const prefix = `rb-test:${randomUUID()}:`;

runStoreConformance('redis', async () => {
  const store = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 1000 });
  await store.connect();
  return store;
});

describe('RedisStore', () => {
  after(async () => {
    // Leave nothing behind in the shared Redis.
    await cleanRedisPrefix(prefix);
  });

  it('keeps its keys under its prefix', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 1000 });
    await store.connect();
    await store.put('visible', 1, 10);
    const redis = new Redis(REDIS_URL);
    assert.equal(await redis.get(`${prefix}visible`), '1');
    redis.disconnect();
    await store.close();
  });

  it('fails fast with store_unavailable (503) when Redis is unreachable', async () => {
    const store = new RedisStore({ url: 'redis://127.0.0.1:9', prefix, timeoutMs: 300 });
    const t0 = Date.now();
    await assert.rejects(store.connect(), (err: BrokerError) => err.code === 'store_unavailable' && err.status === 503);
    await assert.rejects(store.get('x'), (err: BrokerError) => err.code === 'store_unavailable');
    assert.ok(Date.now() - t0 < 2000);
    await store.close();
  });
});
