/** The connect Auth Service API (seeds/003) against the real Keycloak and demo realms. */
import assert from 'node:assert/strict';
import { ACME_ID, GLOBEX_ID, claims, post, startBroker, type TestBroker } from '../helpers/broker.js';

describe('connect API', () => {
  let broker: TestBroker;
  let base: string;
  before(async () => {
    broker = await startBroker();
    base = `${broker.url}/auth/api/v1`;
  });
  after(() => broker.close());

  describe('GET /healthz and /readyz', () => {
    it('answers Msg for liveness', async () => {
      const res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { msg: 'OK' });
    });
    it('reports Keycloak and the store as up when ready', async () => {
      const res = await fetch(`${base}/readyz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        msg: 'OK',
        checks: { store: 'up', 'keycloak:server1': 'up', 'keycloak:server2': 'up' },
        upstreams: { server1: { state: 'closed', failures: 0 }, server2: { state: 'closed', failures: 0 } },
      });
    });
  });

  describe('POST /oauth/connect/token', () => {
    const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };

    it('issues a client-credentials token from the default tenant, with query parameters', async () => {
      const res = await post(`${base}/oauth/connect/token`, creds, { query: true });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.token_type, 'Bearer');
      assert.equal(typeof res.body.expires_in, 'number');
      assert.ok('not-before-policy' in res.body, 'Keycloak fields pass through');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const c = claims(res.body.access_token);
      assert.equal(c.iss, 'http://127.0.0.1:8080/realms/acme');
      assert.equal(c.azp, 'connect-demo');
    });

    it('accepts form fields and JSON alike, and routes by realm UUID', async () => {
      const form = await post(`${base}/oauth/connect/token`, { ...creds, realm: GLOBEX_ID });
      assert.equal(form.status, 200, form.text);
      assert.equal(claims(form.body.access_token).iss, 'http://127.0.0.1:8080/realms/globex');
      const json = await post(`${base}/oauth/connect/token`, { ...creds, realm: ACME_ID, grant_type: 'client_credentials' }, { json: true });
      assert.equal(json.status, 200, json.text);
      assert.equal(claims(json.body.access_token).iss, 'http://127.0.0.1:8080/realms/acme');
    });

    it('passes scopes on as scope', async () => {
      const res = await post(`${base}/oauth/connect/token`, { ...creds, scopes: 'email' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.scope.split(' ').sort(), ['email', 'profile']);
      // Two scopes: the space between them is encoded in the form sent to Keycloak.
      const two = await post(`${base}/oauth/connect/token`, { ...creds, scopes: 'email phone' });
      assert.equal(two.status, 200, two.text);
      assert.ok(two.body.scope.split(' ').includes('phone') && two.body.scope.split(' ').includes('email'), two.body.scope);
      const bad = await post(`${base}/oauth/connect/token`, { ...creds, scopes: 'no-such-scope' });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.error, 'invalid_scope');
    });

    it('401 for a bad client secret', async () => {
      const res = await post(`${base}/oauth/connect/token`, { ...creds, client_secret: 'wrong' });
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'invalid_client');
      assert.match(res.body.detail, /Authentication failed/);
    });

    it('400 for another grant_type', async () => {
      const res = await post(`${base}/oauth/connect/token`, { ...creds, grant_type: 'password' });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'unsupported_grant_type');
    });

    it('404 for an unknown or malformed realm UUID', async () => {
      for (const realm of ['00000000-0000-4000-8000-000000000000', 'acme', '../master']) {
        const res = await post(`${base}/oauth/connect/token`, { ...creds, realm });
        assert.equal(res.status, 404, realm);
        assert.deepEqual(res.body, { detail: 'Realm not found', error: 'tenant_not_found' });
      }
    });

    it('422 in FastAPI shape for missing or ill-typed parameters', async () => {
      const missing = await post(`${base}/oauth/connect/token`, {});
      assert.equal(missing.status, 422);
      assert.deepEqual(missing.body, {
        detail: [
          { loc: ['query', 'client_id'], msg: 'Field required', type: 'missing' },
          { loc: ['query', 'client_secret'], msg: 'Field required', type: 'missing' },
        ],
      });
      const typed = await post(`${base}/oauth/connect/token`, { client_id: 42 as unknown as string, client_secret: 'x' }, { json: true });
      assert.equal(typed.status, 422);
      assert.deepEqual(typed.body.detail, [{ loc: ['body', 'client_id'], msg: 'Input should be a valid string', type: 'string_type' }]);
    });

    it('422 for malformed JSON, 415 for an unknown content type, 413 for a huge body', async () => {
      const bad = await fetch(`${base}/oauth/connect/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":' });
      assert.equal(bad.status, 422);
      assert.equal((await bad.json()).detail[0].type, 'json_invalid');
      const xml = await fetch(`${base}/oauth/connect/token`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<a/>' });
      assert.equal(xml.status, 415);
      assert.ok((await xml.json()).detail);
      const huge = await fetch(`${base}/oauth/connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=' + 'x'.repeat(100_000) });
      assert.equal(huge.status, 413);
    });
  });

  describe('POST /oauth/connect/user/login', () => {
    it('logs alice in at the default tenant through the broker client', async () => {
      const res = await post(`${base}/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass' });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.refresh_token);
      assert.equal(res.body.token_type, 'Bearer');
      const c = claims(res.body.access_token);
      assert.equal(c.preferred_username, 'alice@acme.example');
      assert.equal(c.azp, 'realm-broker');
    });

    it('logs dave in at acme by realm UUID, with scopes and grant_type=password', async () => {
      const res = await post(`${base}/oauth/connect/user/login`,
        { username: 'dave@shared.example', password: 'dave-pass', realm: ACME_ID, grant_type: 'password', scopes: 'openid email' }, { query: true });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.id_token, 'openid scope gives an id_token');
      assert.equal(claims(res.body.access_token).iss, 'http://127.0.0.1:8080/realms/acme');
    });

    it('keeps the tenant\'s password-grant policy: globex has it off, so bob gets 403 here as on ScaiWave', async () => {
      const res = await post(`${base}/oauth/connect/user/login`, { username: 'bob@globex.example', password: 'bob-pass', realm: GLOBEX_ID });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.error, 'feature_disabled');
      assert.equal(typeof res.body.detail, 'string');
    });

    it('401 for a wrong password or an unknown user, the same answer', async () => {
      const wrong = await post(`${base}/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'nope' });
      const unknown = await post(`${base}/oauth/connect/user/login`, { username: 'nobody@acme.example', password: 'nope' });
      assert.equal(wrong.status, 401);
      assert.deepEqual(wrong.body, unknown.body);
      assert.equal(wrong.body.error, 'invalid_grant');
    });

    it('404 for an unknown realm, 422 without a password, 400 for another grant_type', async () => {
      assert.equal((await post(`${base}/oauth/connect/user/login`, { username: 'a', password: 'b', realm: '11111111-1111-1111-1111-111111111111' })).status, 404);
      const missing = await post(`${base}/oauth/connect/user/login`, { username: 'alice@acme.example' }, { json: true });
      assert.equal(missing.status, 422);
      assert.deepEqual(missing.body.detail, [{ loc: ['body', 'password'], msg: 'Field required', type: 'missing' }]);
      const grant = await post(`${base}/oauth/connect/user/login`, { username: 'a', password: 'b', grant_type: 'client_credentials' });
      assert.equal(grant.status, 400);
    });
  });

  describe('POST /oauth/connect/introspect', () => {
    it('reports an active token with JSON booleans (RFC 7662)', async () => {
      const login = await post(`${base}/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass' });
      const res = await post(`${base}/oauth/connect/introspect`, { token: login.body.access_token, realm: ACME_ID });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.active, true);
      assert.equal(res.body.username, 'alice@acme.example');
      assert.equal(typeof res.body.email_verified, 'boolean');
    });

    it('reports garbage, and a token of another realm, as inactive', async () => {
      const garbage = await post(`${base}/oauth/connect/introspect`, { token: 'not-a-token' });
      assert.deepEqual(garbage.body, { active: false });
      const globexToken = await post(`${base}/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: GLOBEX_ID });
      const foreign = await post(`${base}/oauth/connect/introspect`, { token: globexToken.body.access_token, realm: ACME_ID });
      assert.deepEqual(foreign.body, { active: false });
    });

    it('422 without a token or with one over 16 KiB (as the platform), 404 for an unknown realm', async () => {
      const missing = await post(`${base}/oauth/connect/introspect`, { realm: ACME_ID });
      assert.equal(missing.status, 422);
      assert.deepEqual(missing.body.detail, [{ loc: ['query', 'token'], msg: 'Field required', type: 'missing' }]);
      const huge = await post(`${base}/oauth/connect/introspect`, { token: `eyJ${'a'.repeat(16_400)}`, realm: ACME_ID });
      assert.equal(huge.status, 422, huge.text);
      assert.equal(huge.body.detail[0].loc.at(-1), 'token');
      assert.equal((await post(`${base}/oauth/connect/introspect`, { token: 'x', realm: 'nope' })).status, 404);
    });
  });

  it('never logs secrets or passwords', async () => {
    await post(`${base}/oauth/connect/user/login?password=alice-pass`, { username: 'alice@acme.example', password: 'alice-pass' });
    await post(`${base}/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret' }, { query: true });
    const all = broker.logs.join('\n');
    assert.ok(!all.includes('alice-pass'));
    assert.ok(!all.includes('connect-demo-secret'));
    assert.ok(!all.includes('realm-broker-secret'));
  });
});
