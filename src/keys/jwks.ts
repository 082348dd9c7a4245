/**
 * Every realm's signing keys, for the documented platform JWKS: what resource servers use
 * to verify the realms' access tokens. Each key carries `iss`, the realm issuer it belongs
 * to, so a verifier can bind key to issuer. The broker's own key is NOT here (see
 * surfaces/platform/jwks.ts: realm keys must never vouch for a broker-issued ID token).
 * Realm key sets are cached; a request for a `kid` nobody has seen refetches them, at most
 * once per cooldown.
 */
import type * as jose from 'jose';
import type { TenantRegistry } from '../tenancy/registry.js';
import { assertRealmName } from '../tenancy/realm-name-check.js';
import type { Upstreams } from '../upstream/upstreams.js';
import { translateUpstreamError } from '../upstream/translate-error.js';

const TTL_MS = 5 * 60_000;
const COOLDOWN_MS = 30_000;
/** A key set fetched while some realm was unreachable is refetched this soon. */
const PARTIAL_TTL_MS = 5_000;

const kidsOf = (keys: jose.JWK[] | undefined) => (keys ?? []).map((k) => `${(k as { iss?: string }).iss}|${k.kid}`).sort().join();

export class RealmJwks {
  private cached?: { keys: jose.JWK[]; at: number; ttl: number };
  /** Each realm's keys as last fetched (by issuer): an unreachable server does not unpublish them. */
  private readonly lastByRealm = new Map<string, jose.JWK[]>();
  private pending?: Promise<jose.JWK[]>;
  private lastForced = 0;

  constructor(
    private readonly upstreams: Upstreams,
    private readonly tenants: TenantRegistry,
    /** Told when a fetch found a different key set (what was published from it is stale). */
    private readonly onChange?: () => void,
  ) {}

  keys(): Promise<jose.JWK[]> {
    return this.realmKeys(false);
  }

  /**
   * True when `kid` is published for the issuer `iss`, refetching the realms' keys once (with a
   * cooldown) if not. By issuer too: a tenant's realm copied to another server (a migration)
   * signs with the same kid under its new issuer, which must show before its tokens verify.
   */
  async has(kid: string, iss: string): Promise<boolean> {
    const published = (keys: jose.JWK[]) => keys.some((k) => k.kid === kid && (k as { iss?: string }).iss === iss);
    if (published(await this.keys())) return true;
    if (Date.now() - this.lastForced < COOLDOWN_MS) return false;
    this.lastForced = Date.now();
    return published(await this.realmKeys(true));
  }

  private realmKeys(force: boolean): Promise<jose.JWK[]> {
    if (!force && this.cached && Date.now() - this.cached.at < this.cached.ttl) return Promise.resolve(this.cached.keys);
    this.pending ??= this.fetchAll().then(
      ({ keys, complete }) => {
        const changed = kidsOf(this.cached?.keys) !== kidsOf(keys);
        this.cached = { keys, at: Date.now(), ttl: complete ? TTL_MS : PARTIAL_TTL_MS };
        if (changed) this.onChange?.();
        return keys;
      },
      (err) => {
        // An outage keeps the last keys rather than unpublishing them.
        if (this.cached) return this.cached.keys;
        throw err;
      },
    ).finally(() => { this.pending = undefined; });
    return this.pending;
  }

  /**
   * Every tenant realm's keys, and those of the realms tenants moved from (still on their
   * servers): refresh tokens issued before a move go on being refreshed at the old realm, under
   * its issuer, until it is retired. One server down keeps its realms' last keys and fails only
   * when all do.
   */
  private async fetchAll(): Promise<{ keys: jose.JWK[]; complete: boolean }> {
    const tenants = await this.tenants.all();
    const former = (await Promise.all(tenants.map((t) => this.tenants.formerRealms(t)))).flat();
    const realms = [...tenants, ...former];
    const results = await Promise.allSettled(realms.map(async (t) => {
      const base = this.upstreams.get(t.upstream).realm(t.realm).address.internalBase;
      try {
        const res = await this.upstreams.get(t.upstream).fetch(`${base}/protocol/openid-connect/certs`);
        if (!res.ok) throw new Error(`certs answered ${res.status}`);
        const body = (await res.json()) as { keys?: jose.JWK[] };
        // Fetched by name: another realm's keys, if the name is another realm's now, are not
        // published under the tenant's issuer (the last ones stand; attack round 52).
        await assertRealmName(this.upstreams, this.tenants, t);
        // Only signing keys: Keycloak also lists its encryption keys here.
        const keys = (body.keys ?? []).filter((k) => k.use !== 'enc').map((k) => ({ ...k, iss: t.issuer }));
        this.lastByRealm.set(t.issuer, keys);
        return keys;
      } catch (err) {
        throw translateUpstreamError(err, `keys of realm ${t.realm}`);
      }
    }));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length && failed.length === results.length) throw failed[0];
    const sets = results.map((r, i) => (r.status === 'fulfilled' ? r.value : this.lastByRealm.get(realms[i]!.issuer) ?? []));
    // A key is its issuer's: a migration's copy has the same keys (same kid) under another issuer,
    // and a verifier that binds a key to the token's issuer needs both.
    const seen = new Set<string>();
    const keys = sets.flat().filter((k) => {
      const id = `${(k as { iss?: string }).iss}|${k.kid}`;
      return k.kid && !seen.has(id) ? (seen.add(id), true) : false;
    });
    return { keys, complete: !failed.length };
  }
}
