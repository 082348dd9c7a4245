/**
 * The first parts of the Platform OAuth API (seeds/004) on the real Keycloak: the
 * aggregated JWKS, client credentials for GLOBAL confidential apps, and userinfo.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { GLOBEX_ID, claims, post, realmKeyOf, startBroker, type TestBroker } from '../helpers/broker.js';
import { KEYCLOAK_URL, REDIS_URL, cleanRedisPrefix } from '../helpers/services.js';

const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });

describe('Platform OAuth API: JWKS, client credentials, userinfo', () => {
  let broker: TestBroker;
  let base: string;
  before(async () => {
    // globex keeps the password grant off; these tests log bob in through connect.
    broker = await startBroker({ overrides: { tenants: { globex: { features: { auth: { password_grant_enabled: true } } } } } });
    base = `${broker.url}/api/v1/platform`;
  });
  after(() => broker.close());

  const connectLogin = async (username: string, password: string, realm?: string) =>
    (await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username, password, realm, scopes: 'openid' })).body;

  describe('GET /.well-known/jwks.json', () => {
    it('publishes every realm key with its issuer, and not the broker key, cacheable, without private parts', async () => {
      const res = await fetch(`${base}/.well-known/jwks.json`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('cache-control')!, /max-age=\d+/);
      const { keys } = (await res.json()) as { keys: (jose.JWK & { iss?: string })[] };
      const own = (await broker.deps.signingKeys.get()).kid;
      assert.ok(!keys.some((k) => k.kid === own), 'not the broker key: ID tokens do not verify against realm keys\' set');
      for (const realm of ['acme', 'globex']) {
        const certs = (await (await fetch(`${KEYCLOAK_URL}/realms/${realm}/protocol/openid-connect/certs`)).json()) as { keys: jose.JWK[] };
        const sig = certs.keys.filter((k) => k.use === 'sig');
        assert.ok(sig.every((k) => keys.some((x) => x.kid === k.kid && x.iss === `${KEYCLOAK_URL}/realms/${realm}`)), `${realm} keys, each naming its issuer`);
      }
      assert.ok(keys.every((k) => k.d === undefined && k.p === undefined), 'public keys only');
    });

    it('verifies access tokens of every tenant', async () => {
      for (const [user, realm] of [['alice@acme.example', undefined], ['bob@globex.example', GLOBEX_ID]] as const) {
        const { access_token } = await connectLogin(user, `${user.split('@')[0]}-pass`, realm);
        const { payload } = await jose.jwtVerify(access_token, realmKeyOf(broker.url), { issuer: claims(access_token).iss });
        assert.equal(payload.preferred_username, user);
      }
    });

    it('is the same broker key on two replicas sharing Redis', async () => {
      const prefix = `rb-test:${randomUUID()}:`;
      const [a, b] = await Promise.all([
        startBroker({ env: { REDIS_URL, STORE_PREFIX: prefix } }),
        startBroker({ env: { REDIS_URL, STORE_PREFIX: prefix } }),
      ]);
      try {
        const [ka, kb] = await Promise.all([a.deps.signingKeys.get(), b.deps.signingKeys.get()]);
        assert.equal(ka.kid, kb.kid);
      } finally {
        await a.close();
        await b.close();
        await cleanRedisPrefix(prefix);
      }
    });
  });

  describe('POST /oauth/token (client_credentials)', () => {
    it('issues a home-realm token to platform-service by client_secret_basic and client_secret_post', async () => {
      const viaBasic = await post(`${base}/oauth/token`, { grant_type: 'client_credentials' }, { headers: basic('platform-service', 'platform-service-secret') });
      assert.equal(viaBasic.status, 200, viaBasic.text);
      assert.equal(claims(viaBasic.body.access_token).iss, `${KEYCLOAK_URL}/realms/acme`);
      assert.equal(claims(viaBasic.body.access_token).azp, 'platform-service');
      const viaPost = await post(`${base}/oauth/token`, { grant_type: 'client_credentials', client_id: 'platform-service', client_secret: 'platform-service-secret' });
      assert.equal(viaPost.status, 200, viaPost.text);
    });

    it('refuses bad, unknown, doubled and public client authentication', async () => {
      const wrong = await post(`${base}/oauth/token`, { grant_type: 'client_credentials' }, { headers: basic('platform-service', 'nope') });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      assert.match(wrong.headers.get('www-authenticate')!, /^Basic/);
      const unknown = await post(`${base}/oauth/token`, { grant_type: 'client_credentials', client_id: 'connect-demo', client_secret: 'connect-demo-secret' });
      assert.equal(unknown.status, 401, 'a realm client that is not in the app registry is unknown here');
      const both = await post(`${base}/oauth/token`, { grant_type: 'client_credentials', client_secret: 'platform-service-secret' }, { headers: basic('platform-service', 'platform-service-secret') });
      assert.equal(both.body.error, 'invalid_client');
      const publicClient = await post(`${base}/oauth/token`, { grant_type: 'client_credentials', client_id: 'platform-demo' });
      assert.equal(publicClient.status, 400);
      assert.equal(publicClient.body.error, 'unauthorized_client');
    });

    it('unsupported_grant_type for an unknown grant, 422 without grant_type', async () => {
      const res = await post(`${base}/oauth/token`, { grant_type: 'magic', client_id: 'platform-service', client_secret: 'platform-service-secret' });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'unsupported_grant_type');
      const missing = await post(`${base}/oauth/token`, {});
      assert.equal(missing.status, 422);
      assert.deepEqual(missing.body.detail, [{ loc: ['body', 'grant_type'], msg: 'Field required', type: 'missing' }]);
    });
  });

  describe('GET and POST /oauth/userinfo', () => {
    it('returns the realm claims plus the tenant, for users of any tenant', async () => {
      const alice = await connectLogin('alice@acme.example', 'alice-pass');
      const res = await fetch(`${base}/oauth/userinfo`, { headers: { authorization: `Bearer ${alice.access_token}` } });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.email, 'alice@acme.example');
      // The sub the platform's ID tokens say: scoped to the tenant (keys/platform-subject.ts).
      assert.equal(body.sub, `${body.tenant_id}:${claims(alice.access_token).sub}`);
      assert.equal(body.tenant, 'acme');
      const bob = await connectLogin('bob@globex.example', 'bob-pass', GLOBEX_ID);
      const viaPost = await fetch(`${base}/oauth/userinfo`, { method: 'POST', headers: { authorization: `Bearer ${bob.access_token}` } });
      const pb = await viaPost.json();
      assert.equal(pb.tenant, 'globex');
      assert.equal(pb.tenant_id, GLOBEX_ID);
    });

    it('401 with WWW-Authenticate for no token, garbage, or a forged one', async () => {
      const alice = await connectLogin('alice@acme.example', 'alice-pass');
      const [h, p] = alice.access_token.split('.');
      for (const auth of [undefined, 'Bearer garbage', `Bearer ${h}.${p}.AAAA`]) {
        const res = await fetch(`${base}/oauth/userinfo`, { headers: auth ? { authorization: auth } : {} });
        assert.equal(res.status, 401, String(auth));
        assert.match(res.headers.get('www-authenticate')!, /^Bearer error="invalid_token"/);
        assert.equal((await res.json()).error, 'invalid_token');
      }
    });
  });
});

describe('Platform JWKS after a realm key rotation', () => {
  it('publishes the new key as soon as a token signed with it is handed out', async () => {
    const KcAdminClient = (await import('@keycloak/keycloak-admin-client')).default;
    const { ADMIN } = await import('../helpers/services.js');
    const broker = await startBroker();
    const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    const realm = await admin.realms.findOne({ realm: 'acme' });
    const jwksUrl = `${broker.url}/api/v1/platform/.well-known/jwks.json`;
    const kids = async () => ((await (await fetch(jwksUrl)).json()) as { keys: jose.JWK[] }).keys.map((k) => k.kid);
    const before = await kids(); // cached now
    const { id } = await admin.components.create({
      realm: 'acme', name: `rb-test-rotation-${randomUUID().slice(0, 8)}`, providerId: 'rsa-generated', providerType: 'org.keycloak.keys.KeyProvider',
      parentId: realm!.id, config: { priority: ['500'], keySize: ['2048'], active: ['true'], enabled: ['true'], algorithm: ['RS256'] },
    });
    try {
      const res = await post(`${broker.url}/api/v1/platform/oauth/token`, { grant_type: 'client_credentials', client_id: 'platform-service', client_secret: 'platform-service-secret' });
      assert.equal(res.status, 200, res.text);
      const kid = jose.decodeProtectedHeader(res.body.access_token).kid!;
      assert.ok(!before.includes(kid), 'the token is signed with the new key');
      assert.ok((await kids()).includes(kid), 'and the platform JWKS lists it at once');
    } finally {
      await admin.components.del({ realm: 'acme', id });
      await broker.close();
    }
  });
});
