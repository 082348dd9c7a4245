/**
 * A circuit breaker per Keycloak server: while one is down or frozen its tenants get 503
 * with Retry-After at once instead of waiting for the timeout, /readyz says "open", the
 * outage is logged once ("down", then "back" with the count), the broker finds out by
 * itself within about a second that Keycloak is back, and another server's tenants never
 * notice. Two upstreams here are two proxies to the one real Keycloak, each serving one
 * of the demo realms.
 */
import assert from 'node:assert/strict';
import { ACME_ID, GLOBEX_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';
import { FaultProxy } from './fault-proxy.js';

const TIMEOUT_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('circuit breaker per upstream', () => {
  let a: FaultProxy;
  let b: FaultProxy;
  let broker: TestBroker;
  const token = (realm: string) => post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm });
  const readyz = async () => (await fetch(`${broker.url}/auth/api/v1/readyz`)).json();
  const lines = (pattern: RegExp) => broker.logs.map((l) => JSON.parse(l)).filter((l) => pattern.test(l.msg));

  /** Until Keycloak (through `proxy`) serves acme again; the milliseconds it took. */
  async function recovery(): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      if ((await token(ACME_ID)).status === 200) return performance.now() - t0;
      if (performance.now() - t0 > 5000) throw new Error('not recovered after 5 s');
      await sleep(20);
    }
  }

  before(async () => {
    [a, b] = await Promise.all([FaultProxy.to(KEYCLOAK_URL).start(), FaultProxy.to(KEYCLOAK_URL).start()]);
    const admin = { realm: 'master', clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret };
    broker = await startBroker({
      env: { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) },
      overrides: {
        upstreams: [
          { name: 'a', url: a.url, publicUrl: KEYCLOAK_URL, admin, ignoreRealms: ['globex'] },
          { name: 'b', url: b.url, publicUrl: KEYCLOAK_URL, admin, ignoreRealms: ['acme'] },
        ],
      },
    });
    assert.equal((await token(ACME_ID)).status, 200);
    assert.equal((await token(GLOBEX_ID)).status, 200);
  });
  after(async () => {
    broker.deps.upstreams.close();
    await broker.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('Keycloak killed: opens after a few failures, then 503 at once; the other upstream serves on', async () => {
    await a.refuse();
    for (let i = 0; i < 3; i++) assert.equal((await token(ACME_ID)).status, 503);
    const t0 = performance.now();
    const res = await token(ACME_ID);
    assert.ok(performance.now() - t0 < 100, 'fails fast');
    assert.equal(res.status, 503);
    assert.equal(res.body.error, 'upstream_unavailable');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const ready = await readyz();
    assert.equal(ready.checks['keycloak:a'], 'open');
    assert.equal(ready.checks['keycloak:b'], 'up');
    assert.equal(ready.upstreams.b.state, 'closed');
    assert.ok(ready.upstreams.a.outageFailures >= 4);
    assert.equal((await token(GLOBEX_ID)).status, 200, "the other upstream's tenant is served");
    assert.equal(lines(/^upstream a down/).length, 1, 'the outage is logged once');
    assert.match(lines(/^upstream a down/)[0].msg, /ECONNREFUSED/);
  });

  it('recovers by itself within about a second of Keycloak coming back, and says so once', async () => {
    await sleep(1200); // no traffic: the breaker probes on its own
    await a.normal();
    const t0 = performance.now();
    for (;;) { // the probe notices without any request's help
      if ((await readyz()).checks['keycloak:a'] === 'up') break;
      assert.ok(performance.now() - t0 < 1500, 'readyz says up within 1.5 s');
      await sleep(20);
    }
    assert.ok(await recovery() < 200);
    const back = lines(/^upstream a back/);
    assert.equal(back.length, 1);
    assert.ok(back[0].failures >= 4, `the failures are counted: ${back[0].failures}`);
    assert.ok(back[0].downMs >= 1000);
  });

  it('Keycloak frozen: only the first calls wait for the deadline, the rest fail at once; recovers on thaw', async () => {
    a.freeze();
    try {
      const first = await Promise.all(Array.from({ length: 4 }, async () => {
        const t0 = performance.now();
        const res = await token(ACME_ID);
        return { status: res.status, ms: performance.now() - t0 };
      }));
      for (const r of first) {
        assert.ok([503, 504].includes(r.status), String(r.status));
        assert.ok(r.ms < TIMEOUT_MS + 300, `answered after ${Math.round(r.ms)} ms`);
      }
      // A timeout counts once the server does not answer its own probe either (a realm alone may
      // be slow: circuit-breaker.ts `timedOut`), at most the probe's timeout (1 s) later.
      const opened = performance.now();
      while (!(await readyz()).checks['keycloak:a'].endsWith('open') && performance.now() - opened < 1500) await new Promise((r) => setTimeout(r, 50));
      const t0 = performance.now();
      const res = await token(ACME_ID);
      assert.equal(res.status, 503, res.text);
      assert.ok(performance.now() - t0 < 100, 'fails fast while frozen');
      assert.equal((await readyz()).checks['keycloak:a'].endsWith('open'), true);
      assert.equal((await token(GLOBEX_ID)).status, 200, "the other upstream's tenant is served");
    } finally {
      await a.normal();
    }
    assert.ok(await recovery() < 1500);
    assert.equal(lines(/^upstream a down/).length, 2);
    assert.match(lines(/^upstream a down/)[1].msg, /no answer in time/);
  });
});
