/**
 * The ScaiWave state that must hold across replicas and restarts, with the real Redis:
 * participants and the password-grant failure counts. And its answers when Keycloak or
 * Redis is down.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisStore } from '../../src/store/redis-store.js';
import { claims, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

describe('ScaiWave across replicas (shared Redis)', () => {
  const prefix = `rb-test:${randomUUID()}:`;
  const env = { REDIS_URL, STORE_PREFIX: prefix };
  const overrides = {
    scaiwave: { hosts: {}, tenantHeader: 'x-tenant', redirectUris: {}, rateLimit: { perUser: 4, perAddress: 1000, windowSeconds: 60 } },
  };
  let a: TestBroker;
  let b: TestBroker;
  before(async () => {
    a = await startBroker({ env, overrides });
    b = await startBroker({ env, overrides });
  });
  after(async () => {
    await a.close();
    await b.close();
    await cleanRedisPrefix(prefix);
  });

  const token = async (broker: TestBroker) =>
    (await post(`${broker.url}/v1/auth/token`, { username: 'alice@acme.example', password: 'alice-pass' })).body.data.access_token;

  it('twenty parallel first registrations over two replicas agree, and the record is in Redis', async () => {
    const at = await token(a);
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      post(`${(i % 2 ? a : b).url}/v1/auth/register`, {}, { headers: { authorization: `Bearer ${at}` } })));
    assert.ok(all.every((r) => r.status === 200));
    assert.equal(new Set(all.map((r) => JSON.stringify(r.body.data))).size, 1);
    const stored = await a.deps.store.get(`participant:acme:${claims(at).sub}`);
    assert.deepEqual(stored, all[0]!.body.data);
  });

  it('the participant survives a restart of both replicas', async () => {
    const at = await token(a);
    const before = (await post(`${a.url}/v1/auth/register`, {}, { headers: { authorization: `Bearer ${at}` } })).body.data;
    await a.close();
    await b.close();
    a = await startBroker({ env, overrides });
    b = await startBroker({ env, overrides });
    const stored = await b.deps.store.get(`participant:acme:${claims(at).sub}`);
    assert.deepEqual(stored, before, 'the new process reads the record from Redis');
    const after = (await post(`${b.url}/v1/auth/register`, {}, { headers: { authorization: `Bearer ${at}` } })).body.data;
    assert.deepEqual(after, before);
  });

  it('failed password attempts count across replicas', async () => {
    const user = 'alice@acme.example';
    for (const broker of [a, b, a, b]) {
      const res = await post(`${broker.url}/v1/auth/token`, { username: user, password: 'wrong' });
      assert.equal(res.status, 401);
    }
    const limited = await post(`${b.url}/v1/auth/token`, { username: user, password: 'alice-pass' });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'SW_AUTH_RATE_LIMITED');
    const other = await post(`${a.url}/v1/auth/token`, { username: user, password: 'alice-pass' });
    assert.equal(other.status, 429, 'replica A sees the same count');
  });
});

describe('ScaiWave when a dependency is down', () => {
  it('Keycloak unreachable: SW_AUTH_UPSTREAM_UNAVAILABLE (503) on every route', async () => {
    const broker = await startBroker({ env: { KEYCLOAK_URL: 'http://127.0.0.1:9' } });
    try {
      const routes: [string, Record<string, string>][] = [
        ['/v1/auth/token', { username: 'a', password: 'b' }],
        ['/v1/auth/login', { code: 'c' }],
        ['/v1/auth/refresh', { refresh_token: 'x.y.z' }],
      ];
      for (const [path, body] of routes) {
        const res = await post(`${broker.url}${path}`, body);
        assert.equal(res.status, 503, `${path}: ${res.text}`);
        assert.equal(res.body.error.code, 'SW_AUTH_UPSTREAM_UNAVAILABLE', path);
        assert.ok(res.headers.get('retry-after'));
      }
      const config = await fetch(`${broker.url}/v1/auth/config`);
      assert.equal(config.status, 503);
    } finally {
      await broker.close();
    }
  });

  it('Redis unreachable: SW_AUTH_STORE_UNAVAILABLE (503) where the store is needed; routes without it still work', async () => {
    const down = new RedisStore({ url: 'redis://127.0.0.1:9', prefix: 'rb-test:', timeoutMs: 300 });
    const broker = await startBroker({ store: down });
    try {
      const res = await post(`${broker.url}/v1/auth/token`, { username: 'alice@acme.example', password: 'alice-pass' });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body.error.code, 'SW_AUTH_STORE_UNAVAILABLE');
      const config = await fetch(`${broker.url}/v1/auth/config`);
      assert.equal(config.status, 200, 'routes that need no store still work');
    } finally {
      await broker.close();
      await down.close();
    }
  });
});
