/**
 * One contract for every Store backend (as Dex's storage/conformance does): each
 * backend's test file is a few lines that call this with a factory.
 */
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runStoreConformance(name: string, factory: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    let n = 0;
    const key = () => `conformance:${process.pid}:${Date.now()}:${n++}`;
    before(async () => { store = await factory(); });
    after(() => store.close());

    it('put then get returns an equal copy, not the same object', async () => {
      const k = key();
      const value = { a: 1, b: ['x'], c: { d: true } };
      await store.put(k, value, 10);
      const got = await store.get<typeof value>(k);
      assert.deepEqual(got, value);
      got!.b.push('y');
      assert.deepEqual(await store.get(k), value);
    });

    it('get of a missing key is undefined', async () => {
      assert.equal(await store.get(key()), undefined);
    });

    it('put replaces, delete removes', async () => {
      const k = key();
      await store.put(k, 'one', 10);
      await store.put(k, 'two', 10);
      assert.equal(await store.get(k), 'two');
      await store.delete(k);
      assert.equal(await store.get(k), undefined);
      await store.delete(k); // deleting nothing is fine
    });

    it('values expire after their TTL', async () => {
      const k = key();
      await store.put(k, 'short', 1);
      assert.equal(await store.get(k), 'short');
      const ttl = await store.ttl(k);
      assert.ok(ttl !== undefined && ttl <= 1 && ttl >= 0, `ttl ${ttl}`);
      await sleep(1300);
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.ttl(k), undefined);
    });

    it('putIfAbsent sets only once, even when raced', async () => {
      const k = key();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.putIfAbsent(k, i, 10)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal(await store.get(k), winner);
    });

    it('replace sets only a key that is there, keeping its time left', async () => {
      const k = key();
      assert.equal(await store.replace(k, 1), false);
      assert.equal(await store.get(k), undefined, 'nothing made');
      await store.put(k, 1, 100);
      assert.equal(await store.replace(k, 2), true);
      assert.equal(await store.get(k), 2);
      const left = await store.ttl(k);
      assert.ok(left !== undefined && left > 90 && left <= 100, `time left ${left}`);
      await store.take(k);
      assert.equal(await store.replace(k, 3), false, 'a taken key is not brought back');
      assert.equal(await store.get(k), undefined);
    });

    it('take returns the value once: of twenty concurrent takes, one wins', async () => {
      const k = key();
      await store.put(k, { code: 'abc' }, 10);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.take(k)));
      assert.equal(results.filter((r) => r !== undefined).length, 1);
      assert.deepEqual(results.find((r) => r !== undefined), { code: 'abc' });
      assert.equal(await store.get(k), undefined);
    });

    it('increment counts atomically within a fixed window', async () => {
      const k = key();
      const counts = await Promise.all(Array.from({ length: 25 }, () => store.increment(k, 1)));
      assert.deepEqual([...counts].sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => i + 1));
      await sleep(300);
      assert.equal(await store.increment(k, 1), 26, 'later increments do not extend the window');
      await sleep(1000);
      assert.equal(await store.increment(k, 1), 1, 'a new window after expiry');
    });

    it('ping answers', async () => {
      await store.ping();
    });
  });
}
