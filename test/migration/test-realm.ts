/**
 * A tenant made for one migration test, on the source server: its own realm (never a
 * demo realm), built from the demo realm file so that it has the same clients as every
 * tenant (the broker's client, connect-demo, the GLOBAL app platform-demo…), plus users,
 * a realm role and groups, so that the copy has something of each kind to verify.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';

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
