/**
 * Whether a realm's name, which is how Keycloak is called, still names that realm (its id).
 * A realm admin can rename their realm, and another realm can then take the old name: the
 * broker's list of names is up to TENANT_CACHE_TTL_MS old, and what the other realm answered
 * under that name was taken as the tenant's (attack rounds 50 and 52: its users' ID tokens,
 * tokens made with its admin's own key, its keys in the platform JWKS under the tenant's issuer).
 * Asked of the admin API after what is checked came, so that nothing fetched from another realm
 * is kept. An admin API that does not answer says nothing of a rename ('unknown'): callers keep
 * what they fetched, as before the check, rather than stop with the admin API.
 */
import { BrokerError } from '../errors.js';
import type { Upstreams } from '../upstream/upstreams.js';
import type { TenantRegistry } from './registry.js';

type NameCheck = 'same' | 'renamed' | 'unknown';

async function checkRealmName(upstreams: Upstreams, realm: { upstream: string; realm: string; id: string }): Promise<NameCheck> {
  try {
    const id = await upstreams.get(realm.upstream).admin.realmIdOf(realm.realm);
    return id?.toLowerCase() === realm.id.toLowerCase() ? 'same' : 'renamed';
  } catch (err) {
    if (err instanceof BrokerError && err.isUpstreamFailure) return 'unknown';
    throw err;
  }
}

/**
 * Throws when `realm`'s name is another realm's now (Keycloak's answer is not the tenant's: 503),
 * after telling the tenant list to read that server's realms again; `unchecked` hears of an admin
 * API that did not answer. The one use of the check: key sets (realm-token-verifier.ts) and the
 * platform JWKS (jwks.ts).
 */
export async function assertRealmName(upstreams: Upstreams, tenants: Pick<TenantRegistry, 'changed'>, realm: { upstream: string; realm: string; id: string }, unchecked?: (err: unknown) => void): Promise<void> {
  const check = await checkRealmName(upstreams, realm);
  if (check === 'unknown') unchecked?.(new Error(`realm ${realm.realm} of ${realm.upstream}: the admin API did not answer`));
  if (check !== 'renamed') return;
  tenants.changed(realm.upstream);
  throw new BrokerError('upstream_unavailable', `realm ${realm.realm} of ${realm.upstream} is no longer realm ${realm.id} (renamed)`, { retryAfter: 5 });
}
