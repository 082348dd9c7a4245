import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/store/memory-store.js';
import { CACHE_PREFIX } from '../../src/store/store.js';
import { runStoreConformance } from './conformance.js';

runStoreConformance('memory', async () => new MemoryStore());

describe('MemoryStore: caches kept apart from state', () => {
  it('a flood of cache entries evicts cache entries only, within their byte bound', async () => {
    const store = new MemoryStore(100, 10_000);
    await store.put('tx:a-sign-in', { state: 'kept' }, 60);
    const entry = 'x'.repeat(100);
    for (let i = 0; i < 1000; i++) await store.put(`${CACHE_PREFIX}introspection:${i}`, entry, 60);
    assert.deepEqual(await store.get('tx:a-sign-in'), { state: 'kept' }, 'the flow\'s state survives');
    assert.equal(await store.get(`${CACHE_PREFIX}introspection:0`), undefined, 'the oldest entries went');
    assert.equal(await store.get(`${CACHE_PREFIX}introspection:999`), entry);
    let kept = 0;
    for (let i = 0; i < 1000; i++) if (await store.get(`${CACHE_PREFIX}introspection:${i}`) !== undefined) kept++;
    assert.ok(kept > 0 && kept * 100 <= 10_000, `${kept} entries of about 100 bytes within 10,000`);
  });
});
