/**
 * One `sub`, one user, at the platform issuer (keys/platform-subject.ts). Keycloak keeps user
 * ids unique within one server only, and a realm's admin can give a new user any id (a realm
 * import or partial import keeps ids). Before this test (2026-12-07): the admin of a realm on
 * server 2 made "mallory" with alice's id (alice: acme, server 1); mallory signed in at the
 * platform issuer and got an ID token with alice's `sub` under the same `iss`, so every app
 * keying accounts on (`iss`, `sub`), as OIDC Core has it, took her for alice; the platform's
 * userinfo said alice's `sub` for her tokens too. Now the platform issuer says
 * `<tenant_id>:<realm user id>`; a tenant's own issuer says the realm's id, as the realm does.
 */
import assert from 'node:assert/strict';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { ACME_ID, claims, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { signIn } from '../helpers/platform-rp.js';
import { ADMIN, KEYCLOAK_URL, KEYCLOAK2_URL } from '../helpers/services.js';
import { makeTestTenant } from '../helpers/test-tenant.js';

describe('a user of another server with the id of a platform user', function () {
  this.timeout(180_000);
  const ALICE = 'alice@acme.example';
  const t = makeTestTenant();
  const mallory = `mallory@${t.domain}`;
  let admin: KcAdminClient;
  let aliceId: string;
  let broker: TestBroker;

  const platform = () => `${broker.url}/api/v1/platform/oauth`;
  const ownIssuer = (slug: string) => `${broker.url}/api/v1/auth/tenants/${slug}/oauth`;
  const idTokenAt = async (issuer: string, user: string) => claims((await signIn(issuer, user, { brokerUrl: broker.url })).tokens.id_token!);
  const connectToken = async (username: string, password: string, realm: string) => {
    const res = await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username, password, realm, scopes: 'openid' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.access_token as string;
  };
  const userinfo = async (token: string, at: string) => {
    const res = await fetch(`${at}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as { sub: string; tenant: string };
  };

  before(async () => {
    admin = new KcAdminClient({ baseUrl: KEYCLOAK2_URL, realmName: 'master' });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    const acme = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
    await acme.auth({ grantType: 'client_credentials', ...ADMIN });
    aliceId = (await acme.users.find({ realm: 'acme', username: ALICE, exact: true }))[0]!.id!;
    // The admin of a realm on server 2 makes a user with alice's id (a realm import keeps ids).
    t.representation.users!.push({
      id: aliceId, username: mallory, email: mallory, emailVerified: true, enabled: true, firstName: 'Mal', lastName: 'Lory',
      credentials: [{ type: 'password', value: 'mallory-pass', temporary: false }],
    });
    await admin.realms.create(t.representation);
    assert.equal((await admin.users.findOne({ realm: t.realm, id: aliceId }))?.username, mallory, 'server 2 took alice\'s id for mallory');
    broker = await startBroker();
  });
  after(async () => {
    await broker?.close();
    await admin?.realms.del({ realm: t.realm }).catch(() => {});
  });

  it('the platform issuer says a different sub for mallory than for alice, each scoped to the tenant', async () => {
    const hers = await idTokenAt(platform(), mallory);
    const alices = await idTokenAt(platform(), ALICE);
    assert.notEqual(hers.sub, alices.sub, 'mallory was alice at the platform issuer');
    assert.equal(alices.sub, `${ACME_ID}:${aliceId}`);
    assert.equal(hers.sub, `${t.id}:${aliceId}`);
    assert.equal(hers.tenant, t.realm);
  });

  it('a sid set by a realm admin\'s mapper is not what the platform says: its sid is the realm session\'s own', async () => {
    // Attack round 33: a hardcoded-claim mapper on the realm's platform-demo client set `sid` to
    // alice's; the platform issuer's ID token (and its apps' logout tokens) then named alice's
    // session for mallory, and an app ending sessions by (iss, sid) signed alice out.
    const alices = await idTokenAt(platform(), ALICE);
    const [client] = await admin.clients.find({ realm: t.realm, clientId: 'platform-demo' });
    await admin.clients.addProtocolMapper({ realm: t.realm, id: client!.id! }, {
      name: 'forged-sid', protocol: 'openid-connect', protocolMapper: 'oidc-hardcoded-claim-mapper',
      config: { 'claim.name': 'sid', 'claim.value': String(alices.sid), 'jsonType.label': 'String', 'id.token.claim': 'true', 'access.token.claim': 'true' },
    });
    const hers = await idTokenAt(platform(), mallory);
    assert.equal(typeof hers.sid, 'string');
    assert.notEqual(hers.sid, alices.sid, 'mallory\'s ID token named alice\'s session');
  });

  it('a tenant\'s own issuer says the realm\'s user id (one realm, one issuer)', async () => {
    assert.equal((await idTokenAt(ownIssuer('acme'), ALICE)).sub, aliceId);
    assert.equal((await idTokenAt(ownIssuer(t.realm), mallory)).sub, aliceId);
  });

  it('the platform\'s userinfo says the sub its ID tokens say; a tenant issuer\'s, the realm\'s', async () => {
    const hers = await connectToken(mallory, 'mallory-pass', t.id);
    const alices = await connectToken(ALICE, 'alice-pass', ACME_ID);
    assert.equal(claims(hers).sub, aliceId, 'the realm token itself carries the realm id');
    assert.equal((await userinfo(hers, platform())).sub, `${t.id}:${aliceId}`);
    assert.equal((await userinfo(alices, platform())).sub, `${ACME_ID}:${aliceId}`);
    assert.equal((await userinfo(hers, ownIssuer(t.realm))).sub, aliceId);
  });
});

describe('a realm of another server carrying a tenant\'s realm id', function () {
  // Attack round 33 (2026-12-07): a realm made on server 2 under a name of its own with acme's
  // id was served as a second tenant with that id: the connect API's realm=<acme's UUID> went
  // to it (passwords included), and its users got acme's users' platform `sub`. Now one tenant
  // per realm id: the one established there keeps it (build-tenants.ts).
  this.timeout(120_000);
  const t = makeTestTenant();
  let admin: KcAdminClient;
  let broker: TestBroker;
  let aliceId: string;

  before(async () => {
    admin = new KcAdminClient({ baseUrl: KEYCLOAK2_URL, realmName: 'master' });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    // acme stands (established at once here) before the impostor appears.
    broker = await startBroker({ env: { TENANT_ESTABLISH_MINUTES: '0', TENANT_CACHE_TTL_MS: '500' } });
    assert.equal((await broker.deps.tenants.byId(ACME_ID))?.slug, 'acme');
    const acme = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
    await acme.auth({ grantType: 'client_credentials', ...ADMIN });
    aliceId = (await acme.users.find({ realm: 'acme', username: 'alice@acme.example', exact: true }))[0]!.id!;
    t.representation.users!.push({
      id: aliceId, username: 'mallory', email: `mallory@${t.domain}`, enabled: true, firstName: 'Mal', lastName: 'Lory',
      credentials: [{ type: 'password', value: 'mallory-pass', temporary: false }],
    });
    await admin.realms.create({ ...t.representation, id: ACME_ID });
    await new Promise((r) => setTimeout(r, 800));
    assert.ok((await broker.deps.tenants.coverage()).tenants.length > 0);
  });
  after(async () => {
    await broker?.close();
    await admin?.realms.del({ realm: t.realm }).catch(() => {});
  });

  it('is not a tenant; acme keeps its UUID, and the impostor\'s users cannot sign in by it', async () => {
    const [user] = Object.entries(t.users);
    assert.equal(await broker.deps.tenants.bySlug(t.realm), undefined, 'the impostor realm is a tenant');
    assert.equal((await broker.deps.tenants.byId(ACME_ID))?.slug, 'acme');
    assert.ok(broker.logs.some((l) => l.includes(`realm id ${ACME_ID} is carried by ${t.realm}`)), 'the operator is told');
    // Its user's password goes to acme's realm, which has no such user.
    const res = await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: user![0], password: user![1], realm: ACME_ID, scopes: 'openid' });
    assert.equal(res.status, 401, JSON.stringify(res.body));
    // acme's own users are served as before.
    assert.equal((await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', realm: ACME_ID })).status, 200);
  });

  it('its tokens are no tenant\'s: the platform does not say acme, nor alice\'s sub, for them', async () => {
    // mallory (alice's user id) takes a token straight from the impostor realm, where she is at home.
    const res = await fetch(`${KEYCLOAK2_URL}/realms/${t.realm}/protocol/openid-connect/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'password', client_id: 'realm-broker', client_secret: 'realm-broker-secret', username: 'mallory', password: 'mallory-pass', scope: 'openid' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { access_token: token } = (await res.json()) as { access_token: string };
    assert.equal(claims(token).sub, aliceId);
    const info = await fetch(`${broker.url}/api/v1/platform/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(info.status, 401, `userinfo said ${await info.clone().text()}`);
    const acmeInfo = await fetch(`${broker.url}/api/v1/auth/tenants/acme/oauth/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(acmeInfo.status, 401);
    const inspected = await post(`${broker.url}/api/v1/platform/oauth/introspect`, { token, client_id: 'platform-service', client_secret: 'platform-service-secret' });
    assert.equal(inspected.body.active, false);
  });
});
