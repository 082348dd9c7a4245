/**
 * Syncs the GLOBAL apps of the registry into every tenant realm (DESIGN decision 4):
 * each app must exist with the same client_id everywhere, with the broker's callbacks as
 * redirect URIs and the realm settings its grants need; and every other app into the realms
 * of the tenants it lists (`tenants`), with those tenants' callbacks only. Creates what is
 * missing, updates what differs, never deletes. Idempotent.
 *
 *   npm run sync-apps                 (with the broker's usual environment / CONFIG_FILE)
 *   npm run sync-apps -- --dry-run    (only says what it would do)
 */
import type { AppConfig, Config } from '../config/schema.js';
import type { Deps } from '../deps.js';
import type { ClientRepresentation } from '../upstream/admin-connector.js';
import { PLATFORM_PATH, tenantPath } from '../surfaces/platform/issuer.js';
import { RealmSecrets } from '../upstream/realm-secrets.js';
import type { Tenant } from '../tenancy/tenant.js';

export interface SyncReport {
  results: SyncResult[];
  /** Upstreams that could not be reached (with why): their tenants' realms were not synced. */
  unreachable: Map<string, unknown>;
}

/** `sync-apps --tenant` named a tenant that no upstream serves (exit 3, as `tenants show`). */
export class UnknownTenantError extends Error {}

export interface SyncResult {
  tenant: string;
  clientId: string;
  /**
   * `missing`: the broker's own client is not in the realm (sync-apps makes apps' clients only);
   * `failed`: Keycloak refused or failed (`reason`), and the sync went on with the next.
   */
  action: 'created' | 'updated' | 'unchanged' | 'missing' | 'failed';
  reason?: string;
}

/** The secret a client of the broker's has in `tenant`'s realm (config realmSecrets; upstream/realm-secrets.ts). */
export function secretInRealm(config: Config, clientId: string, secret: string, tenant: Pick<Tenant, 'id'>): string {
  return config.realmSecrets === 'per-realm' ? RealmSecrets.derive(secret, clientId, tenant.id) : secret;
}

/** The realm client an app needs, in the realm of `tenant`. */
export function desiredClient(config: Config, clientId: string, app: AppConfig, tenant: Pick<Tenant, 'slug' | 'id'>): ClientRepresentation {
  const slug = tenant.slug;
  const grants = new Set<string>(app.grantTypes);
  const device = grants.has('urn:ietf:params:oauth:grant-type:device_code');
  const attributes: Record<string, string> = {};
  if (app.public) attributes['pkce.code.challenge.method'] = 'S256';
  if (device) attributes['oauth2.device.authorization.grant.enabled'] = 'true';
  if (grants.has('urn:ietf:params:oauth:grant-type:token-exchange')) attributes['standard.token.exchange.enabled'] = 'true';
  if (app.postLogoutRedirectUris.length) attributes['post.logout.redirect.uris'] = '+';
  // Its tenant's issuer, for an app that is not GLOBAL (served there only); the platform's otherwise.
  const tenantIssuer = `${config.publicUrl}${tenantPath(slug)}`;
  const issuer = app.global ? `${config.publicUrl}${PLATFORM_PATH}` : tenantIssuer;
  // The realm tells the broker when a session it signed in with ends (back-channel logout).
  if (grants.has('authorization_code') || grants.has('urn:ietf:params:oauth:grant-type:device_code')) {
    attributes['backchannel.logout.url'] = `${issuer}/backchannel-logout`;
    attributes['backchannel.logout.session.required'] = 'true';
  }
  // The broker signs users in as this client (device approval too) and returns to its callbacks.
  const interactive = grants.has('authorization_code') || device;
  return {
    clientId,
    name: app.name,
    enabled: true,
    protocol: 'openid-connect',
    publicClient: app.public,
    ...(app.public ? {} : { clientAuthenticatorType: 'client-secret', secret: app.clientSecret && secretInRealm(config, clientId, app.clientSecret, tenant) }),
    standardFlowEnabled: interactive,
    directAccessGrantsEnabled: false,
    serviceAccountsEnabled: grants.has('client_credentials'),
    // The broker introspects the app's tokens as its own client: Keycloak (26+) introspects
    // only for a client in the token's audience.
    protocolMappers: [audienceMapper(config.brokerClient.clientId)],
    redirectUris: interactive ? [...new Set([`${issuer}/callback`, `${tenantIssuer}/callback`])] : [],
    attributes,
  };
}

export function audienceMapper(brokerClientId: string): NonNullable<ClientRepresentation['protocolMappers']>[number] {
  return {
    name: `${brokerClientId} audience`,
    protocol: 'openid-connect',
    protocolMapper: 'oidc-audience-mapper',
    config: { 'included.client.audience': brokerClientId, 'access.token.claim': 'true', 'id.token.claim': 'false', 'introspection.token.claim': 'true' },
  };
}

const hasAudienceMapper = (c: ClientRepresentation, brokerClientId: string) =>
  (c.protocolMappers ?? []).some((m) => m.protocolMapper === 'oidc-audience-mapper' && m.config?.['included.client.audience'] === brokerClientId);

