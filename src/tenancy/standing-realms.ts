/**
 * Which realm each tenant stood on last (slug → upstream and realm id), kept in the shared
 * store for the replicas that start later.
 *
 * A realm's admin can rename their realm to another tenant's slug. A replica that has served
 * the tenant keeps it on its realm (build-tenants.ts); one that starts while the two realms
 * share the name would otherwise serve neither, and one that starts while the tenant's own
 * server is unreachable would see the renamed realm alone. With this record both serve the
 * tenant from the realm that served it (or answer 503 while its server is down).
 *
 * Written only from a full view (every server's realm list known), so a replica that sees
 * part of the picture never teaches the others a wrong home. Redis on the project's machines
 * keeps nothing on disk: after a wipe the record is rebuilt from the next full view.
 */
import { RecordKind } from '../store/record.js';
import type { Store } from '../store/store.js';
import type { RealmEntry, Tenant } from './tenant.js';

export type Standing = Record<string, { upstream: string; id: string }>;

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
   * Records where `tenants` stand, from a full view of `realms`, keeping the entries of
   * slugs no tenant holds now whose realm still carries that name (a name two realms share:
   * its home stays known).
   */
  async write(before: Standing, tenants: Tenant[], realms: RealmEntry[]): Promise<void> {
    const next: Standing = {};
    for (const [slug, home] of Object.entries(before)) {
      if (realms.some((r) => r.upstream === home.upstream && r.id === home.id && r.realm === slug)) next[slug] = home;
    }
    for (const t of tenants) next[t.slug] = { upstream: t.upstream, id: t.id };
    const json = JSON.stringify(next);
    if (json === this.last) return;
    try {
      await record.put(this.store, ID, next);
      this.last = json;
    } catch (err) {
      this.onError(err);
    }
  }
}
