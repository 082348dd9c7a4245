/**
 * Issue 12, item 4: the opt-in client-credentials token cache, against the real Keycloak and
 * Redis: hit, miss, the safety margin, a wrong secret, a secret rotated in Keycloak, a
 * disabled client, two replicas sharing it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { Redis } from 'ioredis';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK_URL, REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('client-credentials token cache (opt-in)', function () {
  this.timeout(60_000);
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  const clientId = `cc-cache-${randomUUID().slice(0, 8)}`;
  const prefix = `rb-test:${randomUUID()}:`;
  let internalId: string;
  let a: TestBroker;
  let b: TestBroker;
  let noMargin: TestBroker;
  before(async () => {
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    ({ id: internalId } = await admin.clients.create({ realm: 'acme', clientId, publicClient: false, secret: 's1', serviceAccountsEnabled: true, standardFlowEnabled: false }));
    const env = { REDIS_URL, STORE_PREFIX: prefix };
    const overrides = { tokenCache: { clients: [clientId], safetyMarginSeconds: 30, maxAgeSeconds: 3 } };
    [a, b] = await Promise.all([startBroker({ env, overrides }), startBroker({ env, overrides })]);
    noMargin = await startBroker({ overrides: { tokenCache: { clients: [clientId], safetyMarginSeconds: 100_000, maxAgeSeconds: 60 } } });
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close(), noMargin?.close()]);
    await cleanRedisPrefix(prefix);
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    await admin.clients.del({ realm: 'acme', id: internalId });
  });

  const grant = (broker: TestBroker, secret: string, scopes?: string) => post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: clientId, client_secret: secret, scopes });

  it('a repeated grant is answered from the cache, on every replica; another scope is another entry', async () => {
    const first = await grant(a, 's1');
    assert.equal(first.status, 200, first.text);
    const again = await grant(a, 's1');
    assert.equal(again.body.access_token, first.body.access_token, 'a hit');
    assert.ok(again.body.expires_in <= first.body.expires_in);
    assert.equal((await grant(b, 's1')).body.access_token, first.body.access_token, 'the other replica shares it');
    const other = await grant(a, 's1', 'email');
    assert.notEqual(other.body.access_token, first.body.access_token, 'another scope');
  });

  it('a hit\'s expires_in counts down with the token, second by second (the answer reused within a second only)', async () => {
    const first = await grant(a, 's1', 'phone');
    assert.equal(first.status, 200, first.text);
    const hit = await grant(a, 's1', 'phone');
    const sameSecond = await grant(a, 's1', 'phone');
    await sleep(1100);
    const later = await grant(a, 's1', 'phone');
    assert.equal(later.body.access_token, first.body.access_token, 'still a hit');
    assert.ok(sameSecond.body.expires_in <= hit.body.expires_in);
    assert.ok(later.body.expires_in < hit.body.expires_in, `${later.body.expires_in} after ${hit.body.expires_in}`);
    assert.ok(later.body.expires_in <= first.body.expires_in - 1);
  });

  it('an entry whose stored MAC is damaged (another length) is a miss, not a 500', async () => {
    const first = await grant(a, 's1');
    assert.equal(first.status, 200, first.text);
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}cache:cc-token:*`);
      assert.ok(keys.length > 0, 'the entry is in Redis');
      for (const key of keys) {
        const entry = JSON.parse((await redis.get(key))!);
        await redis.set(key, JSON.stringify({ ...entry, mac: 'AAAA' }), 'KEEPTTL');
      }
    } finally {
      redis.disconnect();
    }
    const again = await grant(a, 's1');
    assert.equal(again.status, 200, again.text);
    assert.notEqual(again.body.access_token, first.body.access_token, 'a fresh token from Keycloak');
  });

  it('a wrong secret never gets the cached token: Keycloak refuses it', async () => {
    await grant(a, 's1');
    const wrong = await grant(a, 'nope');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.access_token, undefined);
  });

  it('no token is cached with less than the safety margin left', async () => {
    const one = await grant(noMargin, 's1');
    const two = await grant(noMargin, 's1');
    assert.notEqual(two.body.access_token, one.body.access_token);
  });

  it('a secret rotated in Keycloak: the new one replaces the entry, the old one is then refused (before that: cached for ≤ maxAgeSeconds)', async () => {
    await grant(a, 's1');
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    const client = await admin.clients.findOne({ realm: 'acme', id: internalId });
    await admin.clients.update({ realm: 'acme', id: internalId }, { ...client, secret: 's2' });
    const rotated = await grant(a, 's2');
    assert.equal(rotated.status, 200, 'the new secret works at once');
    const old = await grant(b, 's1');
    assert.equal(old.status, 401, 'the entry holds s2 now: s1 goes to Keycloak, which refuses it');
  });

  it('a disabled client gets a cached token for at most maxAgeSeconds, then nothing', async () => {
    const secret = 's2';
    assert.equal((await grant(a, secret)).status, 200);
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    const client = await admin.clients.findOne({ realm: 'acme', id: internalId });
    await admin.clients.update({ realm: 'acme', id: internalId }, { ...client, enabled: false });
    try {
      await sleep(3100);
      const after = await grant(a, secret);
      assert.ok(after.status === 400 || after.status === 401, `refused after the bound: ${after.status} ${after.text}`);
    } finally {
      await admin.clients.update({ realm: 'acme', id: internalId }, { ...client, enabled: true });
    }
  });
});
