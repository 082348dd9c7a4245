/**
 * Finds the tenants of an email address (DESIGN decision 5): the tenants whose email
 * domains contain its domain; otherwise an exact-email user lookup across the tenant
 * realms of every upstream through the admin API, in parallel and bounded. Results are
 * cached briefly. The caller must answer "none" exactly as "found", so nobody learns
 * who has an account.
 *
 * One upstream down must not take discovery down for the others' users, nor make it
 * say something wrong about users it cannot see: the realms that answered count; a
 * partial answer is not cached; and "none found" while some realm could not be asked
 * is not "none" but the outage (503), since the user may well live there.
 */
import { LRUCache } from 'lru-cache';
import { BrokerError } from '../errors.js';
import type { Upstreams } from '../upstream/upstreams.js';
import type { TenantRegistry } from './registry.js';
import type { Tenant } from './tenant.js';

/** At most this many admin lookups in flight per discovery, across all upstreams. */
const PARALLEL = 8;

export class EmailDiscovery {
  // Slugs, not tenants: a tenant that moves meanwhile must be looked up at its new home.
  private readonly cache = new LRUCache<string, string[]>({ max: 10_000, ttl: 60_000 });

  constructor(private readonly tenants: TenantRegistry, private readonly upstreams: Upstreams) {}

  async find(email: string): Promise<Tenant[]> {
    const address = email.trim().toLowerCase();
    const domain = address.slice(address.lastIndexOf('@') + 1);
    const byDomain = await this.tenants.byEmailDomain(domain);
    if (byDomain.length) return byDomain;
    const cached = this.cache.get(address);
    if (cached) return (await Promise.all(cached.map((slug) => this.tenants.bySlug(slug)))).filter((t): t is Tenant => t !== undefined);
    const { tenants, unavailable } = await this.tenants.coverage();
    const results = await mapBounded(tenants, PARALLEL, (t) => this.holds(t, address));
    const found = results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
    // An upstream whose realms are unknown right now could not be asked either.
    const failures = [...unavailable.values(), ...results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))];
    if (!failures.length) this.cache.set(address, found.map((t) => t.slug));
    else if (!found.length) throw outage(failures[0]);
    return found;
  }

  private async holds(t: Tenant, address: string): Promise<Tenant | undefined> {
    const users = await this.upstreams.get(t.upstream).admin.findUsersByEmail(t.realm, address).catch((err: unknown) => {
      // A realm deleted since the tenant list was cached holds nobody: an answer, not an outage.
      if (err instanceof BrokerError && err.code === 'not_found') return [];
      throw err;
    });
    return users.some((u) => u.email?.toLowerCase() === address && u.enabled !== false) ? t : undefined;
  }
}

/** Runs `fn` over `items` with at most `limit` at a time; settles every one, in order. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function outage(cause: unknown): BrokerError {
  if (cause instanceof BrokerError && cause.isUpstreamFailure) return cause;
  return new BrokerError('upstream_unavailable', 'A Keycloak server could not be asked about this address', { cause, retryAfter: 5 });
}
