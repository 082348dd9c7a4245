/**
 * The hand-over of a browser's linked sessions when a realm ends the newest one (sso-open.ts
 * handOverLinked), against the race attack round 43 found: the heir's own realm ending it at
 * the same moment. The store is the memory store: the race is made, not waited for.
 */
import assert from 'node:assert/strict';
import type { Deps } from '../../src/deps.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { handOverLinked } from '../../src/surfaces/platform/sso-open.js';
import { records, type SsoSession } from '../../src/surfaces/platform/transactions.js';

const session = (sub: string, linked?: string[]): SsoSession => ({ tenant: 'acme', sub, linked });

describe('the hand-over of a browser\'s linked sessions', () => {
  it('goes to the most recent one alive, which keeps its lifetime and takes the rest', async () => {
    const store = new MemoryStore();
    await records.sso.put(store, 'cal', session('cal', ['bea']), 600);
    await records.sso.put(store, 'bea', session('bea'), 900);
    await handOverLinked({ store } as unknown as Deps, 'ann', session('ann', ['cal', 'bea', 'gone']));
    assert.equal(await records.ssoHeir.get(store, 'ann'), 'cal');
    assert.deepEqual((await records.sso.get(store, 'cal'))?.linked, ['bea', 'gone']);
    const left = await store.ttl(records.sso.key('cal'));
    assert.ok(left !== undefined && left > 590 && left <= 600, `its lifetime: ${left}`);
  });

  it('never brings back a session its own realm ended while the hand-over read it (round 43: 1 in 20)', async () => {
    const store = new MemoryStore();
    await records.sso.put(store, 'cal', session('cal', ['bea']), 600);
    await records.sso.put(store, 'bea', session('bea'), 600);
    // Cal's logout token arrives after the hand-over read cal, as it writes.
    const { put, replace } = { put: store.put.bind(store), replace: store.replace.bind(store) };
    const endCalFirst = async (key: string) => { if (key === records.sso.key('cal')) await store.take(key); };
    store.put = async (key, value, ttl) => { await endCalFirst(key); return put(key, value, ttl); };
    store.replace = async (key, value) => { await endCalFirst(key); return replace(key, value); };
    await handOverLinked({ store } as unknown as Deps, 'ann', session('ann', ['cal', 'bea']));
    Object.assign(store, { put, replace });
    assert.equal(await records.sso.get(store, 'cal'), undefined, 'cal stays ended');
    assert.equal(await records.ssoHeir.get(store, 'ann'), 'bea', 'the next one alive took over');
  });
});
