/**
 * Issue 11, items 1–2: revocation (RFC 7009) and introspection (RFC 7662) at the platform
 * and tenant issuers, used by an unmodified openid-client, routed by the token's issuer;
 * another client's or tenant's token is neither revoked nor described.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { GLOBEX_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';

describe('revocation and introspection at the issuers', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());

  const rp = (issuer: string, clientId: string, secret?: string) => oidc.discovery(new URL(issuer), clientId, undefined,
    secret ? oidc.ClientSecretBasic(secret) : oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const platform = () => `${broker.url}/api/v1/platform/oauth`;
  const aliceToken = async () => (await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass' })).body.access_token as string;

  it('discovery lists both endpoints', async () => {
    const meta = await (await fetch(`${platform()}/.well-known/openid-configuration`)).json();
    assert.equal(meta.revocation_endpoint, `${platform()}/revoke`);
    assert.equal(meta.introspection_endpoint, `${platform()}/introspect`);
  });

  it('a confidential app introspects, revokes its own token, and sees it inactive', async () => {
    const config = await rp(platform(), 'platform-service', 'platform-service-secret');
    const { access_token } = await oidc.clientCredentialsGrant(config);
    assert.equal((await oidc.tokenIntrospection(config, access_token)).active, true);
    await oidc.tokenRevocation(config, access_token);
    assert.equal((await oidc.tokenIntrospection(config, access_token)).active, false);
  });

  it('another client\'s token: revocation answers 200 and revokes nothing', async () => {
    const config = await rp(platform(), 'platform-service', 'platform-service-secret');
    const alice = await aliceToken();
    await oidc.tokenRevocation(config, alice); // resolves: 200
    assert.equal((await oidc.tokenIntrospection(config, alice)).active, true, 'still active');
  });

  it('a tenant issuer neither describes nor revokes another tenant\'s token', async () => {
    const globex = await rp(`${broker.url}/api/v1/auth/tenants/globex/oauth`, 'platform-service', 'platform-service-secret');
    const alice = await aliceToken();
    assert.deepEqual(await oidc.tokenIntrospection(globex, alice), { active: false });
    await oidc.tokenRevocation(globex, alice);
    const platformRp = await rp(platform(), 'platform-service', 'platform-service-secret');
    assert.equal((await oidc.tokenIntrospection(platformRp, alice)).active, true);
  });

  it('garbage is inactive and revocable (200); public clients may revoke but not introspect; bad credentials are 401', async () => {
    const config = await rp(platform(), 'platform-service', 'platform-service-secret');
    assert.deepEqual(await oidc.tokenIntrospection(config, 'garbage'), { active: false });
    await oidc.tokenRevocation(config, 'garbage');
    const pub = await post(`${platform()}/introspect`, { token: 'x', client_id: 'platform-demo' });
    assert.equal(pub.status, 401);
    assert.equal((await post(`${platform()}/revoke`, { token: 'x', client_id: 'platform-demo' })).status, 200);
    const bad = await post(`${platform()}/introspect`, { token: 'x', client_id: 'platform-service', client_secret: 'wrong' });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'invalid_client');
  });

  it('the connect API introspects a token of another tenant by its issuer when no realm is named', async () => {
    const globexToken = (await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: GLOBEX_ID })).body.access_token;
    const res = await post(`${broker.url}/auth/api/v1/oauth/connect/introspect`, { token: globexToken });
    assert.equal(res.status, 200);
    assert.equal(res.body.active, true);
  });
});
