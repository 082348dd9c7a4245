/**
 * Which tenants have a user with an exact email address: an exact-email lookup across the
 * tenant realms of every upstream through the admin API, in parallel and bounded, cached
 * briefly per address. Email discovery asks it for an address no domain rule covers, and
 * both discovery and the platform's email vouching ask it before taking a realm admin's word
 * that their realm holds a domain (email-discovery.ts, email-vouching.ts).
 *
 * One upstream down must not take the others' users down, nor make this say something wrong
 * about users it cannot see: the answer says whether every realm was asked (`complete`), with
 * why not. An answer is cached for a minute; what each realm said at the last answer that asked
 * them all answers for it, for a day, while it cannot be asked (an address's holders rarely
 * change; a victim's account would have to appear in the very realm that cannot be asked). One realm slow to search (its admin's user
 * federation) is one realm not asked: its search has a budget of its own, then it is left out
 * for a while, and its timeouts do not count against its server (admin-connector.ts).
 */
import { LRUCache } from 'lru-cache';
import { BrokerError } from '../errors.js';
import type { Logger } from '../http/logger.js';
import { USER_SEARCH_BUDGET_MS } from '../upstream/admin-connector.js';
import type { Upstreams } from '../upstream/upstreams.js';
import type { TenantRegistry } from './registry.js';
import type { Tenant } from './tenant.js';

/** At most this many admin lookups in flight per address, across all upstreams. */
const PARALLEL = 8;
/** A realm whose search ran out of its budget is left out of the lookups this long. */
const SLOW_REALM_MS = 30_000;
/**
 * An answer is used as it is for a minute. What a realm that cannot be asked now said at the last
 * answer that asked every realm stands in for it for a day: a realm whose searches stall for
 * longer (its admin's LDAP) must not take away, after a while, every answer that needs all realms.
 */
const FRESH_MS = 60_000;
const STAND_IN_MS = 24 * 3600_000;

interface Known {
  slug: string;
  enabled: boolean;
}

interface KnownAnswer {
  /** When it was made (fresh for FRESH_MS), and when every realm last answered (STAND_IN_MS). */
  at: number;
  fullAt: number;
  holders: Known[];
}

export interface Holder {
  tenant: Tenant;
  /** A disabled user cannot sign in, but is still the person the address names. */
  enabled: boolean;
}

export interface Holders {
  holders: Holder[];
  /** Every tenant realm answered. */
  complete: boolean;
  /** Why a realm could not be asked, when one could not. */
  failure?: unknown;
}

export class AddressHolders {
  /**
   * The last answer per address: fresh for a minute; what it says of each realm stands in, for a
   * day, for the realms that cannot be asked (below). Slugs, not tenants: a tenant that moves
   * meanwhile must be looked up at its new home.
   */
  private readonly known = new LRUCache<string, KnownAnswer>({ max: 10_000, ttl: STAND_IN_MS });
  /** Realms whose last search ran out of time, with that failure: counted as not asked. */
  private readonly slow = new LRUCache<string, BrokerError>({ max: 1000, ttl: SLOW_REALM_MS });
  private readonly pending = new Map<string, Promise<Holders>>();

  constructor(
    private readonly tenants: TenantRegistry,
    private readonly upstreams: Upstreams,
    private readonly log?: Logger,
    /** How long a complete answer is used as it is (tests shorten it). */
    private readonly freshMs = FRESH_MS,
  ) {}

  /** The tenants with a user whose email is `address` (trimmed, any letter case). */
  async of(email: string): Promise<Holders> {
    const address = email.trim().toLowerCase();
    const known = this.known.get(address);
    if (known && Date.now() - known.at < this.freshMs) return { holders: await this.resolve(known.holders), complete: true };
    // One lookup at a time per address: a burst of calls for one address (a token's userinfo,
    // say) costs one search of each realm, not one per call.
    let pending = this.pending.get(address);
    if (!pending) {
      pending = this.lookUp(address, known).finally(() => this.pending.delete(address));
      this.pending.set(address, pending);
    }
    return pending;
  }

