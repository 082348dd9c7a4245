import assert from 'node:assert/strict';
import { MemoryStore, pendingOwner } from '../../src/store/memory-store.js';
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

  // Attack helper round 26: 17,500 sign-ins started from about 300 addresses replaced the whole
  // room (least recently used first), and every sign-in and device code in progress with it.
  it('full, the room of what strangers make takes from the addresses that hold the most', async () => {
    let address = '';
    const store = new MemoryStore({ entries: 10_000, pendingChars: 1_000_000, ownerOf: () => address });
    const people = ['198.51.100.1', '198.51.100.2', '2001:db8:1:2::/64'];
    for (const p of people) {
      address = p;
      await store.put(`${PENDING_PREFIX}tx:${p}`, { state: 'x'.repeat(5000) }, 600);
    }
    address = '198.51.100.9'; // one with three things in progress
    for (let i = 0; i < 3; i++) await store.put(`${PENDING_PREFIX}device:${i}`, { scope: 'openid' }, 600);
    // 100 addresses, 60 entries of 5 KB each: 30 MB through a room of 1 MB.
    for (let round = 0; round < 60; round++) {
      for (let a = 0; a < 100; a++) {
        address = `10.0.${a >> 8}.${a & 255}`;
        await store.put(`${PENDING_PREFIX}tx:flood-${a}-${round}`, { state: 'y'.repeat(5000) }, 600);
      }
    }
    assert.ok(store.sizes().pending <= 1_000_000, `${store.sizes().pending} characters within 1,000,000`);
    for (const p of people) assert.ok(await store.get(`${PENDING_PREFIX}tx:${p}`), `${p}'s sign-in survives`);
    for (let i = 0; i < 3; i++) assert.ok(await store.get(`${PENDING_PREFIX}device:${i}`), 'the device codes survive');
    assert.equal(await store.get(`${PENDING_PREFIX}tx:flood-0-0`), undefined, 'the flood lost its oldest');
    assert.ok(await store.get(`${PENDING_PREFIX}tx:flood-0-59`), 'and kept its newest');
    await store.close();
  });

  // Round 28: with as many owners as entries, one levelling emptied the room (each single entry
  // was above the level); and 92,000 IPv6 /64s, one /48's worth, held it between them.
  it('a full room of single entries loses about a tenth, not all', async () => {
    let address = '';
    const store = new MemoryStore({ entries: 1000, pendingChars: 1_000_000, ownerOf: () => address });
    for (let i = 0; i < 1001; i++) {
      address = `10.1.${i >> 8}.${i & 255}`;
      await store.put(`${PENDING_PREFIX}tx:${i}`, { n: i }, 600);
    }
    let held = 0;
    for (let i = 0; i < 1001; i++) if (await store.get(`${PENDING_PREFIX}tx:${i}`)) held++;
    assert.ok(held >= 890 && held <= 901, `${held} of 1,001 held`);
    await store.close();
  });

  it('IPv6 clients are charged by their /48: a flood from 5,000 /64s of one /48 leaves others\' sign-ins', async () => {
    let address = '';
    const store = new MemoryStore({ entries: 1000, pendingChars: 1_000_000, ownerOf: () => pendingOwner(address) });
    for (const p of ['198.51.100.1', '2001:db8:aaaa:1::/64']) {
      address = p;
      await store.put(`${PENDING_PREFIX}tx:${p}`, { n: 1 }, 600);
    }
    for (let i = 0; i < 5000; i++) {
      address = `2001:db8:bbbb:${i.toString(16)}::/64`;
      await store.put(`${PENDING_PREFIX}tx:flood-${i}`, { n: i }, 600);
    }
    assert.ok(await store.get(`${PENDING_PREFIX}tx:198.51.100.1`), 'the IPv4 client\'s sign-in survives');
    assert.ok(await store.get(`${PENDING_PREFIX}tx:2001:db8:aaaa:1::/64`), 'the IPv6 client\'s sign-in survives');
    assert.equal(pendingOwner('2001:db8:bbbb:12::/64'), '2001:db8:bbbb::/48');
    assert.equal(pendingOwner('203.0.113.9'), '203.0.113.9');
    await store.close();
  });

  it('the room of what strangers make holds its entry bound too, small entries counted at the room\'s share', async () => {
    const store = new MemoryStore({ entries: 100, pendingChars: 100_000, ownerOf: () => 'one' });
    for (let i = 0; i < 1000; i++) await store.put(`${PENDING_PREFIX}device-poll:${i}`, 1, 600);
    let held = 0;
    for (let i = 0; i < 1000; i++) if (await store.get(`${PENDING_PREFIX}device-poll:${i}`)) held++;
    assert.ok(held > 0 && held <= 100, `${held} entries held, at most 100`);
    assert.ok(await store.get(`${PENDING_PREFIX}device-poll:999`), 'the newest is held');
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
