/**
 * Keycloak down, slow or broken: the connect API answers 502/503/504 with a JSON body,
 * within the configured timeout, and serves again once Keycloak is back. A closed port
 * plays "down"; a fault server in front of the real Keycloak plays what Keycloak can't be
 * made to do on demand (slow, 5xx, garbage, a reset).
 */
import assert from 'node:assert/strict';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { FaultServer } from '../helpers/fault-server.js';
import { KEYCLOAK_URL } from '../helpers/services.js';
import { READINESS_BOUND_MS } from '../../src/surfaces/connect/actions.js';

const TOKEN_PATH = '/realms/acme/protocol/openid-connect/token';

describe('connect API when Keycloak fails', () => {
  describe('Keycloak unreachable (nothing listens)', () => {
    let broker: TestBroker;
    before(async () => { broker = await startBroker({ env: { KEYCLOAK_URL: 'http://127.0.0.1:9', KEYCLOAK2_URL: 'http://127.0.0.1:9' } }); });
    after(() => broker.close());

    it('503 with a clear body and Retry-After, and /readyz says why', async () => {
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'x' });
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'upstream_unavailable');
      assert.match(res.body.detail, /identity service is unavailable/);
      assert.doesNotMatch(res.text, /127\.0\.0\.1|realms\//, 'no internal address in the answer');
      assert.ok(res.headers.get('retry-after'));
      const ready = await fetch(`${broker.url}/auth/api/v1/readyz`);
      assert.equal(ready.status, 503);
      assert.match((await ready.json()).checks['keycloak:server1'], /^(down|open)$/, 'down, or its circuit breaker open');
      const live = await fetch(`${broker.url}/auth/api/v1/healthz`);
      assert.equal(live.status, 200, 'liveness does not depend on Keycloak');
    });
  });

  describe('Keycloak slow, failing or garbled (a fault server in front of it)', () => {
    let broker: TestBroker;
    let faults: FaultServer;
    const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
    before(async () => {
      faults = await new FaultServer(KEYCLOAK_URL).start();
      broker = await startBroker({ env: { UPSTREAM_TIMEOUT_MS: '1000', KEYCLOAK_URL: faults.url } });
      // Warm the tenant list and realm metadata through the real Keycloak first.
      assert.equal((await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds)).status, 200);
    });
    afterEach(function () {
      const unmet = faults.pending;
      faults.disarm();
      // A fault the broker never met would let its test pass for the wrong reason.
      if (this.currentTest?.state === 'passed') assert.equal(unmet, 0, 'every armed fault was met');
    });
    after(async () => { await broker.close(); await faults.close(); });

    it('504 when the token endpoint does not answer within the timeout', async () => {
      faults.arm('POST', TOKEN_PATH, { kind: 'delay', ms: 5000 });
      const t0 = Date.now();
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      const took = Date.now() - t0;
      assert.equal(res.status, 504, res.text);
      assert.equal(res.body.error, 'upstream_timeout');
      assert.ok(took < 3000, `answered after ${took} ms, the timeout is 1000 ms`);
    });

    it('502 when Keycloak answers 500 with HTML', async () => {
      faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 500, body: '<html>oops</html>', contentType: 'text/html' });
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(res.status, 502, res.text);
      assert.equal(res.body.error, 'upstream_bad_response');
      assert.ok(!res.text.includes('oops'), 'upstream bodies are not echoed');
    });

    it('503 when Keycloak itself says 503', async () => {
      faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 503, body: JSON.stringify({ error: 'temporarily_unavailable' }) });
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(res.status, 503, res.text);
    });

    it('502 for a garbage 200 body', async () => {
      faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 200, body: 'not json' });
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(res.status, 502, res.text);
      faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 200, body: JSON.stringify({ no: 'token' }) });
      const res2 = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(res2.status, 502, res2.text);
    });

    it('502 for a 200 body over 1 MiB, and the breaker stays closed (Keycloak did answer)', async () => {
      for (let i = 0; i < 4; i++) {
        faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 200, body: `{"access_token":"${'x'.repeat(1024 * 1024)}","token_type":"Bearer"}` });
        const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
        assert.equal(res.status, 502, res.text);
        assert.equal(res.body.error, 'upstream_bad_response');
      }
      // Four in a row, past the breaker's threshold of three: still served at once.
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(res.status, 200, res.text);
    });

    it('502 when the connection is reset mid-request', async () => {
      faults.arm('POST', `${TOKEN_PATH}/introspect`, { kind: 'reset' });
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/introspect`, { token: 'x' });
      assert.ok([502, 503].includes(res.status), res.text);
      assert.ok(res.body.detail);
    });

    it('a 404 or 429 from the token endpoint is the upstream\'s failure, in our words (attack helper round 30b)', async () => {
      faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 404, body: 'Not Found', contentType: 'text/plain' });
      const missing = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(missing.status, 502, missing.text);
      assert.equal(missing.body.error, 'upstream_bad_response');
      assert.doesNotMatch(missing.text, /Keycloak|no such resource|grant/, 'no internal wording');
      faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 429, body: JSON.stringify({ error: 'too_many_requests' }) });
      const busy = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(busy.status, 503, busy.text);
      assert.equal(busy.body.error, 'upstream_unavailable');
      assert.ok(busy.headers.get('retry-after'));
      const platform = await post(`${broker.url}/api/v1/platform/oauth/token`, { grant_type: 'client_credentials', client_id: 'platform-service', client_secret: 'platform-service-secret' });
      assert.equal(platform.status, 200, 'and it serves again');
    });

    it('serves again at once when Keycloak is back', async () => {
      faults.arm('POST', TOKEN_PATH, { kind: 'reply', status: 500, body: 'down', contentType: 'text/plain' });
      assert.equal((await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds)).status, 502);
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
      assert.equal(res.status, 200, res.text);
    });

    it('logs the 5xx with its cause and request id (one sample line per code: see test/resilience)', () => {
      const line = broker.logs.map((l) => JSON.parse(l)).find((l) => l.level === 'warn' && l.code === 'upstream_timeout');
      assert.ok(line, 'a line for the timeout');
      assert.ok(line.reqId);
      assert.ok(line.err.cause, 'the cause is kept');
    });
  });

  describe('a slow realm list (attack helper round 30b)', () => {
    let broker: TestBroker;
    let faults: FaultServer;
    const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
    before(async () => {
      faults = await new FaultServer(KEYCLOAK_URL).start();
      broker = await startBroker({ env: { UPSTREAM_TIMEOUT_MS: '3000', TENANT_CACHE_TTL_MS: '300', KEYCLOAK_URL: faults.url } });
      assert.equal((await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds)).status, 200);
    });
    after(async () => { await broker.close(); await faults.close(); });

    it('requests go on with the list they had while its refresh is slow, and /readyz answers within its bound', async () => {
      for (let i = 0; i < 4; i++) faults.arm('GET', '/admin/realms/', { kind: 'delay', ms: 2500 });
      await new Promise((r) => setTimeout(r, 400)); // the list is past its time
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
        assert.equal(res.status, 200, res.text);
        const took = performance.now() - t0;
        assert.ok(took < 1000, `answered after ${Math.round(took)} ms, the realm list takes 2,500`);
      }
      assert.ok(faults.pending < 4, 'the list was asked for again, and was slow');
      const t0 = performance.now();
      const ready = await fetch(`${broker.url}/auth/api/v1/readyz`);
      const took = performance.now() - t0;
      assert.ok(took < READINESS_BOUND_MS + 500, `readyz answered after ${Math.round(took)} ms`);
      const body = await ready.json();
      assert.equal(body.checks['keycloak:server1'], 'slow', JSON.stringify(body));
      assert.equal(body.checks['keycloak:server2'], 'up');
      assert.equal(ready.status, 200, 'one server slow of two: degraded, still ready: ' + JSON.stringify(body));
      assert.equal(body.msg, 'DEGRADED');
    });
  });

  describe('unknown names while the realm list is slow (attack helper round 31)', () => {
    // A lookup of a name no list has forces a read of the lists (at most once a second a server).
    // While that read ran, the list was fresh, and a request that had to rebuild its view of the
    // tenants (here: because server 2's list came back new) waited for the whole read: two
    // unknown names a second held every tenant's requests, initech's on the healthy server too.
    let broker: TestBroker;
    let faults: FaultServer;
    const creds = { client_id: 'connect-demo', client_secret: 'connect-demo-secret' };
    const unknownRealm = () => post(`${broker.url}/auth/api/v1/oauth/connect/token`, { ...creds, realm: crypto.randomUUID() });
    before(async () => {
      faults = await new FaultServer(KEYCLOAK_URL).start();
      broker = await startBroker({ env: { UPSTREAM_TIMEOUT_MS: '3000', KEYCLOAK_URL: faults.url } });
      assert.equal((await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds)).status, 200);
    });
    afterEach(() => faults.disarm());
    after(async () => { await broker.close(); await faults.close(); });

    it('a known tenant is served at once while an unknown name waits for the slow list', async () => {
      faults.arm('GET', '/admin/realms/', { kind: 'delay', ms: 2000 });
      const unknown = unknownRealm();
      await new Promise((r) => setTimeout(r, 200)); // the forced read of server 2 is back, server 1's is not
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, creds);
        assert.equal(res.status, 200, res.text);
        const took = performance.now() - t0;
        assert.ok(took < 1000, `answered after ${Math.round(took)} ms, the forced read takes 2,000`);
      }
      assert.equal(faults.pending, 0, 'the unknown name forced a read of the slow list');
      assert.equal((await unknown).status, 404);
    });

    it('an unknown name whose new list does not come within its deadline is 504, not 404', async () => {
      await new Promise((r) => setTimeout(r, 1100)); // past the bound on forced reads
      faults.arm('GET', '/admin/realms/', { kind: 'delay', ms: 6000 });
      const t0 = performance.now();
      const res = await unknownRealm();
      const took = performance.now() - t0;
      assert.equal(res.status, 504, res.text);
      assert.equal(res.body.error, 'upstream_timeout');
      assert.ok(took < 3500, `answered after ${Math.round(took)} ms, the timeout is 3,000`);
    });
  });
});
