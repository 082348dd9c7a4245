/**
 * Issue 11, item 3: back-channel logout both ways, across apps and realms. dave signs in to
 * two GLOBAL apps (platform-demo in a browser, tv-demo by the device flow in the same
 * browser) through acme; logging out in one ends his session in the other (a broker-signed
 * logout token) and at the realm. A realm that ends a session tells the broker, which tells
 * the apps.
 */
import assert from 'node:assert/strict';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { deviceOverrides, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { startLogoutCapture, type LogoutCapture } from '../helpers/logout-capture.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';
import demo from '../../demo.config.json' with { type: 'json' };

const APP = 'http://127.0.0.1:8765/';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('back-channel logout (OIDC Back-Channel Logout 1.0), both ways', function () {
  this.timeout(90_000);
  let broker: TestBroker;
  let capture: LogoutCapture;
  let received: LogoutCapture['received'];
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  const restore: (() => Promise<void>)[] = [];

  before(async () => {
    capture = await startLogoutCapture();
    received = capture.received;
    const captureUrl = capture.url;
    const apps = {
      ...demo.apps,
      'platform-demo': { ...demo.apps['platform-demo'], backchannelLogoutUri: `${captureUrl}/web` },
      'tv-demo': { ...demo.apps['tv-demo'], backchannelLogoutUri: `${captureUrl}/tv` },
    };
    broker = await startBroker({ overrides: { ...deviceOverrides(), apps } });
    // The realm side, as sync-apps sets it: acme's app clients call the broker back.
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    for (const clientId of ['platform-demo', 'tv-demo']) {
      const [client] = await admin.clients.find({ realm: 'acme', clientId });
      const before = { ...client!.attributes };
      await admin.clients.update({ realm: 'acme', id: client!.id! }, { ...client, attributes: { ...before, 'backchannel.logout.url': `${broker.url}/api/v1/platform/oauth/backchannel-logout`, 'backchannel.logout.session.required': 'true' } });
      restore.push(async () => {
        const [now] = await admin.clients.find({ realm: 'acme', clientId });
        // Keycloak's update keeps attributes left out: the URL is cleared by name, or a later
        // listener on this port (Keycloak's own, once) stalls every logout of acme.
        await admin.clients.update({ realm: 'acme', id: now!.id! }, { ...now, attributes: { ...before, 'backchannel.logout.url': before['backchannel.logout.url'] ?? '' } });
      });
    }
  });
  after(async () => {
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    for (const r of restore) await r();
    await broker?.close();
    capture?.close();
  });

  const platform = () => `${broker.url}/api/v1/platform/oauth`;
  const tokensFor = async (path: string) => {
    for (let i = 0; i < 40 && !received.some((r) => r.path === path); i++) await sleep(100);
    return received.filter((r) => r.path === path);
  };
  const verify = async (token: string, audience: string) => (await jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(`${platform()}/.well-known/jwks.json`)), { issuer: platform(), audience, typ: 'logout+jwt' })).payload;

  async function webSignIn(browser: HttpBrowser, user: string, choose?: string, prompt?: string) {
    const config = await oidc.discovery(new URL(platform()), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    let page = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${APP}callback`, scope: 'openid email', login_hint: user,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...(prompt ? { prompt } : {}),
    }));
    if (choose) page = await browser.submit(page, { tenant: choose });
    page = await browser.keycloakLogin(page, user, `${user.split('@')[0]}-pass`);
    return { config, tokens: await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier }) };
  }

  it('dave logs out of the web app: the TV app gets a logout token for the same session, and the realm session is gone', async () => {
    received.length = 0;
    const browser = new HttpBrowser(APP);
    const web = await webSignIn(browser, 'dave@shared.example', 'acme');
    // The TV, approved in the same browser: the broker and Keycloak sessions spare the password.
    const d = (await post(`${platform()}/device/authorize`, { client_id: 'tv-demo', scope: 'openid email' })).body;
    let page = await browser.go(d.verification_uri_complete);
    page = await browser.submit(page, {});
    assert.match(page.html, /Allow TV demo app\?/, 'no password asked again');
    await browser.submit(page, { action: 'approve' });
    await sleep(1100);
    const tv = await post(`${platform()}/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code });
    assert.equal(tv.status, 200, tv.text);
    const tvSid = jose.decodeJwt(tv.body.id_token).sid;

    await browser.go(oidc.buildEndSessionUrl(web.config, { id_token_hint: web.tokens.id_token!, post_logout_redirect_uri: APP }));
    const [forTv] = await tokensFor('/tv');
    assert.ok(forTv, 'the TV app was told');
    const claims = await verify(forTv.token, 'tv-demo');
    assert.equal(claims.sid, tvSid);
    assert.equal(claims.sub, web.tokens.claims()!.sub);
    assert.ok((claims.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
    const refresh = await post(`${platform()}/token`, { grant_type: 'refresh_token', client_id: 'tv-demo', refresh_token: tv.body.refresh_token });
    assert.equal(refresh.body.error, 'invalid_grant', 'the realm session is gone for the TV too');
  });

  it('the realm ends alice\'s session (admin): Keycloak tells the broker, the broker ends its session and tells the app', async () => {
    received.length = 0;
    const browser = new HttpBrowser(APP);
    const web = await webSignIn(browser, 'alice@acme.example');
    const ssoId = browser.cookies(new URL(broker.url).host).get('rb_sso')!;
    assert.ok(await broker.deps.store.get(`sso:${ssoId}`));
    const [alice] = await admin.users.find({ realm: 'acme', username: 'alice@acme.example' });
    await admin.users.logout({ realm: 'acme', id: alice!.id! });
    const [forWeb] = await tokensFor('/web');
    assert.ok(forWeb, 'the web app was told');
    assert.equal((await verify(forWeb.token, 'platform-demo')).sub, web.tokens.claims()!.sub);
    assert.equal(await broker.deps.store.get(`sso:${ssoId}`), undefined, 'the broker session ended');
  });

  // Left alone on 2026-12-07, then mended: the browser's newest session ended by its realm left
  // the sessions it linked out of the browser's sign-out, realm sessions and refresh tokens alive.
  it('the realm ends the newest of a browser\'s sessions: the browser\'s sign-out still ends the ones it linked', async () => {
    received.length = 0;
    const browser = new HttpBrowser(APP);
    const atGlobex = await webSignIn(browser, 'bob@globex.example');
    await webSignIn(browser, 'alice@acme.example');
    const newest = browser.cookies(new URL(broker.url).host).get('rb_sso')!;
    // Round 40: the hand-over came after the session ended, and a sign-in in that browser in
    // between found neither and linked nothing. The heir must be there when the session goes.
    const store = broker.deps.store;
    const take = store.take.bind(store);
    let heirWhenEnded: unknown = 'the session was never ended';
    store.take = async <T>(key: string) => {
      if (key === `sso:${newest}`) heirWhenEnded = await store.get(`sso-heir:${newest}`);
      return take<T>(key);
    };
    const [alice] = await admin.users.find({ realm: 'acme', username: 'alice@acme.example' });
    try {
      await admin.users.logout({ realm: 'acme', id: alice!.id! });
      assert.ok((await tokensFor('/web')).length > 0, 'the broker was told, and told the app');
    } finally {
      store.take = take;
    }
    assert.equal(typeof heirWhenEnded, 'string', 'the heir was named before the session ended');
    assert.notEqual(heirWhenEnded, 'the session was never ended');
    assert.equal(await broker.deps.store.get(`sso:${newest}`), undefined, 'alice\'s broker session ended');
    const bobRefresh = await oidc.refreshTokenGrant(atGlobex.config, atGlobex.tokens.refresh_token!);
    // The browser signs out without a hint (a hint would name bob's session itself); asked when it holds one.
    const page = await browser.go(`${platform()}/logout`, { client_id: 'platform-demo', post_logout_redirect_uri: APP });
    if (/Sign out\?/.test(page.html)) await browser.submit(page, {});
    await assert.rejects(oidc.refreshTokenGrant(atGlobex.config, bobRefresh.refresh_token!), 'bob\'s session at globex ended with the browser\'s sign-out');
  });

  it('dave at acme, then bob at globex, then dave at acme again in one browser: the realm\'s logout of dave ends the session both of his sign-ins made', async () => {
    // Attack round 43: Keycloak reused dave's realm session for the third sign-in, which made a
    // second broker session on it; the realm's logout ended that one only, and the first (its app
    // never told) stayed signed in, counting for device approvals.
    received.length = 0;
    const browser = new HttpBrowser(APP);
    await webSignIn(browser, 'dave@shared.example', 'acme');
    const host = new URL(broker.url).host;
    const first = browser.cookies(host).get('rb_sso')!;
    await webSignIn(browser, 'bob@globex.example');
    const atBob = browser.cookies(host).get('rb_sso')!;
    const config = await oidc.discovery(new URL(platform()), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    let page = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${APP}callback`, scope: 'openid email', login_hint: 'dave@shared.example',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }));
    page = await browser.submit(page, { tenant: 'acme' });
    assert.ok(page.url.href.startsWith(APP), `signed in again without a password, the realm session reused (${page.url.href})`);
    const again = await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier });
    const current = browser.cookies(host).get('rb_sso');
    const [dave] = await admin.users.find({ realm: 'acme', username: 'dave@shared.example' });
    await admin.users.logout({ realm: 'acme', id: dave!.id! });
    assert.ok((await tokensFor('/web')).length > 0, 'the broker was told, and told the app');
    for (let i = 0; i < 20 && await broker.deps.store.get(`sso:${first}`); i++) await sleep(100);
    assert.equal(await broker.deps.store.get(`sso:${first}`), undefined, 'dave\'s broker session ended');
    assert.equal((await verify(received.find((r) => r.path === '/web')!.token, 'platform-demo')).sid, again.claims()!.sid);
    assert.ok(await broker.deps.store.get(`sso:${atBob}`), 'bob\'s session goes on');
    assert.equal(current, first, 'the sign-in had joined dave\'s first session');
  });

  it('across realms: dave signed in at acme and then at globex in one browser; one logout ends both, and both apps are told', async () => {
    received.length = 0;
    const browser = new HttpBrowser(APP);
    const atAcme = await webSignIn(browser, 'dave@shared.example', 'acme');
    const atGlobex = await webSignIn(browser, 'dave@shared.example', 'globex', 'login');
    assert.equal(atGlobex.tokens.claims()!.tenant, 'globex');
    await browser.go(oidc.buildEndSessionUrl(atGlobex.config, { id_token_hint: atGlobex.tokens.id_token!, post_logout_redirect_uri: APP }));
    for (let i = 0; i < 40 && received.filter((r) => r.path === '/web').length < 2; i++) await sleep(100);
    const sids = await Promise.all(received.filter((r) => r.path === '/web').map(async (r) => (await verify(r.token, 'platform-demo')).sid));
    assert.deepEqual(new Set(sids), new Set([atAcme.tokens.claims()!.sid, atGlobex.tokens.claims()!.sid]), 'one logout token per realm session');
    await assert.rejects(oidc.refreshTokenGrant(atAcme.config, atAcme.tokens.refresh_token!), 'the acme realm session is gone too');
  });

  it('refuses a realm\'s logout token meant for a client that is not one of the broker\'s apps (its aud, §2.6)', async () => {
    // A tenant admin can add a client of their own to the realm and have Keycloak send it
    // logout tokens: such a token is the realm's, but not addressed to the broker.
    received.length = 0;
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    const suffix = Math.random().toString(36).slice(2, 10);
    const clientId = `rb-outsider-${suffix}`;
    const username = `outsider-${suffix}@acme.example`;
    const { id: clientUuid } = await admin.clients.create({
      realm: 'acme', clientId, secret: 'outsider-secret', publicClient: false, directAccessGrantsEnabled: true, standardFlowEnabled: false,
      attributes: { 'backchannel.logout.url': `${capture.url}/outsider`, 'backchannel.logout.session.required': 'true' },
    });
    const { id: userId } = await admin.users.create({
      realm: 'acme', username, email: username, enabled: true, emailVerified: true, firstName: 'Out', lastName: 'Sider',
      credentials: [{ type: 'password', value: 'outsider-pass', temporary: false }],
    });
    try {
      const grant = await fetch(`${KEYCLOAK_URL}/realms/acme/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: clientId, client_secret: 'outsider-secret', username, password: 'outsider-pass', scope: 'openid' }),
      });
      assert.equal(grant.status, 200, await grant.clone().text());
      await admin.users.logout({ realm: 'acme', id: userId });
      const [forOutsider] = await tokensFor('/outsider');
      assert.ok(forOutsider, 'Keycloak sent the outsider client its logout token');
      assert.deepEqual([jose.decodeJwt(forOutsider.token).aud].flat(), [clientId]);
      const res = await post(`${platform()}/backchannel-logout`, { logout_token: forOutsider.token });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error, 'invalid_request');
      assert.match(res.body.error_description, /not addressed to/);
      // At another tenant's issuer, acme's logout token is refused before anything else.
      const elsewhere = await post(`${broker.url}/api/v1/auth/tenants/globex/oauth/backchannel-logout`, { logout_token: forOutsider.token });
      assert.equal(elsewhere.status, 400, elsewhere.text);
      assert.match(elsewhere.body.error_description, /issued for another tenant than globex/);
    } finally {
      await admin.auth({ grantType: 'client_credentials', ...ADMIN });
      await admin.users.del({ realm: 'acme', id: userId });
      await admin.clients.del({ realm: 'acme', id: clientUuid });
    }
  });

  it('refuses a realm\'s access token as a logout token by its typ', async () => {
    const access = (await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', scopes: 'openid' })).body.access_token as string;
    const res = await post(`${platform()}/backchannel-logout`, { logout_token: access });
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error_description, /Not a logout token \(a Bearer token\)/);
  });

  it('refuses a logout token that is not a realm\'s (400 invalid_request)', async () => {
    const forged = await new jose.SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 'x' })
      .setProtectedHeader({ alg: 'HS256' }).setIssuer(`${KEYCLOAK_URL}/realms/acme`).setIssuedAt().sign(new Uint8Array(32));
    const res = await post(`${platform()}/backchannel-logout`, { logout_token: forged });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
    const meta = await (await fetch(`${platform()}/.well-known/openid-configuration`)).json();
    assert.equal(meta.backchannel_logout_supported, true);
  });
});
