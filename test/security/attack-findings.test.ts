/**
 * What an outside attack on the fixed flows still found (issue 8 follow-up), each with the
 * attack replayed: device codes across issuers, a refused callback replayed by the browser
 * that started it, logout with someone else's ID token, X-Forwarded-Host choosing the
 * tenant, denying other people's devices, host names that hit Object.prototype, and
 * contested email domains.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import * as oidc from 'openid-client';
import { buildTenants } from '../../src/tenancy/build-tenants.js';
import { ATTR_EMAIL_DOMAINS, type RealmEntry } from '../../src/tenancy/tenant.js';
import { deviceOverrides, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { KEYCLOAK_URL } from '../helpers/services.js';

const APP = 'http://127.0.0.1:8765/';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

function getRaw(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
    }).on('error', reject).end();
  });
}

describe('attack findings, replayed', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  before(async () => { broker = await startBroker({ overrides: deviceOverrides() }); });
  after(() => broker.close());
  const platform = () => `${broker.url}/api/v1/platform/oauth`;
  const tenant = (slug: string) => `${broker.url}/api/v1/auth/tenants/${slug}/oauth`;

  /** A browser where `user` is signed in (broker and Keycloak) through a platform sign-in. */
  async function signedIn(user: string) {
    const config = await oidc.discovery(new URL(platform()), 'platform-demo', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const browser = new HttpBrowser(APP);
    let page = await browser.go(oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${APP}callback`, scope: 'openid email', login_hint: user,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }));
    page = await browser.keycloakLogin(page, user, `${user.split('@')[0]}-pass`);
    const tokens = await oidc.authorizationCodeGrant(config, page.url, { pkceCodeVerifier: verifier });
    return { browser, tokens, sso: browser.cookies(new URL(broker.url).host).get('rb_sso')! };
  }

  it('a device code is answered only at the issuer that issued it, by that tenant\'s users', async () => {
    const d = (await post(`${tenant('globex')}/device/authorize`, { client_id: 'tv-demo', scope: 'openid email' })).body;
    // The platform's (or acme's) device page does not know globex's code.
    for (const page of [`${platform()}/device`, `${tenant('acme')}/device`]) {
      const b = new HttpBrowser(APP);
      const entry = await b.go(`${page}?user_code=${d.user_code}`);
      const res = await b.submit(entry, {});
      assert.equal(res.status, 400, page);
      assert.match(res.html, /not valid/);
    }
    assert.equal((await fetch(`${platform()}/device/verify?user_code=${d.user_code}`)).status, 400);
    // A platform device code polled at a tenant issuer is unknown there.
    const p = (await post(`${platform()}/device/authorize`, { client_id: 'tv-demo' })).body;
    const foreign = await post(`${tenant('acme')}/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: p.device_code });
    assert.equal(foreign.body.error, 'invalid_grant');
  });

  it('a callback refused in another browser is burned: the browser that started it cannot replay it', async () => {
    const victim = (await signedIn('alice@acme.example')).browser;
    const attacker = new HttpBrowser(APP);
    const start = await attacker.go(`${platform()}/authorize?${new URLSearchParams({
      client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid',
      code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', login_hint: 'alice@acme.example',
    })}`);
    assert.ok(start.url.href.startsWith(KEYCLOAK_URL));
    const lured = await victim.go(start.url);
    assert.equal(lured.status, 403);
    const callbackUrl = victim.hops.at(-1)!;
    assert.match(callbackUrl.pathname, /\/oauth\/callback$/);
    const replay = await attacker.go(callbackUrl);
    assert.equal(replay.status, 400, 'not a redirect to the app with a code');
    assert.match(replay.html, /expired/);
  });

  it('logout with someone else\'s ID token asks first and ends nothing', async () => {
    const bob = await signedIn('bob@globex.example');
    const alice = await signedIn('alice@acme.example');
    const page = await alice.browser.go(`${platform()}/logout?id_token_hint=${bob.tokens.id_token}`);
    assert.equal(page.status, 200);
    assert.match(page.html, /Sign out\?/);
    assert.ok(await broker.deps.store.get(`sso:${alice.sso}`), 'alice is still signed in');
    assert.ok(await broker.deps.store.get(`sso:${bob.sso}`), 'and so is bob');
  });

  it('denying a device needs the sign-in that is answering it (JSON deny by anyone else: access_denied)', async () => {
    const d = (await post(`${platform()}/device/authorize`, { client_id: 'tv-demo' })).body;
    const bob = await signedIn('bob@globex.example');
    const res = await fetch(`${platform()}/device/verify`, {
      method: 'POST', headers: { 'content-type': 'application/json', cookie: `rb_sso=${bob.sso}` },
      body: JSON.stringify({ user_code: d.user_code, action: 'deny' }),
    });
    assert.equal((await res.json()).error, 'access_denied', 'refused (RFC 6749 shape: 400)');
    const poll = await post(`${platform()}/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code });
    assert.equal(poll.body.error, 'authorization_pending');
  });

  it('pages whose forms redirect allow those targets in CSP form-action', async () => {
    const entry = await fetch(`${tenant('acme')}/device`);
    assert.ok(entry.headers.get('content-security-policy')!.includes(new URL(KEYCLOAK_URL).origin));
    const alice = await signedIn('alice@acme.example');
    const confirm = await alice.browser.go(`${platform()}/logout?post_logout_redirect_uri=${encodeURIComponent(APP)}&client_id=platform-demo`);
    assert.match(confirm.html, /Sign out\?/);
    assert.match(confirm.headers.get('content-security-policy')!, /form-action 'self' http:\/\/127\.0\.0\.1:8765/);
  });

  it('platform ID tokens vouch for an email only in a domain the tenant holds', async () => {
    const alice = await signedIn('alice@acme.example');
    assert.equal(alice.tokens.claims()!.email_verified, true, 'acme.example is acme\'s');
    const carol = await signedIn('carol@contractor.example');
    assert.equal(carol.tokens.claims()!.email, 'carol@contractor.example');
    assert.equal(carol.tokens.claims()!.email_verified, undefined, 'contractor.example is nobody\'s');
  });

  // Attack of 2026-12-06: a realm admin made a user with another tenant's address, marked it
  // verified, and the platform's userinfo (and introspection) vouched for it where the ID
  // token did not. Carol stands in for that user: her realm (globex) says her address is
  // verified, and its domain is no tenant's.
  it('the platform\'s userinfo and introspection vouch for an email as its ID tokens do', async () => {
    const userinfo = async (issuer: string, token: string) =>
      (await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<Record<string, unknown>>;
    const introspect = async (issuer: string, token: string) =>
      (await post(`${issuer}/introspect`, { token, client_id: 'platform-service', client_secret: 'platform-service-secret' })).body as Record<string, unknown>;

    const carol = (await signedIn('carol@contractor.example')).tokens.access_token;
    const atGlobex = await userinfo(tenant('globex'), carol);
    assert.equal(atGlobex.email_verified, true, 'globex\'s own issuer passes its realm\'s word on');
    const atPlatform = await userinfo(platform(), carol);
    assert.equal(atPlatform.email, 'carol@contractor.example');
    assert.equal(atPlatform.tenant, 'globex');
    assert.equal(atPlatform.email_verified, undefined, 'not vouched for at the platform');
    const inspected = await introspect(platform(), carol);
    assert.equal(inspected.active, true);
    assert.equal(inspected.email_verified, undefined, 'nor in its introspection answer');
    assert.equal((await introspect(tenant('globex'), carol)).email_verified, true);

    const alice = (await signedIn('alice@acme.example')).tokens.access_token;
    assert.equal((await userinfo(platform(), alice)).email_verified, true, 'acme.example is acme\'s');
    assert.equal((await introspect(platform(), alice)).email_verified, true);
  });
});

describe('host and proxy headers choose no tenant they should not', () => {
  it('behind a trusted proxy, the client\'s own X-Forwarded-Host entries are ignored; Host __proto__ is just unknown', async () => {
    const broker = await startBroker({ env: { TRUST_PROXY: '1' }, overrides: { scaiwave: { hosts: { 'acme.localhost': 'acme', 'globex.localhost': 'globex' }, tenantHeader: '', redirectUris: {}, rateLimit: { perUser: 5, perAddress: 20, windowSeconds: 900 } } } });
    try {
      const res = await getRaw(`${broker.url}/v1/auth/config`, { host: 'acme.localhost:3000', 'x-forwarded-host': 'globex.localhost, acme.localhost:3000' });
      assert.equal(res.body.data.issuer, `${KEYCLOAK_URL}/realms/acme`);
      assert.match(String(res.headers.vary), /x-forwarded-host/i);
      // DNS's absolute spelling of a host is that host.
      assert.equal((await getRaw(`${broker.url}/v1/auth/config`, { host: 'globex.localhost.:3000' })).body.data.issuer, `${KEYCLOAK_URL}/realms/globex`);
      assert.equal((await getRaw(`${broker.url}/v1/auth/config`, { host: 'globex.localhost.' })).body.data.issuer, `${KEYCLOAK_URL}/realms/globex`);
      for (const host of ['__proto__', 'constructor', 'toString']) {
        const odd = await getRaw(`${broker.url}/v1/auth/config`, { host });
        assert.equal(odd.status, 200, host);
        assert.equal(odd.body.data.issuer, `${KEYCLOAK_URL}/realms/acme`, 'the default tenant');
      }
    } finally {
      await broker.close();
    }
  });
});

describe('contested email domains', () => {
  const realm = (name: string, domains: string): RealmEntry => ({
    id: `${name}-id`, realm: name, upstream: 'default', issuer: `http://kc/realms/${name}`, displayName: name, attributes: { [ATTR_EMAIL_DOMAINS]: domains },
  });
  it('a domain two realms claim routes to neither; config decides when it names one', () => {
    const realms = [realm('acme', 'acme.example'), realm('evil', 'acme.example,evil.example')];
    const { tenants, warnings } = buildTenants(realms, {}, ['default']);
    assert.deepEqual(tenants.find((t) => t.slug === 'acme')!.emailDomains, []);
    assert.deepEqual(tenants.find((t) => t.slug === 'evil')!.emailDomains, ['evil.example']);
    assert.ok(warnings.some((w) => w.includes('acme.example')));
    const decided = buildTenants(realms, { acme: { emailDomains: ['acme.example'] } }, ['default']).tenants;
    assert.deepEqual(decided.find((t) => t.slug === 'acme')!.emailDomains, ['acme.example']);
    assert.deepEqual(decided.find((t) => t.slug === 'evil')!.emailDomains, ['evil.example']);
  });
});
