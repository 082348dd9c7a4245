/**
 * Where each tenant stood last, shared by replicas through the store (standing-realms.ts):
 * a replica that starts while a realm renamed to a tenant's slug shares that name with the
 * tenant's realm, or while the tenant's server is down, neither hands the tenant to the
 * renamed realm nor drops it. Realm lists come from a table the test changes (the
 * registry's source, not the code under test); the servers' side is
 * test/security/realm-rename.test.ts.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/http/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { TenantRegistry } from '../../src/tenancy/registry.js';
import { StandingRealms } from '../../src/tenancy/standing-realms.js';
import type { Upstreams } from '../../src/upstream/upstreams.js';

type Realms = Record<string, { realm: string; id: string }[] | 'down'>;

/** Servers "a" and "b" (in that order) whose realm lists are `realms` at each call. */
function servers(realms: Realms): Upstreams {
  const make = (name: string) => ({
    name,
    config: { name, admin: { realm: 'master' }, ignoreRealms: [] },
    admin: {
      listRealms: async () => {
        const list = realms[name]!;
        if (list === 'down') throw new Error(`${name} is down`);
        return list.map((r) => ({ ...r, attributes: {} }));
      },
    },
    issuerOf: (realm: string) => `http://${name}/realms/${realm}`,
  });
  const all = ['a', 'b'].map(make);
  return { all: () => all, get: (n: string) => all.find((u) => u.name === n)! } as unknown as Upstreams;
}

