/**
 * OIDC Core §3.1.2.1: an app that sends `max_age` gets a sign-in no older than that (the
 * OP must re-authenticate past it), and `acr_values` reach the realm. The broker used to
 * drop both, so a session of any age signed the user in again silently (found in an
 * attack, 2026-12-06). The realm enforces them: the broker passes them on.
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { KEYCLOAK_URL } from '../helpers/services.js';

const APP = 'http://127.0.0.1:8765/';

describe('max_age and acr_values at the authorization endpoint', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());

  const issuer = () => `${broker.url}/api/v1/auth/tenants/acme/oauth`;

  /** An authorization request in `browser`; the page it stops at (status 0: back at the app). */
  async function authorize(browser: HttpBrowser, extra: Record<string, string> = {}) {
    const config = await oidc.discovery(new URL(issuer()), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const page = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${APP}callback`, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    }));
    const redeem = async (at: URL) => oidc.authorizationCodeGrant(config, at, { pkceCodeVerifier: verifier });
    return { page, redeem };
  }

  it('max_age past the session\'s age: the realm asks for the password again, and auth_time is the new sign-in\'s', async () => {
    const browser = new HttpBrowser(APP);
    const first = await authorize(browser);
    assert.notEqual(first.page.status, 0, 'a first sign-in shows the login form');
    const firstTokens = await first.redeem((await browser.keycloakLogin(first.page, 'alice@acme.example', 'alice-pass')).url);
    const firstAuth = jose.decodeJwt(firstTokens.id_token!).auth_time as number;

    // Without max_age the session signs in silently, as before.
    const silent = await authorize(browser);
    assert.equal(silent.page.status, 0, 'no form: the session is used');
    await silent.redeem(silent.page.url);

    await new Promise((r) => setTimeout(r, 2100));
    const fresh = await authorize(browser, { max_age: '1', acr_values: '1' });
    assert.notEqual(fresh.page.status, 0, 'the realm asks again: the session is older than max_age');
    assert.ok(fresh.page.url.href.startsWith(`${KEYCLOAK_URL}/realms/acme/`), String(fresh.page.url));
    const tokens = await fresh.redeem((await browser.keycloakLogin(fresh.page, 'alice@acme.example', 'alice-pass')).url);
    assert.ok((jose.decodeJwt(tokens.id_token!).auth_time as number) > firstAuth, 'auth_time is the new sign-in\'s');
  });

  it('a max_age that is not a number of seconds goes back to the app as invalid_request', async () => {
    const { page } = await authorize(new HttpBrowser(APP), { max_age: '-5' });
    assert.equal(page.status, 0);
    assert.equal(page.url.searchParams.get('error'), 'invalid_request');
    assert.match(page.url.searchParams.get('error_description') ?? '', /max_age/);
  });
});
