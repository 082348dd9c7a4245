/**
 * The tenant registry: tenants built from the upstreams' realms (admin API) and the
 * config's overrides, with lookups by slug, realm UUID, issuer and email domain.
 *
 * Each upstream's realm list is cached with lru-cache for `tenantCacheTtlMs`; a lookup
 * that misses refreshes at once (bounded to one refresh a second per upstream), so a
 * realm created after start is found without a restart and a deleted one disappears.
 * When an upstream cannot be reached, its last known realms stay in use; without any,
 * a lookup that misses while it is down answers 503 (its tenants are unknown for now,
 * not gone), and the other upstreams' tenants keep being served.
 *
 * A realm's name is its admin's to change: a tenant stays with the realm that served it
 * while another realm takes its name (build-tenants.ts), and only config names a tenant's
 * former realms of another id.
 *
 * A migration's live switch (tenant-homes.ts, in the shared store) overrides the config's
 * `tenants.<slug>.{upstream,realm}`; when it changes, the realm lists are read again so
 * that the new home (created moments before) is known, and a home whose realm this
 * replica cannot see is ignored (the tenant stays where it was) rather than dropped.
 */
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/schema.js';
import { BrokerError } from '../errors.js';
import type { Logger } from '../http/logger.js';
import { LogSampler, suppressedFields } from '../http/log-sampler.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Upstreams } from '../upstream/upstreams.js';
import { buildTenants } from './build-tenants.js';
import type { Standing, StandingRealms, StandingRules } from './standing-realms.js';
import { findHome, type TenantHome, type TenantHomes } from './tenant-homes.js';
import { ATTR_EMAIL_DOMAINS, sameRealm, type RealmEntry, type RealmRef, type Tenant } from './tenant.js';
import { currentDeadline, orAfter } from '../upstream/deadline.js';

const MISS_REFRESH_INTERVAL_MS = 1000;

interface Snapshot {
  tenants: Tenant[];
  bySlug: Map<string, Tenant>;
  byId: Map<string, Tenant>;
  /** By realmKey (server and id): tenants' realms and the realms they moved from. */
  byRealm: Map<string, Tenant>;
  byIssuer: Map<string, RealmEntry>;
  /** Every realm by realmKey (server and id), tenant or not. */
  realms: Map<string, RealmEntry>;
  byDomain: Map<string, Tenant[]>;
  /** Upstreams whose realms are unknown right now (unreachable, no stale list), with why. */
  unavailable: Map<string, unknown>;
}

const realmKey = (r: RealmRef) => `${r.upstream}\u0000${r.id.toLowerCase()}`;

/** How long a request waits for a realm list past its time before the old one serves (listOf). */
export const STALE_GRACE_MS = 250;

export class TenantRegistry {
  private readonly cache: LRUCache<string, RealmEntry[]>;
  private readonly lastMissRefresh = new Map<string, number>();
  /** When each upstream's running realm-list read began (listOf). */
  private readonly refreshBegan = new Map<string, number>();
  /** lru-cache resolves a failed fetch to undefined; keep why, to answer with it. */
  private readonly lastError = new Map<string, unknown>();
  private snapshot?: { sources: RealmEntry[][]; homesVersion: number; value: Snapshot };
  /**
   * What the last rebuild found wrong in the realms (a shadowed realm, a home not found). Each
   * rebuild finds it again: it is logged when it first shows, not at every rebuild (a realm
   * shadowed on another server was said six times in three seconds under a Redis outage).
   */
  private said = new Set<string>();
  private saying = new Set<string>();
  private readonly sampler = new LogSampler();

  constructor(
    private readonly config: Config,
    private readonly upstreams: Upstreams,
    private readonly log: Logger,
    private readonly homes?: TenantHomes,
    private readonly metrics?: Metrics,
    /** Where each tenant stood last, shared by the replicas (standing-realms.ts). */
    private readonly standing?: StandingRealms,
  ) {
    this.cache = new LRUCache<string, RealmEntry[]>({
      max: 100,
      ttl: config.tenantCacheTtlMs,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      fetchMethod: (name) => {
        this.refreshBegan.set(name, performance.now());
        return this.loadRealms(name).then(
          (realms) => { this.lastError.delete(name); this.metrics?.registryRefreshes.inc({ upstream: name, outcome: 'ok' }); return realms; },
          (err) => { this.lastError.set(name, err); this.metrics?.registryRefreshes.inc({ upstream: name, outcome: 'error' }); throw err; },
        ).finally(() => this.refreshBegan.delete(name));
      },
    });
  }

