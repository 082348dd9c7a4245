/**
 * A realm admin's word on an email domain never reaches another tenant's users (attack of
 * 2026-12-06, open until this test). The admin of a realm made for the test lists
 * `contractor.example` in its `email-domains` attribute (no tenant holds it; carol of globex
 * and frank of initech have addresses there), creates a `carol@contractor.example` of their own
 * and marks it verified. Before: the platform sent carol's and frank's sign-ins to that realm
 * and vouched (`email_verified`) for its carol. Now: an address another tenant has goes where
 * its users are, and is not vouched for; the realm's word still holds for addresses no other
 * tenant has. Against both demo Keycloak servers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { AddressHolders } from '../../src/tenancy/address-holders.js';
import { EmailVouching } from '../../src/tenancy/email-vouching.js';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { federateWith, startStallingLdap, type StallingLdap } from '../helpers/stalling-ldap.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';
import { createRealms, deleteRealms, makeTestTenant } from '../helpers/test-tenant.js';

describe('a domain a realm lists where other tenants\' users live', function () {
  this.timeout(120_000);
  const t = makeTestTenant();
  const zed = `zed-${randomUUID().slice(0, 8)}@contractor.example`;
  t.representation.attributes!['realm-broker.email-domains'] = `${t.domain},contractor.example`;
  for (const email of ['carol@contractor.example', zed]) {
    t.representation.users!.push({
      username: email, email, emailVerified: true, enabled: true, firstName: 'Squat', lastName: 'Ter',
      credentials: [{ type: 'password', value: 'squat-pass', temporary: false }],
    });
  }
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  let broker: TestBroker;

  before(async () => {
    await createRealms(t);
    broker = await startBroker();
  });
  after(async () => {
    await broker?.close();
    await deleteRealms(t);
  });

  const slugs = async (email: string) => (await broker.deps.discovery.find(email)).map((x) => x.slug).sort();
  const tokenOf = async (email: string) => {
    const res = await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: email, password: 'squat-pass', realm: t.id, scopes: 'openid' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.access_token as string;
  };
  const userinfo = async (issuer: string, token: string) =>
    (await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<Record<string, unknown>>;
  const introspect = async (token: string) =>
    (await post(`${broker.url}/api/v1/platform/oauth/introspect`, { token, client_id: 'platform-service', client_secret: 'platform-service-secret' })).body as Record<string, unknown>;

  it('the realm holds the domain as its admin says (a tenant of its own name)', async () => {
    assert.deepEqual((await broker.deps.tenants.bySlug(t.realm))!.emailDomains, [t.domain, 'contractor.example']);
  });

  it('discovery sends an address another tenant has where its users are, on either server', async () => {
    assert.deepEqual(await slugs('carol@contractor.example'), [t.realm, 'globex'].sort(), 'globex\'s carol, beside the realm\'s own');
    assert.deepEqual(await slugs('frank@contractor.example'), ['initech'], 'frank lives on server 2 only');
    assert.deepEqual(await slugs(zed), [t.realm], 'an address no other tenant has: the realm\'s word holds');
    assert.deepEqual(await slugs(`nobody-${randomUUID().slice(0, 8)}@contractor.example`), [t.realm], 'nor does anyone else');
  });

  it('the platform does not vouch for the realm\'s carol; it does for an address no other tenant has', async () => {
    const carol = await tokenOf('carol@contractor.example');
    const said = await userinfo(`${broker.url}/api/v1/platform/oauth`, carol);
    assert.equal(said.email, 'carol@contractor.example');
    assert.equal(said.tenant, t.realm);
    assert.equal(said.email_verified, undefined, 'platform userinfo');
    const inspected = await introspect(carol);
    assert.equal(inspected.active, true);
    assert.equal(inspected.email_verified, undefined, 'platform introspection');
    assert.equal((await userinfo(`${broker.url}/api/v1/auth/tenants/${t.realm}/oauth`, carol)).email_verified, true, 'its own issuer passes its realm\'s word on');
    const squatter = (await broker.deps.tenants.bySlug(t.realm))!;
    assert.equal(await broker.deps.vouching.vouches(squatter, 'carol@contractor.example'), false, 'the rule its ID tokens follow');

    const own = await tokenOf(zed);
    assert.equal((await userinfo(`${broker.url}/api/v1/platform/oauth`, own)).email_verified, true);
    assert.equal((await introspect(own)).email_verified, true);
    assert.equal(await broker.deps.vouching.vouches(squatter, zed), true);
  });

  // With `emailWithoutDomainRule: ask` addresses are routed by domain rules alone, never by a
  // lookup: a realm-listed domain is looked up all the same, as its rule holds only for
  // addresses no other tenant has.
  it('with emailWithoutDomainRule "ask", carol is asked for her organisation, not sent to the realm', async () => {
    const APP = 'http://127.0.0.1:8765/';
    const asking = await startBroker({ overrides: { platform: { homeTenant: 'acme', idTokenTtlSeconds: 300, deviceCodeTtlSeconds: 600, deviceIntervalSeconds: 5, userCodeAttempts: 10, discoveryAttempts: 100, emailWithoutDomainRule: 'ask' } } });
    try {
      const start = (email: string) => new HttpBrowser(APP).go(`${asking.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
        client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid',
        code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', login_hint: email,
      })}`);
      const carol = await start('carol@contractor.example');
      assert.equal(carol.url.origin, asking.url, 'no realm redirect');
      assert.match(carol.html, /Which organisation/);
      const own = await start(zed);
      assert.ok(own.url.href.startsWith(`${KEYCLOAK_URL}/realms/${t.realm}/`), String(own.url));
    } finally {
      await asking.close();
    }
  });

  // Attack of 2026-12-06, on the fix above: the realm's admin gave it an LDAP user federation
  // whose server never answers, so every user search in that realm stalled; enough of them at
  // once opened server 1's breaker, every search there failed, and an address nobody could be
  // found for went to the domain's tenant: carol's sign-in went to the realm.
  describe('while the realm\'s own user searches stall (its admin\'s LDAP never answers)', () => {
    let stall: StallingLdap;
    const guessers = [1, 2, 3, 4].map((i) => `guess-${i}-${randomUUID().slice(0, 6)}@${t.domain}`);
    const login = (name: string) => post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: name, password: 'wrong', realm: t.id, scopes: 'openid' });
    /** A vouching whose answers are never fresh: each asks every realm again. */
    let vouching: EmailVouching;
    const acme = async () => (await broker.deps.tenants.bySlug('acme'))!;
    before(async () => {
      vouching = new EmailVouching(new AddressHolders(broker.deps.tenants, broker.deps.upstreams, undefined, 0));
      assert.equal(await vouching.vouches(await acme(), 'alice@acme.example'), true, 'before the stall');
      // Names the password limit then knows as no account's (kept 5 minutes): their grants go
      // straight to Keycloak, which asks the stalling LDAP.
      for (const name of guessers) assert.equal((await login(name)).status, 401, name);
      stall = await startStallingLdap();
      await admin.auth({ grantType: 'client_credentials', ...ADMIN });
      await federateWith(admin, t.realm, stall, 4000);
    });
    after(() => stall?.close());

    it('server 1 stays up, carol and frank go where they live, an address nobody else has goes nowhere, and alice is not held up', async () => {
      const fresh = () => `x-${randomUUID().slice(0, 8)}@contractor.example`;
      // Searches of the realm at once, each stalled: enough to open the breaker if they counted.
      const burst = await Promise.allSettled([1, 2, 3, 4].map(() => broker.deps.discovery.find(fresh())));
      for (const r of burst) assert.equal(r.status, 'rejected', 'nobody found while the realm cannot be asked: the outage, not the realm');
      assert.equal(broker.deps.upstreams.get('server1').breaker.snapshot().state, 'closed', 'one realm\'s slow searches are not its server down');
      assert.ok((await slugs('carol@contractor.example')).includes('globex'), 'globex\'s carol (the realm\'s own, from the minute\'s cache, beside her)');
      assert.deepEqual(await slugs('frank@contractor.example'), ['initech']);
      await assert.rejects(broker.deps.discovery.find(fresh()), (err: { code?: string }) => err.code === 'upstream_timeout', 'not the realm');
      const started = performance.now();
      assert.deepEqual(await slugs('alice@acme.example'), ['acme']);
      assert.ok(performance.now() - started < 1000, `alice waited ${Math.round(performance.now() - started)} ms`);
    });

    it('alice, known from before the stall, keeps email_verified at the platform; an address never looked up does not get it', async () => {
      assert.equal(await vouching.vouches(await acme(), 'alice@acme.example'), true, 'what the stalled realm said within the hour stands for it');
      assert.equal(await vouching.vouches(await acme(), `nobody-${randomUUID().slice(0, 8)}@acme.example`), false, 'no realm asked, nothing known: not vouched');
    });

    // The second attack: the realm's password grants, stalled in its LDAP, opened server 1's
    // breaker (three timeouts at once), and while it was open globex could not be asked.
    it('the realm\'s stalled password grants do not take server 1 down for the other realms', async () => {
      const stalled = await Promise.all(guessers.map(login));
      for (const res of stalled) assert.equal(res.status, 504, JSON.stringify(res.body));
      // Right away: an open breaker would be closed again by its probe half a second later.
      assert.equal(broker.deps.upstreams.get('server1').breaker.snapshot().state, 'closed');
      const acmeToken = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: (await acme()).id });
      assert.equal(acmeToken.status, 200, 'another tenant of server 1 is served');
      await new Promise((r) => setTimeout(r, 1500)); // the server's own probe has answered
      assert.equal(broker.deps.upstreams.get('server1').breaker.snapshot().state, 'closed', 'and stays closed');
    });

    // The third attack: with the points given back for a timeout, one address kept twenty
    // stalled grants in flight without end (each a Keycloak worker held for the LDAP's timeout),
    // until the server had none left for any realm. A stalled account lookup ends the attempt,
    // counted; a grant with no answer in time counts too.
    it('stalled attempts count against the address: the fourth of three allowed is refused before Keycloak', async () => {
      const limited = await startBroker({ overrides: { scaiwave: { hosts: {}, tenantHeader: '', redirectUris: {}, rateLimit: { perUser: 5, perAddress: 3, windowSeconds: 60 } } } });
      try {
        const attempt = (name = `new-${randomUUID().slice(0, 8)}@${t.domain}`) => post(`${limited.url}/auth/api/v1/oauth/connect/user/login`, { username: name, password: 'x', realm: t.id, scopes: 'openid' });
        for (let i = 0; i < 2; i++) {
          const started = performance.now();
          const res = await attempt();
          assert.equal(res.status, 504, JSON.stringify(res.body));
          assert.ok(performance.now() - started < 2800, 'the account lookup gave up after its budget, not the deadline');
        }
        // A name known as no account's (before the stall): its grant goes to Keycloak and stalls there.
        assert.equal((await attempt(guessers[0])).status, 504);
        assert.equal((await attempt()).status, 429);
      } finally {
        await limited.close();
      }
    });
  });
});