describe('where tenants stood (shared by replicas)', () => {
  // A home is established at once here (TENANT_ESTABLISH_MINUTES=0), but where a test says otherwise.
  const config = loadConfig({ REALM_BROKER_MODE: 'dev', TENANT_CACHE_TTL_MS: '1', TENANT_ESTABLISH_MINUTES: '0' }, {
    upstreams: [{ name: 'a', url: 'http://a', admin: { clientSecret: 'x' } }, { name: 'b', url: 'http://b', admin: { clientSecret: 'x' } }],
  });
  const registry = (store: MemoryStore, realms: Realms) => new TenantRegistry(config, servers(realms), createLogger('silent'), undefined, undefined, new StandingRealms(store));
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('a replica that starts during the rename serves the tenant from its realm; one without the record serves neither', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [{ realm: 'evil', id: 'id-evil' }], b: [{ realm: 'v', id: 'id-victim' }] };
    assert.equal((await registry(store, realms).bySlug('v'))?.id, 'id-victim');
    realms.a = [{ realm: 'v', id: 'id-evil' }]; // the rename, on the earlier server
    await tick();
    assert.equal((await registry(store, realms).bySlug('v'))?.id, 'id-victim', 'the record names the tenant\'s realm');
    assert.equal(await registry(new MemoryStore(), realms).bySlug('v'), undefined, 'no record: neither');
  });

  it('while the tenant\'s server is down, a replica that starts does not serve the tenant from the renamed realm (503), and serves it again once the server is back', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [{ realm: 'evil', id: 'id-evil' }], b: [{ realm: 'v', id: 'id-victim' }] };
    await registry(store, realms).all();
    realms.a = [{ realm: 'v', id: 'id-evil' }];
    realms.b = 'down';
    const starting = registry(store, realms);
    await assert.rejects(starting.bySlug('v'), (err: { code?: string }) => err.code === 'upstream_unavailable');
    // A partial view teaches the record nothing: the renamed realm is not written as the tenant's.
    const later = registry(store, { a: realms.a, b: 'down' });
    await assert.rejects(later.bySlug('v'));
    realms.b = [{ realm: 'v', id: 'id-victim' }];
    await tick();
    assert.equal((await starting.bySlug('v'))?.id, 'id-victim');
  });

  it('a tenant\'s realm missing for a while (deleted and restored) keeps its name for tenantHoldHours: a renamed realm does not take it meanwhile', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [{ realm: 'v', id: 'id-evil' }], b: [{ realm: 'v', id: 'id-victim' }] };
    const warm = registry(store, realms);
    await store.put('tenancy:standing', { v: { upstream: 'b', id: 'id-victim', since: Date.now() - 1000, seen: Date.now() } }, 60);
    assert.equal((await warm.bySlug('v'))?.id, 'id-victim');
    realms.b = []; // the victim's realm deleted, to be restored from an export (same id)
    await tick();
    assert.equal(await warm.bySlug('v'), undefined, 'nobody\'s while its realm is missing');
    assert.equal(await registry(store, realms).bySlug('v'), undefined, 'nor for a replica that starts meanwhile');
    realms.b = [{ realm: 'v', id: 'id-victim' }];
    await tick();
    assert.equal((await warm.bySlug('v'))?.id, 'id-victim', 'restored: the tenant\'s again');
  });

  it('after the hold, a tenant whose realm is gone (renamed away, deleted) leaves its name free', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [], b: [{ realm: 'v', id: 'id-victim' }] };
    const noHold = loadConfig({ REALM_BROKER_MODE: 'dev', TENANT_CACHE_TTL_MS: '1', TENANT_HOLD_HOURS: '0', TENANT_ESTABLISH_MINUTES: '0' }, { upstreams: config.upstreams });
    const make = () => new TenantRegistry(noHold, servers(realms), createLogger('silent'), undefined, undefined, new StandingRealms(store));
    await make().all();
    realms.b = [{ realm: 'v-renamed', id: 'id-victim' }];
    realms.a = [{ realm: 'v', id: 'id-new' }];
    assert.equal(await registry(store, realms).bySlug('v'), undefined, 'within the 24 h hold: nobody\'s');
    const fresh = make();
    assert.equal((await fresh.bySlug('v'))?.id, 'id-new');
    assert.equal((await fresh.bySlug('v-renamed'))?.id, 'id-victim');
  });

  const withRules = (env: Record<string, string>) => loadConfig({ REALM_BROKER_MODE: 'dev', TENANT_CACHE_TTL_MS: '1', ...env }, { upstreams: config.upstreams });
  const standingOf = async (store: MemoryStore) => (await store.get<Record<string, { id: string; since: number; seen: number }>>('tenancy:standing')) ?? {};

  it('a name claimed for a moment (a realm renamed in and out again) holds nothing: the new tenant\'s realm serves it, and the squatter back in takes nothing', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [{ realm: 'newco', id: 'id-evil' }], b: [] }; // the attacker claims a future tenant's name
    const make = () => new TenantRegistry(withRules({}), servers(realms), createLogger('silent'), undefined, undefined, new StandingRealms(store));
    assert.equal((await make().bySlug('newco'))?.id, 'id-evil');
    realms.a = [{ realm: 'evil', id: 'id-evil' }]; // and leaves it
    await tick();
    await make().all();
    realms.b = [{ realm: 'newco', id: 'id-newco' }]; // the operator makes the tenant's realm
    const replica = make();
    assert.equal((await replica.bySlug('newco'))?.id, 'id-newco');
    realms.a = [{ realm: 'newco', id: 'id-evil' }]; // the squatter comes back: contested, nobody's (the tenant is young)
    await tick();
    assert.equal(await replica.bySlug('newco'), undefined);
    assert.equal(await make().bySlug('newco'), undefined);
    assert.equal((await standingOf(store)).newco?.id, 'id-newco', 'the record still names the tenant\'s realm');
  });

  it('the hold counts from when the realm was last seen, to a tenth of the hold: a short hold is not cut to nothing', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [], b: [{ realm: 'v', id: 'id-victim' }] };
    // Served without a break for 40 s, with a hold of 36 s (TENANT_HOLD_HOURS=0.01).
    await store.put('tenancy:standing', { v: { upstream: 'b', id: 'id-victim', since: Date.now() - 40_000, seen: Date.now() - 40_000 } }, 60);
    const make = () => new TenantRegistry(withRules({ TENANT_HOLD_HOURS: '0.01', TENANT_ESTABLISH_MINUTES: '0' }), servers(realms), createLogger('silent'), undefined, undefined, new StandingRealms(store));
    await make().all();
    assert.ok(Date.now() - (await standingOf(store)).v!.seen < 3_600, 'seen written again');
    realms.b = [];
    realms.a = [{ realm: 'v', id: 'id-evil' }];
    assert.equal(await make().bySlug('v'), undefined, 'held');
  });

  it('a realm renamed through many names leaves one held behind, not one per name', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [{ realm: 'name-0', id: 'id-evil' }], b: [{ realm: 'v', id: 'id-victim' }] };
    const make = () => new TenantRegistry(withRules({ TENANT_ESTABLISH_MINUTES: '0' }), servers(realms), createLogger('silent'), undefined, undefined, new StandingRealms(store));
    for (let i = 1; i <= 20; i++) {
      await make().all();
      realms.a = [{ realm: `name-${i}`, id: 'id-evil' }];
      await tick();
    }
    await make().all();
    const standing = await standingOf(store);
    assert.deepEqual(Object.keys(standing).sort(), ['name-19', 'name-20', 'v']);
  });

  it('a home is established after TENANT_ESTABLISH_MINUTES of serving, not after the hold\'s hourly clock; a record from before `since` counts as established', async () => {
    const store = new MemoryStore();
    const realms: Realms = { a: [{ realm: 'evil', id: 'id-evil' }], b: [{ realm: 'v', id: 'id-victim' }] };
    // 60 ms to establish, a 24 h hold.
    const make = () => new TenantRegistry(withRules({ TENANT_ESTABLISH_MINUTES: '0.001' }), servers(realms), createLogger('silent'), undefined, undefined, new StandingRealms(store));
    const replica = make();
    await replica.all();
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 40));
      await replica.all();
    }
    realms.a = [{ realm: 'v', id: 'id-evil' }];
    await tick();
    assert.equal((await make().bySlug('v'))?.id, 'id-victim', 'established: kept against the renamed realm');
    // A record written before homes had a `since` (an earlier version): established.
    const old = new MemoryStore();
    await old.put('tenancy:standing', { v: { upstream: 'b', id: 'id-victim', seen: Date.now() } }, 60);
    const upgraded = new TenantRegistry(withRules({}), servers(realms), createLogger('silent'), undefined, undefined, new StandingRealms(old));
    assert.equal((await upgraded.bySlug('v'))?.id, 'id-victim');
  });
});
