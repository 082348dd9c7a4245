/**
 * Issue 8, defect 12: the broker's signing keys are encrypted at rest in Redis, and rotate
 * without breaking a relying party (published before they sign, kept until the last ID
 * token signed by the old one has expired).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import * as jose from 'jose';
import { SigningKeys } from '../../src/keys/signing-key.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

describe('broker signing keys in the store', () => {
  const prefix = `rb-test:${randomUUID()}:`;
  const kek = Buffer.alloc(32, 9).toString('base64url');
  let store: RedisStore;
  before(async () => {
    store = new RedisStore({ url: REDIS_URL, prefix, timeoutMs: 1000 });
    await store.connect();
  });
  after(async () => {
    await store.close();
    await cleanRedisPrefix(prefix);
  });

  it('keeps no private key material in the clear in Redis', async () => {
    const keys = new SigningKeys(store, { encryptionKey: kek, publishSeconds: 120, idTokenTtlSeconds: 300 });
    const key = await keys.get();
    const redis = new Redis(REDIS_URL);
    try {
      const raw = await redis.get(`${prefix}keys:signing-set`);
      assert.ok(raw, 'the set is in Redis');
      const pub = key.publicJwk;
      assert.ok(!raw.includes('"d"') && !raw.includes('"p"'), 'no private JWK members');
      assert.ok(raw.includes(pub.kid!), 'the kid is readable');
      assert.ok(!raw.includes(pub.n!), 'the key itself is inside the JWE');
    } finally {
      redis.disconnect();
    }
    const other = new SigningKeys(store, { encryptionKey: Buffer.alloc(32, 1).toString('base64url'), publishSeconds: 120, idTokenTtlSeconds: 300 });
    await assert.rejects(other.get(), 'a wrong encryption key opens nothing');
  });

  it('rotates: the new key is published at once, signs after the publish delay; the old one stays published', async () => {
    const keys = new SigningKeys(store, { encryptionKey: kek, publishSeconds: 4, idTokenTtlSeconds: 1 });
    const before = await keys.get();
    const token = await new jose.SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: before.kid }).sign(before.privateKey);
    const { newKid } = await keys.rotate();
    const published = (await keys.published()).map((k) => k.kid);
    assert.deepEqual(published.sort(), [before.kid, newKid].sort(), 'both published');
    assert.equal((await keys.get()).kid, before.kid, 'the old key still signs during the publish delay');
    await new Promise((r) => setTimeout(r, 4100));
    const replica = new SigningKeys(store, { encryptionKey: kek, publishSeconds: 4, idTokenTtlSeconds: 1 });
    assert.equal((await replica.get()).kid, newKid, 'then the new one signs, on every replica');
    const hintKey = await replica.verificationKey(before.kid);
    assert.ok(hintKey, 'a token of the old key still verifies');
    await jose.compactVerify(token, hintKey);
  });
});
