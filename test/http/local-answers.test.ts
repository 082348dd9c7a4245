/** Issue 12, item 3: the broker's own answers are prepared once, carry an ETag, and answer 304 when unchanged. */
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../helpers/broker.js';

describe('local answers: ETag and 304', () => {
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());

  for (const [path, cache] of [
    ['/api/v1/platform/.well-known/jwks.json', /max-age=300/],
    ['/api/v1/platform/oauth/.well-known/jwks.json', /max-age=60/],
    ['/api/v1/platform/oauth/.well-known/openid-configuration', /max-age=300/],
    ['/api/v1/auth/tenants/globex/oauth/.well-known/openid-configuration', /max-age=300/],
    ['/v1/auth/config', /max-age=300/],
    ['/auth/api/v1/healthz', /no-store/],
  ] as const) {
    it(path, async () => {
      const first = await fetch(`${broker.url}${path}`);
      assert.equal(first.status, 200);
      assert.match(first.headers.get('cache-control')!, cache);
      const etag = first.headers.get('etag')!;
      assert.match(etag, /^"[\w-]+"$/);
      const body = await first.json();
      const second = await fetch(`${broker.url}${path}`);
      assert.equal(second.headers.get('etag'), etag, 'the same bytes');
      assert.deepEqual(await second.json(), body);
      const cached = await fetch(`${broker.url}${path}`, { headers: { 'if-none-match': etag } });
      assert.equal(cached.status, 304);
      assert.equal(await cached.text(), '');
    });
  }

  it('the platform and a tenant issuer get their own discovery bytes', async () => {
    const a = await (await fetch(`${broker.url}/api/v1/platform/oauth/.well-known/openid-configuration`)).json();
    const b = await (await fetch(`${broker.url}/api/v1/auth/tenants/acme/oauth/.well-known/openid-configuration`)).json();
    assert.notEqual(a.issuer, b.issuer);
  });
});
