/**
 * One deadline per request: with Keycloak frozen, a request that needs two calls in a row
 * (the tenant list is due for a refresh, then the grant) answers within
 * UPSTREAM_TIMEOUT_MS, not twice that (measured by hand before: 6.0 s with 3 s).
 */
import assert from 'node:assert/strict';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { KEYCLOAK_URL } from '../helpers/services.js';
import { FaultProxy } from './fault-proxy.js';

const TIMEOUT_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('one deadline per request', () => {
  let proxy: FaultProxy;
  let broker: TestBroker;
  const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
  before(async () => {
    proxy = await FaultProxy.to(KEYCLOAK_URL).start();
    broker = await startBroker({ env: {
      KEYCLOAK_URL: proxy.url, KEYCLOAK_PUBLIC_URL: KEYCLOAK_URL,
      UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), TENANT_CACHE_TTL_MS: '100',
    } });
  });
  after(async () => {
    await broker.close();
    await proxy.close();
  });

  it('the broker calls Keycloak at its url, not at the public URL Keycloak names its endpoints after', async () => {
    const grants = () => proxy.byPath.get('/realms/acme/protocol/openid-connect/token') ?? 0;
    const before = grants();
    const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
    assert.equal(res.status, 200, res.text);
    assert.equal(grants(), before + 1, 'the grant went through the upstream url');
  });

  it('Keycloak frozen: the tenant list refresh and the grant share one deadline', async () => {
    assert.equal((await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds)).status, 200);
    proxy.freeze();
    try {
      await sleep(150); // the tenant list is now due for a refresh: two calls in a row
      const t0 = performance.now();
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      const took = performance.now() - t0;
      assert.equal(res.status, 504, res.text);
      assert.equal(res.body.error, 'upstream_timeout');
      assert.ok(res.headers.get('retry-after'));
      assert.ok(took < TIMEOUT_MS + 300, `answered after ${Math.round(took)} ms; the bound is ${TIMEOUT_MS} ms`);
    } finally {
      await proxy.normal();
    }
  });
});