  private async lookUp(address: string, known: KnownAnswer | undefined): Promise<Holders> {
    const { tenants, unavailable } = await this.tenants.coverage();
    const ranOut = new Map<Tenant, BrokerError>();
    const results = await mapBounded(tenants, PARALLEL, (t) => this.holds(t, address, ranOut));
    // A realm whose search ran out of its budget while another realm of its server answered is
    // slow by itself (its user federation): left out for a while. When none of its server's
    // realms answered, the server paused: nobody is left out for it (an attack had a pause make
    // the broker leave acme out for 30 s, so that alice could not be routed).
    for (const [t, err] of ranOut) {
      if (!tenants.some((o, i) => o.upstream === t.upstream && results[i]!.status === 'fulfilled')) continue;
      this.slow.set(`${t.upstream}\u0000${t.realm}`, err);
      this.log?.warn('a realm did not answer a user search in time while its server answered for others: left out of email lookups for a while (its user federation?)', { tenant: t.slug, upstream: t.upstream, realm: t.realm, budgetMs: USER_SEARCH_BUDGET_MS, forMs: SLOW_REALM_MS });
    }
    const holders = results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
    // An upstream whose realms are unknown right now could not be asked either.
    const failures = [...unavailable.values(), ...results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))];
    const now = Date.now();
    const remember = (all: Holder[], fullAt: number) => this.known.set(address, { at: now, fullAt, holders: all.map((h) => ({ slug: h.tenant.slug, enabled: h.enabled })) }, { ttl: Math.max(1, fullAt + STAND_IN_MS - now) });
    if (!failures.length) {
      remember(holders, now);
      return { holders, complete: true };
    }
    if (known) {
      // What the realms that cannot be asked now said at the last full answer stands for them:
      // one realm whose searches stall (its admin's LDAP), or a server down, must not take away
      // every answer that needs all realms (the platform's email_verified). The realms that
      // answered now say it afresh, and the answer is kept as a full one is, with its day
      // counted from the last full answer.
      const answered = new Set(tenants.filter((_, i) => results[i]!.status === 'fulfilled').map((t) => t.slug));
      const past = known.holders.filter((h) => !answered.has(h.slug));
      const resolved = await this.resolve(past).catch(() => undefined);
      if (resolved) {
        const all = [...holders, ...resolved];
        remember(all, known.fullAt);
        return { holders: all, complete: true };
      }
    }
    return { holders, complete: false, failure: failures[0] };
  }

  /** Known holders as they stand now: a tenant gone since holds nobody; one unknown for now (its server down) throws. */
  private async resolve(known: Known[]): Promise<Holder[]> {
    const holders = await Promise.all(known.map(async (h) => ({ tenant: await this.tenants.bySlug(h.slug), enabled: h.enabled })));
    return holders.filter((h): h is Holder => h.tenant !== undefined);
  }

  private async holds(t: Tenant, address: string, ranOut: Map<Tenant, BrokerError>): Promise<Holder | undefined> {
    const slow = this.slow.get(`${t.upstream}\u0000${t.realm}`);
    if (slow) throw slow;
    const started = performance.now();
    const users = await this.upstreams.get(t.upstream).admin.findUsersByEmail(t.realm, address).catch((err: unknown) => {
      // A realm deleted since the tenant list was cached holds nobody: an answer, not an outage.
      if (err instanceof BrokerError && err.code === 'not_found') return [];
      if (err instanceof BrokerError && err.code === 'upstream_timeout' && performance.now() - started >= USER_SEARCH_BUDGET_MS * 0.9) ranOut.set(t, err);
      throw err;
    });
    const same = users.filter((u) => u.email?.toLowerCase() === address);
    return same.length ? { tenant: t, enabled: same.some((u) => u.enabled !== false) } : undefined;
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
