/**
 * The two real Keycloak servers a migration test moves a tenant between, and how the
 * test reaches the source's database for `kc.sh export` (the admin API gives no
 * password hashes). Defaults are the project's servers 1 and 2; each engineer's own
 * servers are named by environment:
 *
 *   MIGRATE_SOURCE_URL          default http://127.0.0.1:8080 (server 1)
 *   MIGRATE_TARGET_URL          default http://127.0.0.1:8180 (server 2)
 *   MIGRATE_SOURCE_KC_HOME      a Keycloak distribution to run `kc.sh export` from
 *                               (default .keycloak/export/keycloak-26.7.3; better not
 *                               the running server's own home, which export may rebuild)
 *   MIGRATE_SOURCE_DB_URL       the source server's JDBC URL (default
 *                               jdbc:postgresql://127.0.0.1:5432/keycloak); it must be a
 *                               database shared with the running server (PostgreSQL), not dev-file
 *   MIGRATE_SOURCE_DB_USERNAME  default postgres; MIGRATE_SOURCE_DB_PASSWORD if needed
 *
 * A missing server or database fails the tests (no skipping).
 */
import { resolve } from 'node:path';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { ADMIN } from '../helpers/services.js';

const env = process.env;
export const SOURCE_URL = (env.MIGRATE_SOURCE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const TARGET_URL = (env.MIGRATE_TARGET_URL ?? 'http://127.0.0.1:8180').replace(/\/+$/, '');
export const SOURCE_EXPORT = {
  kcHome: resolve(env.MIGRATE_SOURCE_KC_HOME ?? '.keycloak/export/keycloak-26.7.3'),
  db: 'postgres',
  dbUrl: env.MIGRATE_SOURCE_DB_URL ?? 'jdbc:postgresql://127.0.0.1:5432/keycloak',
  dbUsername: env.MIGRATE_SOURCE_DB_USERNAME ?? 'postgres',
  ...(env.MIGRATE_SOURCE_DB_PASSWORD ? { dbPassword: env.MIGRATE_SOURCE_DB_PASSWORD } : {}),
};

const admin = { realm: 'master', ...ADMIN };

/** The broker's upstreams for a test: the source (with its export settings) and the target, plus extras. */
export function upstreams(extra: { name: string; url: string }[] = []) {
  return [
    { name: 'source', url: SOURCE_URL, admin, ignoreRealms: [], export: SOURCE_EXPORT },
    { name: 'target', url: TARGET_URL, admin, ignoreRealms: [] },
    ...extra.map((u) => ({ ...u, admin, ignoreRealms: [] })),
  ];
}

/** An admin client on one server, authenticated now. */
export async function adminOf(url: string): Promise<KcAdminClient> {
  const client = new KcAdminClient({ baseUrl: url, realmName: 'master', timeout: 120_000 });
  await client.auth({ grantType: 'client_credentials', ...ADMIN });
  return client;
}

/** Deletes a realm if it exists (cleanup). */
export async function deleteRealm(url: string, realm: string): Promise<void> {
  const client = await adminOf(url);
  if (await client.realms.findOne({ realm })) await client.realms.del({ realm });
}
