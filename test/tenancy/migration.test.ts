/**
 * Drop-in realm migration: a tenant moves to another realm by a change of the broker's
 * mapping only. Here tenant "acme" is pointed at the globex realm (standing in for its new
 * home): clients keep using the same tenant names and UUID, new sign-ins happen at the new
 * realm, and tokens issued before the move still refresh at the realm that issued them.
 */
import assert from 'node:assert/strict';
import { ACME_ID, claims, post, startBroker } from '../helpers/broker.js';
import { KEYCLOAK_URL } from '../helpers/services.js';
import { loginAtKeycloak } from '../helpers/keycloak-login.js';

describe('moving a tenant to another realm', () => {
  it('keeps the API stable and routes old tokens home', async () => {
    const before = await startBroker();
    const old = await post(`${before.url}/v1/auth/token`, { username: 'alice@acme.example', password: 'alice-pass' });
    assert.equal(old.status, 200, old.text);
    await before.close();

    // The move: one line of config, naming the realm it leaves (a realm's name is its admin's to
    // change, so only config says which realm of another id was the tenant's). The new realm
    // has acme's settings through the override.
    const after = await startBroker({
      overrides: { tenants: { acme: { realm: 'globex', formerRealmIds: [ACME_ID], features: { auth: { password_grant_enabled: true } } } } },
    });
    try {
      // The connect API still knows the tenant by its old UUID, and signs in at the new realm.
      const login = await post(`${after.url}/auth/api/v1/oauth/connect/user/login`, { username: 'bob@globex.example', password: 'bob-pass', realm: ACME_ID });
      assert.equal(login.status, 200, login.text);
      assert.equal(claims(login.body.access_token).iss, `${KEYCLOAK_URL}/realms/globex`);
      // ScaiWave's acme host now signs in at the new realm…
      const fresh = await post(`${after.url}/v1/auth/token`, { username: 'bob@globex.example', password: 'bob-pass' }, { headers: { 'x-tenant': 'acme' } });
      assert.equal(fresh.status, 200, fresh.text);
      // …and a refresh token from before the move still refreshes, at the realm that issued it.
      const refreshed = await post(`${after.url}/v1/auth/refresh`, { refresh_token: old.body.data.refresh_token }, { headers: { 'x-tenant': 'acme' } });
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal(claims(refreshed.body.data.access_token).iss, `${KEYCLOAK_URL}/realms/acme`);
      // The old realm is no longer a tenant of its own.
      const config = await fetch(`${after.url}/v1/auth/config`, { headers: { 'x-tenant': 'acme' } });
      assert.equal((await config.json()).data.issuer, `${KEYCLOAK_URL}/realms/globex`);
    } finally {
      await after.close();
    }
  });

  it('a ScaiWave sign-in begun at the realm the tenant left on the same server completes, with the code\'s iss (RFC 9207) or without', async () => {
    // Attack helper round 30a: the broker asked the new realm first, and Keycloak uses a code
    // up when another realm of its server is asked to redeem it; the realm it left then refused it.
    const REDIRECT = 'http://127.0.0.1:3000/v1/auth/login';
    // The move just happened (`at`): sign-ins under way then complete, for formerRealmSignInMinutes.
    const after = await startBroker({
      overrides: {
        tenants: { acme: { realm: 'globex', formerRealmIds: [ACME_ID], movedFrom: { upstream: 'server1', realmId: ACME_ID, at: new Date().toISOString() } } },
        scaiwave: { redirectUri: REDIRECT },
      },
    });
    const acme = { 'x-tenant': 'acme' };
    const oldRealm = `${KEYCLOAK_URL}/realms/acme`;
    const signIn = () => loginAtKeycloak({ realm: 'acme', clientId: 'realm-broker', redirectUri: REDIRECT }, 'alice@acme.example', 'alice-pass');
    try {
      const back = await signIn();
      assert.equal(back.searchParams.get('iss'), oldRealm, 'Keycloak names the issuer in its authorization response');
      const code = back.searchParams.get('code')!;
      // An iss that is not this tenant's realm: refused without asking any realm.
      for (const iss of [`${KEYCLOAK_URL}/realms/initech`, `${KEYCLOAK_URL}/realms/globex/`, 'https://evil.example/realms/acme']) {
        const other = await post(`${after.url}/v1/auth/login`, { code, redirect_uri: REDIRECT, iss }, { headers: acme });
        assert.equal(other.status, 400, other.text);
        assert.equal(other.body.error.code, 'SW_AUTH_OIDC_FAILED');
      }
      const res = await post(`${after.url}/v1/auth/login`, { code, redirect_uri: REDIRECT, iss: oldRealm }, { headers: acme });
      assert.equal(res.status, 200, res.text);
      assert.equal(claims(res.body.data.access_token).iss, oldRealm);
      assert.equal(claims(res.body.data.access_token).preferred_username, 'alice@acme.example');

      // Without iss (the ScaiWave documents do not have it): the code names its realm's client,
      // and only that realm is asked. The new realm was asked first, and used the code up.
      const withoutIss = (await signIn()).searchParams.get('code')!;
      const without = await post(`${after.url}/v1/auth/login`, { code: withoutIss, redirect_uri: REDIRECT }, { headers: acme });
      assert.equal(without.status, 200, without.text);
      assert.equal(claims(without.body.data.access_token).iss, oldRealm);
      // A code of the new realm, without iss, is redeemed there.
      const atNew = await loginAtKeycloak({ realm: 'globex', clientId: 'realm-broker', redirectUri: REDIRECT }, 'bob@globex.example', 'bob-pass');
      const fresh = await post(`${after.url}/v1/auth/login`, { code: atNew.searchParams.get('code')!, redirect_uri: REDIRECT }, { headers: acme });
      assert.equal(fresh.status, 200, fresh.text);
      assert.equal(claims(fresh.body.data.access_token).iss, `${KEYCLOAK_URL}/realms/globex`);
      // A made-up code naming the old realm's client: refused in the documented shape.
      const [, session, client] = withoutIss.split('.');
      const forged = await post(`${after.url}/v1/auth/login`, { code: `${crypto.randomUUID()}.${session}.${client}`, redirect_uri: REDIRECT }, { headers: acme });
      assert.equal(forged.status, 400, forged.text);
      assert.equal(forged.body.error.code, 'SW_AUTH_OIDC_FAILED');
    } finally {
      await after.close();
    }
    // Config that says when the move was, long ago, or not at all: the old realm's codes are refused (attack round 37).
    for (const movedFrom of [{ upstream: 'server1', realmId: ACME_ID, at: '2026-01-01T00:00:00Z' }, undefined]) {
      const later = await startBroker({ overrides: { tenants: { acme: { realm: 'globex', formerRealmIds: [ACME_ID], ...(movedFrom ? { movedFrom } : {}) } }, scaiwave: { redirectUri: REDIRECT } } });
      try {
        for (const withIss of [true, false]) {
          const back = await signIn();
          const res = await post(`${later.url}/v1/auth/login`, { code: back.searchParams.get('code')!, redirect_uri: REDIRECT, ...(withIss ? { iss: oldRealm } : {}) }, { headers: acme });
          assert.equal(res.status, 400, `${movedFrom ? 'long ago' : 'no time'}, ${withIss ? 'with' : 'without'} iss: ${res.text}`);
          assert.equal(res.body.error.code, 'SW_AUTH_OIDC_FAILED');
        }
      } finally {
        await later.close();
      }
    }
  });
});
