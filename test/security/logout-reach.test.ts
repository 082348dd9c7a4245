/**
 * A sign-out ends what it says it ends (attack helper, 2026-12-06), against the real
 * Keycloak servers:
 * - an app on another site that POSTs its logout (as RP-Initiated Logout allows) sends no
 *   session cookie (SameSite=Lax): it was told "signed out" while the broker session, the realm
 *   session and the refresh token lived on. Now the session its hint names is ended; without a
 *   hint, the user is asked on a page of ours, whose POST carries the cookie.
 * - a hint whose key the broker no longer publishes (a rotation, long ago) was a 400 and left
 *   the user signed in; now it is read as no hint: the user is asked, and the app's registered
 *   address is still where the confirmation goes back to. A bad signature under a key the
 *   broker has is still refused.
 * - the tenth account signed in one after another in one browser dropped the first from the
 *   browser's sessions, and signing out left it signed in. Now the oldest past eight is ended.
 * - a broker session outlived by its realm session (8 h against Keycloak's default 10): a
 *   sign-out with a hint now ends the realm session the hint names, once (the same hint again
 *   does not call Keycloak again).
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { APP, signIn } from '../helpers/platform-rp.js';
import { KEYCLOAK2_URL, KEYCLOAK_URL } from '../helpers/services.js';

describe('a sign-out reaches the sessions it says it ends', function () {
  this.timeout(120_000);
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());
  const issuer = () => `${broker.url}/api/v1/platform/oauth`;
  const ssoOf = (browser: HttpBrowser) => browser.cookies(new URL(broker.url).host).get('rb_sso')!;
  const stored = (sso: string) => broker.deps.store.get(`sso:${sso}`);
  /** The refresh token's fate: true while it still gets tokens. */
  const refreshes = async (config: oidc.Configuration, refreshToken: string) =>
    oidc.refreshTokenGrant(config, refreshToken).then(() => true, (err: { error?: string }) => {
      assert.equal(err.error, 'invalid_grant', String(err));
      return false;
    });
  /** A POST from another site's page: the browser's SameSite=Lax cookies stay behind. */
  const crossSitePost = (fields: Record<string, string>) => fetch(`${issuer()}/logout`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields),
  });

  it('a cross-site POST with a hint ends the session the hint names, realm session and refresh token too', async () => {
    const { config, tokens, browser } = await signIn(issuer(), 'alice@acme.example', { brokerUrl: broker.url });
    const sso = ssoOf(browser);
    const res = await crossSitePost({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP, state: 'bye' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${APP}?state=bye`);
    assert.equal(await stored(sso), undefined, 'the broker session is over');
    assert.equal(await refreshes(config, tokens.refresh_token!), false, 'the refresh token is dead');
    // The browser's next sign-in asks for the password again (Keycloak's session is over too).
    const again = await browser.go(`${issuer()}/authorize?${new URLSearchParams({ client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid', login_hint: 'alice@acme.example', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`);
    assert.match(again.html, /id="kc-form-login"/);
  });

  it('a cross-site POST without a hint (no cookie came) asks, on a page whose POST ends this browser\'s session', async () => {
    const { config, tokens, browser } = await signIn(issuer(), 'bob@globex.example', { brokerUrl: broker.url });
    const sso = ssoOf(browser);
    const res = await crossSitePost({ client_id: 'platform-demo', post_logout_redirect_uri: APP });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Sign out\?/);
    assert.ok(await stored(sso), 'nothing ended, and nothing said to be');
    // The same page in the user's browser: its form posts here, with the cookie.
    const asked = await browser.go(`${issuer()}/logout`, { client_id: 'platform-demo', post_logout_redirect_uri: APP });
    assert.match(asked.html, /Sign out\?/);
    const done = await browser.submit(asked, {});
    assert.equal(done.url.origin + done.url.pathname, APP);
    assert.equal(await stored(sso), undefined);
    assert.equal(await refreshes(config, tokens.refresh_token!), false);
  });

  it('a hint under a key the broker no longer publishes: asked, not refused; a bad signature under a known key: refused', async () => {
    const { config, tokens, browser } = await signIn(issuer(), 'erin@initech.example', { brokerUrl: broker.url });
    const sso = ssoOf(browser);
    // The same claims, under a key of the broker's past (one it does not publish any more).
    const old = await jose.generateKeyPair('RS256');
    const retired = await new jose.SignJWT(jose.decodeJwt(tokens.id_token!)).setProtectedHeader({ alg: 'RS256', kid: 'rotated-out-long-ago' }).sign(old.privateKey);
    const asked = await browser.go(`${issuer()}/logout`, { id_token_hint: retired, post_logout_redirect_uri: APP, state: 's' });
    assert.equal(asked.status, 200, asked.html.slice(0, 200));
    assert.match(asked.html, /Sign out\?/);
    assert.ok(await stored(sso));
    // Its kid, the broker's: the signature decides, and a wrong one is refused.
    const forged = await new jose.SignJWT(jose.decodeJwt(tokens.id_token!)).setProtectedHeader({ alg: 'RS256', kid: jose.decodeProtectedHeader(tokens.id_token!).kid }).sign(old.privateKey);
    assert.equal((await browser.go(`${issuer()}/logout`, { id_token_hint: forged })).status, 400);
    const done = await browser.submit(asked, {});
    assert.equal(done.url.origin + done.url.pathname, APP, 'back at the address the app registered');
    assert.equal(done.url.searchParams.get('state'), 's');
    assert.equal(await stored(sso), undefined);
    assert.equal(await refreshes(config, tokens.refresh_token!), false);
  });

  it('a session the broker no longer keeps (past its 8 h; the realm\'s may live 10): the hint\'s realm session is ended', async () => {
    const { config, tokens, browser } = await signIn(issuer(), 'bob@globex.example', { brokerUrl: broker.url });
    await broker.deps.store.delete(`sso:${ssoOf(browser)}`); // as its lifetime would
    const done = await browser.go(`${issuer()}/logout`, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP });
    assert.equal(done.url.origin + done.url.pathname, APP);
    assert.equal(await refreshes(config, tokens.refresh_token!), false, 'the realm session is over');
  });

  // Attack helper, 2026-12-06: the used hint sent again, 22,000 times, was a DELETE at
  // Keycloak's admin API each time (the broker session being gone, each went to the realm).
  it('the same hint sent again ends nothing more at Keycloak', async () => {
    const { tokens, browser } = await signIn(issuer(), 'bob@globex.example', { brokerUrl: broker.url });
    await broker.deps.store.delete(`sso:${ssoOf(browser)}`);
    const { admin } = broker.deps.upstreams.get('server1');
    const endSession = admin.endSession.bind(admin);
    let calls = 0;
    admin.endSession = (realm, sid) => { calls++; return endSession(realm, sid); };
    try {
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${issuer()}/logout?${new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP })}`, { redirect: 'manual' });
        assert.equal(res.status, 302);
      }
    } finally {
      admin.endSession = endSession;
    }
    assert.equal(calls, 1, 'one call to Keycloak for five sign-outs');
  });

  it('the same user again through a new realm session (Keycloak\'s cookie gone, the broker\'s kept): the browser\'s sign-out ends both', async () => {
    // Round 45: the second sign-in joined the first's broker session and its realm session was
    // forgotten; the sign-out ended the second only, and the first app's refresh token lived on.
    const browser = new HttpBrowser(APP);
    const first = await signIn(issuer(), 'alice@acme.example', { brokerUrl: broker.url, browser });
    browser.forget(new URL(KEYCLOAK_URL).host); // a browser restart: Keycloak's session cookie is gone
    const second = await signIn(issuer(), 'alice@acme.example', { brokerUrl: broker.url, browser });
    assert.notEqual(second.tokens.claims()!.sid, first.tokens.claims()!.sid, 'two realm sessions');
    const done = await browser.go(`${issuer()}/logout`, { id_token_hint: second.tokens.id_token!, post_logout_redirect_uri: APP });
    assert.equal(done.url.origin + done.url.pathname, APP);
    assert.equal(await refreshes(first.config, first.tokens.refresh_token!), false, 'the first realm session ended too');
    assert.equal(await refreshes(second.config, second.tokens.refresh_token!), false);
  });

  it('after a browser restart, app 1\'s cross-site sign-out with its own (older) hint ends the same user\'s newer session too', async () => {
    // Round 46: it ended the session its hint named and the older ones, and left the newer: app 2's
    // refresh token lived on, and the next sign-in at app 1 asked no password.
    const browser = new HttpBrowser(APP);
    const first = await signIn(issuer(), 'alice@acme.example', { brokerUrl: broker.url, browser });
    browser.forget(new URL(KEYCLOAK_URL).host);
    const second = await signIn(issuer(), 'alice@acme.example', { brokerUrl: broker.url, browser });
    const res = await crossSitePost({ id_token_hint: first.tokens.id_token!, post_logout_redirect_uri: APP });
    assert.equal(res.status, 302);
    assert.equal(await refreshes(second.config, second.tokens.refresh_token!), false, 'the newer session ended too');
    assert.equal(await refreshes(first.config, first.tokens.refresh_token!), false);
  });

  it('ten accounts signed in one after another in one browser: the oldest past eight is ended, and a sign-out ends the rest', async () => {
    const browser = new HttpBrowser(APP);
    const first = await signIn(issuer(), 'alice@acme.example', { brokerUrl: broker.url, browser });
    const users = ['bob@globex.example', 'erin@initech.example'];
    const later = [];
    for (let i = 0; i < 9; i++) {
      // Each a new realm session (the browser's Keycloak cookies gone, as after the realms' idle
      // timeout): a sign-in through a realm session the browser already holds joins its session.
      for (const url of [KEYCLOAK_URL, KEYCLOAK2_URL]) browser.forget(new URL(url).host);
      later.push(await signIn(issuer(), users[i % 2]!, { brokerUrl: broker.url, browser }));
    }
    assert.equal(await refreshes(first.config, first.tokens.refresh_token!), false, 'the first session, past eight, is over');
    const second = later[0]!;
    assert.equal(await refreshes(second.config, second.tokens.refresh_token!), true, 'the second is still linked');
    const last = later.at(-1)!;
    const done = await browser.go(`${issuer()}/logout`, { id_token_hint: last.tokens.id_token!, post_logout_redirect_uri: APP });
    assert.equal(done.url.origin + done.url.pathname, APP);
    for (const x of [second, last]) assert.equal(await refreshes(x.config, x.tokens.refresh_token!), false);
  });
});
