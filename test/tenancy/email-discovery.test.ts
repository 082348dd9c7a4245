/**
 * Email discovery against the real servers: across both Keycloak servers, and robust to a
 * realm that disappears while the tenant list is cached (other tests and admins delete
 * realms at any time).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK2_URL } from '../helpers/services.js';

describe('email discovery', () => {
  let broker: TestBroker;
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK2_URL, realmName: 'master' });
  before(async () => {
    broker = await startBroker({ env: { TENANT_CACHE_TTL_MS: '60000' } });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
  });
  after(() => broker.close());

  const slugs = async (email: string) => (await broker.deps.discovery.find(email)).map((t) => t.slug).sort();

  it('finds users by domain and by exact email on either server', async () => {
    assert.deepEqual(await slugs('erin@initech.example'), ['initech']);
    assert.deepEqual(await slugs('frank@contractor.example'), ['initech']);
    assert.deepEqual(await slugs('carol@contractor.example'), ['globex']);
    assert.deepEqual(await slugs('Dave@Shared.example'), ['acme', 'globex', 'initech']);
    assert.deepEqual(await slugs('nobody@nowhere.example'), []);
  });

  it('a realm deleted while the tenant list is cached holds nobody; it is not an outage', async () => {
    const realm = `rb-test-${randomUUID().slice(0, 8)}`;
    await admin.realms.create({ id: randomUUID(), realm, enabled: true });
    try {
      await new Promise((r) => setTimeout(r, 1100)); // past the miss-refresh interval
      assert.ok(await broker.deps.tenants.bySlug(realm), 'the broker lists it');
    } finally {
      await admin.realms.del({ realm });
    }
    assert.ok((await broker.deps.tenants.all()).some((t) => t.slug === realm), 'still in the cached list');
    assert.deepEqual(await slugs(`someone-${randomUUID()}@nowhere.example`), []);
  });
});
