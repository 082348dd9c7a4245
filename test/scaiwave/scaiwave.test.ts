/** The ScaiWave Auth API (seeds/001) against the real Keycloak and demo realms. */
import assert from 'node:assert/strict';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { ACME_ID, GLOBEX_ID, claims, getWithHost, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { loginAtKeycloak } from '../helpers/keycloak-login.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';

const REDIRECT = 'http://127.0.0.1:3000/v1/auth/login';
const GLOBEX = { 'x-tenant': 'globex' };

describe('ScaiWave Auth API', () => {
  let broker: TestBroker;
  let base: string;
  before(async () => {
    broker = await startBroker({
      overrides: {
        scaiwave: {
          hosts: { 'acme.localhost': 'acme', 'globex.localhost': 'globex' },
          tenantHeader: 'x-tenant',
          redirectUris: {},
          redirectUri: REDIRECT,
          rateLimit: { perUser: 3, perAddress: 1000, windowSeconds: 60 },
        },
      },
    });
    base = `${broker.url}/v1/auth`;
  });
  after(() => broker.close());

  /** A globex user's access token, by the realm's login form (globex keeps the password grant off on every surface). */
  const globexToken = async (user: string, pass: string) => {
    const back = await loginAtKeycloak({ realm: 'globex', clientId: 'realm-broker', redirectUri: REDIRECT }, user, pass);
    const res = await post(`${base}/login`, { code: back.searchParams.get('code')! }, { headers: GLOBEX });
    assert.equal(res.status, 200, res.text);
    return res.body.data.access_token as string;
  };

  const password = (user: string, pass: string, headers?: Record<string, string>) =>
    post(`${base}/token`, { grant_type: 'password', username: user, password: pass }, { headers });

  describe('tenant of a request', () => {
    it('comes from the Host through the host map', async () => {
      const globex = await getWithHost(`${base}/config`, 'globex.localhost:3000');
      assert.equal(globex.body.data.issuer, `${KEYCLOAK_URL}/realms/globex`);
      const acme = await getWithHost(`${base}/config`, 'ACME.localhost');
      assert.equal(acme.body.data.issuer, `${KEYCLOAK_URL}/realms/acme`);
    });
    it('comes through a host map whose keys are written otherwise: capitals, a trailing dot, an IDN (round 48)', async () => {
      // Taken as written, such keys never matched, and their hosts got the default tenant (acme).
      const spelled = await startBroker({
        overrides: {
          scaiwave: {
            hosts: { 'Globex.Localhost.': 'globex', 'bücher.localhost': 'globex' },
            tenantHeader: '', redirectUris: { 'GLOBEX.localhost': 'https://app.example/globex/cb' }, redirectUri: REDIRECT,
            rateLimit: { perUser: 3, perAddress: 1000, windowSeconds: 60 },
          },
        },
      });
      try {
        for (const host of ['globex.localhost', 'globex.localhost.:3000', 'xn--bcher-kva.localhost']) {
          const res = await getWithHost(`${spelled.url}/v1/auth/config`, host);
          assert.equal(res.body.data.issuer, `${KEYCLOAK_URL}/realms/globex`, host);
        }
        const globex = await getWithHost(`${spelled.url}/v1/auth/config`, 'globex.localhost');
        assert.equal(globex.body.data.redirect_uri, 'https://app.example/globex/cb');
      } finally {
        await spelled.close();
      }
    });
    it('comes from the target of an absolute-form request, not its Host (RFC 9112 §3.2.2; round 48)', async () => {
      const { request } = await import('node:http');
      const { port } = new URL(broker.url);
      const absolute = (path: string, method = 'GET', body?: string) => new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path, headers: { host: 'elsewhere.example', ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => { text += c; });
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end(body);
      });
      const config = await absolute('http://globex.localhost:3000/v1/auth/config?x=1');
      assert.equal(config.body.data.issuer, `${KEYCLOAK_URL}/realms/globex`, 'the tenant of the target, not of the Host (acme, the default)');
      // The direct lane serves it too: a refresh token of acme is not globex's.
      const acme = await password('alice@acme.example', 'alice-pass');
      const refresh = await absolute('HTTP://GLOBEX.localhost/v1/auth/refresh', 'POST', JSON.stringify({ refresh_token: acme.body.data.refresh_token }));
      assert.equal(refresh.status, 401, JSON.stringify(refresh.body));
      assert.equal(refresh.body.error.code, 'SW_AUTH_INVALID_REFRESH_TOKEN');
    });
    it('comes from the tenant header, and an unknown one is a 404, not a fallback', async () => {
      const res = await fetch(`${base}/config`, { headers: GLOBEX });
      assert.equal((await res.json()).data.issuer, `${KEYCLOAK_URL}/realms/globex`);
      const bad = await fetch(`${base}/config`, { headers: { 'x-tenant': 'nope' } });
      assert.equal(bad.status, 404);
      assert.equal((await bad.json()).error.code, 'SW_AUTH_TENANT_NOT_FOUND');
    });
    it('is the default tenant for any other host, and an error when there is no default', async () => {
      const res = await getWithHost(`${base}/config`, 'elsewhere.example');
      assert.equal(res.body.data.issuer, `${KEYCLOAK_URL}/realms/acme`);
      const bare = await startBroker({ overrides: { defaultTenant: undefined } });
      try {
        const none = await getWithHost(`${bare.url}/v1/auth/config`, 'elsewhere.example');
        assert.equal(none.status, 404);
        assert.equal(none.body.error.code, 'SW_AUTH_TENANT_NOT_FOUND');
      } finally {
        await bare.close();
      }
    });
  });

  describe('GET /v1/auth/config', () => {
    it('gives the tenant realm endpoints and this deployment redirect URI', async () => {
      const res = await fetch(`${base}/config`);
      assert.equal(res.status, 200);
      const { data } = await res.json();
      assert.equal(data.issuer, `${KEYCLOAK_URL}/realms/acme`);
      assert.equal(data.authorization_endpoint, `${KEYCLOAK_URL}/realms/acme/protocol/openid-connect/auth`);
      assert.equal(data.token_endpoint, `${KEYCLOAK_URL}/realms/acme/protocol/openid-connect/token`);
      assert.equal(data.jwks_uri, `${KEYCLOAK_URL}/realms/acme/protocol/openid-connect/certs`);
      assert.ok(data.scopes_supported.includes('openid'));
      assert.equal(data.redirect_uri, REDIRECT);
    });
  });

  describe('POST /v1/auth/login', () => {
    const signIn = (realm: string, user: string, pass: string) =>
      loginAtKeycloak({ realm, clientId: 'realm-broker', redirectUri: REDIRECT }, user, pass);

    it('exchanges the code from Keycloak real login form for alice', async () => {
      const back = await signIn('acme', 'alice@acme.example', 'alice-pass');
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
      const code = back.searchParams.get('code')!;
      const res = await post(`${base}/login`, { code, redirect_uri: REDIRECT });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body.data).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
      assert.equal(res.body.data.token_type, 'Bearer');
      assert.equal(claims(res.body.data.access_token).preferred_username, 'alice@acme.example');

      const replay = await post(`${base}/login`, { code, redirect_uri: REDIRECT });
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error.code, 'SW_AUTH_OIDC_FAILED', 'a code works once');
    });

    it('takes the code in the query as its document says, and uses the configured redirect URI when none is given', async () => {
      // seeds/001: "Body: `code` (query param or form field)". It was refused (400) until round 48.
      const back = await signIn('globex', 'bob@globex.example', 'bob-pass');
      const code = back.searchParams.get('code')!;
      const twice = await post(`${base}/login?code=${encodeURIComponent(code)}`, { code: 'another' }, { headers: GLOBEX });
      assert.equal(twice.status, 400, twice.text);
      assert.match(twice.body.error.message, /given in both the URL and the body, with different values/);
      const inUrl = await post(`${base}/login?code=${encodeURIComponent(code)}`, {}, { headers: GLOBEX });
      assert.equal(inUrl.status, 200, inUrl.text);
      assert.equal(claims(inUrl.body.data.access_token).iss, `${KEYCLOAK_URL}/realms/globex`);
      const again = await signIn('globex', 'bob@globex.example', 'bob-pass');
      const res = await post(`${base}/login`, { code: again.searchParams.get('code')! }, { headers: GLOBEX });
      assert.equal(res.status, 200, res.text);
      assert.equal(claims(res.body.data.access_token).iss, `${KEYCLOAK_URL}/realms/globex`);
    });

    it('SW_AUTH_REDIRECT_MISMATCH before anything is sent upstream', async () => {
      for (const redirect_uri of ['http://evil.example/v1/auth/login', `${REDIRECT}/`, `${REDIRECT}?x=1`, REDIRECT.toUpperCase()]) {
        const res = await post(`${base}/login`, { code: 'whatever', redirect_uri });
        assert.equal(res.status, 400);
        assert.equal(res.body.error.code, 'SW_AUTH_REDIRECT_MISMATCH', redirect_uri);
      }
    });

    it('SW_AUTH_OIDC_FAILED for an invalid code, or a code of another tenant', async () => {
      const garbage = await post(`${base}/login`, { code: 'not-a-code' });
      assert.equal(garbage.body.error.code, 'SW_AUTH_OIDC_FAILED');
      const back = await signIn('acme', 'alice@acme.example', 'alice-pass');
      const foreign = await post(`${base}/login`, { code: back.searchParams.get('code')! }, { headers: GLOBEX });
      assert.equal(foreign.body.error.code, 'SW_AUTH_OIDC_FAILED');
    });

    it('422 in the envelope without a code', async () => {
      const res = await post(`${base}/login`, {});
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, 'SW_AUTH_VALIDATION_FAILED');
      // Sought in the query and then the form (either is the document's), a missing form field is
      // reported where the query would have it, as the connect API's are.
      assert.deepEqual(res.body.detail, [{ loc: ['query', 'code'], msg: 'Field required', type: 'missing' }]);
    });
  });

  describe('POST /v1/auth/token', () => {
    it('grants alice a token on acme', async () => {
      const res = await password('alice@acme.example', 'alice-pass');
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.data.access_token && res.body.data.refresh_token);
      assert.equal(typeof res.body.data.expires_in, 'number');
    });

    it('is refused on globex (off by default) with nothing sent upstream', async () => {
      const before = broker.logs.length;
      const res = await password('bob@globex.example', 'bob-pass', GLOBEX);
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'SW_AUTH_PASSWORD_GRANT_DISABLED');
      // Not even validated: the feature gate comes first.
      const noInput = await post(`${base}/token`, {}, { headers: GLOBEX });
      assert.equal(noInput.body.error.code, 'SW_AUTH_PASSWORD_GRANT_DISABLED');
      assert.ok(broker.logs.slice(before).every((l) => !l.includes('password grant')));
    });

    it('SW_AUTH_INVALID_CREDENTIALS for a bad password, then SW_AUTH_RATE_LIMITED with Retry-After', async () => {
      const user = 'dave@shared.example';
      for (let i = 0; i < 3; i++) {
        const res = await password(user, `wrong-${i}`);
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, 'SW_AUTH_INVALID_CREDENTIALS');
      }
      const limited = await password(user, 'dave-pass');
      assert.equal(limited.status, 429, 'even the right password waits out the window');
      assert.equal(limited.body.error.code, 'SW_AUTH_RATE_LIMITED');
      const wait = Number(limited.headers.get('retry-after'));
      assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait}`);
      // Another user is not held back by dave's failures.
      assert.equal((await password('alice@acme.example', 'alice-pass')).status, 200);
    });

    it('422 for a missing password or another grant_type', async () => {
      const res = await post(`${base}/token`, { username: 'alice@acme.example' }, { json: true });
      assert.equal(res.status, 422);
      assert.deepEqual(res.body.detail, [{ loc: ['body', 'password'], msg: 'Field required', type: 'missing' }]);
      const grant = await post(`${base}/token`, { grant_type: 'client_credentials', username: 'a', password: 'b' });
      assert.equal(grant.status, 422);
      assert.equal(grant.body.detail[0].loc[1], 'grant_type');
    });
  });

  describe('POST /v1/auth/refresh', () => {
    const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
    before(() => admin.auth({ grantType: 'client_credentials', ...ADMIN }));

    it('refreshes at the realm that issued the token; without rotation the old token still works', async () => {
      const login = await password('alice@acme.example', 'alice-pass');
      const rt = login.body.data.refresh_token;
      const first = await post(`${base}/refresh`, { refresh_token: rt });
      assert.equal(first.status, 200, first.text);
      assert.equal(claims(first.body.data.access_token).iss, `${KEYCLOAK_URL}/realms/acme`);
      const again = await post(`${base}/refresh`, { refresh_token: rt });
      assert.equal(again.status, 200, 'acme does not rotate refresh tokens');
    });

    it('rotates when the realm revokes refresh tokens: reuse is refused', async () => {
      await admin.realms.update({ realm: 'acme' }, { revokeRefreshToken: true, refreshTokenMaxReuse: 0 });
      try {
        const rt = (await password('alice@acme.example', 'alice-pass')).body.data.refresh_token;
        const first = await post(`${base}/refresh`, { refresh_token: rt });
        assert.equal(first.status, 200, first.text);
        assert.notEqual(first.body.data.refresh_token, rt);
        const reuse = await post(`${base}/refresh`, { refresh_token: rt });
        assert.equal(reuse.status, 401);
        assert.equal(reuse.body.error.code, 'SW_AUTH_INVALID_REFRESH_TOKEN');
        const next = await post(`${base}/refresh`, { refresh_token: first.body.data.refresh_token });
        assert.equal(next.status, 401, 'reusing a rotated token revokes the chain (Keycloak)');
      } finally {
        await admin.realms.update({ realm: 'acme' }, { revokeRefreshToken: false });
      }
    });

    it('refuses garbage, a token of another tenant, and a revoked token', async () => {
      const garbage = await post(`${base}/refresh`, { refresh_token: 'garbage' });
      assert.equal(garbage.status, 401);
      assert.equal(garbage.body.error.code, 'SW_AUTH_INVALID_REFRESH_TOKEN');
      const rt = (await password('alice@acme.example', 'alice-pass')).body.data.refresh_token;
      const foreign = await post(`${base}/refresh`, { refresh_token: rt }, { headers: GLOBEX });
      assert.equal(foreign.body.error.code, 'SW_AUTH_INVALID_REFRESH_TOKEN');
      await broker.deps.upstreams.get('server1').realm('acme').revoke(rt, 'refresh_token');
      const revoked = await post(`${base}/refresh`, { refresh_token: rt });
      assert.equal(revoked.status, 401);
      assert.equal(revoked.body.error.code, 'SW_AUTH_INVALID_REFRESH_TOKEN');
      // No bearer credential was sent: no Bearer challenge, on any of them (round 48: on garbage only).
      for (const res of [garbage, foreign, revoked]) assert.equal(res.headers.get('www-authenticate'), null);
    });

    it('422 without a refresh_token', async () => {
      const res = await post(`${base}/refresh`, {});
      assert.equal(res.status, 422);
      assert.equal(res.body.error.code, 'SW_AUTH_VALIDATION_FAILED');
    });
  });

  describe('POST /v1/auth/register', () => {
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

    it('creates the participant, with claims from the token, and is idempotent', async () => {
      const at = (await password('alice@acme.example', 'alice-pass')).body.data.access_token;
      const first = await post(`${base}/register`, {}, { headers: bearer(at) });
      assert.equal(first.status, 200, first.text);
      const p = first.body.data;
      assert.deepEqual(Object.keys(p).sort(), ['display_name', 'email', 'participant_id', 'personal_workspace_id', 'tenant_id']);
      assert.equal(p.tenant_id, ACME_ID);
      assert.equal(p.email, 'alice@acme.example');
      assert.equal(p.display_name, 'Alice Demo');
      assert.match(p.participant_id, /^[0-9a-f-]{36}$/);
      assert.match(p.personal_workspace_id, /^ws-[0-9a-f-]{36}$/);
      const second = await post(`${base}/register`, {}, { headers: bearer(at) });
      assert.deepEqual(second.body.data, p);
    });

    it('twenty parallel first calls agree', async () => {
      const at = await globexToken('dave@shared.example', 'dave-pass');
      const all = await Promise.all(Array.from({ length: 20 }, () => post(`${base}/register`, {}, { headers: { ...bearer(at), ...GLOBEX } })));
      assert.ok(all.every((r) => r.status === 200), all.map((r) => r.status).join());
      assert.equal(new Set(all.map((r) => r.body.data.participant_id)).size, 1);
      assert.equal(new Set(all.map((r) => r.body.data.personal_workspace_id)).size, 1);
      assert.equal(all[0]!.body.data.tenant_id, GLOBEX_ID);
    });

    it('SW_AUTH_INVALID_TOKEN for no token, garbage, a forged signature, an expired token, an ID token, another tenant', async () => {
      const cases: [string, Record<string, string>][] = [];
      cases.push(['none', {}]);
      cases.push(['garbage', bearer('garbage')]);
      const login = (await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', scopes: 'openid' })).body;
      const [h, , s] = login.access_token.split('.');
      const forgedPayload = Buffer.from(JSON.stringify({ ...claims(login.access_token), sub: 'someone-else' })).toString('base64url');
      cases.push(['forged', bearer(`${h}.${forgedPayload}.${s}`)]);
      const expiredPayload = Buffer.from(JSON.stringify({ ...claims(login.access_token), exp: 1_000_000_000 })).toString('base64url');
      cases.push(['expired (and so re-signed wrongly)', bearer(`${h}.${expiredPayload}.${s}`)]);
      cases.push(['id token', bearer(login.id_token)]);
      cases.push(['refresh token', bearer(login.refresh_token)]);
      cases.push(['other tenant', { ...bearer(login.access_token), ...GLOBEX }]);
      cases.push(['basic', { authorization: 'Basic YTpi' }]);
      for (const [name, headers] of cases) {
        const res = await post(`${base}/register`, {}, { headers });
        assert.equal(res.status, 401, `${name}: ${res.text}`);
        assert.equal(res.body.error.code, 'SW_AUTH_INVALID_TOKEN', name);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    });

    it('refuses a genuinely expired token', async function () {
      // acme's access tokens live 300 s; a realm with a 2 s lifespan shows real expiry.
      const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
      await admin.auth({ grantType: 'client_credentials', ...ADMIN });
      await admin.realms.update({ realm: 'globex' }, { accessTokenLifespan: 1 });
      try {
        const at = await globexToken('bob@globex.example', 'bob-pass');
        await new Promise((r) => setTimeout(r, 7000)); // past exp + the 5 s clock tolerance
        const res = await post(`${base}/register`, {}, { headers: { ...bearer(at), ...GLOBEX } });
        assert.equal(res.status, 401);
        assert.match(res.body.error.message, /expired/);
      } finally {
        await admin.realms.update({ realm: 'globex' }, { accessTokenLifespan: 300 });
      }
    });
  });

  it('answers unknown paths under /v1/auth in the envelope', async () => {
    const res = await fetch(`${base}/nope`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, 'SW_AUTH_NOT_FOUND');
  });
});
