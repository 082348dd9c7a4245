/**
 * Which realm each tenant stood on last (slug → upstream and realm id), kept in the shared
 * store for the replicas that start later.
 *
 * A realm's admin can rename their realm to another tenant's slug. A replica that has served
 * the tenant keeps it on its realm (build-tenants.ts); one that starts while the two realms
 * share the name would otherwise serve neither, and one that starts while the tenant's own
 * server is unreachable would see the renamed realm alone. With this record both serve the
 * tenant from the realm that served it (or answer 503 while its server is down). And when
 * the tenant's realm is missing from a list for a while (deleted and restored, its server
 * down), no realm of another id takes the name before `tenantHoldHours` have passed.
 *
 * Written only from a full view (every server's realm list known), so a replica that sees
 * part of the picture never teaches the others a wrong home. Redis on the project's machines
 * keeps nothing on disk: after a wipe the record is rebuilt from the next full view.
 */
import { RecordKind } from '../store/record.js';
import type { Store } from '../store/store.js';
import type { RealmEntry, Tenant } from './tenant.js';

/** Where a slug stood: the realm, since when, and when it was last seen there (ms since epoch). */
export interface StandingHome {
  upstream: string;
  id: string;
  /** When this realm first stood under the slug (absent in records written before it existed: the start of time). */
  since?: number;
  seen: number;
  /** The email domains the tenant routed (its realm attribute's, after contests): a later claim by another realm does not take them. */
  domains?: string[];
}
export type Standing = Record<string, StandingHome>;

/** The rules' durations (config): how long a name is held, and how long a realm must have held it first. */
export interface StandingRules {
  holdMs: number;
  establishMs: number;
}

/**
 * A realm that held the slug for `establishMs` at least: only such a home keeps the name
 * against a realm of another id (build-tenants.ts). A realm renamed in for a moment (to
 * claim a name before its tenant's realm is made, or to leave entries behind) never is.
 */
export const established = (home: StandingHome, rules: StandingRules) => home.seen - (home.since ?? 0) >= rules.establishMs;

/** The store wants a lifetime on every key: ten years is "until changed". */
const record = new RecordKind<Standing>('tenancy', 10 * 365 * 24 * 3600);
const ID = 'standing';

export class StandingRealms {
  /** What this replica last read or wrote: written again only when changed, and used while the store cannot be read. */
  private last: Standing = {};
  private lastJson = '{}';

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** The record; while the store cannot be read, the last one this replica knew. */
  async read(): Promise<Standing> {
    try {
      const standing = (await record.get(this.store, ID)) ?? {};
      this.last = standing;
      this.lastJson = JSON.stringify(standing);
      return standing;
    } catch (err) {
      this.onError(err);
      return this.last;
    }
  }

  /**
   * Records where `tenants` stand, from a full view of `realms` at `now` (`seen` only moves
   * for a realm that serves its slug). Of the slugs no tenant holds now, an entry stays
   * while its realm still carries the name (two realms share it), or, for an established
   * home, while its hold lasts and it is the latest name its realm left (one per realm:
   * renaming through many names leaves one behind).
   */
  async write(before: Standing, tenants: Tenant[], realms: RealmEntry[], now: number, rules: StandingRules): Promise<void> {
    // `seen` is written again once a tenth of the hold old, or half the time to establish a
    // home (at most hourly): writes stay rare, the hold nearly whole, a home established in time.
    const refresh = Math.min(3600_000, rules.holdMs / 10, rules.establishMs > 0 ? rules.establishMs / 2 : Infinity);
    const fresh = (seen: number) => (now - seen < refresh ? seen : now);
    const next: Standing = {};
    for (const t of tenants) {
      const was = before[t.slug];
      const same = was !== undefined && was.upstream === t.upstream && was.id === t.id;
      const domains = [...t.emailDomains].sort();
      // A record without `since` (written before it existed) stands since the start of time.
      next[t.slug] = same ? { ...was, since: was.since ?? 0, seen: fresh(was.seen), domains } : { upstream: t.upstream, id: t.id, since: now, seen: now, domains };
    }
    const heldByRealm = new Map<string, [string, StandingHome]>();
    for (const [slug, home] of Object.entries(before)) {
      if (Object.hasOwn(next, slug)) continue;
      const present = realms.some((r) => r.upstream === home.upstream && r.id === home.id && r.realm === slug);
      if (present) {
        // Two realms share the name and neither serves it: kept as it was (`seen` does not move,
        // so a home that was not established does not become so while contested; the time
        // counts once it serves again).
        next[slug] = home;
      } else if (established(home, rules) && now - home.seen < rules.holdMs) {
        const other = heldByRealm.get(home.id);
        if (!other || other[1].seen < home.seen) heldByRealm.set(home.id, [slug, home]);
      }
    }
    for (const [slug, home] of heldByRealm.values()) next[slug] = home;
    const json = JSON.stringify(next);
    if (json === this.lastJson) return;
    try {
      await record.put(this.store, ID, next);
      this.last = next;
      this.lastJson = json;
    } catch (err) {
      this.onError(err);
    }
  }

  /**
   * Forgets where `slug` stood (the operator: its realm is gone for good, and a realm of
   * another id may have the name now, before the hold ends). Returns what was recorded.
   */
  async release(slug: string): Promise<StandingHome | undefined> {
    const standing = (await record.get(this.store, ID)) ?? {};
    const home = Object.hasOwn(standing, slug) ? standing[slug] : undefined;
    if (!home) return undefined;
    delete standing[slug];
    await record.put(this.store, ID, standing);
    return home;
  }
}
