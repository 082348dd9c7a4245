/**
 * The per-user password limit counts attempts per account, not per name typed (attack of
 * 2026-12-06): Keycloak signs a user in by username or by email, and counting by the name
 * typed gave every account whose username is not its email two allowances (one per
 * spelling). A user of that kind in a realm made for the test (the demo users' usernames
 * are their emails).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';
import { makeTestTenant } from '../migration/test-realm.js';

describe('the per-user password limit counts the account, by username or email alike', function () {
  this.timeout(120_000);
  const t = makeTestTenant();
  const username = `dana-${randomUUID().slice(0, 8)}`;
  const email = `dana@${t.domain}`;
  t.representation.users!.push({
    username, email, emailVerified: true, enabled: true, firstName: 'Dana', lastName: 'Two Names',
    credentials: [{ type: 'password', value: 'dana-pass', temporary: false }],
  });
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  let broker: TestBroker;

  before(async () => {
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    await admin.realms.create(t.representation);
    broker = await startBroker({
      overrides: { scaiwave: { hosts: {}, tenantHeader: 'x-tenant', redirectUris: {}, rateLimit: { perUser: 5, perAddress: 1000, windowSeconds: 60 } } },
    });
  });
  after(async () => {
    await broker?.close();
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    await admin.realms.del({ realm: t.realm }).catch(() => {});
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
});
