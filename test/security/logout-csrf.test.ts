/**
 * Issue 8, defect 10: a GET to the logout endpoint with no id_token_hint (a link, an
 * image on any page) must not end the user's sessions; the user is asked, and the
 * confirmation is a POST with a CSRF token. POST is accepted as the spec requires.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';

const APP = 'http://127.0.0.1:8765/';

describe('logout without a hint asks the user (RP-Initiated Logout §3)', () => {
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());
  const issuer = () => `${broker.url}/api/v1/platform/oauth`;

  async function signedIn() {
    const config = await oidc.discovery(new URL(issuer()), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const browser = new HttpBrowser(APP);
    let page = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${APP}callback`, scope: 'openid email', login_hint: 'alice@acme.example',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }));
    page = await browser.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
    assert.ok(page.url.href.startsWith(`${APP}callback`));
    const tokens = await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier });
    const sso = browser.cookies(new URL(broker.url).host).get('rb_sso')!;
    return { browser, tokens, sso };
  }

  it('GET without a hint shows a confirmation and ends nothing; the confirmation needs its CSRF token', async () => {
    const { browser, sso } = await signedIn();
    const page = await browser.go(`${issuer()}/logout`);
    assert.equal(page.status, 200);
    assert.match(page.html, /Sign out\?/);
    assert.ok(await broker.deps.store.get(`sso:${sso}`), 'the session is still there');
    // A cross-site POST without the token is refused.
    const forged = await fetch(`${issuer()}/logout`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `rb_sso=${sso}` },
      body: new URLSearchParams({ confirm: 'yes', csrf: 'forged' }),
    });
    assert.equal(forged.status, 403);
    assert.ok(await broker.deps.store.get(`sso:${sso}`), 'still there');
    const done = await browser.submit(page, {});
    assert.match(done.html, /signed out/);
    assert.equal(await broker.deps.store.get(`sso:${sso}`), undefined);
  });

  it('POST with an id_token_hint (form-serialized, as the spec allows) signs out at once', async () => {
    const { browser, tokens, sso } = await signedIn();
    const done = await browser.go(`${issuer()}/logout`, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP, state: 'bye' });
    assert.equal(done.url.origin + done.url.pathname, APP);
    assert.equal(done.url.searchParams.get('state'), 'bye');
    assert.equal(await broker.deps.store.get(`sso:${sso}`), undefined);
  });
});
