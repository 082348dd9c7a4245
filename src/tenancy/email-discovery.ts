/**
 * Finds the tenants of an email address (DESIGN decision 5): the tenants whose email
 * domains contain its domain; otherwise an exact-email user lookup across the tenant
 * realms through the admin API, in parallel and bounded. Results are cached briefly.
 * The caller must answer "none" exactly as "found", so nobody learns who has an account.
 */
import { LRUCache } from 'lru-cache';
import type { Upstreams } from '../upstream/upstreams.js';
import type { TenantRegistry } from './registry.js';
import type { Tenant } from './tenant.js';

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
    const all = await this.tenants.all();
    const found: Tenant[] = [];
    let incomplete = false;
    for (let i = 0; i < all.length; i += PARALLEL) {
      const batch = all.slice(i, i + PARALLEL);
      // One realm that cannot answer (its server down, the realm deleted since the list was
      // read) says nothing about the others: it counts as "not found there", and the
      // result is not cached, so it is asked again next time.
      const hits = await Promise.allSettled(batch.map(async (t) => {
        const users = await this.upstreams.get(t.upstream).admin.findUsersByEmail(t.realm, address);
        return users.some((u) => u.email?.toLowerCase() === address && u.enabled !== false) ? t : undefined;
      }));
      for (const h of hits) {
        if (h.status === 'rejected') incomplete = true;
        else if (h.value) found.push(h.value);
      }
    }
    if (!incomplete) this.cache.set(address, found.map((t) => t.slug));
    return found;
  }
}
