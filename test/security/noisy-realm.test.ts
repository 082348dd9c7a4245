/**
 * One realm's stalled calls take its share of a Keycloak server through the broker, never the
 * whole server (upstream/realm-slots.ts). A realm's admin gives it a user federation whose LDAP
 * never answers; callers (as many addresses as they like: the limits are set out of the way
 * here) send 160 of its password grants all at once. Each grant holds a Keycloak worker until
 * the LDAP's timeouts end it, and Keycloak 26 here stops serving every realm at about 80 of them
 * at once (2026-12-06). Before the fix they all went through and acme's grants on the same
 * server timed out; now 16 (the default share) reach Keycloak, 128 wait in line until their
 * deadline, the rest are refused at once, and acme is served throughout.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ACME_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { asLdapUser, federateWith, startStallingLdap, type StallingLdap } from '../helpers/stalling-ldap.js';
import { LINE_PER_SLOT } from '../../src/upstream/realm-slots.js';
import { createRealms, deleteRealms, makeTestTenant, serverAdmin } from '../helpers/test-tenant.js';

const SHARE = 16; // maxInFlightPerRealm's default
const LINE = SHARE * LINE_PER_SLOT;
const REFUSED = 16;
const BURST = SHARE + LINE + REFUSED;

/**
 * These tests are about a realm's share, and all their calls come from 127.0.0.1, standing for
 * the realm's many callers: here one address may take the whole share (its part of the share,
 * half by default, is test/resilience/realm-slots.test.ts's).
 */
function anyCallerMayTakeTheShare(broker: TestBroker): void {
  (broker.deps.upstreams.get('server1').slots as { perAddress: number }).perAddress = SHARE;
}

describe('a realm whose calls stall takes its share of server 1, not the server', function () {
  this.timeout(240_000);
  const t = makeTestTenant();
  const tag = randomUUID().slice(0, 6);
  const names = Array.from({ length: BURST }, (_, i) => `ghost-${i}-${tag}@${t.domain}`);
  let broker: TestBroker;
  let ldap: StallingLdap;
  const login = (name: string) => post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: name, password: 'wrong', realm: t.id, scopes: 'openid' });
  const acmeGrant = async () => {
    const started = performance.now();
    const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: ACME_ID });
    return { status: res.status, ms: performance.now() - started };
  };

  before(async () => {
    await createRealms(t);
    const scaiwave = JSON.parse(readFileSync('demo.config.json', 'utf8')).scaiwave ?? {};
    broker = await startBroker({ overrides: { scaiwave: { hosts: {}, tenantHeader: '', redirectUris: {}, ...scaiwave, rateLimit: { perUser: 1000, perAddress: 100_000, windowSeconds: 60 } } } });
    anyCallerMayTakeTheShare(broker);
    // Each name known as no account's before the stall (the account lookup keeps that 5
    // minutes), so that its grant goes straight to Keycloak, which asks the LDAP.
    for (let i = 0; i < names.length; i += 8) {
      for (const res of await Promise.all(names.slice(i, i + 8).map(login))) assert.equal(res.status, 401, JSON.stringify(res.body));
    }
    ldap = await startStallingLdap();
    await federateWith(await serverAdmin(), t.realm, ldap, 6000);
  });
  after(async () => {
    ldap?.close();
    await broker?.close();
    await deleteRealms(t);
  });

  it(`${BURST} stalled grants at once: ${SHARE} reach Keycloak, ${LINE} wait, the rest are refused, and acme is served throughout`, async () => {
    const slots = broker.deps.upstreams.get('server1').slots;
    const burst = Promise.all(names.map(login));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(slots.inFlight(t.realm), SHARE, 'the realm\'s share in flight');
    assert.ok(ldap.open() > 0, 'the grants are stalled in the LDAP');
    for (let i = 0; i < 3; i++) {
      const granted = await acmeGrant();
      assert.equal(granted.status, 200, 'acme, on the same server, is served');
      assert.ok(granted.ms < 2000, `acme's grant took ${Math.round(granted.ms)} ms`);
    }

    const statuses = (await burst).map((res) => res.status);
    const count = (status: number) => statuses.filter((s) => s === status).length;
    assert.equal(count(504), SHARE + LINE, `those sent and those that waited in line ran out of time (${statuses.join(',')})`);
    assert.equal(count(503), REFUSED, 'the rest were refused at once');
    assert.equal(broker.deps.upstreams.get('server1').breaker.snapshot().state, 'closed', 'a realm\'s stalls are not its server down');

    // The callers have their answers, Keycloak's workers are still busy: so are the slots.
    assert.equal(slots.inFlight(t.realm), SHARE, 'slots are kept while Keycloak works on the calls');
    assert.equal((await login(names[0]!)).status, 504, 'another grant of the realm waits in line (then stalls) until its deadline');
    const since = performance.now();
    while (slots.inFlight(t.realm) > 0 && performance.now() - since < 60_000) await new Promise((r) => setTimeout(r, 250));
    assert.equal(slots.inFlight(t.realm), 0, 'released as Keycloak answered');
    assert.equal((await acmeGrant()).status, 200);
  });

  it('userinfo and user searches take the realm\'s slots too: with acme\'s all taken they wait in line, then are served', async () => {
    const slots = broker.deps.upstreams.get('server1').slots;
    const alice = await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass', realm: ACME_ID, scopes: 'openid' });
    assert.equal(alice.status, 200);
    const userinfo = () => fetch(`${broker.url}/api/v1/platform/oauth/userinfo`, { headers: { authorization: `Bearer ${alice.body.access_token}` } });
    assert.equal((await userinfo()).status, 200);
    const taken = await Promise.all(Array.from({ length: SHARE }, () => slots.take('acme', 1000)));
    try {
      assert.equal((await userinfo()).status, 504, 'waited in acme\'s line until the deadline');
      await assert.rejects(broker.deps.upstreams.get('server1').admin.findUsersByEmail('acme', 'alice@acme.example'), (err: { status?: number }) => err.status === 504);
    } finally {
      for (const slot of taken) slot.release();
    }
    assert.equal((await userinfo()).status, 200);
    assert.equal((await broker.deps.upstreams.get('server1').admin.findUsersByEmail('acme', 'alice@acme.example')).length, 1);
  });
});