  /**
   * `upstream`'s realms are not as its list says (a realm found renamed: keys/realm-token-verifier.ts):
   * the next lookup reads the list again instead of serving the kept one to its time.
   */
  changed(upstream: string): void {
    this.cache.delete(upstream);
  }

  /** A realm's attributes as the tenancy rules may read them (config `emailDomainsFrom`). */
  private realmAttributes(given: Record<string, unknown> | undefined): Record<string, string> {
    const attributes = (given ?? {}) as Record<string, string>;
    if (this.config.emailDomainsFrom !== 'config' || !(ATTR_EMAIL_DOMAINS in attributes)) return attributes;
    const { [ATTR_EMAIL_DOMAINS]: _ignored, ...rest } = attributes;
    return rest;
  }

  private async loadRealms(name: string): Promise<RealmEntry[]> {
    const upstream = this.upstreams.get(name);
    const ignored = new Set(['master', upstream.config.admin.realm, ...upstream.config.ignoreRealms]);
    const realms = await upstream.admin.listRealms();
    return realms
      .filter((r) => r.realm && r.id && !ignored.has(r.realm))
      .map((r) => ({
        id: r.id!,
        realm: r.realm!,
        upstream: name,
        issuer: upstream.issuerOf(r.realm!),
        displayName: r.displayName || r.realm!,
        attributes: this.realmAttributes(r.attributes),
        loginWithEmail: r.loginWithEmailAllowed !== false,
      }));
  }

  private async current(forceRefresh = false): Promise<Snapshot> {
    if (!forceRefresh) {
      const ready = this.readySnapshot();
      if (ready) return ready;
    }
    const names = this.upstreams.all().map((u) => u.name);
    const unavailable = new Map<string, unknown>();
    const homes = this.homes ? await this.homes.current() : { version: 0, homes: {} };
    // A switched home: read the realm lists now (rare, so past the miss-refresh bound).
    const moved = this.snapshot !== undefined && this.snapshot.homesVersion !== homes.version;
    const sources = await Promise.all(names.map(async (name) => {
      const force = moved || (forceRefresh && Date.now() - (this.lastMissRefresh.get(name) ?? 0) > MISS_REFRESH_INTERVAL_MS);
      if (force) this.lastMissRefresh.set(name, Date.now());
      try {
        const realms = await this.listOf(name, force);
        if (!realms) throw this.lastError.get(name) ?? new BrokerError('upstream_unavailable', `No realms from upstream ${name}`);
        return realms;
      } catch (err) {
        // A stale list beats none; without one this upstream's tenants are unknown for now.
        const stale = this.cache.get(name, { allowStale: true });
        if (stale) return stale;
        if (names.length === 1) throw err;
        const said = this.sampler.take(`upstream realms unavailable ${name}`);
        if (said) this.log.warn('upstream realms unavailable', { upstream: name, err, ...suppressedFields(said.suppressed) });
        unavailable.set(name, err);
        return [];
      }
    }));
    const same = this.snapshot && this.snapshot.homesVersion === homes.version && this.snapshot.sources.every((s, i) => s === sources[i]);
    if (same) return this.snapshot!.value;
    const realms = sources.flat();
    const standing = this.standing ? await this.standing.read() : {};
    this.saying = new Set();
    const value = { ...this.index(realms, names, this.overrides(realms, homes.homes), standing, unavailable), unavailable };
    this.said = this.saying;
    // For the replicas that start later; only a full view may teach them.
    if (this.standing && unavailable.size === 0) await this.standing.write(standing, value.tenants, realms, Date.now(), this.standingRules());
    this.snapshot = { sources, homesVersion: homes.version, value };
    return value;
  }

  /**
   * An upstream's realm list. While a read of it runs (the list past its time, or a refresh
   * forced by a miss), a request waits for that read STALE_GRACE_MS from its start at most: past
   * it, the list as it was serves while the read goes on. A slow realm list on one server made
   * every request of every tenant, the other servers' too, wait for it and answer 504 (attack
   * helper round 30b), and so did a fresh list while unknown names forced reads of it (round 31).
   * The request that forced the read (a switched home, a missed name) needs the new list, and
   * waits for it within its own deadline.
   */
  private listOf(name: string, force: boolean): Promise<RealmEntry[] | undefined> {
    const reading = this.cache.fetch(name, { forceRefresh: force });
    // A read this request joined may have begun under another request's deadline.
    if (force) return orAfter(reading, currentDeadline(this.config.upstreamTimeoutMs).left(), undefined);
    const began = this.refreshBegan.get(name);
    const stale = this.cache.peek(name, { allowStale: true });
    if (began === undefined || stale === undefined) return reading;
    reading.catch(() => {}); // settled by lru-cache for the next caller; answered by `stale` here
    const left = STALE_GRACE_MS - (performance.now() - began);
    return left <= 0 ? Promise.resolve(stale) : orAfter(reading, left, stale);
  }

