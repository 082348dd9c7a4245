/**
 * The live switch without servers: the homes record in the store, how often a replica
 * reads it, and how the registry routes when a copied realm shares its id with the
 * original on another server. Realm lists come from a fixed table (the registry's
 * source, not the code under test); the servers' side is in migrate.test.ts.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/http/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { TenantRegistry } from '../../src/tenancy/registry.js';
import { TenantHomes } from '../../src/tenancy/tenant-homes.js';
import type { Upstreams } from '../../src/upstream/upstreams.js';

const ID = '3b1f6c1e-8f0a-4c55-9d7e-2a4b6c8d0e1f';

/** Two servers, "old" and "new", each with realm "t" of the same id (a copy), and "other" on old. */
function twoServers(realms: Record<string, { realm: string; id: string }[]>): Upstreams {
  const make = (name: string) => ({
    name,
    config: { name, admin: { realm: 'master' }, ignoreRealms: [] },
    admin: { listRealms: async () => realms[name]!.map((r) => ({ ...r, attributes: {} })) },
    issuerOf: (realm: string) => `http://${name}/realms/${realm}`,
  });
  const all = Object.keys(realms).map(make);
  return { all: () => all, get: (n: string) => all.find((u) => u.name === n)! } as unknown as Upstreams;
}

describe('tenant homes (the live switch)', () => {
  it('a replica sees a new home within its poll interval, and keeps the last one while the store is down', async () => {
    const store = new MemoryStore();
    const writer = new TenantHomes(store);
    // A poll interval long enough that no pause of a loaded machine runs past it between the
    // write and the read that must not see it yet.
    const reader = new TenantHomes(store, 1000);
    assert.deepEqual((await reader.current()).homes, {});
    await writer.set('t', { upstream: 'new', realm: 't', since: 1 });
    assert.deepEqual((await reader.current()).homes, {}, 'read again only after the poll interval');
    await new Promise((r) => setTimeout(r, 1050));
    assert.equal((await reader.current()).homes.t?.upstream, 'new');
    const down = { get: async () => { throw new Error('down'); } } as unknown as Store;
    const errors: unknown[] = [];
    const cut = new TenantHomes(down, 0, (e) => errors.push(e));
    assert.deepEqual((await cut.current()).homes, {});
    assert.equal(errors.length, 1);
    await writer.set('t', undefined);
    assert.deepEqual((await writer.read()).homes, {});
  });

  it('routes slug, realm UUID and old issuer by the home, though two servers hold a realm of that id', async () => {
    const store = new MemoryStore();
    const config = loadConfig({ REALM_BROKER_MODE: 'dev' }, { upstreams: [{ name: 'old', url: 'http://old', admin: { clientSecret: 'x' } }, { name: 'new', url: 'http://new', admin: { clientSecret: 'x' } }] });
    const upstreams = twoServers({ old: [{ realm: 't', id: ID }, { realm: 'other', id: 'id-other' }], new: [{ realm: 't', id: ID }] });
    const registry = new TenantRegistry(config, upstreams, createLogger('silent'), new TenantHomes(store, 0));
    // Without a home, the first upstream wins (the copy on "new" is shadowed).
    assert.equal((await registry.bySlug('t'))!.upstream, 'old');
    await new TenantHomes(store).set('t', { upstream: 'new', realm: 't', from: { upstream: 'old', realm: 't' }, since: Date.now() });
    assert.equal((await registry.bySlug('t'))!.upstream, 'new');
    assert.equal((await registry.byId(ID))!.upstream, 'new');
    // A token of the old realm routes to the old realm, and belongs to the same tenant.
    const oldRealm = (await registry.realmByIssuer('http://old/realms/t'))!;
    assert.equal(oldRealm.upstream, 'old');
    assert.equal((await registry.byRealm(oldRealm))!.slug, 't');
    assert.deepEqual((await registry.all()).map((x) => `${x.slug}@${x.upstream}`).sort(), ['other@old', 't@new']);
    // A home naming a realm no server has is ignored: the tenant stays reachable where it was.
    await new TenantHomes(store).set('other', { upstream: 'new', realm: 'missing', since: Date.now() });
    assert.equal((await registry.bySlug('other'))!.upstream, 'old');
  });

  it('a home is its realm by id: renamed by its admin, the realm serves on; another realm renamed to the old name takes nothing', async () => {
    // Attack helper round 23: homes were found by name, so after a migration an admin of
    // another realm on the new server could rename theirs to the tenant's realm name (once
    // the tenant's admin had renamed theirs away) and be the tenant at once, with no hold.
    const store = new MemoryStore();
    const config = loadConfig({ REALM_BROKER_MODE: 'dev' }, { upstreams: [{ name: 'old', url: 'http://old', admin: { clientSecret: 'x' } }, { name: 'new', url: 'http://new', admin: { clientSecret: 'x' } }] });
    await new TenantHomes(store).set('t', { upstream: 'new', realm: 't', id: ID, from: { upstream: 'old', realm: 't', id: ID }, since: Date.now() });
    const registryOver = (realms: Record<string, { realm: string; id: string }[]>) =>
      new TenantRegistry(config, twoServers(realms), createLogger('silent'), new TenantHomes(store, 0));
    const before = registryOver({ old: [{ realm: 't', id: ID }], new: [{ realm: 't', id: ID }, { realm: 'other', id: 'id-other' }] });
    assert.deepEqual(await before.bySlug('t').then((x) => [x!.upstream, x!.realm, x!.id]), ['new', 't', ID]);

    // t's admin renames t to t-corp; other's admin renames other to t.
    const after = registryOver({ old: [{ realm: 't', id: ID }], new: [{ realm: 't-corp', id: ID }, { realm: 't', id: 'id-other' }] });
    assert.deepEqual(await after.bySlug('t').then((x) => [x!.upstream, x!.realm, x!.id]), ['new', 't-corp', ID]);
    assert.equal(await after.byId('id-other'), undefined, 'the realm that took the name is no tenant');
    const impostor = (await after.realmByIssuer('http://new/realms/t'))!;
    assert.equal(impostor.id, 'id-other');
    assert.equal(await after.byRealm(impostor), undefined, "its tokens belong to no tenant, t's least of all");
    assert.deepEqual((await after.all()).map((x) => `${x.slug}@${x.upstream}/${x.realm}`), ['t@new/t-corp']);
  });
});
