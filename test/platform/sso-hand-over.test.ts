/**
 * The hand-over of a browser's linked sessions when a realm ends the newest one (sso-open.ts
 * handOverLinked), against the race attack round 43 found: the heir's own realm ending it at
 * the same moment. The store is the memory store: the race is made, not waited for.
 */
import assert from 'node:assert/strict';
import type { Deps } from '../../src/deps.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { realmSessionKey } from '../../src/surfaces/platform/session-end.js';
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

  it('passes over a session whose own realm session is ending: two ended at once linked each other (round 45: 6 in 20)', async () => {
    const store = new MemoryStore();
    const deps = { store } as unknown as Deps;
    const acme = { upstream: 'server1', id: '19340612-d99f-40e7-8f15-76f059339aba' };
    const onRealm = (sub: string, linked: string[]): SsoSession => ({ ...session(sub, linked), realmSessionId: `rs-${sub}`, upstream: 'server1', realm: 'acme', realmId: acme.id });
    // Ann's and cal's sessions link each other (cal joined again after ann); bea is older.
    await records.sso.put(store, 'ann', onRealm('ann', ['cal', 'bea']), 600);
    await records.sso.put(store, 'cal', onRealm('cal', ['ann', 'bea']), 600);
    await records.sso.put(store, 'bea', onRealm('bea', []), 600);
    for (const sub of ['ann', 'cal', 'bea']) await records.ssoOfRealmSession.put(store, realmSessionKey('server1', `rs-${sub}`), sub);
    // Both logout tokens arrive together: each takes its realm session's record, then hands over.
    const ann = await records.sso.get(store, 'ann');
    const cal = await records.sso.get(store, 'cal');
    await records.ssoOfRealmSession.take(store, realmSessionKey('server1', 'rs-ann'));
    await records.ssoOfRealmSession.take(store, realmSessionKey('server1', 'rs-cal'));
    await handOverLinked(deps, 'ann', ann!);
    await handOverLinked(deps, 'cal', cal!);
    assert.equal(await records.ssoHeir.get(store, 'ann'), 'bea');
    assert.equal(await records.ssoHeir.get(store, 'cal'), 'bea');
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
