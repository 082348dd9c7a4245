/**
 * The one rule for `email_verified` in what the platform issuer says about a user (its ID
 * tokens, userinfo and introspection answers): the platform speaks for every tenant under one
 * issuer, and any realm's admin can mark any address verified in their own realm. So the
 * broker vouches for an address only in a domain that the user's tenant holds (its email
 * domains; a contested domain is held by neither, build-tenants.ts), and otherwise drops the
 * claim, leaving the address itself unvouched. A relying party that links accounts by verified
 * email then cannot be led by one tenant's realm to another tenant's user.
 *
 * A domain the operator gave the tenant (config) is its for every address in it. A domain
 * its realm's admin listed (the realm's attribute) is its only for addresses that no other
 * tenant's user has, enabled or not: a realm admin could list `contractor.example`, where
 * other tenants' users live, create a `carol@contractor.example` of their own and have the
 * platform vouch for her (attack of 2026-12-06). Finding out costs an exact-email lookup
 * across the tenant realms (address-holders.ts, cached a minute per address); when some realm
 * cannot be asked, the broker does not vouch.
 *
 * A tenant's own issuer passes its realm's claim on: there, the realm speaks for itself only.
 */
import type { AddressHolders } from './address-holders.js';
import type { Tenant } from './tenant.js';

/**
 * A plain address: a local part of ASCII letters, digits and RFC 5322's other atom characters
 * but '%', one '@', an ASCII domain. Keycloak accepts `"bob@globex.example"@evil.example`,
 * `bob＠globex.example@evil.example` (a fullwidth '@') and `bob%globex.example@evil.example`
 * (more without its email validator, which a realm's admin may drop): their domain is
 * evil.example, but a relying party that splits at the first '@' (after NFKC, or honouring
 * '%' routing) reads globex.example. Such addresses are never vouched for (attacks of
 * 2026-12-06); nor, for the same reason, are internationalised local parts.
 */
const PLAIN_ADDRESS = /^[A-Za-z0-9.!#$&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+$/;

/** Whether `tenant` holds the domain of `email`, a plain address (a tenant of undefined holds none). */
export function holdsEmailDomain(tenant: Pick<Tenant, 'emailDomains'> | undefined, email: unknown): boolean {
  if (!tenant || typeof email !== 'string' || !PLAIN_ADDRESS.test(email)) return false;
  return tenant.emailDomains.includes(email.slice(email.indexOf('@') + 1).toLowerCase());
}

export class EmailVouching {
  constructor(private readonly holders: AddressHolders) {}

  /** Whether the platform issuer vouches for `email` as the address of a user of `tenant`. */
  async vouches(tenant: Tenant | undefined, email: unknown): Promise<boolean> {
    if (!tenant || !holdsEmailDomain(tenant, email)) return false;
    if (tenant.emailDomainsFromConfig) return true;
    const { holders, complete } = await this.holders.of(email as string);
    return complete && holders.every((h) => h.tenant.slug === tenant.slug);
  }

  /**
   * `claims` as the platform issuer may say them for a user of `tenant`: the same object when
   * it carries no `email_verified` or the broker vouches for the address, else a copy without
   * `email_verified` (the original, which may be a frozen upstream answer, is left as it is).
   */
  async claims<T extends Record<string, unknown>>(claims: T, tenant: Tenant | undefined): Promise<T> {
    if (claims.email_verified === undefined || (await this.vouches(tenant, claims.email))) return claims;
    const { email_verified: _dropped, ...rest } = claims;
    return rest as T;
  }
}
