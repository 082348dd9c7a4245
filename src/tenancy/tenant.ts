/** A tenant is one Keycloak realm seen through the broker's config. */
export interface Tenant {
  /** The realm's UUID (Keycloak's realm `id`): the connect API's `realm`. */
  id: string;
  /** The name used in paths and config; the realm name unless overridden. */
  slug: string;
  /** Keycloak realm name and the server it lives on. */
  realm: string;
  upstream: string;
  issuer: string;
  displayName: string;
  emailDomains: string[];
  /**
   * The domains are the operator's word (config `tenants.<slug>.emailDomains`), not the realm
   * admin's (its attribute): they count for every address in them (email-vouching.ts).
   */
  emailDomainsFromConfig?: boolean;
  /** `loginWithEmail`: whether the realm signs users in by email as well (undefined: yes). */
  features: { passwordGrantEnabled: boolean; loginWithEmail?: boolean };
  /** Other realm ids that name this tenant (the realm it was moved from). */
  aliasIds: string[];
}

/** A realm known to some upstream, tenant or not: what a token's `iss` routes to. */
export interface RealmEntry {
  id: string;
  realm: string;
  upstream: string;
  issuer: string;
  displayName: string;
  attributes: Record<string, string>;
  /** The realm's "login with email" (Keycloak's default: on); undefined is on. */
  loginWithEmail?: boolean;
}

/** Whether `realm` is the tenant's: its realm, or one it moved from (an alias id). */
export function isTenantRealm(realm: Pick<RealmEntry, 'id'>, tenant: Pick<Tenant, 'id' | 'aliasIds'>): boolean {
  return realm.id === tenant.id || tenant.aliasIds.includes(realm.id);
}

/** Whether `value` has the shape of Keycloak's ids (realms, clients: UUIDs). */
export function isKeycloakId(value: string): boolean {
  return KEYCLOAK_ID.test(value);
}
const KEYCLOAK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Realm attributes that carry the broker's per-tenant settings, so they move with the realm. */
export const ATTR_EMAIL_DOMAINS = 'realm-broker.email-domains';
export const ATTR_PASSWORD_GRANT = 'realm-broker.features.auth.password_grant_enabled';
