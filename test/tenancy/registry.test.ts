/** The tenant registry against the real Keycloak: realms appear and disappear without a restart. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { ACME_ID, GLOBEX_ID, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';

describe('tenant registry', () => {
  let broker: TestBroker;
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  before(async () => {
    broker = await startBroker({ env: { TENANT_CACHE_TTL_MS: '60000' } });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
  });
  after(() => broker.close());

  it('knows the demo tenants by slug, id, issuer and email domain', async () => {
    const { tenants } = broker.deps;
    const acme = await tenants.bySlug('acme');
    assert.equal(acme?.id, ACME_ID);
    assert.equal(acme?.features.passwordGrantEnabled, true);
    assert.deepEqual(acme?.emailDomains, ['acme.example']);
    assert.equal((await tenants.byId(GLOBEX_ID.toUpperCase()))?.slug, 'globex');
    const globexRealm = await tenants.realmByIssuer('http://127.0.0.1:8080/realms/globex');
    assert.equal(globexRealm?.id, GLOBEX_ID);
    assert.equal((await tenants.byRealm(globexRealm!))?.slug, 'globex');
    assert.deepEqual((await tenants.byEmailDomain('GLOBEX.example')).map((t) => t.slug), ['globex']);
    assert.equal((await tenants.bySlug('master')), undefined, 'master is never a tenant');
    assert.equal((await tenants.defaultTenant()).slug, 'acme');
  });

  it('finds a realm created after start, and forgets it once deleted', async () => {
    const name = `rb-test-${randomUUID().slice(0, 8)}`;
    const id = randomUUID();
    assert.equal(await broker.deps.tenants.bySlug(name), undefined);
    await admin.realms.create({ id, realm: name, enabled: true });
    try {
      await new Promise((r) => setTimeout(r, 1100)); // past the miss-refresh interval
      const found = await broker.deps.tenants.byId(id);
      assert.equal(found?.slug, name, 'a miss refreshes the list at once');
    } finally {
      await admin.realms.del({ realm: name });
    }
    await new Promise((r) => setTimeout(r, 1100));
    // The connect API uses the same lookup: the deleted realm is a 404 now.
    const res = await fetch(`${broker.url}/auth/api/v1/oauth/connect/introspect?token=x&realm=${id}`, { method: 'POST' });
    assert.equal(res.status, 404);
  });
});

describe('tenant registry: what it finds wrong in the realms', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ env: { TENANT_CACHE_TTL_MS: '60000' }, overrides: { tenants: { ghost: { realm: 'rb-test-no-such-realm' } } } });
  });
  after(() => broker.close());

  it('is logged when it first shows, not at every rebuild of the tenant list', async () => {
    const said = () => broker.logs.filter((l) => l.includes('realm rb-test-no-such-realm not found')).length;
    await broker.deps.tenants.bySlug('acme');
    assert.equal(said(), 1);
    // Each miss past the miss-refresh interval reads the realm lists again and rebuilds.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await broker.deps.tenants.bySlug(`rb-test-missing-${i}`), undefined);
    }
    assert.equal(said(), 1, broker.logs.filter((l) => l.includes('not found')).join('\n'));
  });
});
