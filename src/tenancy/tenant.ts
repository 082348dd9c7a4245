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
  /** Other realm ids that name this tenant (the realm it was moved from): its old UUID on the connect API. */
  aliasIds: string[];
  /**
   * The realms it moved from, by server and id: whose tokens are still its own. By server too:
   * a realm id is unique on its server only, and a realm of another server may carry any id.
   */
  formerRealms: RealmRef[];
  /** When it moved from them (ms since epoch), if known: sign-ins there are taken for a while after (code-realm.ts). */
  movedAt?: number;
}

/** A realm by its server and id (its name is its admin's to change). */
export interface RealmRef {
  upstream: string;
  id: string;
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

/** Whether two references name one realm: the same server, the same id. */
export const sameRealm = (a: RealmRef, b: RealmRef) => a.upstream === b.upstream && a.id.toLowerCase() === b.id.toLowerCase();

/**
 * Whether `realm` is the tenant's: its realm, or one it moved from, each by server and id. By id
 * alone, a realm made on another server with the tenant's id (or a former id) was the tenant's,
 * and its tokens the tenant's users' (attack round 33, 2026-12-07).
 */
export function isTenantRealm(realm: RealmRef, tenant: Pick<Tenant, 'id' | 'upstream' | 'formerRealms'>): boolean {
  return sameRealm(realm, tenant) || tenant.formerRealms.some((f) => sameRealm(f, realm));
}

/**
 * Whether the realms `tenant` left still take sign-ins: for `windowMinutes` after a move of known
 * time (those under way at the move), none later, none without a time. At every surface that
 * redeems a realm's code: ScaiWave's login (code-realm.ts) and the platform's callback (attack
 * round 39: the callback redeemed a former realm's code whenever its transaction lived).
 */
export function signInsAtFormerRealms(tenant: Pick<Tenant, 'movedAt'>, windowMinutes: number, now = Date.now()): boolean {
  return tenant.movedAt !== undefined && now < tenant.movedAt + windowMinutes * 60_000;
}

/** Whether `value` has the shape of Keycloak's ids (realms, clients: UUIDs). */
export function isKeycloakId(value: string): boolean {
  return KEYCLOAK_ID.test(value);
}
const KEYCLOAK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Realm attributes that carry the broker's per-tenant settings, so they move with the realm. */
export const ATTR_EMAIL_DOMAINS = 'realm-broker.email-domains';
export const ATTR_PASSWORD_GRANT = 'realm-broker.features.auth.password_grant_enabled';
