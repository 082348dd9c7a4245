/** Issue 11, item 6: what a client developer tripped over. */
import assert from 'node:assert/strict';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';

describe('rough edges a client developer found', () => {
  let broker: TestBroker;
  before(async () => { broker = await startBroker({ overrides: { scaiwave: { hosts: {}, tenantHeader: 'x-tenant', redirectUris: {}, frontendUrl: 'https://app.example/signed-in', rateLimit: { perUser: 5, perAddress: 20, windowSeconds: 900 } } } }); });
  after(() => broker.close());

  it('userinfo with a token lacking openid: 403 insufficient_scope (RFC 6750 §3.1)', async () => {
    const at = (await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', scopes: 'email' })).body.access_token;
    const res = await fetch(`${broker.url}/api/v1/platform/oauth/userinfo`, { headers: { authorization: `Bearer ${at}` } });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error, 'insufficient_scope');
    assert.match(res.headers.get('www-authenticate')!, /insufficient_scope/);
  });

  it('authorize without response_type: invalid_request', async () => {
    const res = await fetch(`${broker.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
      client_id: 'platform-demo', redirect_uri: 'http://127.0.0.1:8765/callback', scope: 'openid', state: 's',
    })}`, { redirect: 'manual' });
    const back = new URL(res.headers.get('location')!);
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    assert.equal(back.searchParams.get('state'), 's');
  });

  it('/v1/auth/config lists user scopes only, in a stable order, and names the client_id to use', async () => {
    const { data } = await (await fetch(`${broker.url}/v1/auth/config`)).json();
    assert.deepEqual(data.scopes_supported.filter((s: string) => ['openid', 'profile', 'email'].includes(s)), ['openid', 'profile', 'email']);
    for (const internal of ['web-origins', 'acr', 'roles', 'basic', 'microprofile-jwt', 'service_account', 'organization']) assert.ok(!data.scopes_supported.includes(internal), internal);
    assert.equal(data.client_id, 'realm-broker');
  });

  it('a browser landing on the ScaiWave redirect URI goes on to the front end with the code', async () => {
    const res = await fetch(`${broker.url}/v1/auth/login?code=abc&state=xyz&other=drop`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'https://app.example/signed-in?code=abc&state=xyz');
    const plain = await startBroker();
    try {
      const page = await fetch(`${plain.url}/v1/auth/login?code=abc`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type')!, /text\/html/);
      assert.match(await page.text(), /POST \/v1\/auth\/login/);
    } finally {
      await plain.close();
    }
  });
});
