/**
 * Attack round 49, against the two opt-in caches (the client-credentials token cache and the
 * introspection cache), with real Keycloak and Redis:
 * - a realm renamed to another's old name was answered from the other's entries (keys by name),
 *   and the other's tokens verified with the other's keys kept under that name;
 * - a client id with `|` in it shared an entry with another client (keys joined with `|`);
 * - a token revoked through the broker was still handed out by the token cache;
 * - another caller's refused revoke, while the owner's was under way, took the owner's mark away,
 *   and the revoked token read active from the introspection cache.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { claims, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { signIn } from '../helpers/platform-rp.js';
import { KEYCLOAK_URL, REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';
import { createRealms, deleteRealms, makeTestTenant, serverAdmin } from '../helpers/test-tenant.js';
import type { RealmConnector } from '../../src/upstream/realm-connector.js';

const CONNECT_TOKEN = '/auth/api/v1/oauth/connect/token';
const CONNECT_INTROSPECT = '/auth/api/v1/oauth/connect/introspect';
const PLATFORM = '/api/v1/platform/oauth';
const SERVICE = { client_id: 'platform-service', client_secret: 'platform-service-secret' };

describe('the caches\' keys and revocations (attack round 49)', function () {
  this.timeout(120_000);
  const prefix = `rb-test:${randomUUID()}:`;
  const env = { REDIS_URL, STORE_PREFIX: prefix };
  const brokers: TestBroker[] = [];
  const start = async (overrides: Record<string, unknown>) => {
    const broker = await startBroker({ env, overrides });
    brokers.push(broker);
    return broker;
  };
  after(async () => {
    for (const b of brokers) await b.close();
    await cleanRedisPrefix(prefix);
  });

  describe('a realm renamed to the name another had', () => {
    const a = makeTestTenant();
    const b = makeTestTenant();
    const aRenamed = `${a.realm}-x`;
    before(() => createRealms(a, b));
    after(async () => {
      await deleteRealms(a, b);
      await deleteRealms({ ...a, realm: aRenamed });
    });

    it('is answered from its own entries: neither A\'s cached token nor A\'s cached introspection goes to B', async () => {
      const broker = await start({
        tenantCacheTtlMs: 300, tenantEstablishMinutes: 0,
        tenants: { [a.realm]: { upstream: 'server1', realmId: a.id }, [b.realm]: { upstream: 'server1', realmId: b.id } },
        tokenCache: { clients: ['connect-demo'], safetyMarginSeconds: 30, maxAgeSeconds: 60 },
        introspectionCache: { maxAgeSeconds: 60 },
      });
      const grant = (realm: string) => post(`${broker.url}${CONNECT_TOKEN}`, { realm, client_id: 'connect-demo', client_secret: 'connect-demo-secret' });
      const introspect = (realm: string, token: string) => post(`${broker.url}${CONNECT_INTROSPECT}`, { realm, token });
      const register = (slug: string, token: string) => fetch(`${broker.url}/v1/auth/register`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-tenant': slug } });
      const ofA = await grant(a.id);
      assert.equal(ofA.status, 200, ofA.text);
      assert.equal((await grant(a.id)).body.access_token, ofA.body.access_token, 'cached');
      assert.equal((await introspect(a.id, ofA.body.access_token)).body.active, true);
      // A's keys, fetched to verify A's token locally (ScaiWave's /register), and kept.
      assert.equal((await register(a.realm, ofA.body.access_token)).status, 200);

      // A's admin renames A; B's admin renames B to A's old name (each realm's admin can).
      const admin = await serverAdmin();
      await admin.realms.update({ realm: a.realm }, { realm: aRenamed });
      await admin.realms.update({ realm: b.realm }, { realm: a.realm });
      await new Promise((r) => setTimeout(r, 700));
      await broker.deps.tenants.all();
      assert.equal((await broker.deps.tenants.bySlug(b.realm))?.realm, a.realm, 'the broker sees B under A\'s old name');

      const ofB = await grant(b.id);
      assert.equal(ofB.status, 200, ofB.text);
      assert.notEqual(ofB.body.access_token, ofA.body.access_token, 'B is not handed A\'s cached token');
      assert.equal(claims(ofB.body.access_token).iss, `${KEYCLOAK_URL}/realms/${a.realm}`);
      const asB = await introspect(b.id, ofA.body.access_token);
      assert.equal(asB.body.active, false, `A's token is not B's: ${asB.text}`);
      // Nor verified with the keys kept for the issuer B now has (A's), as B's user.
      const atB = await register(b.realm, ofA.body.access_token);
      assert.equal(atB.status, 401, `A's token is not verified as B's: ${await atB.text()}`);
      assert.equal((await register(b.realm, ofB.body.access_token)).status, 200, 'B\'s own token is');
    });
  });

  describe('a realm given a tenant\'s realm name while the tenant list still has it (attack round 50)', () => {
    const a = makeTestTenant();
    const b = makeTestTenant();
    const aRenamed = `${a.realm}-x`;
    const bUser = Object.keys(b.users)[0]!;
    before(() => createRealms(a, b));
    after(async () => {
      await deleteRealms(a, b);
      await deleteRealms({ ...a, realm: aRenamed });
    });

    it('answers nothing as the tenant: B\'s user gets no broker ID token as A\'s, B\'s token is not verified as A\'s', async () => {
      // The realm list is kept a minute here: the window is the list's time (30 s by default).
      const overrides = {
        tenantCacheTtlMs: 60_000, tenantEstablishMinutes: 0,
        tenants: { [a.realm]: { upstream: 'server1', realmId: a.id }, [b.realm]: { upstream: 'server1', realmId: b.id } },
      };
      // One broker per check: the first refusal reads the list again, which ends that broker's window.
      const [one, two, three, four] = [await start(overrides), await start(overrides), await start(overrides), await start(overrides)];
      for (const broker of [one, two, three, four]) assert.equal((await broker.deps.tenants.bySlug(a.realm))?.realm, a.realm);

      // A's admin renames A; B's admin gives B A's old name.
      const admin = await serverAdmin();
      await admin.realms.update({ realm: a.realm }, { realm: aRenamed });
      await admin.realms.update({ realm: b.realm }, { realm: a.realm });
      assert.equal((await one.deps.tenants.bySlug(a.realm))?.realm, a.realm, 'the brokers still call A by its old name');

      // A sign-in at A's tenant issuer goes to the realm of that name (B's), and B's user signs in there.
      const issuer = `${two.url}/api/v1/auth/tenants/${encodeURIComponent(a.realm)}/oauth`;
      const signedIn = await signIn(issuer, bUser, { brokerUrl: two.url }).then((r) => r.tokens, (err: unknown) => err as Error);
      assert.ok(signedIn instanceof Error, `no tokens for B's user from A's issuer: ${JSON.stringify(claims((signedIn as { id_token: string }).id_token ?? 'e30.e30.'))}`);

      // B's own token, as ScaiWave's /register at A checks it: the keys fetched by A's old name are B's.
      const direct = await fetch(`${KEYCLOAK_URL}/realms/${a.realm}/protocol/openid-connect/token`, {
        method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'realm-broker', client_secret: 'realm-broker-secret', username: bUser, password: b.users[bUser]! }),
      });
      assert.equal(direct.status, 200, await direct.clone().text());
      const bToken = ((await direct.json()) as { access_token: string }).access_token;
      const register = await fetch(`${one.url}/v1/auth/register`, { method: 'POST', headers: { authorization: `Bearer ${bToken}`, 'x-tenant': a.realm } });
      assert.notEqual(register.status, 200, `B's token is not A's user's: ${await register.text()}`);
      // The broker read its realm list again on finding the rename: B's token is B's.
      const again = await fetch(`${one.url}/v1/auth/register`, { method: 'POST', headers: { authorization: `Bearer ${bToken}`, 'x-tenant': a.realm } });
      assert.equal(again.status, 401, await again.text());
      assert.equal((await one.deps.tenants.bySlug(a.realm))?.realm, aRenamed, 'A is known by its new name now');

      // Round 52: the platform JWKS, fetched by name, published B's keys under A's issuer.
      const bKids = ((await (await fetch(`${KEYCLOAK_URL}/realms/${a.realm}/protocol/openid-connect/certs`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      const published = ((await (await fetch(`${three.url}/api/v1/platform/.well-known/jwks.json`)).json()) as { keys: { kid: string; iss: string }[] }).keys;
      const asA = published.filter((k) => k.iss === `${KEYCLOAK_URL}/realms/${a.realm}` && bKids.includes(k.kid));
      assert.deepEqual(asA, [], 'none of B\'s keys under A\'s issuer');

      // Round 52: a password grant at A's realm name answered with B's user's tokens as A's (B's
      // admin can make the broker's client public there, so per-realm secrets do not stop it).
      const password = await post(`${four.url}/auth/api/v1/oauth/connect/user/login`, { realm: a.id, username: bUser, password: b.users[bUser]! });
      assert.notEqual(password.status, 200, `B's user gets no tokens as A's: ${password.text.slice(0, 300)}`);
    });
  });

  describe('client ids with the old separator in them', () => {
    const tag = randomUUID().slice(0, 8);
    const plain = `cc-${tag}`;
    const piped = `cc-${tag}|given`;
    const ids: string[] = [];
    before(async () => {
      const admin = await serverAdmin();
      for (const clientId of [plain, piped]) {
        ids.push((await admin.clients.create({ realm: 'acme', clientId, publicClient: false, secret: 'one-secret', serviceAccountsEnabled: true, standardFlowEnabled: false })).id);
      }
    });
    after(async () => {
      const admin = await serverAdmin();
      for (const id of ids) await admin.clients.del({ realm: 'acme', id }).catch(() => {});
    });

    it('are entries of their own: `x|given` without scope is not `x` with scope `given|`', async () => {
      const broker = await start({ tokenCache: { clients: [plain, piped], safetyMarginSeconds: 30, maxAgeSeconds: 60 } });
      const grant = (clientId: string, scopes?: string) => post(`${broker.url}${CONNECT_TOKEN}`, { client_id: clientId, client_secret: 'one-secret', scopes });
      const first = await grant(piped);
      assert.equal(first.status, 200, first.text);
      assert.equal(claims(first.body.access_token).azp, piped);
      const other = await grant(plain, 'given|');
      assert.notEqual(other.body.access_token, first.body.access_token, `${plain} is not handed ${piped}'s token: ${other.text}`);
      if (other.status === 200) assert.equal(claims(other.body.access_token).azp, plain);
    });
  });

  describe('a token revoked through the broker', () => {
    it('leaves the token cache: the next grant is a new token, on either replica', async () => {
      const overrides = { tokenCache: { clients: ['platform-service'], safetyMarginSeconds: 30, maxAgeSeconds: 60 } };
      const [one, two] = [await start(overrides), await start(overrides)];
      const grant = (broker: TestBroker) => post(`${broker.url}${PLATFORM}/token`, { grant_type: 'client_credentials', ...SERVICE });
      const first = await grant(one);
      assert.equal(first.status, 200, first.text);
      assert.equal((await grant(two)).body.access_token, first.body.access_token, 'cached, and shared');
      const revoked = await post(`${one.url}${PLATFORM}/revoke`, { token: first.body.access_token, ...SERVICE });
      assert.equal(revoked.status, 200, revoked.text);
      for (const broker of [two, one]) {
        const next = await grant(broker);
        assert.equal(next.status, 200, next.text);
        assert.notEqual(next.body.access_token, first.body.access_token, 'the revoked token is not handed out again');
      }
    });

    it('stays inactive at introspection when another caller\'s revoke, refused meanwhile, took its mark away', async () => {
      const broker = await start({ introspectionCache: { maxAgeSeconds: 60 } });
      const token = (await post(`${broker.url}${PLATFORM}/token`, { grant_type: 'client_credentials', ...SERVICE })).body.access_token as string;
      const introspect = async () => (await post(`${broker.url}${CONNECT_INTROSPECT}`, { token })).body.active;
      assert.equal(await introspect(), true);

      // The owner's revoke is slow at Keycloak (a loaded server): held here until let go.
      const acme = broker.deps.upstreams.get('server1').realm('acme') as RealmConnector;
      const revokeAtKeycloak = acme.revoke.bind(acme);
      let letGo!: () => void;
      const held = new Promise<void>((r) => { letGo = r; });
      let reached!: () => void;
      const atKeycloak = new Promise<void>((r) => { reached = r; });
      acme.revoke = async (...args: Parameters<RealmConnector['revoke']>) => {
        if (args[2]?.clientId === 'platform-service') {
          reached();
          await held;
        }
        return revokeAtKeycloak(...args);
      };
      try {
        const owner = post(`${broker.url}${PLATFORM}/revoke`, { token, ...SERVICE });
        await atKeycloak;
        // Anyone: a revoke as the public app, which Keycloak refuses (not its token).
        const foreign = await post(`${broker.url}${PLATFORM}/revoke`, { token, client_id: 'platform-demo' });
        assert.equal(foreign.status, 200, foreign.text);
        assert.equal(await introspect(), true, 'not revoked yet: Keycloak says active, and that is kept');
        letGo();
        assert.equal((await owner).status, 200);
      } finally {
        acme.revoke = revokeAtKeycloak;
      }
      assert.equal(await introspect(), false, 'revoked, whatever was kept before');
      const redis = new Redis(REDIS_URL);
      try {
        assert.ok((await redis.keys(`${prefix}cache:introspection:*`)).length > 0, 'the revocation\'s mark is there');
      } finally {
        redis.disconnect();
      }
    });
  });
});
