/**
 * An admin API session on one upstream for the migration. Not the broker's
 * AdminConnector: a realm import with its users can take far longer than the broker's
 * per-request timeout, and the CLI needs calls (create/delete realm, counts) that a
 * serving broker must never make.
 */
import KcAdminClient from '@keycloak/keycloak-admin-client';
import type { UpstreamConfig } from '../../config/schema.js';

const TIMEOUT_MS = 10 * 60_000;

export type AdminSession = KcAdminClient;

/** A client authenticated now (the service-account token lives about a minute: call again per phase). */
export async function adminSession(upstream: UpstreamConfig): Promise<AdminSession> {
  const client = new KcAdminClient({ baseUrl: upstream.url, realmName: upstream.admin.realm, timeout: TIMEOUT_MS });
  await client.auth({ grantType: 'client_credentials', clientId: upstream.admin.clientId, clientSecret: upstream.admin.clientSecret });
  return client;
}

/** The HTTP status of an admin-client error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  return (err as { response?: Response }).response?.status;
}
