/**
 * One API over two real Keycloak servers (FIXTURES): acme and globex on server 1,
 * initech on server 2. Every surface reaches initech on server 2 by its own way of naming
 * a tenant (realm UUID, Host, email, path, token issuer), and dave's chooser spans both.
 */
import assert from 'node:assert/strict';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { ACME_ID, INITECH_ID, claims, deviceOverrides, getWithHost, post, startBroker, withHost, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { APP, signIn as signInAt, type SignInOptions } from '../helpers/platform-rp.js';
import { scaiwaveLogin } from '../helpers/scaiwave-login.js';
import { KEYCLOAK2_URL, KEYCLOAK_URL } from '../helpers/services.js';

const INITECH_ISS = `${KEYCLOAK2_URL}/realms/initech`;
const HOST = 'initech.localhost:3000';
const SW_REDIRECT = 'http://initech.localhost:3000/v1/auth/login';
const INITECH = { host: HOST, redirectUri: SW_REDIRECT, realm: 'initech', keycloakUrl: KEYCLOAK2_URL };
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

describe('Two Keycloak servers behind one API', () => {
  let broker: TestBroker;
  before(async () => { broker = await startBroker({ overrides: deviceOverrides() }); });
  after(() => broker.close());

  const connect = (path: string, fields: Record<string, string>) => post(`${broker.url}/auth/api/v1/oauth/connect/${path}`, fields);
  // initech's password grant is off: erin's tokens come from the realm's real login form.
  const erinTokens = () => scaiwaveLogin(broker.url, INITECH, 'erin@initech.example');
  const platform = () => `${broker.url}/api/v1/platform/oauth`;
  const signIn = (issuer: string, user: string, opts: Omit<SignInOptions, 'brokerUrl'> = {}) => signInAt(issuer, user, { ...opts, brokerUrl: broker.url });

  describe('connect API by realm UUID', () => {
    it('client credentials of connect-demo at initech come from server 2', async () => {
      const res = await connect('token', { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: INITECH_ID });
      assert.equal(res.status, 200, res.text);
      assert.equal(claims(res.body.access_token).iss, INITECH_ISS);
    });

    it('erin token introspects at initech, by UUID or by its issuer; acme does not know it', async () => {
      const { access_token } = await erinTokens();
      const active = await connect('introspect', { token: access_token, realm: INITECH_ID });
      assert.equal(active.body.active, true);
      assert.equal(active.body.iss, INITECH_ISS);
      assert.equal(active.body.username, 'erin@initech.example');
      const byIssuer = await connect('introspect', { token: access_token });
      assert.equal(byIssuer.body.active, true, 'without realm: routed to server 2 by the token issuer');
      const elsewhere = await connect('introspect', { token: access_token, realm: ACME_ID });
      assert.equal(elsewhere.body.active, false, 'acme (server 1) does not accept it');
    });
  });

  describe('ScaiWave with Host initech.localhost', () => {
    const sw = (path: string, form?: Record<string, string>, headers?: Record<string, string>) =>
      withHost(form ? 'POST' : 'GET', `${broker.url}/v1/auth/${path}`, HOST, form, headers);

    it('config names server 2 realm and the host redirect URI', async () => {
      const res = await getWithHost(`${broker.url}/v1/auth/config`, HOST);
      assert.equal(res.status, 200);
      assert.equal(res.body.data.issuer, INITECH_ISS);
      assert.equal(res.body.data.token_endpoint, `${INITECH_ISS}/protocol/openid-connect/token`);
      assert.equal(res.body.data.redirect_uri, SW_REDIRECT);
    });

    it('erin: the real login form on server 2, then login, refresh and register', async () => {
      const login = await erinTokens();
      assert.equal(claims(login.access_token).iss, INITECH_ISS);

      const refreshed = await sw('refresh', { refresh_token: login.refresh_token });
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
      assert.equal(claims(refreshed.body.data.access_token).iss, INITECH_ISS);

      const registered = await sw('register', {}, { authorization: `Bearer ${refreshed.body.data.access_token}` });
      assert.equal(registered.status, 200, JSON.stringify(registered.body));
      assert.equal(registered.body.data.tenant_id, INITECH_ID);
      assert.equal(registered.body.data.email, 'erin@initech.example');
    });

    it('the password grant is off for initech', async () => {
      const res = await sw('token', { grant_type: 'password', username: 'erin@initech.example', password: 'erin-pass' });
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'SW_AUTH_PASSWORD_GRANT_DISABLED');
    });
  });

  describe('platform', () => {
    for (const [user, how] of [['erin@initech.example', 'email domain'], ['frank@contractor.example', 'exact-email lookup on server 2']] as const) {
      it(`finds ${user} at initech by ${how}; tokens verify, refresh and read userinfo`, async () => {
        const { config, tokens } = await signIn(platform(), user, { email: false });
        const id = tokens.claims()!;
        assert.equal(id.iss, platform());
        assert.equal(id.tenant, 'initech');
        assert.equal(id.email, user);
        const jwks = jose.createRemoteJWKSet(new URL(`${broker.url}/api/v1/platform/.well-known/jwks.json`));
        const { payload } = await jose.jwtVerify(tokens.access_token, jwks);
        assert.equal(payload.iss, INITECH_ISS);
        const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
        assert.equal(claims(refreshed.access_token).iss, INITECH_ISS, 'refreshed at server 2, by the token issuer');
        const info = await oidc.fetchUserInfo(config, refreshed.access_token, id.sub);
        assert.equal(info.tenant, 'initech');
      });
    }

    it('dave chooses among three tenants on two servers', async () => {
      const { tokens, chooser } = await signIn(platform(), 'dave@shared.example', { choose: 'initech' });
      for (const name of ['Acme', 'Globex', 'Initech']) assert.match(chooser!, new RegExp(`>${name}<`));
      assert.equal(tokens.claims()?.tenant, 'initech');
      assert.equal(claims(tokens.access_token).iss, INITECH_ISS);
    });

    it('the aggregated JWKS holds initech keys from server 2 beside server 1 realms', async () => {
      const published = ((await (await fetch(`${broker.url}/api/v1/platform/.well-known/jwks.json`)).json()) as { keys: jose.JWK[] }).keys.map((k) => k.kid);
      for (const [server, realm] of [[KEYCLOAK2_URL, 'initech'], [KEYCLOAK_URL, 'acme'], [KEYCLOAK_URL, 'globex']]) {
        const certs = (await (await fetch(`${server}/realms/${realm}/protocol/openid-connect/certs`)).json()) as { keys: jose.JWK[] };
        for (const k of certs.keys.filter((x) => x.use !== 'enc')) assert.ok(published.includes(k.kid), `${realm} key ${k.kid}`);
      }
    });

    it('token exchange of erin token happens at server 2; the result introspects and revokes there', async () => {
      const exchangeDemo = { headers: { authorization: `Basic ${Buffer.from('exchange-demo:exchange-demo-secret').toString('base64')}` } };
      const subject = (await erinTokens()).access_token;
      const res = await post(`${platform()}/token`, { grant_type: EXCHANGE, subject_token: subject, subject_token_type: ACCESS, audience: 'realm-broker' }, exchangeDemo);
      assert.equal(res.status, 200, res.text);
      const token = res.body.access_token;
      assert.equal(claims(token).iss, INITECH_ISS);
      assert.equal(claims(token).azp, 'exchange-demo');
      // Introspection and revocation (RFC 7662, 7009) follow the token's issuer to server 2.
      const described = await post(`${platform()}/introspect`, { token }, exchangeDemo);
      assert.equal(described.body.active, true, described.text);
      assert.equal(described.body.iss, INITECH_ISS);
      assert.equal((await post(`${platform()}/revoke`, { token }, exchangeDemo)).status, 200);
      assert.equal((await post(`${platform()}/introspect`, { token }, exchangeDemo)).body.active, false, 'revoked at server 2');
    });

    it('logout ends erin realm session on server 2', async () => {
      const { config, tokens, browser } = await signIn(platform(), 'erin@initech.example');
      const done = await browser.go(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP, state: 'bye' }));
      assert.equal(done.url.searchParams.get('state'), 'bye');
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), 'the realm session on server 2 is gone');
    });
  });

  describe('tenant level /api/v1/auth/tenants/initech/oauth', () => {
    it('signs erin in with the tenant issuer, and refreshes', async () => {
      const issuer = `${broker.url}/api/v1/auth/tenants/initech/oauth`;
      const { config, tokens } = await signIn(issuer, 'erin@initech.example', { email: false });
      assert.equal(tokens.claims()?.iss, issuer);
      assert.equal(claims(tokens.access_token).iss, INITECH_ISS);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      assert.equal(refreshed.claims()?.iss, issuer);
    });
  });

  describe('device flow', () => {
    it('erin approves tv-demo: the tokens come from initech on server 2', async () => {
      const d = (await post(`${platform()}/device/authorize`, { client_id: 'tv-demo', scope: 'openid email' })).body;
      const browser = new HttpBrowser(APP);
      let page = await browser.go(d.verification_uri_complete);
      page = await browser.submit(page, {});
      page = await browser.submit(page, { email: 'erin@initech.example' });
      assert.ok(page.url.href.startsWith(INITECH_ISS), String(page.url));
      page = await browser.keycloakLogin(page, 'erin@initech.example', 'erin-pass');
      assert.match(page.html, /Allow TV demo app\?/);
      assert.ok(page.html.includes('erin@initech.example'), 'approved by the signed-in user');
      page = await browser.submit(page, { action: 'approve' });
      assert.match(page.html, /Device connected/);
      await new Promise((r) => setTimeout(r, 1100));
      const tokens = await post(`${platform()}/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: d.device_code });
      assert.equal(tokens.status, 200, tokens.text);
      const at = claims(tokens.body.access_token);
      assert.equal(at.iss, INITECH_ISS);
      assert.equal(at.azp, 'tv-demo');
      assert.equal(at.preferred_username, 'erin@initech.example');
    });
  });
});
