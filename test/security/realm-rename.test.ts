/**
 * A tenant admin renames their own realm to another tenant's slug (found in an attack,
 * 2026-12-06). Keycloak lets a realm admin do it: `PUT /admin/realms/{own}` with a new
 * `realm`. The broker used to take tenants by realm name: the renamed realm, on an earlier
 * upstream, took the victim tenant over (its sign-ins and password grants went to the
 * attacker's realm), and a realm of the slug's name on any server was the tenant's alias
 * (its tokens, with a copied user id, were taken for the victim tenant's users).
 *
 * Here, with real servers: the victim tenant lives on server 2; the attacker administers a
 * realm on server 1 (first in upstream order) and renames it to the victim's slug.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { claims, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK2_URL, KEYCLOAK_URL } from '../helpers/services.js';

describe('a realm renamed to another tenant\'s slug', function () {
  this.timeout(120_000);
  const tag = randomUUID().slice(0, 8);
  const victim = `rb-victim-${tag}`;
  const evil = `rb-evil-${tag}`;
  const victimId = randomUUID();
  const server1 = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  const server2 = new KcAdminClient({ baseUrl: KEYCLOAK2_URL, realmName: 'master' });
  const brokers: TestBroker[] = [];
  let renamed = false;

  before(async () => {
    await Promise.all([server1.auth({ grantType: 'client_credentials', ...ADMIN }), server2.auth({ grantType: 'client_credentials', ...ADMIN })]);
    await server2.realms.create({
      id: victimId, realm: victim, enabled: true, sslRequired: 'none',
      clients: [
        { clientId: 'svc', secret: 'svc-secret', publicClient: false, serviceAccountsEnabled: true, standardFlowEnabled: false },
        // The broker's own client, which introspects (FIXTURES: the same in every tenant realm).
        { clientId: 'realm-broker', secret: 'realm-broker-secret', publicClient: false, standardFlowEnabled: false },
      ],
    });
    // The attacker: an admin of their own realm only (realm-management's realm-admin role there).
    await server1.realms.create({
      realm: evil, enabled: true, sslRequired: 'none',
      users: [{
        username: 'evil-admin', email: `evil-admin@${evil}.example`, firstName: 'Evil', lastName: 'Admin', enabled: true, emailVerified: true,
        credentials: [{ type: 'password', value: 'evil-pass', temporary: false }],
        clientRoles: { 'realm-management': ['realm-admin'] },
      }],
    });
  });

  after(async () => {
    for (const b of brokers) await b.close();
    await Promise.all([server1.auth({ grantType: 'client_credentials', ...ADMIN }), server2.auth({ grantType: 'client_credentials', ...ADMIN })]);
    await server2.realms.del({ realm: victim }).catch(() => {});
    await server1.realms.del({ realm: renamed ? victim : evil }).catch(() => {});
  });

  const start = async (overrides: Record<string, unknown> = {}, store?: TestBroker['deps']['store']) => {
    // The victim tenant is seconds old here: established at once (a deployment waits 10 minutes).
    const broker = await startBroker({ overrides: { tenantCacheTtlMs: 300, tenantEstablishMinutes: 0, ...overrides }, store });
    brokers.push(broker);
    return broker;
  };
  const serviceToken = (broker: TestBroker) => post(`${broker.url}/auth/api/v1/oauth/connect/token`, { realm: victimId, client_id: 'svc', client_secret: 'svc-secret' });
  /** A token of the realm at server 1 (the attacker's), by the realm admin's own password. */
  const attackerToken = async (realm: string) => {
    const res = await fetch(`${KEYCLOAK_URL}/realms/${realm}/protocol/openid-connect/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'evil-admin', password: 'evil-pass', scope: 'openid' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { access_token: string }).access_token;
  };

  it('neither takes the tenant over nor passes its tokens for the tenant\'s; a replica started after it serves the tenant from its realm (shared store), or neither (a store of its own) until config names one', async () => {
    const running = await start();
    const before = await serviceToken(running);
    assert.equal(before.status, 200, before.text);
    assert.equal(claims(before.body.access_token).iss, `${KEYCLOAK2_URL}/realms/${victim}`);

    // The rename, as the attacker's realm admin (no master-realm role).
    const adminToken = await attackerToken(evil);
    const rename = await fetch(`${KEYCLOAK_URL}/admin/realms/${evil}`, {
      method: 'PUT', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ realm: victim }),
    });
    assert.equal(rename.status, 204, await rename.text());
    renamed = true;
    const forged = await attackerToken(victim);
    assert.equal(claims(forged).iss, `${KEYCLOAK_URL}/realms/${victim}`);

    // The running broker sees the rename (its realm lists are read again after 300 ms) and keeps the tenant where it was.
    await new Promise((r) => setTimeout(r, 700));
    await running.deps.tenants.all();
    const tenant = await running.deps.tenants.bySlug(victim);
    assert.equal(tenant?.upstream, 'server2', 'the tenant stays on server 2');
    assert.deepEqual(tenant?.aliasIds, [], 'the renamed realm is no former realm of the tenant');
    const after = await serviceToken(running);
    assert.equal(after.status, 200, after.text);
    assert.equal(claims(after.body.access_token).iss, `${KEYCLOAK2_URL}/realms/${victim}`);
    for (const path of [`/api/v1/auth/tenants/${victim}/oauth/userinfo`, '/api/v1/platform/oauth/userinfo']) {
      const res = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${forged}` } });
      assert.equal(res.status, 401, `${path}: ${await res.text()}`);
    }
    const introspected = await post(`${running.url}/auth/api/v1/oauth/connect/introspect`, { token: forged, realm: victimId });
    assert.equal(introspected.body.active, false, `not active for the victim tenant: ${introspected.text}`);

    // A replica that starts now, on the same store (as replicas share Redis): the running one
    // recorded where the tenant stood, so it serves it from there.
    const replica = await start({}, running.deps.store);
    const fromReplica = await serviceToken(replica);
    assert.equal(fromReplica.status, 200, fromReplica.text);
    assert.equal(claims(fromReplica.body.access_token).iss, `${KEYCLOAK2_URL}/realms/${victim}`);
    // One with a store of its own cannot tell which realm is the tenant's: it serves neither (404), and says why.
    const cold = await start();
    const refused = await serviceToken(cold);
    assert.equal(refused.status, 404, refused.text);
    assert.ok(cold.logs.some((l) => l.includes(`tenant ${victim}: realms of different ids carry this name`)), 'the operator is told');
    // The config names the tenant's realm: served from there again.
    const pinned = await start({ tenants: { [victim]: { upstream: 'server2' } } });
    const served = await serviceToken(pinned);
    assert.equal(served.status, 200, served.text);
    assert.equal(claims(served.body.access_token).iss, `${KEYCLOAK2_URL}/realms/${victim}`);
  });
});
