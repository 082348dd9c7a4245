/**
 * The platform authorization-code flow as a real relying party sees it: openid-client 6,
 * used as an app would use it (discovery, PKCE, nonce, state, code grant, refresh,
 * userinfo), with no check disabled; the browser part is played over HTTP against the
 * broker's pages and Keycloak's real login form.
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { realmKeyOf, startBroker, type TestBroker } from '../helpers/broker.js';
import { APP, APP_REDIRECT, signIn as signInAt, type SignInOptions } from '../helpers/platform-rp.js';
import { KEYCLOAK_URL } from '../helpers/services.js';

describe('Platform authorization-code flow (openid-client as the app)', () => {
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());

  const signIn = (issuer: string, user: string, opts: Omit<SignInOptions, 'brokerUrl'> = {}) => signInAt(issuer, user, { ...opts, brokerUrl: broker.url });

  const platform = () => `${broker.url}/api/v1/platform/oauth`;

  it('discovery is true: every listed endpoint answers', async () => {
    const meta = await (await fetch(`${platform()}/.well-known/openid-configuration`)).json();
    assert.equal(meta.issuer, platform());
    assert.equal(meta.jwks_uri, `${platform()}/.well-known/jwks.json`, 'the broker\'s own keys, not the realms\'');
    for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
      const res = await fetch(meta[k], { redirect: 'manual' });
      assert.notEqual(res.status, 404, k);
      assert.ok(res.status < 500, `${k}: ${res.status}`);
    }
  });

  for (const [user, tenant] of [['alice@acme.example', 'acme'], ['bob@globex.example', 'globex'], ['carol@contractor.example', 'globex']] as const) {
    it(`signs ${user} in at ${tenant} (login_hint), verifies, refreshes and reads userinfo`, async () => {
      const { config, tokens } = await signIn(platform(), user);
      const claims = tokens.claims()!;
      assert.equal(claims.iss, platform());
      assert.equal(claims.aud, 'platform-demo');
      assert.equal(claims.email, user);
      assert.equal(claims.tenant, tenant);
      // The ID token verifies against the issuer's keys; the access token against the
      // documented platform JWKS, with the key bound to the token's realm issuer.
      const issuerKeys = jose.createRemoteJWKSet(new URL(`${platform()}/.well-known/jwks.json`));
      await jose.jwtVerify(tokens.id_token!, issuerKeys, { issuer: platform(), audience: 'platform-demo' });
      await assert.rejects(jose.jwtVerify(tokens.access_token, issuerKeys), 'no realm key among the issuer\'s keys');
      const { payload } = await jose.jwtVerify(tokens.access_token, realmKeyOf(broker.url), { issuer: `${KEYCLOAK_URL}/realms/${tenant}` });
      assert.equal(payload.iss, `${KEYCLOAK_URL}/realms/${tenant}`);

      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(info.email, user);
      assert.equal(info.tenant, tenant);

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      assert.ok(refreshed.access_token);
      assert.equal(refreshed.claims()?.iss, platform());
      assert.equal(refreshed.claims()?.sub, claims.sub);
    });
  }

  it('asks for the email when there is no hint, then discovers the tenant', async () => {
    const { tokens } = await signIn(platform(), 'bob@globex.example', { email: false });
    assert.equal(tokens.claims()?.tenant, 'globex');
  });

  it('offers a chooser for dave, who is in two tenants', async () => {
    const { tokens } = await signIn(platform(), 'dave@shared.example', { choose: 'globex' });
    assert.equal(tokens.claims()?.tenant, 'globex');
  });

  it('signs alice in at the tenant-level issuer of acme', async () => {
    const issuer = `${broker.url}/api/v1/auth/tenants/acme/oauth`;
    const { tokens, config } = await signIn(issuer, 'alice@acme.example', { email: false });
    assert.equal(tokens.claims()?.iss, issuer);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal(refreshed.claims()?.iss, issuer);
    const missing = await fetch(`${broker.url}/api/v1/auth/tenants/nope/oauth/.well-known/openid-configuration`);
    assert.equal(missing.status, 404);
  });

  it('SSO: a second authorize in the same browser needs no password; logout ends both sessions', async () => {
    const first = await signIn(platform(), 'alice@acme.example');
    const browser = first.browser;
    // Second app sign-in in the same browser: broker SSO + Keycloak session, no form.
    const config = first.config;
    const verifier = oidc.randomPKCECodeVerifier();
    const again = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: APP_REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }));
    assert.ok(again.url.href.startsWith(APP_REDIRECT), 'straight back to the app');

    const end = oidc.buildEndSessionUrl(config, { id_token_hint: first.tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:8765/', state: 'bye' });
    const done = await browser.go(end);
    assert.equal(`${done.url.origin}${done.url.pathname}`, APP);
    assert.equal(done.url.searchParams.get('state'), 'bye');
    // The realm session is gone: the refresh token no longer works, and a new authorize asks again.
    await assert.rejects(oidc.refreshTokenGrant(config, first.tokens.refresh_token!));
    const third = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: APP_REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', login_hint: 'alice@acme.example',
    }));
    assert.ok(third.url.href.startsWith(KEYCLOAK_URL), `asks for the password again, at ${third.url}`);
    assert.match(third.html, /kc-form-login/);
  });
});
