/**
 * A tenant made for one test (a migration, or an attack by a realm's own admin) on server 1:
 * its own realm (never a demo realm), built from the demo realm file so that it has the same
 * clients as every tenant (the broker's client, connect-demo, the GLOBAL app platform-demo…),
 * plus users, a realm role and groups, so that a migration's copy has something of each kind
 * to verify.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import { ADMIN, KEYCLOAK_URL } from './services.js';

export interface TestTenant {
  id: string;
  realm: string;
  domain: string;
  /** email → password */
  users: Record<string, string>;
  /** A user outside the tenant's email domain: found by exact-email lookup. */
  outsider: string;
  representation: RealmRepresentation;
}

export function makeTestTenant(): TestTenant {
  const tag = randomUUID().slice(0, 8);
  const realm = `mig-${tag}`;
  const domain = `${realm}.example`;
  const outsider = `cy-${tag}@elsewhere.example`;
  const emails = [`ann@${domain}`, `ben@${domain}`, outsider];
  const users = Object.fromEntries(emails.map((e) => [e, `${e.split('@')[0]}-pass`]));
  const template = JSON.parse(readFileSync('realms/server1/acme-realm.json', 'utf8')) as RealmRepresentation;
  const id = randomUUID();
  const representation: RealmRepresentation = {
    ...template,
    id,
    realm,
    displayName: `Migration test ${tag}`,
    attributes: {
      'realm-broker.email-domains': domain,
      'realm-broker.features.auth.password_grant_enabled': 'true',
    },
    users: emails.map((email, i) => ({
      username: email, email, emailVerified: true, enabled: true, firstName: `User${i}`, lastName: 'Migrated',
      credentials: [{ type: 'password', value: users[email], temporary: false }],
      realmRoles: i === 0 ? ['editor'] : [],
      groups: i === 0 ? ['/staff'] : ['/ops'],
    })),
    roles: { realm: [{ name: 'editor', description: 'made by the migration test' }] },
    groups: [{ name: 'staff' }, { name: 'ops' }],
  };
  return { id, realm, domain, users, outsider, representation };
}

/** An admin client of server 1's master realm, signed in now (a suite outlives one token). */
export async function serverAdmin(): Promise<KcAdminClient> {
  const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
  await admin.auth({ grantType: 'client_credentials', ...ADMIN });
  return admin;
}

/** Creates the tenants' realms on server 1 (before the broker that should find them starts). */
export async function createRealms(...tenants: TestTenant[]): Promise<void> {
  const admin = await serverAdmin();
  await Promise.all(tenants.map((t) => admin.realms.create(t.representation)));
}

/** Deletes the tenants' realms from server 1; one already gone is no error (cleanup). */
export async function deleteRealms(...tenants: TestTenant[]): Promise<void> {
  const admin = await serverAdmin();
  for (const t of tenants) await admin.realms.del({ realm: t.realm }).catch(() => {});
}
