import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory-store.js';
import { CACHE_PREFIX, PENDING_PREFIX } from '../../src/store/store.js';
import { runStoreConformance } from './conformance.js';

runStoreConformance('memory', async () => new MemoryStore());

describe('MemoryStore: rooms kept apart, each bounded', () => {
  it('a flood of cache entries evicts cache entries only, within their size bound', async () => {
    const store = new MemoryStore({ entries: 100, cacheChars: 10_000 });
    await store.put('sso:a-session', { state: 'kept' }, 60);
    await store.put(`${PENDING_PREFIX}tx:a-sign-in`, { state: 'kept' }, 60);
    const entry = 'x'.repeat(100);
    for (let i = 0; i < 1000; i++) await store.put(`${CACHE_PREFIX}introspection:${i}`, entry, 60);
    assert.deepEqual(await store.get('sso:a-session'), { state: 'kept' }, 'the session survives');
    assert.deepEqual(await store.get(`${PENDING_PREFIX}tx:a-sign-in`), { state: 'kept' }, 'the sign-in survives');
    assert.equal(await store.get(`${CACHE_PREFIX}introspection:0`), undefined, 'the oldest entries went');
    assert.equal(await store.get(`${CACHE_PREFIX}introspection:999`), entry);
    assert.ok(store.sizes().caches <= 10_000, `${store.sizes().caches} characters within 10,000`);
    await store.close();
  });

  // Attack helper, 2026-12-06: 60,000 pushed requests of 63 KiB took a broker past its heap
  // limit, and 101,000 small ones evicted a device grant in progress (and any session).
  it('a flood of what a stranger can make (pushed requests) evicts only its own kind, within its size bound', async () => {
    const store = new MemoryStore({ entries: 1000, pendingChars: 1_000_000 });
    await store.put('sso:a-session', { user: 'alice' }, 60);
    await store.put('code:a-code', { user: 'bob' }, 60);
    const big = { state: 'x'.repeat(60_000) };
    for (let i = 0; i < 200; i++) await store.put(`${PENDING_PREFIX}par:${i}`, big, 60);
    for (let i = 0; i < 2000; i++) await store.put(`${PENDING_PREFIX}par:small-${i}`, { state: 'y' }, 60);
    assert.deepEqual(await store.get('sso:a-session'), { user: 'alice' }, 'the session survives');
    assert.deepEqual(await store.get('code:a-code'), { user: 'bob' }, 'the code survives');
    assert.ok(store.sizes().pending <= 1_000_000, `${store.sizes().pending} characters within 1,000,000`);
    assert.equal(await store.get(`${PENDING_PREFIX}par:0`), undefined, 'the oldest went');
    await store.close();
  });

  it('expired entries are dropped without being read', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 100; i++) await store.put(`${PENDING_PREFIX}par:${i}`, { state: 'x'.repeat(1000) }, 1);
    await store.put('sso:a-session', { user: 'alice' }, 60);
    const before = store.sizes().pending;
    assert.ok(before > 100_000);
    await new Promise((r) => setTimeout(r, 1100));
    store.purgeExpired();
    assert.equal(store.sizes().pending, 0, 'nothing of the flood is held');
    assert.deepEqual(await store.get('sso:a-session'), { user: 'alice' });
    await store.close();
  });
});
