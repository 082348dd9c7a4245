/**
 * A realm's word on its session id never becomes a path of the admin API (attack helper,
 * 2026-12-06). A realm's admin can make its ID tokens say anything in `sid` (a hardcoded-claim
 * mapper: Keycloak then writes the claim twice, and the last one is what a JSON parser reads).
 * The broker kept that sid to end the realm session at logout, through the admin client,
 * which puts it in `DELETE /admin/realms/{realm}/sessions/{sid}`: a sid of `..` made that
 * `DELETE /admin/realms/{realm}`, the realm's deletion, done with the broker's own service
 * account (a right the realm's admin need not have). Now a sid that is not a session id is not
 * kept, and the admin connector refuses one anyway. Against the real Keycloak.
 */
import assert from 'node:assert/strict';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { APP, signIn } from '../helpers/platform-rp.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';
import { createRealms, deleteRealms, makeTestTenant } from '../helpers/test-tenant.js';

describe('a realm\'s sid claim is not a path (logout)', function () {
  this.timeout(120_000);
  const t = makeTestTenant();
  // The app's client in the realm: the one whose ID token the broker reads at its callback.
  const app = t.representation.clients!.find((c) => c.clientId === 'platform-demo')!;
  app.protocolMappers = [...(app.protocolMappers ?? []), {
    name: 'a sid of the admin\'s choosing', protocol: 'openid-connect', protocolMapper: 'oidc-hardcoded-claim-mapper',
    config: { 'claim.name': 'sid', 'claim.value': '..', 'jsonType.label': 'String', 'id.token.claim': 'true', 'access.token.claim': 'true' },
  }];
  const user = Object.keys(t.users)[0]!;
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  let broker: TestBroker;

  before(async () => {
    await createRealms(t);
    broker = await startBroker();
  });
  after(async () => {
    await broker?.close();
    await deleteRealms(t);
  });

  it('signing out of a session whose ID token says sid ".." leaves the realm in place', async () => {
    const issuer = `${broker.url}/api/v1/platform/oauth`;
    const { tokens, browser } = await signIn(issuer, user, { brokerUrl: broker.url });
    const done = await browser.go(`${issuer}/logout`, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP, client_id: 'platform-demo' });
    assert.equal(done.url.origin + done.url.pathname, APP, 'signed out as usual');
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    assert.ok(await admin.realms.findOne({ realm: t.realm }), 'the realm is still there');
  });

  it('the admin connector refuses a session id that is not one, whoever asks', async () => {
    const connector = broker.deps.upstreams.get('server1').admin;
    for (const sid of ['..', '.', '../acme', 'a/b', '', 'x'.repeat(200)]) {
      await assert.rejects(connector.endSession(t.realm, sid), /not a session id/, JSON.stringify(sid));
    }
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    assert.ok(await admin.realms.findOne({ realm: t.realm }), 'the realm is still there');
    await connector.endSession(t.realm, 'HohJfKM514eSAeQtBNYwo23s'); // a session id of Keycloak 26's shape (gone: fine)
  });
});