/** What differs between the realm's client and the desired one (only the fields we own). */
function differs(current: ClientRepresentation, want: ClientRepresentation): boolean {
  const missingUris = (want.redirectUris ?? []).some((u) => !(current.redirectUris ?? []).includes(u));
  const attrs = Object.entries(want.attributes ?? {}).some(([k, v]) => current.attributes?.[k] !== v);
  const flags = (['publicClient', 'standardFlowEnabled', 'serviceAccountsEnabled', 'enabled'] as const).some((k) => current[k] !== want[k]);
  const audience = want.protocolMappers?.[0]?.config?.['included.client.audience'];
  return missingUris || attrs || flags || (audience !== undefined && !hasAudienceMapper(current, audience))
    || (!want.publicClient && want.secret !== undefined && current.secret !== want.secret);
}

/** `only`: the slugs of the tenants to sync (a new tenant's realm); every tenant when omitted. */
export async function syncApps(deps: Pick<Deps, 'config' | 'tenants' | 'upstreams'>, dryRun = false, only?: string[]): Promise<SyncReport> {
  const results: SyncResult[] = [];
  const apps = Object.entries(deps.config.apps);
  const home = deps.config.platform.homeTenant ?? deps.config.defaultTenant;
  // A GLOBAL client-credentials-only app acts at the platform's home realm alone; any other
  // app that is not GLOBAL, in the realms of the tenants it lists.
  const needed = (app: AppConfig, slug: string) => !app.global ? (app.tenants ?? []).includes(slug)
    : slug === home || app.grantTypes.some((g) => g !== 'client_credentials');
  // coverage(), not all(): all() leaves out the tenants of an upstream it cannot reach, and a
  // sync that said nothing of them looked complete (attack helper round 27, F8).
  const known = await deps.tenants.coverage();
  const tenants = known.tenants.filter((t) => !only || only.includes(t.slug));
  const unknown = only?.filter((slug) => !tenants.some((t) => t.slug === slug)) ?? [];
  if (unknown.length && !known.unavailable.size) throw new UnknownTenantError(`unknown tenant: ${unknown.join(', ')}`);
  for (const tenant of tenants) {
    const admin = deps.upstreams.get(tenant.upstream).admin;
    // One client's failure (a realm that refuses, 403 or 409; Keycloak failing a moment) is
    // recorded and the sync goes on: the report must say what changed where, and what did not
    // (it stopped at the first, with no report and no tenant named: review, 2026-12-07).
    const attempt = async (clientId: string, sync: () => Promise<SyncResult['action']>) => {
      try {
        results.push({ tenant: tenant.slug, clientId, action: await sync() });
      } catch (err) {
        results.push({ tenant: tenant.slug, clientId, action: 'failed', reason: (err as Error).message });
      }
    };
    for (const [clientId, app] of apps.filter(([, a]) => needed(a, tenant.slug))) {
      await attempt(clientId, async () => {
        const want = desiredClient(deps.config, clientId, app, tenant);
        const current = await admin.findClient(tenant.realm, clientId);
        if (!current) {
          if (!dryRun) await admin.createClient(tenant.realm, want);
          return 'created';
        }
        if (!differs(current, want)) return 'unchanged';
        const { protocolMappers: _mappers, ...wantFields } = want;
        const merged = {
          ...current, ...wantFields,
          redirectUris: [...new Set([...(current.redirectUris ?? []), ...(want.redirectUris ?? [])])],
          attributes: { ...current.attributes, ...want.attributes },
        };
        if (!dryRun) {
          await admin.updateClient(tenant.realm, current.id!, merged);
          if (!hasAudienceMapper(current, deps.config.brokerClient.clientId)) await admin.addProtocolMapper(tenant.realm, current.id!, audienceMapper(deps.config.brokerClient.clientId));
        }
        return 'updated';
      });
    }
    if (deps.config.realmSecrets === 'per-realm') await attempt(deps.config.brokerClient.clientId, async () => (await syncBrokerSecret(deps, tenant, dryRun)).action);
  }
  return { results, unreachable: known.unavailable };
}

/** Per-realm secrets: the broker's own client gets its realm's secret (the client itself is the operator's to make). */
async function syncBrokerSecret(deps: Pick<Deps, 'config' | 'upstreams'>, tenant: Tenant, dryRun: boolean): Promise<SyncResult> {
  const { clientId, clientSecret } = deps.config.brokerClient;
  const admin = deps.upstreams.get(tenant.upstream).admin;
  const current = await admin.findClient(tenant.realm, clientId);
  if (!current || !clientSecret) return { tenant: tenant.slug, clientId, action: 'missing' };
  const secret = secretInRealm(deps.config, clientId, clientSecret, tenant);
  if (current.secret === secret) return { tenant: tenant.slug, clientId, action: 'unchanged' };
  if (!dryRun) await admin.updateClient(tenant.realm, current.id!, { ...current, secret });
  return { tenant: tenant.slug, clientId, action: 'updated' };
}
