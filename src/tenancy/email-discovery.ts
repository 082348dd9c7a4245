/**
 * Finds the tenants of an email address (DESIGN decision 5): the tenants whose email
 * domains contain its domain; otherwise an exact-email user lookup across the tenant
 * realms of every upstream through the admin API, in parallel and bounded, cached briefly
 * (address-holders.ts). A domain a realm's attribute gives its tenant counts only for an
 * address no other tenant has. The caller must answer "none" exactly as "found", so nobody
 * learns who has an account.
 *
 * One upstream down must not take discovery down for the others' users, nor make it
 * say something wrong about users it cannot see: the realms that answered count; and
 * "none found" while some realm could not be asked is not "none" but the outage (503),
 * since the user may well live there.
 */
import { BrokerError } from '../errors.js';
import type { AddressHolders, Holders } from './address-holders.js';
import type { TenantRegistry } from './registry.js';
import type { Tenant } from './tenant.js';

export class EmailDiscovery {
  constructor(private readonly tenants: TenantRegistry, private readonly holders: AddressHolders) {}

  /**
   * The tenants a domain rule sends `email` to. The operator's word on a domain (config) is
   * final. A realm admin's word (its attribute) holds for addresses no other tenant has: a realm
   * that lists a domain where other tenants' users live does not get their sign-ins (attack of
   * 2026-12-06). While some realm cannot be asked, it holds only for an address found in the
   * domain's tenant: a realm admin who makes their server's realms unaskable (an attack had its
   * own realm's searches stall until the server's breaker opened) gets nobody's sign-ins.
   */
  async byDomainRule(email: string): Promise<Tenant[]> {
    return (await this.ruled(email)).ruled;
  }

  async find(email: string): Promise<Tenant[]> {
    const { ruled, holders: known } = await this.ruled(email);
    if (ruled.length) return ruled;
    const { holders, complete, failure } = known ?? (await this.holders.of(email));
    const enabled = holders.filter((h) => h.enabled).map((h) => h.tenant);
    // "None found" while some realm could not be asked is not "none" but the outage.
    if (!complete && !enabled.length) throw outage(failure);
    return enabled;
  }

  /** The domain rule's tenants, and the lookup made to decide it (none for config's domains). */
  private async ruled(email: string): Promise<{ ruled: Tenant[]; holders?: Holders }> {
    const address = email.trim().toLowerCase();
    const byDomain = await this.tenants.byEmailDomain(address.slice(address.lastIndexOf('@') + 1));
    if (!byDomain.length || byDomain.every((t) => t.emailDomainsFromConfig)) return { ruled: byDomain };
    const holders = await this.holders.of(address);
    const isRuled = (h: { tenant: Tenant }) => byDomain.some((t) => t.slug === h.tenant.slug);
    if (holders.holders.some((h) => !isRuled(h))) return { ruled: [], holders };
    return { ruled: holders.complete || holders.holders.some(isRuled) ? byDomain : [], holders };
  }
}

function outage(cause: unknown): BrokerError {
  if (cause instanceof BrokerError && cause.isUpstreamFailure) return cause;
  return new BrokerError('upstream_unavailable', 'A Keycloak server could not be asked about this address', { cause, retryAfter: 5 });
}
