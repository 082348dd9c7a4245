/**
 * What kept memory after outages (RSS 594 MB after ~30k failed requests, measured by hand):
 * on Node 20, AbortSignal.timeout() parks its timer in a FinalizationRegistry until the
 * signal is garbage-collected, and a timer holds the async context it was created in,
 * which inside a request is Koa's (ctx, req, res, the body, the error and its causes). So
 * every per-call timeout made while serving a request kept that whole request alive past
 * its end, into the old generation, until a major GC: heap snapshots after a fault run
 * showed 634 finished ServerResponses held by exactly that chain. openid-client, the admin
 * client and our raw calls each made one per call. Now a request has one deadline, with a
 * timer cleared when it ends, and no upstream call makes its own.
 */
import assert from 'node:assert/strict';
import { ACME_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { KEYCLOAK_URL, clearLockouts } from '../helpers/services.js';
import { FaultProxy } from './fault-proxy.js';

describe('memory: a finished request is not kept alive by its upstream calls', () => {
  let proxy: FaultProxy;
  let broker: TestBroker;
  const original = AbortSignal.timeout;
  let inRequest = 0;
  before(async () => {
    proxy = await FaultProxy.to(KEYCLOAK_URL).start();
    broker = await startBroker({ env: { KEYCLOAK_URL: proxy.url, KEYCLOAK_PUBLIC_URL: KEYCLOAK_URL, TENANT_CACHE_TTL_MS: '100' } });
    AbortSignal.timeout = (ms: number) => {
      if (broker.app.currentContext) inRequest++;
      return original.call(AbortSignal, ms);
    };
  });
  after(async () => {
    AbortSignal.timeout = original;
    await broker.close();
    await proxy.close();
  });

  it('no AbortSignal.timeout is made while serving requests, when Keycloak answers and when it is gone', async () => {
    const connect = `${broker.url}/auth/api/v1/oauth/connect`;
    const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
    const round = async () => {
      await clearLockouts(); // alice is shared with other tests' wrong passwords
      const login = await post(`${connect}/user/login`, { username: 'alice@acme.example', password: 'alice-pass' });
      assert.equal(login.status, 200, login.text);
      assert.equal((await post(`${connect}/introspect`, { token: login.body.access_token, realm: ACME_ID })).status, 200);
      assert.equal((await post(`${connect}/token`, creds)).status, 200);
      await new Promise((r) => setTimeout(r, 150)); // the tenant list is due: an admin call too
      assert.equal((await fetch(`${broker.url}/auth/api/v1/readyz`)).status, 200);
      const reg = await fetch(`${broker.url}/v1/auth/register`, { method: 'POST', headers: { authorization: `Bearer ${login.body.access_token}` } });
      assert.equal(reg.status, 200, await reg.text());
    };
    // The first round fills the caches; jose makes one timeout per key-set (re)load, which
    // it then caches for minutes: rare, not per call.
    await round();
    inRequest = 0;
    await round();
    await proxy.refuse();
    try {
      assert.equal((await post(`${connect}/token`, creds)).status, 503);
    } finally {
      await proxy.normal();
    }
    assert.equal(inRequest, 0, `${inRequest} per-call timeouts made inside requests`);
  });
});
