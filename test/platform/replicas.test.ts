/**
 * Two broker processes sharing Redis: a sign-in started on one continues on the other
 * (authorize on A; Keycloak's callback, the email form and the token request on B), and
 * logout on either ends the session. And the platform's answers when Keycloak is down.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { KEYCLOAK_URL, REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

const APP = 'http://127.0.0.1:8765/';
const REDIRECT = `${APP}callback`;

describe('Platform across two replicas (shared Redis)', () => {
  const prefix = `rb-test:${randomUUID()}:`;
  let a: TestBroker;
  let b: TestBroker;
  before(async () => {
    const env = { REDIS_URL, STORE_PREFIX: prefix };
    [a, b] = await Promise.all([startBroker({ env }), startBroker({ env })]);
    // Both replicas answer as one public URL, as they would behind a load balancer: A's.
    b.deps.config.publicUrl = a.url;
  });
  after(async () => {
    await a.close();
    await b.close();
    await cleanRedisPrefix(prefix);
  });

  /** Rewrites a URL of replica A to replica B (the load balancer picking the other one). */
  const toB = (u: URL) => new URL(u.href.replace(a.url, b.url));

  it('authorize on A, email form, callback and token on B, logout on A', async () => {
    const issuer = `${a.url}/api/v1/platform/oauth`;
    const config = await oidc.discovery(new URL(issuer), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid email', nonce, state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const browser = new HttpBrowser(APP);
    const emailPage = await browser.go(url); // served by A
    assert.equal(emailPage.status, 200);
    // The email form is posted to B: same host for the cookie jar? No: B is another port,
    // so carry A's browser-binding cookie over as a load balancer's shared host would.
    const bind = browser.cookies(new URL(a.url).host).get('rb_bind')!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(emailPage.html)![1]!;
    const bBrowser = new HttpBrowser(APP);
    bBrowser.setCookie(new URL(b.url).host, 'rb_bind', bind);
    const txId = /name="tx" value="([^"]+)"/.exec(emailPage.html)![1]!;
    const res = await fetch(`${b.url}/api/v1/platform/oauth/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `rb_bind=${bind}` },
      body: new URLSearchParams({ tx: txId, csrf, email: 'alice@acme.example' }),
    });
    assert.equal(res.status, 302, await res.text());
    let page = await bBrowser.go(res.headers.get('location')!);
    assert.ok(page.url.href.startsWith(KEYCLOAK_URL));
    // Keycloak's redirect goes to the public URL (A); send the callback to B instead.
    const tag = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(page.html)![1]!.replace(/&amp;/g, '&');
    const kcCookies = [...bBrowser.cookies(new URL(KEYCLOAK_URL).host)].map(([k, v]) => `${k}=${v}`).join('; ');
    const login = await fetch(tag, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: kcCookies },
      body: new URLSearchParams({ username: 'alice@acme.example', password: 'alice-pass', credentialId: '' }),
    });
    const callbackUrl = new URL(login.headers.get('location')!);
    assert.ok(callbackUrl.href.startsWith(`${a.url}/api/v1/platform/oauth/callback`), callbackUrl.href);
    page = await bBrowser.go(toB(callbackUrl));
    assert.ok(page.url.href.startsWith(REDIRECT));
    const tokens = await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: 's' });
    assert.equal(tokens.claims()?.tenant, 'acme');
    // The code was minted on B; the token request above went to A (the discovered issuer).

    // Logout on A with the SSO cookie B set.
    const sso = bBrowser.cookies(new URL(b.url).host).get('rb_sso')!;
    const out = await fetch(`${a.url}/api/v1/platform/oauth/logout?id_token_hint=${tokens.id_token}`, { headers: { cookie: `rb_sso=${sso}` } });
    assert.equal(out.status, 200);
    assert.match(await out.text(), /signed out/);
    assert.equal(await b.deps.store.get(`sso:${sso}`), undefined, 'the SSO session is gone for both');
    await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), 'the realm session is gone');
  });
});

describe('Platform when Keycloak is down', () => {
  it('token, userinfo and authorize answer 503 in their shapes', async () => {
    const broker = await startBroker({ env: { KEYCLOAK_URL: 'http://127.0.0.1:9' } });
    try {
      const oauth = `${broker.url}/api/v1/platform/oauth`;
      const token = await post(`${oauth}/token`, { grant_type: 'client_credentials', client_id: 'platform-service', client_secret: 'platform-service-secret' });
      assert.equal(token.status, 503, token.text);
      assert.equal(token.body.error, 'temporarily_unavailable');
      assert.ok(token.headers.get('retry-after'));
      const info = await fetch(`${oauth}/userinfo`, { headers: { authorization: 'Bearer a.b.c' } });
      assert.ok([401, 503].includes(info.status));
      const page = await fetch(`${oauth}/authorize?response_type=code&client_id=platform-demo&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=openid&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256&login_hint=alice%40acme.example`, { redirect: 'manual' });
      assert.equal(page.status, 503);
      assert.match(page.headers.get('content-type')!, /text\/html/);
    } finally {
      await broker.close();
    }
  });
});
