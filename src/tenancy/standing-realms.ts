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

/** Where a slug stood: the realm, and when it was last seen there (ms since epoch). */
export interface StandingHome {
  upstream: string;
  id: string;
  seen: number;
}
export type Standing = Record<string, StandingHome>;

/** `seen` is written again when older than this: the hold is counted in hours, writes stay rare. */
const SEEN_REFRESH_MS = 3600_000;

/** The store wants a lifetime on every key: ten years is "until changed". */
const record = new RecordKind<Standing>('tenancy', 10 * 365 * 24 * 3600);
const ID = 'standing';

export class StandingRealms {
  /** What this replica last read or wrote, to write only what changed. */
  private last = '';

  constructor(
    private readonly store: Store,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** The record, or nothing when the store cannot be read (routing then goes on as this replica knows it). */
  async read(): Promise<Standing> {
    try {
      const standing = (await record.get(this.store, ID)) ?? {};
      this.last = JSON.stringify(standing);
      return standing;
    } catch (err) {
      this.onError(err);
      return {};
    }
  }

  /**
   * Records where `tenants` stand, from a full view of `realms` at `now`. A slug no tenant
   * holds now keeps its entry while its realm still carries the name (two realms share it)
   * or while its hold lasts (`holdMs` since it was last seen): that is what keeps the name
   * from a realm of another id meanwhile.
   */
  async write(before: Standing, tenants: Tenant[], realms: RealmEntry[], now: number, holdMs: number): Promise<void> {
    const next: Standing = {};
    const present = (slug: string, home: StandingHome) => realms.some((r) => r.upstream === home.upstream && r.id === home.id && r.realm === slug);
    for (const [slug, home] of Object.entries(before)) {
      if (present(slug, home)) next[slug] = { ...home, seen: fresh(home.seen, now) };
      else if (now - home.seen < holdMs) next[slug] = home;
    }
    for (const t of tenants) {
      const was = before[t.slug];
      next[t.slug] = { upstream: t.upstream, id: t.id, seen: was && was.upstream === t.upstream && was.id === t.id ? fresh(was.seen, now) : now };
    }
    const json = JSON.stringify(next);
    if (json === this.last) return;
    try {
      await record.put(this.store, ID, next);
      this.last = json;
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

const fresh = (seen: number, now: number) => (now - seen < SEEN_REFRESH_MS ? seen : now);