// Attack of 2026-12-06 on the first version of the share, which freed a held call's slot after
// 60 s: the realm's admin made a user of theirs their LDAP's, with a 600 s timeout, and sent her
// token's exchanges (Keycloak asks the LDAP about her on each, and waits the whole timeout; a
// user search it gives up after about 3 s): each minute 16 more of Keycloak's workers stayed stalled,
// until server 1 served no realm. A held call now keeps its slot until Keycloak answers.
describe('a realm whose calls stall longer than a minute still holds only its share', function () {
  this.timeout(240_000);
  const t = makeTestTenant();
  const mallory = Object.keys(t.users)[0]!;
  const user = t.representation.users!.find((u) => u.username === mallory)!;
  user.attributes = { ...user.attributes, ...asLdapUser(mallory) };
  let broker: TestBroker;
  let ldap: StallingLdap;
  let token: string;
  /** Token exchange of her token (RFC 8693): Keycloak loads her to check the subject token. */
  const exchange = async () => (await post(`${broker.url}/api/v1/platform/oauth/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', client_id: 'exchange-demo', client_secret: 'exchange-demo-secret',
    subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
  })).status;

  before(async () => {
    await createRealms(t);
    broker = await startBroker();
    anyCallerMayTakeTheShare(broker);
    const signedIn = await post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: mallory, password: t.users[mallory]!, realm: t.id, scopes: 'openid' });
    assert.equal(signedIn.status, 200);
    token = signedIn.body.access_token as string;
    assert.equal(await exchange(), 200);
    ldap = await startStallingLdap();
    await federateWith(await serverAdmin(), t.realm, ldap, 600_000, [mallory]);
  });
  after(async () => {
    ldap?.close(); // Keycloak's stalled calls end with it
    await broker?.close();
    await deleteRealms(t);
  });

  it('past a minute its first calls keep their slots, and a second wave does not reach Keycloak', async () => {
    const slots = broker.deps.upstreams.get('server1').slots;
    const wave = () => Promise.all(Array.from({ length: SHARE }, exchange));
    assert.deepEqual(new Set(await wave()), new Set([504]));
    await new Promise((r) => setTimeout(r, 65_000));
    assert.equal(slots.inFlight(t.realm), SHARE, 'still held: Keycloak is still working on them');
    const stalledConnections = ldap.open();
    assert.ok(stalledConnections > 0);
    assert.deepEqual(new Set(await wave()), new Set([504]), 'waited in line');
    assert.equal(ldap.open(), stalledConnections, 'no more of Keycloak\'s workers stalled');
    assert.equal((await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: ACME_ID })).status, 200);

    ldap.close();
    const since = performance.now();
    while (slots.inFlight(t.realm) > 0 && performance.now() - since < 20_000) await new Promise((r) => setTimeout(r, 250));
    assert.equal(slots.inFlight(t.realm), 0, 'released as Keycloak answered (its LDAP gone)');
  });
});
