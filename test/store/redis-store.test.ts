import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { BrokerError } from '../../src/errors.js';
import { RedisStore, StoreSetupError } from '../../src/store/redis-store.js';
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

  it('a database number Redis does not have is refused for good, not served from database 0 (attack helper round 30b)', async () => {
    const url = new URL(REDIS_URL);
    url.pathname = '/99';
    const store = new RedisStore({ url: url.href, prefix, timeoutMs: 1000 });
    try {
      await assert.rejects(store.connect(), (err: Error) => err instanceof StoreSetupError && /refused the database.*DB index is out of range/.test(err.message));
      await assert.rejects(store.put('stray', 1, 10), (err: BrokerError) => err.code === 'store_unavailable');
      await assert.rejects(store.get('stray'), (err: BrokerError) => err.code === 'store_unavailable');
      const db0 = new Redis(REDIS_URL);
      assert.equal(await db0.exists(`${prefix}stray`), 0, 'nothing written to database 0');
      db0.disconnect();
    } finally {
      await store.close();
    }
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

describe('RedisStore recovery', () => {
  it('serves again by itself once a Redis that was down at start comes up', async function () {
    this.timeout(20_000);
    const { spawn } = await import('node:child_process');
    const port = 6390 + Math.floor(Math.random() * 50);
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, timeoutMs: 300 });
    await assert.rejects(store.connect(), (err: BrokerError) => err.code === 'store_unavailable');
    await assert.rejects(store.put('k', 1, 10), (err: BrokerError) => err.status === 503);
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      let ok = false;
      for (let i = 0; i < 40 && !ok; i++) {
        await new Promise((r) => setTimeout(r, 250));
        ok = await store.put('k', 1, 10).then(() => true, () => false);
      }
      assert.ok(ok, 'the store reconnected without being told to');
      assert.equal(await store.get('k'), 1);
    } finally {
      await store.close();
      server.kill();
    }
  });
});
