/**
 * Per-realm client secrets (`realmSecrets: "per-realm"`, upstream/realm-secrets.ts). With one
 * secret in every realm, an admin of one realm reads the broker's client secret there and
 * uses it at every other realm, straight at Keycloak: password grants past the broker's
 * limits, token exchange and introspection of another tenant's tokens (found in an attack,
 * 2026-12-06). Per realm, each realm holds a secret made from its own id, which no other
 * realm takes; apps still authenticate to the broker with the registry's secret.
 *
 * Two tenants made for the test on server 1 (never the demo realms, whose secrets FIXTURES
 * fixes), synced by `sync-apps --tenant`.
 */
import assert from 'node:assert/strict';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { syncApps } from '../../src/cli/sync-apps.js';
import { RealmSecrets } from '../../src/upstream/realm-secrets.js';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';
import { createRealms, deleteRealms, makeTestTenant } from '../helpers/test-tenant.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

describe('per-realm client secrets (realmSecrets: per-realm)', function () {
  this.timeout(120_000);
  const a = makeTestTenant();
  const b = makeTestTenant();
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  let broker: TestBroker;

  before(async () => {
    await createRealms(a, b);
    broker = await startBroker({ overrides: { realmSecrets: 'per-realm' } });
  });
  after(async () => {
    await broker?.close();
    await deleteRealms(a, b);
  });

  const [annA] = Object.keys(a.users);
  const [annB] = Object.keys(b.users);
  const signIn = (tenant: typeof a, user: string) => post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: user, password: tenant.users[user], realm: tenant.id, scopes: 'openid' });
  /** The secret a realm admin reads in their own realm. */
  const secretIn = async (realm: string, clientId: string) => {
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    const [client] = await admin.clients.find({ realm, clientId });
    return (await admin.clients.getClientSecret({ realm, id: client!.id! })).value!;
  };

  it('each realm holds its own secret for the broker and its apps; one realm\'s opens no other; the broker and its apps go on as before', async () => {
    // Before the sync the realms hold the shared secret, which the broker no longer sends.
    const before = await signIn(a, annA!);
    assert.notEqual(before.status, 200, 'the shared secret is not sent to a realm any more');

    const { results } = await syncApps(broker.deps, false, [a.realm, b.realm]);
    for (const t of [a, b]) {
      for (const clientId of ['realm-broker', 'exchange-demo']) {
        assert.equal(results.find((r) => r.tenant === t.realm && r.clientId === clientId)?.action, 'updated', `${clientId} in ${t.realm}`);
      }
    }
    assert.deepEqual(new Set(results.map((r) => r.tenant)), new Set([a.realm, b.realm]), 'only the tenants named');

    // The broker signs users in with its own client at each realm.
    const ann = await signIn(a, annA!);
    assert.equal(ann.status, 200, ann.text);
    assert.equal((await signIn(b, annB!)).status, 200);

    // What an admin of realm A can read there…
    const brokerSecretA = await secretIn(a.realm, 'realm-broker');
    assert.notEqual(brokerSecretA, 'realm-broker-secret');
    assert.equal(brokerSecretA, RealmSecrets.derive('realm-broker-secret', 'realm-broker', a.id));
    assert.notEqual(await secretIn(a.realm, 'exchange-demo'), await secretIn(b.realm, 'exchange-demo'));
    // …opens nothing at realm B, straight at Keycloak: not a password grant for B's user…
    const direct = await fetch(`${KEYCLOAK_URL}/realms/${b.realm}/protocol/openid-connect/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'realm-broker', client_secret: brokerSecretA, username: annB!, password: b.users[annB!]!, scope: 'openid' }),
    });
    assert.equal(direct.status, 401, await direct.text());
    // …nor an introspection of B's tokens.
    const tokenB = (await signIn(b, annB!)).body.access_token as string;
    const introspected = await fetch(`${KEYCLOAK_URL}/realms/${b.realm}/protocol/openid-connect/token/introspect`, {
      method: 'POST', body: new URLSearchParams({ client_id: 'realm-broker', client_secret: brokerSecretA, token: tokenB }),
    });
    assert.equal(introspected.status, 401, await introspected.text());

    // An app authenticates to the broker with the registry's secret, as before: token exchange at A's issuer.
    const exchanged = await post(`${broker.url}/api/v1/auth/tenants/${a.realm}/oauth/token`, {
      grant_type: TOKEN_EXCHANGE, client_id: 'exchange-demo', client_secret: 'exchange-demo-secret',
      subject_token: ann.body.access_token, subject_token_type: ACCESS_TOKEN,
    });
    assert.equal(exchanged.status, 200, exchanged.text);
    // And the broker introspects with its client at each realm.
    const active = await post(`${broker.url}/auth/api/v1/oauth/connect/introspect`, { token: tokenB, realm: b.id });
    assert.equal(active.body.active, true, active.text);
  });

  it('the connect API sends a caller\'s client as given: the registry\'s secret of an app, or of the broker, opens no realm there (attack round 36)', async () => {
    const token = (clientId: string, secret: string) => post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: clientId, client_secret: secret, realm: a.id });
    // Both may get tokens of their own at A (as a realm admin may set up: the test's realm).
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    for (const clientId of ['realm-broker', 'exchange-demo']) {
      const [client] = await admin.clients.find({ realm: a.realm, clientId });
      await admin.clients.update({ realm: a.realm, id: client!.id! }, { ...client, serviceAccountsEnabled: true });
    }
    for (const [clientId, configured] of [['realm-broker', 'realm-broker-secret'], ['exchange-demo', 'exchange-demo-secret']] as const) {
      // The configured secret, which the broker makes into each realm's own for its own calls only.
      const res = await token(clientId, configured);
      assert.equal(res.status, 401, `${clientId} with the registry's secret: ${res.text}`);
      // The realm's own secret (its admin reads it there) is the caller's to use, as at Keycloak.
      const own = await token(clientId, await secretIn(a.realm, clientId));
      assert.equal(own.status, 200, `${clientId} with the realm's own secret: ${own.text}`);
    }
  });
});
