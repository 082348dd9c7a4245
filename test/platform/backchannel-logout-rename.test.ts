/**
 * A realm's back-channel logout for a session begun before its admin renamed the realm (attack
 * round 50, left alone then). Keycloak's logout token names the issuer the session began under,
 * which no realm has after the rename: the broker refused it (400, "not issued by a known realm"),
 * and neither ended its session nor told the apps. And another realm's admin, signing with a key
 * of their own, names a session of a realm that is not theirs: nothing of it ends.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { startLogoutCapture, type LogoutCapture } from '../helpers/logout-capture.js';
import { signIn } from '../helpers/platform-rp.js';
import { KEYCLOAK_URL } from '../helpers/services.js';
import { records } from '../../src/surfaces/platform/transactions.js';
import { createRealms, deleteRealms, makeTestTenant, serverAdmin } from '../helpers/test-tenant.js';
import demo from '../../demo.config.json' with { type: 'json' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('back-channel logout of a session begun before its realm was renamed', function () {
  this.timeout(120_000);
  const t = makeTestTenant();
  const renamed = `${t.realm}-renamed`;
  const renamedAgain = `${t.realm}-again`;
  const taker = makeTestTenant();
  const user = `ann@${t.domain}`;
  let broker: TestBroker;
  let capture: LogoutCapture;
  let received: LogoutCapture['received'];

  before(async () => {
    capture = await startLogoutCapture();
    received = capture.received;
    const captureUrl = capture.url;
    await createRealms(t);
    broker = await startBroker({
      overrides: {
        tenantCacheTtlMs: 300, tenantEstablishMinutes: 0,
        tenants: { [t.realm]: { upstream: 'server1', realmId: t.id } },
        apps: { ...demo.apps, 'platform-demo': { ...demo.apps['platform-demo'], backchannelLogoutUri: `${captureUrl}/web` } },
      },
    });
    // The realm side, as sync-apps sets it: the app's client in the realm calls the broker back.
    const admin = await serverAdmin();
    const [client] = await admin.clients.find({ realm: t.realm, clientId: 'platform-demo' });
    await admin.clients.update({ realm: t.realm, id: client!.id! }, {
      ...client,
      attributes: { ...client!.attributes, 'backchannel.logout.url': `${broker.url}/api/v1/platform/oauth/backchannel-logout`, 'backchannel.logout.session.required': 'true' },
    });
  });
  after(async () => {
    await broker?.close();
    capture?.close();
    await deleteRealms(t, { ...t, realm: renamed }, { ...t, realm: renamedAgain }, taker);
  });

  it('ends the broker session and tells its app, the logout token naming the issuer the session began under', async () => {
    const platform = `${broker.url}/api/v1/platform/oauth`;
    const { tokens, browser } = await signIn(platform, user, { brokerUrl: broker.url });
    const ssoId = browser.cookies(new URL(broker.url).host).get('rb_sso')!;
    assert.ok(await broker.deps.store.get(`sso:${ssoId}`), 'a broker session');

    // The realm's admin renames it; the broker reads its realm list again.
    const admin = await serverAdmin();
    await admin.realms.update({ realm: t.realm }, { realm: renamed });
    await sleep(700);
    await broker.deps.tenants.all();
    assert.equal((await broker.deps.tenants.bySlug(t.realm))?.realm, renamed, 'the tenant is on the renamed realm');
    assert.equal((await broker.deps.tenants.realmByIssuer(`${KEYCLOAK_URL}/realms/${renamed}`))?.id, t.id, 'its new issuer is known');

    // The realm ends ann's sessions: Keycloak's logout token names .../realms/<the old name>.
    const [ann] = await admin.users.find({ realm: renamed, username: user });
    await admin.users.logout({ realm: renamed, id: ann!.id! });
    for (let i = 0; i < 40 && !received.some((r) => r.path === '/web'); i++) await sleep(100);
    const told = received.find((r) => r.path === '/web');
    assert.ok(told, `the app was told (broker log: ${broker.logs.filter((l) => /logout/i.test(l)).slice(-3).join(' | ')})`);
    const claims = (await jose.jwtVerify(told.token, jose.createRemoteJWKSet(new URL(`${platform}/.well-known/jwks.json`)), { issuer: platform, audience: 'platform-demo' })).payload;
    assert.equal(claims.sub, tokens.claims()!.sub);
    assert.equal(await broker.deps.store.get(`sso:${ssoId}`), undefined, 'the broker session ended');
  });

  it('does not end a session of another realm that a realm\'s own key names by its sid', async () => {
    const other = makeTestTenant();
    await createRealms(other);
    try {
      const platform = `${broker.url}/api/v1/platform/oauth`;
      const { browser } = await signIn(platform, user, { brokerUrl: broker.url });
      const ssoId = browser.cookies(new URL(broker.url).host).get('rb_sso')!;
      const sso = (await records.sso.get(broker.deps.store, ssoId))!;
      assert.ok(sso.realmSessionId, 'the session names its realm session');

      // The other realm's admin adds a signing key of their own (a realm admin can), and signs a
      // logout token as their realm, naming the tenant's user's realm session.
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const admin = await serverAdmin();
      await admin.components.create({
        realm: other.realm, name: 'own-key', providerId: 'rsa', providerType: 'org.keycloak.keys.KeyProvider', parentId: other.id,
        config: { priority: ['500'], enabled: ['true'], active: ['true'], algorithm: ['RS256'], privateKey: [privateKey.export({ type: 'pkcs1', format: 'pem' }) as string] },
      });
      const n = privateKey.export({ format: 'jwk' }).n;
      const jwks = await (await fetch(`${KEYCLOAK_URL}/realms/${other.realm}/protocol/openid-connect/certs`)).json() as { keys: { kid: string; n?: string }[] };
      const kid = jwks.keys.find((k) => k.n === n)?.kid;
      assert.ok(kid, 'the key is published');
      const forged = await new jose.SignJWT({ typ: 'Logout', sid: sso.realmSessionId, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
        .setProtectedHeader({ alg: 'RS256', kid }).setIssuer(`${KEYCLOAK_URL}/realms/${other.realm}`).setAudience('platform-demo')
        .setIssuedAt().setExpirationTime('2m').setJti(randomUUID()).sign(privateKey);
      received.length = 0;
      const res = await fetch(`${platform}/backchannel-logout`, { method: 'POST', body: new URLSearchParams({ logout_token: forged }) });
      assert.equal(res.status, 200, 'a valid logout token of that realm');
      await sleep(1000);
      assert.ok(await broker.deps.store.get(`sso:${ssoId}`), 'the tenant\'s session goes on');
      assert.equal(received.length, 0, 'no app was told');
    } finally {
      await deleteRealms(other);
    }
  });

  it('ends it too when another realm has taken the name the session began under (round 53)', async () => {
    // The tenant's realm is called `renamed` by now; ann signs in under that name.
    const platform = `${broker.url}/api/v1/platform/oauth`;
    received.length = 0;
    const { browser } = await signIn(platform, user, { brokerUrl: broker.url });
    const ssoId = browser.cookies(new URL(broker.url).host).get('rb_sso')!;
    // Its admin renames it again, and another realm's admin takes the name it had.
    const admin = await serverAdmin();
    await admin.realms.update({ realm: renamed }, { realm: renamedAgain });
    await createRealms(taker);
    await admin.realms.update({ realm: taker.realm }, { realm: renamed });
    await sleep(700);
    await broker.deps.tenants.all();
    assert.equal((await broker.deps.tenants.realmByIssuer(`${KEYCLOAK_URL}/realms/${renamed}`))?.id, taker.id, 'the old issuer is the other realm\'s now');
    const [ann] = await admin.users.find({ realm: renamedAgain, username: user });
    await admin.users.logout({ realm: renamedAgain, id: ann!.id! });
    for (let i = 0; i < 40 && !received.some((r) => r.path === '/web'); i++) await sleep(100);
    assert.ok(received.some((r) => r.path === '/web'), `the app was told (broker log: ${broker.logs.filter((l) => /logout/i.test(l)).slice(-2).join(' | ')})`);
    assert.equal(await broker.deps.store.get(`sso:${ssoId}`), undefined, 'the broker session ended');
  });
});
