/**
 * The platform issuer's rule for `email_verified` (tenancy/email-vouching.ts), case by case;
 * the flows that use it are tested against Keycloak in test/security/attack-findings.test.ts.
 */
import assert from 'node:assert/strict';
import { AddressHolders, type Holders } from '../../src/tenancy/address-holders.js';
import { BrokerError } from '../../src/errors.js';
import type { Upstreams } from '../../src/upstream/upstreams.js';
import { EmailDiscovery } from '../../src/tenancy/email-discovery.js';
import { EmailVouching, holdsEmailDomain } from '../../src/tenancy/email-vouching.js';
import type { TenantRegistry } from '../../src/tenancy/registry.js';
import type { Tenant } from '../../src/tenancy/tenant.js';

const tenantOf = (slug: string, domains: string[], fromConfig = false): Tenant => ({
  id: `${slug}-id`, slug, realm: slug, upstream: 'default', issuer: `http://kc/realms/${slug}`, displayName: slug,
  emailDomains: domains, features: { passwordGrantEnabled: false }, aliasIds: [], formerRealms: [], ...(fromConfig ? { emailDomainsFromConfig: true } : {}),
});

/** Who has each address, as the admin lookups would say; counts the lookups. */
function fakeHolders(by: Record<string, Holders>) {
  const asked: string[] = [];
  const holders = { of: async (email: string) => { asked.push(email); return by[email] ?? { holders: [], complete: true }; } } as unknown as AddressHolders;
  return { holders, asked };
}

describe('email vouching at the platform issuer', () => {
  const globex = { emailDomains: ['globex.example'] };

  it('vouches for a plain address in a held domain, in any letter case of the domain', () => {
    assert.equal(holdsEmailDomain(globex, 'bob@globex.example'), true);
    assert.equal(holdsEmailDomain(globex, 'Bob@GLOBEX.example'), true);
    assert.equal(holdsEmailDomain(globex, "o'neil+tag@globex.example"), true, 'atom characters');
  });

  // Attack of 2026-12-06: addresses a realm admin can give their own users (Keycloak takes a
  // quoted local part; without its email validator, which that admin may drop, anything).
  it('not for a domain it does not hold, or an address that is not plain', () => {
    for (const email of [
      'bob@globex.example.', 'bob@evil.example', 'bob@sub.globex.example',
      '"bob@globex.example"@globex.example', '"bob"@globex.example', 'bob@globex.example@globex.example',
      'bob @globex.example', 'bob\u0000@globex.example', 'bob@globex.example\n', '@globex.example', 'bob@',
      'bob\uff20evil.example@globex.example', 'bob%evil.example@globex.example', 'b\u00f6b@globex.example',
    ]) assert.equal(holdsEmailDomain(globex, email), false, JSON.stringify(email));
    assert.equal(holdsEmailDomain(undefined, 'bob@globex.example'), false, 'no tenant holds nothing');
    assert.equal(holdsEmailDomain(globex, 42), false);
  });

  const globexTenant = tenantOf('globex', ['globex.example']);
  const squatter = tenantOf('squat', ['contractor.example']);

  it('drops email_verified it does not vouch for, and leaves the claims it was given as they are', async () => {
    const vouching = new EmailVouching(fakeHolders({ 'bob@globex.example': { holders: [{ tenant: globexTenant, enabled: true }], complete: true } }).holders);
    const given = Object.freeze({ sub: 's', email: 'bob@evil.example', email_verified: true });
    const said = await vouching.claims(given, globexTenant);
    assert.deepEqual(said, { sub: 's', email: 'bob@evil.example' });
    assert.equal(given.email_verified, true);
    const held = { email: 'bob@globex.example', email_verified: true };
    assert.equal(await vouching.claims(held, globexTenant), held, 'the same object when nothing changes');
    assert.equal(await vouching.vouches(undefined, 'bob@globex.example'), false);
  });

  // Attack of 2026-12-06: a realm admin listed contractor.example, where other tenants' users
  // live, and made a carol@contractor.example of their own.
  it('a domain a realm lists: only for an address no other tenant has, enabled or not, and all realms asked', async () => {
    const other = (enabled: boolean): Holders => ({ holders: [{ tenant: squatter, enabled: true }, { tenant: globexTenant, enabled }], complete: true });
    const { holders, asked } = fakeHolders({
      'carol@contractor.example': other(true),
      'gone@contractor.example': other(false),
      'zed@contractor.example': { holders: [{ tenant: squatter, enabled: true }], complete: true },
      'unsure@contractor.example': { holders: [{ tenant: squatter, enabled: true }], complete: false, failure: new Error('down') },
    });
    const vouching = new EmailVouching(holders);
    assert.equal(await vouching.vouches(squatter, 'carol@contractor.example'), false, 'globex has her');
    assert.equal(await vouching.vouches(squatter, 'gone@contractor.example'), false, 'a disabled user is still the person the address names');
    assert.equal(await vouching.vouches(squatter, 'zed@contractor.example'), true, 'no other tenant has him');
    assert.equal(await vouching.vouches(squatter, 'unsure@contractor.example'), false, 'a realm could not be asked');
    asked.length = 0;
    assert.equal(await vouching.vouches(tenantOf('squat', ['contractor.example'], true), 'carol@contractor.example'), true, 'the operator\'s word (config) is final');
    assert.equal(await vouching.vouches(squatter, 'carol@elsewhere.example'), false);
    assert.deepEqual(asked, [], 'no lookup for the operator\'s domains, nor for a domain the tenant does not hold');
  });
});

