/**
 * The live routing switch of a migration: where each moved tenant lives now, kept in
 * the shared store so that every replica follows it without a restart.
 *
 * One record (`tenancy:homes`) holds every moved tenant and a version. A replica reads
 * it at most once per `pollMs` (on the first lookup after that), so a switch reaches
 * every replica that serves requests within `pollMs` plus one store round trip. One
 * small key read per second per replica is cheaper than any subscription, and works
 * through the store's narrow interface (memory or Redis) unchanged.
 *
 * The store entry overrides the config's `tenants.<slug>.{upstream,realm}`: it is the
 * newer decision. Redis on the project's machines keeps nothing on disk, so the CLI
 * tells the operator to copy the final home into the config file as well.
 */
import type { Store } from '../store/store.js';

export const HOMES_KEY = 'tenancy:homes';
/** The store wants a TTL on every key: ten years is "until changed". */
const HOMES_TTL_SECONDS = 10 * 365 * 24 * 3600;

export interface RealmAddress {
  upstream: string;
  realm: string;
}

/**
 * A realm as a home names it: its server, and its id, which decides (`realm` is its name when
 * the home was set, for people). A realm's name is its admin's to change: a home found by
 * name would go to another realm of that server renamed to it. Records written before ids
 * were kept have none, and are found by name.
 */
export interface HomeRealm extends RealmAddress {
  id?: string;
}

export interface TenantHome extends HomeRealm {
  /** Where the tenant lived before the last migration, while that realm is not retired: what --rollback returns to. */
  from?: HomeRealm;
  /** When this home was set (ms since epoch). */
  since: number;
  /** This home is a `--rollback`'s: `from` is the copy it left, and another rollback would go back to it. */
  rolledBack?: boolean;
}

/** The realm a home names, among `realms`: by id on its server when it has one, else by name. */
export function findHome<R extends { upstream: string; realm: string; id: string }>(realms: readonly R[], home: HomeRealm): R | undefined {
  const id = home.id?.toLowerCase();
  return realms.find((r) => r.upstream === home.upstream && (id ? r.id.toLowerCase() === id : r.realm === home.realm));
}

export interface HomesRecord {
  version: number;
  homes: Record<string, TenantHome>;
}

const EMPTY: HomesRecord = { version: 0, homes: {} };

export class TenantHomes {
  private last: HomesRecord = EMPTY;
  private readAt = 0;
  private pending?: Promise<HomesRecord>;

  constructor(
    private readonly store: Store,
    readonly pollMs = 1000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** The current record, read again from the store when the last read is older than pollMs. */
  async current(): Promise<HomesRecord> {
    if (Date.now() - this.readAt < this.pollMs) return this.last;
    // Single flight: concurrent lookups share one store read.
    this.pending ??= this.store.get<HomesRecord>(HOMES_KEY)
      .then((rec) => { this.last = rec ?? EMPTY; return this.last; })
      // The store down: keep routing as last known, and try again at the next poll.
      .catch((err: unknown) => { this.onError(err); return this.last; })
      .finally(() => { this.readAt = Date.now(); this.pending = undefined; });
    return this.pending;
  }

  /** The record's version when it was read within `pollMs` (nothing to read), else undefined. */
  freshVersion(): number | undefined {
    return Date.now() - this.readAt < this.pollMs ? this.last.version : undefined;
  }

  /** Reads the record now (the CLI: it must not act on a stale copy). */
  async read(): Promise<HomesRecord> {
    this.readAt = 0;
    return this.current();
  }

  /** Sets (or, with undefined, removes) the home of one tenant and bumps the version. */
  async set(slug: string, home: TenantHome | undefined): Promise<HomesRecord> {
    const rec = await this.store.get<HomesRecord>(HOMES_KEY) ?? EMPTY;
    const homes = { ...rec.homes };
    if (home) homes[slug] = home;
    else delete homes[slug];
    const next = { version: rec.version + 1, homes };
    await this.store.put(HOMES_KEY, next, HOMES_TTL_SECONDS);
    this.last = next;
    this.readAt = Date.now();
    return next;
  }
}
