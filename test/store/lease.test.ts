/**
 * A lease on a store key (store/lease.ts), on both stores: renewed while held, released only
 * by its holder. The migration lock had a fixed TTL and an unconditional delete: a run that
 * outlived the TTL lost the lock to a second run, then deleted that run's lock as it ended.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { takeLease } from '../../src/store/lease.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Store } from '../../src/store/store.js';
import { REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of ['memory', 'redis'] as const) {
  describe(`a lease on a store key (${kind})`, function () {
    this.timeout(10_000);
    const prefix = `rb-test:${randomUUID()}:`;
    let store: Store;
    before(async () => {
      if (kind === 'memory') store = new MemoryStore();
      else {
        const redis = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 2000 });
        await redis.connect();
        store = redis;
      }
    });
    after(async () => {
      await store.close();
      if (kind === 'redis') await cleanRedisPrefix(prefix);
    });

    it('one holder at a time; the other is told who holds it', async () => {
      const a = await takeLease(store, 'one', { run: 'a' }, 5);
      assert.ok('lease' in a);
      assert.deepEqual(await takeLease(store, 'one', { run: 'b' }, 5), { heldBy: { run: 'a' } });
      await a.lease.release();
      const c = await takeLease(store, 'one', { run: 'c' }, 5);
      assert.ok('lease' in c, 'released: free for the next');
      await c.lease.release();
    });

    it('is renewed while held: a holder that outlives the TTL keeps it', async () => {
      const a = await takeLease(store, 'long', { run: 'a' }, 1, 200);
      assert.ok('lease' in a);
      await sleep(1600);
      assert.deepEqual(await takeLease(store, 'long', { run: 'b' }, 1), { heldBy: { run: 'a' } }, 'lost to its TTL');
      await a.lease.release();
    });

    it('a holder that lost it (the store wiped, its TTL run out) does not release the next holder\'s', async () => {
      const a = await takeLease(store, 'lost', { run: 'a' }, 5, 60_000);
      assert.ok('lease' in a);
      await store.delete('lost');
      const b = await takeLease(store, 'lost', { run: 'b' }, 5);
      assert.ok('lease' in b);
      await a.lease.release();
      assert.deepEqual(await takeLease(store, 'lost', { run: 'c' }, 5), { heldBy: { run: 'b' } }, 'the first holder deleted the second\'s lease');
      await b.lease.release();
    });
  });
}