  /**
   * The snapshot as it stands, when nothing is due: the homes were read within their poll
   * interval and every realm list is fresh and the one it was built from. That is nearly
   * every lookup, answered without the promises of a refresh round (one per upstream).
   */
  private readySnapshot(): Snapshot | undefined {
    const snap = this.snapshot;
    if (!snap) return undefined;
    const homesVersion = this.homes ? this.homes.freshVersion() : 0;
    if (homesVersion !== snap.homesVersion) return undefined;
    const all = this.upstreams.all();
    for (let i = 0; i < all.length; i++) {
      const name = all[i]!.name;
      if (!(this.cache.getRemainingTTL(name) > 0) || this.cache.peek(name) !== snap.sources[i]) return undefined;
    }
    return snap.value;
  }

  /** A rebuild's finding: logged unless the rebuild before found it too. */
  private warnOnce(message: string, fields?: Record<string, unknown>): void {
    const key = fields ? `${message} ${JSON.stringify(fields)}` : message;
    this.saying.add(key);
    if (!this.said.has(key)) this.log.warn(message, fields);
  }

  private standingRules(): StandingRules {
    return { holdMs: this.config.tenantHoldHours * 3600_000, establishMs: this.config.tenantEstablishMinutes * 60_000 };
  }

  /**
   * The config's tenant overrides with the store's live homes on top. A home names its realm
   * by id (`migrate` writes it): the realm of that id on that server, whatever its name now.
   * By name alone (a record written before ids were kept), another realm of that server
   * renamed to the name would take the tenant, with no hold (attack helper round 23).
   */
  private overrides(realms: RealmEntry[], homes: Record<string, TenantHome>): Config['tenants'] {
    const merged: Config['tenants'] = { ...this.config.tenants };
    for (const [slug, home] of Object.entries(homes)) {
      const realm = findHome(realms, home);
      if (!realm) {
        this.warnOnce('tenant home not found: the tenant stays where it was', { tenant: slug, upstream: home.upstream, realm: home.realm, realmId: home.id });
        continue;
      }
      // The realm it moved from, by server and id, while not retired: its tokens stay the tenant's.
      // (Records written before ids were kept name it by name: found so, as their homes are.)
      const fromRealm = home.from ? findHome(realms, home.from) : undefined;
      const movedFrom = fromRealm ? { upstream: fromRealm.upstream, realmId: fromRealm.id, at: new Date(home.since).toISOString() } : undefined;
      merged[slug] = { ...merged[slug], upstream: home.upstream, realm: realm.realm, realmId: realm.id, ...(movedFrom ? { movedFrom } : {}) };
    }
    return merged;
  }

  private index(realms: RealmEntry[], order: string[], overrides: Config['tenants'], standing: Standing, unavailable: Map<string, unknown>): Omit<Snapshot, 'unavailable'> {
    // Which realm served each slug until now (the shared record, or the last one this replica
    // read while the store cannot be read): a realm renamed to a tenant's slug does not take it over.
    const { tenants, warnings } = buildTenants(realms, overrides, order, new Map(Object.entries(standing)), new Set(unavailable.keys()), { now: Date.now(), ...this.standingRules() });
    for (const w of warnings) this.warnOnce(w);
    const byDomain = new Map<string, Tenant[]>();
    for (const t of tenants) for (const d of t.emailDomains) byDomain.set(d, [...(byDomain.get(d) ?? []), t]);
    // Its own id and its former ids: one tenant each (build-tenants.ts withoutSharedIds).
    const byId = new Map<string, Tenant>();
    for (const t of tenants) for (const id of [t.id, ...t.aliasIds]) byId.set(id.toLowerCase(), t);
    // Which tenant a realm is, by server and id: its own, or one it moved from (isTenantRealm).
    const byRealm = new Map<string, Tenant>();
    for (const t of tenants) for (const r of [t, ...t.formerRealms]) byRealm.set(realmKey(r), t);
    return {
      tenants,
      bySlug: new Map(tenants.map((t) => [t.slug, t])),
      byId,
      byRealm,
      byIssuer: new Map(realms.map((r) => [r.issuer, r])),
      realms: new Map(realms.map((r) => [realmKey(r), r])),
      byDomain,
    };
  }

