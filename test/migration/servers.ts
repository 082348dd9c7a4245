/**
 * The two real Keycloak servers a migration test moves a tenant between, and how the
 * test reaches the source's database for `kc.sh export` (the admin API gives no
 * password hashes). Defaults are the project's servers 1 and 2; each engineer's own
 * servers are named by environment:
 *
 *   MIGRATE_SOURCE_URL          default http://127.0.0.1:8080 (server 1)
 *   MIGRATE_TARGET_URL          default http://127.0.0.1:8180 (server 2)
 *   MIGRATE_SOURCE_KC_HOME      a Keycloak distribution to run `kc.sh export` from
 *                               (default .keycloak/export/keycloak-26.7.3, extracted from
 *                               the Maven cache when missing; better not the running
 *                               server's own home, which export may rebuild)
 *   MIGRATE_SOURCE_DB_URL       the source server's JDBC URL (default
 *                               jdbc:postgresql://127.0.0.1:5432/realm_broker_kc1, where scripts/keycloak.sh keeps server 1); it must be a
 *                               database shared with the running server (PostgreSQL), not dev-file
 *   MIGRATE_SOURCE_DB_USERNAME  default postgres; MIGRATE_SOURCE_DB_PASSWORD if needed
 *
 * A missing server or database fails the tests (no skipping).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { ADMIN } from '../helpers/services.js';

const env = process.env;
export const SOURCE_URL = (env.MIGRATE_SOURCE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const TARGET_URL = (env.MIGRATE_TARGET_URL ?? 'http://127.0.0.1:8180').replace(/\/+$/, '');
export const SOURCE_EXPORT = {
  kcHome: resolve(env.MIGRATE_SOURCE_KC_HOME ?? '.keycloak/export/keycloak-26.7.3'),
  db: 'postgres',
  dbUrl: env.MIGRATE_SOURCE_DB_URL ?? 'jdbc:postgresql://127.0.0.1:5432/realm_broker_kc1',
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

/**
 * The default export home: a copy of the distribution that scripts/keycloak.sh fetched
 * with Maven (its zip stays in the local Maven repository), extracted once.
 */
function extractExportHome(): void {
  const zip = join(homedir(), '.m2/repository/org/keycloak/keycloak-quarkus-dist/26.7.3/keycloak-quarkus-dist-26.7.3.zip');
  if (!existsSync(zip)) return;
  const dir = resolve('.keycloak/export');
  mkdirSync(dir, { recursive: true });
  spawnSync('unzip', ['-q', '-o', zip, '-d', dir], { stdio: 'inherit' });
}

/** Fails up front, saying what to set, when a server or the export's Keycloak home is missing. */
export async function checkServers(): Promise<void> {
  const problems: string[] = [];
  for (const [what, url] of [['source (MIGRATE_SOURCE_URL)', SOURCE_URL], ['target (MIGRATE_TARGET_URL)', TARGET_URL]]) {
    await adminOf(url!).catch((err: Error) => problems.push(`${what} Keycloak at ${url}: ${err.message}`));
  }
  if (!existsSync(join(SOURCE_EXPORT.kcHome, 'bin', 'kc.sh')) && !env.MIGRATE_SOURCE_KC_HOME) extractExportHome();
  if (!existsSync(join(SOURCE_EXPORT.kcHome, 'bin', 'kc.sh'))) {
    problems.push(`no Keycloak distribution at ${SOURCE_EXPORT.kcHome} for kc.sh export (MIGRATE_SOURCE_KC_HOME; extract keycloak-quarkus-dist there)`);
  }
  if (problems.length) throw new Error(`migration test setup:\n  - ${problems.join('\n  - ')}\n(source database for the export: MIGRATE_SOURCE_DB_URL=${SOURCE_EXPORT.dbUrl})`);
}
