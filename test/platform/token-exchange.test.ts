/**
 * Token exchange (RFC 8693) on the platform token endpoint, performed by Keycloak's
 * standard token exchange at the realm that issued the subject token.
 */
import assert from 'node:assert/strict';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { GLOBEX_ID, claims, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const REFRESH = 'urn:ietf:params:oauth:token-type:refresh_token';
const basic = { authorization: `Basic ${Buffer.from('exchange-demo:exchange-demo-secret').toString('base64')}` };

describe('Platform token exchange (RFC 8693)', () => {
  let broker: TestBroker;
  let token: string;
  before(async () => {
    // bob's subject tokens come from a connect password login: globex keeps that grant off by default.
    broker = await startBroker({ overrides: { tenants: { globex: { features: { auth: { password_grant_enabled: true } } } } } });
    token = `${broker.url}/api/v1/platform/oauth/token`;
  });
  after(() => broker.close());

  const userToken = async (user = 'alice@acme.example', realm?: string) =>
    (await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: user, password: `${user.split('@')[0]}-pass`, realm })).body.access_token as string;
  const exchange = (fields: Record<string, string | undefined>, headers: Record<string, string> = basic) =>
    post(token, { grant_type: EXCHANGE, subject_token_type: ACCESS, ...fields }, { headers });

  it('exchanges alice\'s token at her realm, narrowing the audience', async () => {
    const res = await exchange({ subject_token: await userToken(), audience: 'realm-broker' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.issued_token_type, ACCESS);
    const c = claims(res.body.access_token);
    assert.equal(c.iss, `${KEYCLOAK_URL}/realms/acme`);
    assert.equal(c.azp, 'exchange-demo');
    assert.equal(c.preferred_username, 'alice@acme.example');
    assert.equal(c.aud, 'realm-broker', 'only the requested audience');
  });

  it('routes by the subject token: bob\'s exchange happens at globex', async () => {
    const res = await exchange({ subject_token: await userToken('bob@globex.example', GLOBEX_ID) });
    assert.equal(res.status, 200, res.text);
    assert.equal(claims(res.body.access_token).iss, `${KEYCLOAK_URL}/realms/globex`);
  });

  it('gives a refresh token where the realm allows it (same session)', async () => {
    const res = await exchange({ subject_token: await userToken(), requested_token_type: REFRESH });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.issued_token_type, REFRESH);
    assert.ok(res.body.refresh_token);
  });

  it('never widens the subject token\'s scope (invalid_scope), and keeps the realm session id to the realm', async () => {
    // Keycloak grants any optional scope of the calling client: address and phone were added.
    const subject = await userToken();
    const held = String(claims(subject).scope).split(' ');
    assert.ok(!held.includes('address') && !held.includes('phone'), `the subject token's scope: ${held.join(' ')}`);
    const wider = await exchange({ subject_token: subject, scope: [...held, 'address', 'phone'].join(' ') });
    assert.equal(wider.status, 400, wider.text);
    assert.equal(wider.body.error, 'invalid_scope');
    assert.match(wider.body.error_description, /address phone is not in it/);
    const narrower = await exchange({ subject_token: subject, scope: 'email' });
    assert.equal(narrower.status, 200, narrower.text);
    assert.ok(!String(claims(narrower.body.access_token).scope).split(' ').includes('address'));
    assert.equal(narrower.body.session_state, undefined, 'the realm session id is not handed out');
  });

  it('invalid_target for an unknown audience, or another tenant', async () => {
    const subject = await userToken();
    const unknown = await exchange({ subject_token: subject, audience: 'no-such-client' });
    assert.equal(unknown.status, 400, unknown.text);
    assert.equal(unknown.body.error, 'invalid_target');
    const unavailable = await exchange({ subject_token: subject, audience: 'connect-demo' });
    assert.equal(unavailable.body.error, 'invalid_target', 'a client the token cannot reach');
    const cross = await exchange({ subject_token: subject, audience: `${KEYCLOAK_URL}/realms/globex` });
    assert.equal(cross.status, 400);
    assert.equal(cross.body.error, 'invalid_target');
    assert.match(cross.body.error_description, /across tenants/);
  });

  it('refuses a foreign, garbage or expired subject token', async () => {
    const garbage = await exchange({ subject_token: 'garbage' });
    assert.equal(garbage.body.error, 'invalid_request');
    // A token of a realm no tenant has: forged issuer.
    const real = await userToken();
    const [h, , s] = real.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims(real), iss: 'https://elsewhere.example/realms/x' })).toString('base64url')}.${s}`;
    assert.equal((await exchange({ subject_token: forged })).body.error, 'invalid_request');
    // Expired: globex with a 1 s token lifespan.
    const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    await admin.realms.update({ realm: 'globex' }, { accessTokenLifespan: 1 });
    try {
      const short = await userToken('bob@globex.example', GLOBEX_ID);
      await new Promise((r) => setTimeout(r, 2500));
      const expired = await exchange({ subject_token: short });
      assert.equal(expired.status, 400, expired.text);
      assert.equal(expired.body.error, 'invalid_request');
    } finally {
      await admin.realms.update({ realm: 'globex' }, { accessTokenLifespan: 300 });
    }
  });

  it('refuses a public client, a client without the grant, and bad credentials', async () => {
    const subject = await userToken();
    const pub = await exchange({ subject_token: subject, client_id: 'platform-demo' }, {});
    assert.equal(pub.status, 400);
    assert.equal(pub.body.error, 'unauthorized_client');
    const noGrant = await exchange({ subject_token: subject, client_id: 'platform-service', client_secret: 'platform-service-secret' }, {});
    assert.equal(noGrant.body.error, 'unauthorized_client');
    const bad = await exchange({ subject_token: subject }, { authorization: `Basic ${Buffer.from('exchange-demo:wrong').toString('base64')}` });
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'invalid_client');
    const missing = await exchange({ subject_token: undefined });
    assert.equal(missing.body.error, 'invalid_request');
  });

  it('refuses an actor token: no delegation, never an impersonation token in its place (round 44: ignored, 200 without act)', async () => {
    const subject = await userToken();
    for (const extra of [{ actor_token: await userToken('bob@globex.example', GLOBEX_ID), actor_token_type: ACCESS }, { actor_token_type: ACCESS }]) {
      const res = await exchange({ subject_token: subject, ...extra });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.error_description, /Delegation \(actor_token\) is not supported/);
    }
  });

  it('refuses a subject token of another tenant at a tenant issuer', async () => {
    const res = await post(`${broker.url}/api/v1/auth/tenants/acme/oauth/token`,
      { grant_type: EXCHANGE, subject_token_type: ACCESS, subject_token: await userToken('bob@globex.example', GLOBEX_ID) }, { headers: basic });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
    assert.match(res.body.error_description, /tenant globex/);
  });
});
