/**
 * Issue 12: the opt-in introspection cache (`introspectionCache.maxAgeSeconds`), against the
 * real Keycloak and Redis: a hit on every replica, the bound for a session that Keycloak alone
 * ended, and what takes effect at once: a revocation through the broker, a realm's
 * back-channel logout. Only active answers are kept, under a MAC (the store holds no token).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { Redis } from 'ioredis';
import { GLOBEX_ID, claims, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { APP, APP_REDIRECT, signIn } from '../helpers/platform-rp.js';
import { ADMIN, KEYCLOAK_URL, REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_AGE = 4;

describe('introspection cache (opt-in)', function () {
  this.timeout(60_000);
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  const prefix = `rb-test:${randomUUID()}:`;
  let a: TestBroker;
  let b: TestBroker;
  let off: TestBroker;
  before(async () => {
    const env = { REDIS_URL, STORE_PREFIX: prefix };
    const overrides = { introspectionCache: { maxAgeSeconds: MAX_AGE } };
    [a, b, off] = await Promise.all([startBroker({ env, overrides }), startBroker({ env, overrides }), startBroker()]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close(), off?.close()]);
    await cleanRedisPrefix(prefix);
  });

  const login = async () => {
    const r = await post(`${a.url}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass' });
    assert.equal(r.status, 200, r.text);
    return r.body as { access_token: string; refresh_token: string };
  };
  const introspect = async (broker: TestBroker, token: string) => {
    const r = await post(`${broker.url}/auth/api/v1/oauth/connect/introspect`, { token });
    assert.equal(r.status, 200, r.text);
    return r.body as Record<string, unknown>;
  };
  const hits = async (broker: TestBroker) => {
    const text = await broker.deps.metrics.registry.metrics();
    const m = /realm_broker_cache_lookups_total\{cache="introspection",result="hit"\} (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  };
  /** Keycloak has ended the client session with its refresh token; both replicas say what it says. */
  const readsAsKeycloakSays = async (token: string) => {
    const keycloakSays = (await introspect(off, token)).active;
    assert.equal(keycloakSays, false, 'Keycloak ends the client session with its refresh token');
    assert.equal((await introspect(a, token)).active, keycloakSays);
    assert.equal((await introspect(b, token)).active, keycloakSays);
  };
  const endSessionAtKeycloak = async (sid: string) => {
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    await admin.realms.deleteSession({ realm: 'acme', session: sid, isOffline: false });
  };

  it('is off by default: a session ended at Keycloak reads inactive at once', async () => {
    const { access_token } = await login();
    assert.equal((await introspect(off, access_token)).active, true);
    await endSessionAtKeycloak(claims(access_token).sid);
    assert.equal((await introspect(off, access_token)).active, false);
    assert.equal(await hits(off), 0);
  });

  it('answers a repeated introspection from the store, on every replica, as Keycloak answered it', async () => {
    const { access_token } = await login();
    const first = await introspect(a, access_token);
    assert.equal(first.active, true);
    const hitsBefore = [await hits(a), await hits(b)];
    assert.deepEqual(await introspect(a, access_token), first);
    assert.deepEqual(await introspect(b, access_token), first, 'the other replica');
    assert.deepEqual([await hits(a), await hits(b)], [hitsBefore[0]! + 1, hitsBefore[1]! + 1]);
  });

  it('the bound: a session Keycloak alone ended reads active for at most maxAgeSeconds', async () => {
    const { access_token } = await login();
    assert.equal((await introspect(a, access_token)).active, true);
    const cachedAt = Date.now();
    await endSessionAtKeycloak(claims(access_token).sid);
    assert.equal((await introspect(off, access_token)).active, false, 'Keycloak says inactive');
    assert.equal((await introspect(a, access_token)).active, true, 'the cached answer, within the bound');
    await sleep(MAX_AGE * 1000 - (Date.now() - cachedAt) + 1100);
    assert.equal((await introspect(a, access_token)).active, false, 'past the bound');
  });

  it('a token revoked through the broker reads inactive at once, on both surfaces and every replica', async () => {
    const platform = `${a.url}/api/v1/platform/oauth`;
    const credentials = { client_id: 'platform-service', client_secret: 'platform-service-secret' };
    const granted = await post(`${platform}/token`, { ...credentials, grant_type: 'client_credentials' });
    assert.equal(granted.status, 200, granted.text);
    const token = granted.body.access_token as string;
    assert.equal((await post(`${platform}/introspect`, { ...credentials, token })).body.active, true);
    assert.equal((await introspect(b, token)).active, true);
    // Other spellings of the same token, which Keycloak accepts too: padding, standard base64, the
    // unused bits of the signature's last character. Each is introspected before the revocation.
    const [head, payload, signature] = token.split('.');
    const sig = Buffer.from(signature!, 'base64url');
    const lastBits = signature!.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[
      ('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(signature!.at(-1)!) ^ 1)];
    const spellings = [`${token}==`, `${head}.${payload}.${sig.toString('base64')}`, `${head}.${payload}.${lastBits}`];
    for (const spelling of spellings) assert.equal((await introspect(b, spelling)).active, true, `Keycloak accepts ${spelling.slice(-6)}`);
    assert.equal((await post(`${platform}/revoke`, { ...credentials, token })).status, 200);
    assert.equal((await post(`${b.url}/api/v1/platform/oauth/introspect`, { ...credentials, token })).body.active, false);
    assert.equal((await introspect(a, token)).active, false);
    // A late answer given before the revocation cannot bring the entry back: it is still a mark.
    assert.equal((await introspect(b, token)).active, false);
    for (const spelling of spellings) assert.equal((await introspect(a, spelling)).active, false, `revoked in every spelling: ${spelling.slice(-6)}`);
  });

  it('a realm session ended by the realm\'s back-channel logout reads inactive at once', async () => {
    // The realm side, as sync-apps would set it: acme's broker client calls broker `a` back.
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    const [client] = await admin.clients.find({ realm: 'acme', clientId: 'realm-broker' });
    const attributes = { ...client!.attributes };
    await admin.clients.update({ realm: 'acme', id: client!.id! }, {
      ...client, attributes: { ...attributes, 'backchannel.logout.url': `${a.url}/api/v1/platform/oauth/backchannel-logout`, 'backchannel.logout.session.required': 'true' },
    });
    try {
      const { access_token } = await login();
      assert.equal((await introspect(a, access_token)).active, true);
      assert.equal((await introspect(b, access_token)).active, true);
      await endSessionAtKeycloak(claims(access_token).sid);
      // Keycloak delivers the logout token before its admin call returns; a moment's grace all the same.
      let active: unknown = true;
      for (let i = 0; i < 20 && active !== false; i++) {
        active = (await introspect(b, access_token)).active;
        if (active !== false) await sleep(100);
      }
      assert.equal(active, false, 'the other replica, told through the shared store');
      assert.equal((await introspect(a, access_token)).active, false);
    } finally {
      await admin.auth({ grantType: 'client_credentials', ...ADMIN });
      const [now] = await admin.clients.find({ realm: 'acme', clientId: 'realm-broker' });
      // Cleared by name: Keycloak's update keeps attributes left out (backchannel-logout.test.ts).
      await admin.clients.update({ realm: 'acme', id: now!.id! }, { ...now, attributes: { ...attributes, 'backchannel.logout.url': attributes['backchannel.logout.url'] ?? '' } });
    }
  });

  it('a realm session ended by a logout through the broker (RP-initiated) reads inactive at once', async () => {
    const platform = `${a.url}/api/v1/platform/oauth`;
    const { tokens, browser } = await signIn(platform, 'alice@acme.example', { brokerUrl: a.url });
    const credentials = { client_id: 'platform-service', client_secret: 'platform-service-secret' };
    const introspectAtPlatform = async () => (await post(`${platform}/introspect`, { ...credentials, token: tokens.access_token })).body.active;
    assert.equal(await introspectAtPlatform(), true);
    assert.equal((await introspect(b, tokens.access_token)).active, true);
    const done = await browser.go(`${platform}/logout`, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: APP, state: 'bye' });
    assert.equal(done.url.origin + done.url.pathname, APP);
    assert.equal(await introspectAtPlatform(), false);
    assert.equal((await introspect(b, tokens.access_token)).active, false, 'the other replica');
  });

  it('a refresh token revoked through the broker: its session\'s tokens read as Keycloak says, at once', async () => {
    const platform = `${a.url}/api/v1/platform/oauth`;
    const { tokens } = await signIn(platform, 'alice@acme.example', { brokerUrl: a.url });
    assert.equal((await introspect(a, tokens.access_token)).active, true);
    const revoked = await post(`${platform}/revoke`, { client_id: 'platform-demo', token: tokens.refresh_token!, token_type_hint: 'refresh_token' });
    assert.equal(revoked.status, 200, revoked.text);
    await readsAsKeycloakSays(tokens.access_token);
  });

  it('a made-up token sent to revoke leaves no mark (nobody may write marks at will)', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const marks = async () => [...await redis.keys(`${prefix}introspection-ended-session:*`), ...await redis.keys(`${prefix}cache:introspection:*`)].length;
      const before = await marks();
      const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      for (let i = 0; i < 5; i++) {
        const forged = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iss: `${KEYCLOAK_URL}/realms/acme`, sid: `forged-${i}`, typ: 'Refresh' })}.${encode({ sig: i })}`;
        const r = await post(`${a.url}/api/v1/platform/oauth/revoke`, { client_id: 'platform-demo', token: forged });
        assert.equal(r.status, 200, r.text);
      }
      assert.equal(await marks(), before, 'no session mark, no bypass mark');
    } finally {
      redis.disconnect();
    }
  });

  it('a code redeemed twice: what its first use issued reads inactive at once (RFC 6749 §4.1.2)', async () => {
    const platform = `${a.url}/api/v1/platform/oauth`;
    const { tokens, back } = await signIn(platform, 'alice@acme.example', { brokerUrl: a.url });
    assert.equal((await introspect(a, tokens.access_token)).active, true);
    const replay = await post(`${platform}/token`, { grant_type: 'authorization_code', client_id: 'platform-demo', code: back.searchParams.get('code')!, redirect_uri: APP_REDIRECT });
    assert.equal(replay.status, 400, replay.text);
    await readsAsKeycloakSays(tokens.access_token);
  });

  it('keeps active answers only, never past maxAgeSeconds, and never the token itself', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const entries = () => redis.keys(`${prefix}cache:introspection:*`);
      const before = new Set(await entries());
      assert.deepEqual(await introspect(a, 'not-a-token'), { active: false });
      const ended = (await login()).access_token;
      await endSessionAtKeycloak(claims(ended).sid);
      assert.equal((await introspect(a, ended)).active, false);
      assert.deepEqual((await entries()).filter((k) => !before.has(k)), [], 'no inactive answer is kept');
      const { access_token } = await login();
      assert.equal((await introspect(a, access_token)).active, true);
      const added = (await entries()).filter((k) => !before.has(k));
      assert.equal(added.length, 1);
      const ttl = await redis.ttl(added[0]!);
      assert.ok(ttl > 0 && ttl <= MAX_AGE, `ttl ${ttl}`);
      const stored = await redis.get(added[0]!);
      assert.ok(!added[0]!.includes(access_token) && !stored!.includes(access_token), 'the token is not in the store');
      assert.equal(JSON.parse(stored!).sid, claims(access_token).sid);
    } finally {
      redis.disconnect();
    }
  });

  it('serves only the tenants it lists, when it lists some', async () => {
    const only = await startBroker({ overrides: { introspectionCache: { maxAgeSeconds: MAX_AGE, tenants: ['globex'] } } });
    try {
      const { access_token } = await login();
      await introspect(only, access_token);
      await introspect(only, access_token);
      assert.equal(await hits(only), 0, 'acme is not listed');
      const granted = await post(`${only.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: GLOBEX_ID });
      assert.equal(granted.status, 200, granted.text);
      for (let i = 0; i < 2; i++) {
        const r = await post(`${only.url}/auth/api/v1/oauth/connect/introspect`, { token: granted.body.access_token, realm: GLOBEX_ID });
        assert.equal(r.body.active, true, r.text);
      }
      assert.equal(await hits(only), 1, 'globex is');
      // Named by no realm, the token is asked of its own realm: globex's choice, not the default tenant's.
      const unnamed = await post(`${only.url}/auth/api/v1/oauth/connect/introspect`, { token: granted.body.access_token });
      assert.equal(unnamed.body.active, true, unnamed.text);
      assert.equal(await hits(only), 2, 'globex decides, though acme is the default tenant');
    } finally {
      await only.close();
    }
  });

  it('is refused in config past 300 seconds (the bound stays short)', async () => {
    await assert.rejects(startBroker({ overrides: { introspectionCache: { maxAgeSeconds: 301 } } }), /introspectionCache/);
  });
});
