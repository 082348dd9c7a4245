/**
 * An admin API session on one upstream for the migration. Not the broker's
 * AdminConnector: a realm import with its users can take far longer than the broker's
 * per-request timeout, and the CLI needs calls (create/delete realm, counts) that a
 * serving broker must never make.
 *
 * Two timeouts: a short one for the login and every read, so that a server that takes the
 * connection and never answers fails the command in seconds (it hung up to 10 minutes per
 * call, --dry-run included: attack helper round 27, L7), and the long one only for the
 * calls that move a whole realm (`slowly`): the import, and deleting a realm.
 */
import KcAdminClient from '@keycloak/keycloak-admin-client';
import type { UpstreamConfig } from '../../config/schema.js';
import { MigrationError } from './migration-error.js';

export const READ_TIMEOUT_MS = 30_000;
/** A realm of many users: its import (hashes copied) or deletion. */
export const SLOW_TIMEOUT_MS = 10 * 60_000;

export type AdminSession = KcAdminClient;

/** A client authenticated now (the service-account token lives about a minute: call again per phase). */
export async function adminSession(upstream: UpstreamConfig, timeoutMs = READ_TIMEOUT_MS): Promise<AdminSession> {
  const client = new KcAdminClient({ baseUrl: upstream.url, realmName: upstream.admin.realm, timeout: timeoutMs });
  await client.auth({ grantType: 'client_credentials', clientId: upstream.admin.clientId, clientSecret: upstream.admin.clientSecret }).catch((err: unknown) => {
    if ((err as Error).name !== 'TimeoutError') throw err;
    throw new MigrationError(`upstream ${upstream.name} (${upstream.url}) did not answer the admin login within ${timeoutMs / 1000} s`);
  });
  return client;
}

/** One call that moves a whole realm, with the long timeout (the client reads it per request); the session's others keep theirs. */
export async function slowly<T>(admin: AdminSession, call: (admin: AdminSession) => Promise<T>): Promise<T> {
  const usual = admin.timeout;
  admin.timeout = SLOW_TIMEOUT_MS;
  try {
    return await call(admin);
  } finally {
    admin.timeout = usual;
  }
}

/** The HTTP status of an admin-client error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  return (err as { response?: Response }).response?.status;
}
