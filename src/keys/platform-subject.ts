/**
 * The one rule for the `sub` the broker's issuers say. OIDC Core §2 makes `sub` unique within
 * its issuer and never reassigned, and relying parties key accounts on (`iss`, `sub`). A tenant's
 * own issuer speaks for one realm: it says the realm's user id, as the realm does. The platform
 * issuer speaks for every tenant under one `iss`, and a realm user id is unique only within one
 * Keycloak server's database (a partial import of another realm's user id is refused there,
 * 409), not across servers: the admin of a realm on server 2 can import a user with the id of
 * alice of a tenant on server 1 (partial import keeps ids), and a realm admin's protocol mapper
 * can put any value in `sub`, on any server. Passed through, that user was alice at every app
 * of the platform issuer (shown on 2026-12-07 with the demo's servers). So the platform issuer
 * says `<tenant_id>:<realm user id>`: unique across tenants by construction, whatever a realm's
 * admin does, and the same for as long as the tenant keeps its realm id (a migration does).
 */

/** The platform issuer's `sub` for a user of the tenant `tenantId` whose realm id is `realmSub`. */
export function platformSubject(tenantId: string, realmSub: string): string {
  return `${tenantId}:${realmSub}`;
}

/**
 * The `sub` an issuer of the broker says for a realm user: at the platform issuer
 * (`atPlatform`), the tenant-scoped one; at a tenant's own issuer, the realm's.
 */
export function subjectAt(atPlatform: boolean, tenantId: string, realmSub: string): string {
  return atPlatform ? platformSubject(tenantId, realmSub) : realmSub;
}