describe('email discovery and a domain a realm lists', () => {
  const squatter = tenantOf('squat', ['contractor.example']);
  const globex = tenantOf('globex', []);
  const registry = (holder: Tenant) => ({ byEmailDomain: async (d: string) => (holder.emailDomains.includes(d) ? [holder] : []) }) as unknown as TenantRegistry;
  const slugs = async (d: EmailDiscovery, email: string) => (await d.find(email)).map((t) => t.slug).sort();

  it('an address another tenant has goes where its users are; others go to the domain\'s tenant, while a realm cannot be asked only those found there', async () => {
    const { holders } = fakeHolders({
      'carol@contractor.example': { holders: [{ tenant: globex, enabled: true }], complete: true },
      'both@contractor.example': { holders: [{ tenant: globex, enabled: true }, { tenant: squatter, enabled: true }], complete: true },
      'unsure@contractor.example': { holders: [], complete: false, failure: new Error('down') },
      'own@contractor.example': { holders: [{ tenant: squatter, enabled: true }], complete: false, failure: new Error('down') },
    });
    const discovery = new EmailDiscovery(registry(squatter), holders);
    assert.deepEqual(await slugs(discovery, 'carol@contractor.example'), ['globex']);
    assert.deepEqual(await slugs(discovery, 'both@contractor.example'), ['globex', 'squat']);
    assert.deepEqual(await slugs(discovery, 'new@contractor.example'), ['squat']);
    // While a realm cannot be asked: the domain's tenant only for an address found there.
    assert.deepEqual(await slugs(discovery, 'own@contractor.example'), ['squat']);
    await assert.rejects(discovery.find('unsure@contractor.example'), (err: { code?: string }) => err.code === 'upstream_unavailable', 'nobody found, some realm not asked: the outage');
    assert.deepEqual(await discovery.byDomainRule('unsure@contractor.example'), []);
  });

  it('a domain config gives a tenant routes there without a lookup', async () => {
    const { holders, asked } = fakeHolders({ 'carol@contractor.example': { holders: [{ tenant: globex, enabled: true }], complete: true } });
    const discovery = new EmailDiscovery(registry(tenantOf('squat', ['contractor.example'], true)), holders);
    assert.deepEqual(await slugs(discovery, 'carol@contractor.example'), ['squat']);
    assert.deepEqual(asked, []);
  });
});

// The third attack: a pause of the whole server (its workers run out) made the broker leave
// acme out of the lookups for 30 s, as if acme's own searches were slow, so alice's sign-in
// found no one for a while after the server was back.
describe('address lookups leave out a realm that is slow by itself, not one whose server paused', function () {
  this.timeout(20_000);
  const fast = tenantOf('fast', []);
  const slowRealm = tenantOf('slow', []);
  const other = { ...tenantOf('other', []), upstream: 'two' };
  const setUp = (timingOut: (t: Tenant) => boolean) => {
    const asked: string[] = [];
    const admin = (upstream: string) => ({
      findUsersByEmail: async (realm: string) => {
        asked.push(realm);
        if (!timingOut([fast, slowRealm, other].find((t) => t.realm === realm && t.upstream === upstream)!)) return [];
        await new Promise((r) => setTimeout(r, 1900));
        throw new BrokerError('upstream_timeout', 'no answer in time');
      },
    });
    const upstreams = { get: (name: string) => ({ admin: admin(name) }) } as unknown as Upstreams;
    const registry = { coverage: async () => ({ tenants: [fast, slowRealm, other], unavailable: new Map() }), bySlug: async () => undefined } as unknown as TenantRegistry;
    return { holders: new AddressHolders(registry, upstreams, undefined, 0), asked };
  };

  it('its server answered for another realm: left out next time', async () => {
    const { holders, asked } = setUp((t) => t === slowRealm);
    assert.equal((await holders.of('a@x.example')).complete, false);
    asked.length = 0;
    assert.equal((await holders.of('b@x.example')).complete, false);
    assert.deepEqual(asked.sort(), ['fast', 'other'], 'the slow realm is not asked again for a while');
  });

  it('no realm of its server answered: asked again next time', async () => {
    const { holders, asked } = setUp((t) => t.upstream === 'default');
    await holders.of('a@x.example');
    asked.length = 0;
    await holders.of('b@x.example');
    assert.deepEqual(asked.sort(), ['fast', 'other', 'slow']);
  });
});