  /**
   * Look up with the cached list, and once more after a refresh when it misses. A miss
   * while an upstream that could hold the answer is unreachable is that upstream's
   * outage (503 with Retry-After), not an unknown tenant (404).
   */
  private find<T>(pick: (s: Snapshot) => T | undefined, couldHold: (upstream: string) => boolean = () => true): Promise<T | undefined> {
    // Nearly every lookup: found in the snapshot as it stands, with no promise but the answer's.
    const ready = this.readySnapshot();
    const found = ready && pick(ready);
    if (found !== undefined) {
      this.metrics?.cache('tenants', true);
      return Promise.resolve(found);
    }
    return this.findAfterRefresh(pick, couldHold);
  }

  private async findAfterRefresh<T>(pick: (s: Snapshot) => T | undefined, couldHold: (upstream: string) => boolean): Promise<T | undefined> {
    const cached = pick(await this.current());
    this.metrics?.cache('tenants', cached !== undefined);
    if (cached !== undefined) return cached;
    const fresh = await this.current(true);
    const found = pick(fresh);
    if (found !== undefined) return found;
    const down = [...fresh.unavailable.keys()].filter(couldHold);
    if (down.length) throw unavailableError(down, fresh.unavailable.get(down[0]!));
    // The new list did not come within the request's time (listOf): not knowing is not a 404.
    if (currentDeadline(this.config.upstreamTimeoutMs).passed()) {
      throw new BrokerError('upstream_timeout', 'Keycloak did not list its realms in time', { retryAfter: 5 });
    }
    return undefined;
  }

  async all(): Promise<Tenant[]> {
    return (await this.current()).tenants;
  }

  /** Every tenant known now, and the upstreams whose tenants are unknown for now (with why). */
  async coverage(): Promise<{ tenants: Tenant[]; unavailable: Map<string, unknown> }> {
    const { tenants, unavailable } = await this.current();
    return { tenants, unavailable };
  }

  bySlug(slug: string): Promise<Tenant | undefined> {
    return this.find((s) => s.bySlug.get(slug));
  }

  byId(id: string): Promise<Tenant | undefined> {
    return this.find((s) => s.byId.get(id.toLowerCase()));
  }

  /** The realm that issued a token (tenant or not: a tenant moved away keeps routing its old tokens). */
  realmByIssuer(issuer: string): Promise<RealmEntry | undefined> {
    // Only the upstream whose issuers look like this one could know it.
    return this.find((s) => s.byIssuer.get(issuer), (name) => issuer.startsWith(this.upstreams.get(name).issuerOf('')));
  }

  /**
   * The id of the realm of `issuer`: from the list as it stands (nearly every call, no
   * promise), else after a refresh.
   */
  realmIdOf(issuer: string): string | Promise<string | undefined> {
    const known = this.readySnapshot()?.byIssuer.get(issuer)?.id;
    return known ?? this.realmByIssuer(issuer).then((r) => r?.id);
  }

  /** A realm by its server and id, as it is called now (tenant or not). */
  realmOf(realm: RealmRef): Promise<RealmEntry | undefined> {
    return this.find((s) => s.realms.get(realmKey(realm)), (name) => name === realm.upstream);
  }

  /** The tenant a realm serves, or served before it moved: by its server and id (tenant.ts isTenantRealm). */
  byRealm(realm: RealmRef): Promise<Tenant | undefined> {
    return this.find((s) => s.byRealm.get(realmKey(realm)));
  }

  /**
   * The realms a tenant lived in before it moved, still on their servers (`tenant.formerRealms`,
   * by server and id). Where a code begun before the switch is redeemable.
   */
  async formerRealms(tenant: Tenant): Promise<RealmEntry[]> {
    const realms = [...(await this.current()).byIssuer.values()];
    return realms.filter((r) => tenant.formerRealms.some((f) => sameRealm(f, r)));
  }

  async byEmailDomain(domain: string): Promise<Tenant[]> {
    return (await this.current()).byDomain.get(domain.toLowerCase()) ?? [];
  }

  /** The configured default tenant, or a 404 when none is configured or it is gone. */
  async defaultTenant(): Promise<Tenant> {
    const slug = this.config.defaultTenant;
    const tenant = slug ? await this.bySlug(slug) : undefined;
    if (!tenant) throw new BrokerError('tenant_not_found', slug ? `Default tenant ${slug} not found` : 'No tenant named and no default tenant configured');
    return tenant;
  }
}

function unavailableError(upstreams: string[], cause: unknown): BrokerError {
  // The upstream's own translated failure ("Keycloak is unreachable …") says it best.
  if (cause instanceof BrokerError && cause.isUpstreamFailure) return cause;
  return new BrokerError('upstream_unavailable', `Keycloak upstream ${upstreams.join(', ')} is unavailable`, { cause, retryAfter: 5 });
}
