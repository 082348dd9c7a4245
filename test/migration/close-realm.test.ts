/**
 * Closing a realm a tenant left, and opening it again (src/cli/migrate/close-realm.ts), against
 * the real Keycloak on a realm of its own: what attack round 40 found in the second version.
 * - Turning a client's service accounts off deletes the account's user in Keycloak; the rollback
 *   made a new one, without its roles and with another `sub`. Its user is disabled instead.
 * - The record sits in the realm, where its admins can write it: a `null` crashed the command, a
 *   record naming the closed flow "opened" the realm onto it, one naming a flow that is not there
 *   failed the rollback.
 * - The deny flow without its step (a run cut short, an admin's edit) was bound as it was.
 * - The JWT authorization grant (RFC 7523) was left on.
 * Round 41, against the third:
 * - Keycloak's client registration service stayed open: a token handed out before the close
 *   registered a client with a service account, or gave one a flow of its own.
 * - A second close said "already closed" of a realm whose deny flow its admin had disarmed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { CLOSED_FLOW, CLOSURE_ATTRIBUTE, closeToSignIns, openToSignIns } from '../../src/cli/migrate/close-realm.js';
import { MigrationError } from '../../src/cli/migrate/migration-error.js';
import { ADMIN, KEYCLOAK_URL } from '../helpers/services.js';

describe('migrate --close: closing a realm and opening it again, faithfully', function () {
  this.timeout(60_000);
  const realm = `rb-test-close-${randomUUID().slice(0, 8)}`;
  let admin: KcAdminClient;
  const token = (form: Record<string, string>) => fetch(`${KEYCLOAK_URL}/realms/${realm}/protocol/openid-connect/token`, { method: 'POST', body: new URLSearchParams(form) });
  const clientCredentials = () => token({ grant_type: 'client_credentials', client_id: 'svc', client_secret: 'svc-secret' });
  const password = () => token({ grant_type: 'password', client_id: 'svc', client_secret: 'svc-secret', username: 'una', password: 'una-pass' });
  const fresh = async () => {
    admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
    await admin.auth({ grantType: 'client_credentials', ...ADMIN });
    return admin;
  };
  const svc = async () => (await admin.clients.find({ realm, clientId: 'svc' }))[0]!;

  before(async () => {
    await fresh();
    await admin.realms.create({
      realm, enabled: true,
      roles: { realm: [{ name: 'api-reader' }] },
      clients: [{
        clientId: 'svc', secret: 'svc-secret', publicClient: false, serviceAccountsEnabled: true, directAccessGrantsEnabled: true, standardFlowEnabled: false,
        attributes: { 'oauth2.jwt.authorization.grant.enabled': 'true' },
      }],
      users: [{ username: 'una', enabled: true, email: 'una@close.example', firstName: 'Una', lastName: 'Test', emailVerified: true, credentials: [{ type: 'password', value: 'una-pass', temporary: false }] }],
    });
    const account = await admin.clients.getServiceAccountUser({ realm, id: (await svc()).id! });
    const role = await admin.roles.findOneByName({ realm, name: 'api-reader' });
    await admin.users.addRealmRoleMappings({ realm, id: account.id!, roles: [{ id: role!.id!, name: role!.name! }] });
  });
  after(async () => { await (await fresh()).realms.del({ realm }).catch(() => {}); });

  it('a service account keeps its user (id and roles) through a close and an open; its grant is refused while closed', async () => {
    const before = await admin.clients.getServiceAccountUser({ realm, id: (await svc()).id! });
    assert.equal((await clientCredentials()).status, 200);
    assert.equal(await closeToSignIns(admin, realm), true);
    assert.notEqual((await clientCredentials()).status, 200, 'no client-credentials grant while closed');
    assert.equal((await password()).status, 401, 'no password grant while closed');
    const closedClient = await svc();
    assert.equal(closedClient.attributes!['oauth2.jwt.authorization.grant.enabled'], 'false', 'the JWT authorization grant is off');
    assert.equal(await openToSignIns(admin, realm), true);
    const after = await admin.clients.getServiceAccountUser({ realm, id: (await svc()).id! });
    assert.equal(after.id, before.id, 'the same user: the same sub in its tokens');
    assert.equal(after.enabled, true);
    const roles = (await admin.users.listRealmRoleMappings({ realm, id: after.id! })).map((r) => r.name);
    assert.ok(roles.includes('api-reader'), `its roles: ${roles}`);
    assert.equal((await svc()).attributes!['oauth2.jwt.authorization.grant.enabled'], 'true');
    assert.equal((await clientCredentials()).status, 200);
    assert.equal((await password()).status, 200);
  });

  it('a record its realm\'s admins planted is read by its shape: refused clearly, or never opened onto the closed flow or a flow that is not there', async () => {
    const plant = async (record: unknown) => {
      const rep = await admin.realms.findOne({ realm });
      await admin.realms.update({ realm }, { browserFlow: CLOSED_FLOW, directGrantFlow: CLOSED_FLOW, attributes: { ...rep!.attributes, [CLOSURE_ATTRIBUTE]: JSON.stringify(record) } });
    };
    await closeToSignIns(admin, realm);
    await plant({ flows: null });
    await assert.rejects(openToSignIns(admin, realm), (e: Error) => e instanceof MigrationError && /not what --close wrote/.test(e.message));
    await plant({ flows: { browserFlow: CLOSED_FLOW, directGrantFlow: 'no-such-flow' } });
    assert.equal(await openToSignIns(admin, realm), true);
    const opened = await admin.realms.findOne({ realm });
    assert.equal(opened!.browserFlow, 'browser');
    assert.equal(opened!.directGrantFlow, 'direct grant');
    assert.equal(opened!.attributes![CLOSURE_ATTRIBUTE], undefined);
    assert.equal((await password()).status, 200);
  });

  it('client registration is shut while closed: an initial access token and a registration access token from before are refused', async () => {
    const iat = await admin.realms.createClientsInitialAccess({ realm }, { count: 5, expiration: 3600 });
    const register = (body: object, token: string, id = '') => fetch(`${KEYCLOAK_URL}/realms/${realm}/clients-registrations/default${id ? `/${id}` : ''}`, {
      method: id ? 'PUT' : 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body),
    });
    const before = await register({ clientId: 'dyn-before', serviceAccountsEnabled: true }, iat.token!);
    assert.equal(before.status, 201);
    const dyn = await before.json() as Record<string, unknown> & { registrationAccessToken: string };
    await closeToSignIns(admin, realm);
    assert.equal((await register({ clientId: 'dyn-after', serviceAccountsEnabled: true }, iat.token!)).status, 403, 'no client registered while closed');
    assert.equal((await register({ ...dyn, directAccessGrantsEnabled: true }, dyn.registrationAccessToken, 'dyn-before')).status, 403, 'no registered client changed while closed');
    await openToSignIns(admin, realm);
    assert.equal((await register({ clientId: 'dyn-after' }, iat.token!)).status, 201, 'open again');
  });

  it('a second close mends a deny flow its realm\'s admin disarmed (it said "already closed")', async () => {
    await closeToSignIns(admin, realm);
    for (const e of await admin.authenticationManagement.getExecutions({ realm, flow: CLOSED_FLOW })) {
      await admin.authenticationManagement.updateExecution({ realm, flow: CLOSED_FLOW }, { ...e, requirement: 'DISABLED' });
    }
    for (const provider of ['direct-grant-validate-username', 'direct-grant-validate-password']) {
      await admin.authenticationManagement.addExecutionToFlow({ realm, flow: CLOSED_FLOW, provider });
    }
    for (const e of await admin.authenticationManagement.getExecutions({ realm, flow: CLOSED_FLOW })) {
      if (e.providerId !== 'deny-access-authenticator') await admin.authenticationManagement.updateExecution({ realm, flow: CLOSED_FLOW }, { ...e, requirement: 'REQUIRED' });
    }
    assert.equal((await password()).status, 200, 'disarmed');
    assert.equal(await closeToSignIns(admin, realm), true, 'something to close');
    assert.equal((await password()).status, 401);
    await openToSignIns(admin, realm);
  });

  it('the deny flow without its step is repaired when closing (an empty flow\'s refusal was Keycloak\'s 500)', async () => {
    await closeToSignIns(admin, realm);
    for (const e of await admin.authenticationManagement.getExecutions({ realm, flow: CLOSED_FLOW })) {
      await admin.authenticationManagement.delExecution({ realm, id: e.id! });
    }
    assert.equal((await password()).status, 500, 'Keycloak\'s answer to an empty flow');
    await closeToSignIns(admin, realm);
    const res = await password();
    assert.equal(res.status, 401, await res.text());
    await openToSignIns(admin, realm);
  });

  it('an opened realm is as it was: the deny flow goes with the closure (round 42: it stayed after a rollback)', async () => {
    const flows = async () => (await admin.authenticationManagement.getFlows({ realm })).map((f) => f.alias).sort();
    const before = await flows();
    await closeToSignIns(admin, realm);
    assert.ok((await flows()).includes(CLOSED_FLOW));
    await openToSignIns(admin, realm);
    assert.deepEqual(await flows(), before.filter((f) => f !== CLOSED_FLOW));
    assert.equal(await closeToSignIns(admin, realm), true, 'closed again: the flow made again');
    assert.equal((await password()).status, 401);
    await openToSignIns(admin, realm);
    assert.equal((await password()).status, 200);
  });
});
