/**
 * The per-user password limit counts attempts per account, not per name typed (attack of
 * 2026-12-06): Keycloak signs a user in by username or by email, and counting by the name
 * typed gave every account whose username is not its email two allowances (one per
 * spelling). A user of that kind in a realm made for the test (the demo users' usernames
 * are their emails).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { passwordAccountKey } from '../../src/surfaces/shared/password-account.js';
import type { Tenant } from '../../src/tenancy/tenant.js';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { createRealms, deleteRealms, makeTestTenant } from '../helpers/test-tenant.js';

describe('the per-user password limit counts the account, by username or email alike', function () {
  this.timeout(120_000);
  const t = makeTestTenant();
  const username = `dana-${randomUUID().slice(0, 8)}`;
  const email = `dana@${t.domain}`;
  t.representation.users!.push({
    username, email, emailVerified: true, enabled: true, firstName: 'Dana', lastName: 'Two Names',
    credentials: [{ type: 'password', value: 'dana-pass', temporary: false }],
  });
  const ella = `ella-${randomUUID().slice(0, 8)}`;
  t.representation.users!.push({
    username: ella, email: `ella@${t.domain}`, emailVerified: true, enabled: true, firstName: 'Ella', lastName: 'Target',
    credentials: [{ type: 'password', value: 'ella-pass', temporary: false }],
  });
  let broker: TestBroker;

  before(async () => {
    await createRealms(t);
    broker = await startBroker({
      overrides: { scaiwave: { hosts: {}, tenantHeader: 'x-tenant', redirectUris: {}, rateLimit: { perUser: 5, perAddress: 1000, windowSeconds: 60 } } },
    });
  });
  after(async () => {
    await broker?.close();
    await deleteRealms(t);
  });

  const login = (name: string, password: string) =>
    post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: name, password, realm: t.id, scopes: 'openid' });

  it('both names sign the user in; five wrong guesses by username use up the email\'s allowance too', async () => {
    assert.equal((await login(username, 'dana-pass')).status, 200, 'by username');
    assert.equal((await login(email, 'dana-pass')).status, 200, 'by email');
    for (let i = 0; i < 5; i++) assert.equal((await login(username, `guess-${i}`)).status, 401, `guess ${i}`);
    const byEmail = await login(email, 'guess-5');
    assert.equal(byEmail.status, 429, 'the same account: refused before Keycloak');
    assert.equal(byEmail.body.error, 'rate_limited');
    assert.equal((await login(email.toUpperCase(), 'guess-6')).status, 429, 'in any letter case');
    assert.equal((await login(` ${username} `, 'guess-7')).status, 429, 'with spaces around');
    // A name that is no account's is counted as typed: its allowance is its own.
    assert.equal((await login(`nobody-${randomUUID()}@${t.domain}`, 'x')).status, 401);
  });

  // Attack helper round 24: a name that is no account's was counted under `<tenant>:<name>`,
  // an account under `<tenant>:account:<id>`; the name `account:<id>` was the account's key.
  // And a padded name went to Keycloak padded: a refusal that found no account (nothing
  // recorded there), counted against the account.
  it('no name reaches an account\'s count but the account\'s own; a padded name signs in, and counts, as the account', async () => {
    const first = await login(ella, 'ella-pass');
    assert.equal(first.status, 200, first.text);
    const sub = JSON.parse(Buffer.from(first.body.access_token.split('.')[1], 'base64url').toString()).sub as string;
    for (let i = 0; i < 6; i++) assert.notEqual((await login(`account:${sub}`, `x-${i}`)).status, 200);
    assert.equal((await login(ella, 'ella-pass')).status, 200, 'ella is not locked out by a made-up name');
    assert.equal((await login(`  ${ella} `, 'ella-pass')).status, 200, 'spaces around her name: Keycloak gets it trimmed');
  });

  // Attack of 2026-12-06: every refusal but a wrong password gave the points back, so an
  // invalid scope made unlimited calls to Keycloak (and admin lookups) past both limits.
  it('an attempt Keycloak refuses for another reason (an invalid scope) counts as well', async () => {
    const name = `nobody-${randomUUID()}`;
    const scoped = () => post(`${broker.url}/auth/api/v1/oauth/connect/user/login`, { username: name, password: 'x', realm: t.id, scopes: 'no-such-scope' });
    for (let i = 0; i < 5; i++) assert.equal((await scoped()).body.error, 'invalid_scope', `attempt ${i}`);
    assert.equal((await scoped()).status, 429);
  });

  // Attack of 2026-12-06: a NUL in the name made Keycloak refuse both the admin lookup and the
  // grant, which counted as no attempt: unlimited calls to Keycloak from one address.
  it('a name with control characters is refused by the input check (422, before any call to Keycloak), on both surfaces', async () => {
    for (const name of ['vic\u0000tim@x.example', 'dana\n', '\u007f']) {
      const connect = await login(name, 'x');
      assert.equal(connect.status, 422, JSON.stringify(name)); // the connect API's answer to invalid input
      assert.match(JSON.stringify(connect.body), /control characters/);
      const scaiwave = await post(`${broker.url}/v1/auth/token`, { username: name, password: 'x' }, { headers: { 'x-tenant': t.realm } });
      assert.equal(scaiwave.status, 422, JSON.stringify(name)); // SW_AUTH_VALIDATION_FAILED, as for any invalid field
      assert.match(JSON.stringify(scaiwave.body), /control characters/);
    }
  });
});

describe('which account a password attempt names (password-account.ts)', () => {
  /** Deps whose admin API answers from `users` and records what it was asked. */
  const fake = (users: { id: string; username: string; email?: string }[]) => {
    const asked: string[] = [];
    const admin = {
      findUsersByEmail: async (_realm: string, email: string) => { asked.push(`email:${email}`); return users.filter((u) => u.email === email); },
      findUsersByUsername: async (_realm: string, name: string) => { asked.push(`username:${name}`); return users.filter((u) => u.username === name); },
    };
    return { asked, deps: { upstreams: { get: () => ({ admin }) } } as unknown as Parameters<typeof passwordAccountKey>[0] };
  };
  const tenant = (loginWithEmail?: boolean) => ({ slug: `t-${randomUUID()}`, realm: `r-${randomUUID()}`, id: randomUUID(), upstream: 'u', features: { passwordGrantEnabled: true, loginWithEmail } }) as unknown as Tenant;

  it('an address names the account of that email first, then of that username, as Keycloak signs in', async () => {
    const { deps, asked } = fake([{ id: 'id-1', username: 'dana', email: 'dana@x.example' }]);
    const t = tenant();
    assert.equal(await passwordAccountKey(deps, t, 'Dana@X.example'), `${t.slug}:account:id-1`);
    assert.equal(await passwordAccountKey(deps, t, 'dana'), `${t.slug}:account:id-1`);
    assert.equal(await passwordAccountKey(deps, t, 'dana@x.example'), `${t.slug}:account:id-1`);
    assert.deepEqual(asked, ['email:dana@x.example', 'username:dana'], 'each name looked up once, then kept');
  });

  // Attack of 2026-12-06: with "login with email" off, Keycloak signs no one in by address,
  // but five wrong attempts at a user's address locked their account.
  it('in a realm with "login with email" off, an address is a username only', async () => {
    const { deps, asked } = fake([{ id: 'id-1', username: 'lock1', email: 'lock1@x.example' }]);
    const t = tenant(false);
    assert.equal(await passwordAccountKey(deps, t, 'lock1@x.example'), `${t.slug}:name:lock1@x.example`);
    assert.deepEqual(asked, ['username:lock1@x.example']);
  });
});
