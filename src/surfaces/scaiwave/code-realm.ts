/**
 * Which realm may redeem an authorization code posted to `POST /v1/auth/login`: where to ask,
 * in order. A tenant has one realm until it moves; a sign-in begun before a move (its app had the
 * old realm's config) holds a code of the realm it left, so the realms it left are candidates too.
 *
 * Asking a wrong realm is not free: Keycloak takes a code out of its single-use store before it
 * checks the realm, so a realm of the **same server** that refuses a code has used it up (attack
 * helper round 30a). A realm of another server never saw it. So:
 * - the app sent the `iss` Keycloak gave it with the code (RFC 9207): that realm alone, if it is
 *   this tenant's, else none (the code is refused without asking anyone);
 * - else, when two of the tenant's realms share a server, the code says which of them it is of:
 *   Keycloak's codes read `<code id>.<user session id>.<client's internal id>`
 *   (`OAuth2CodeParser.persistCode`, the same since Keycloak 4), and within one server's database
 *   a client's internal id is its realm's alone. The broker's client is looked up in each realm
 *   that shares a server (cached by the admin connector; each lookup waited for
 *   CLIENT_LOOKUP_WAIT_MS at most), and of those only the realm it names is asked, then the
 *   realms of other servers (which may hold the same id: `migrate` copies ids between servers);
 * - else (realms on different servers only, a code of another shape, or no lookup answered in
 *   time) the tenant's realm first, then the realms it left, as before this was known.
 *
 * The realms it left take sign-ins for `formerRealmSignInMinutes` after the move only, for those
 * under way then: the old realm keeps its users as they were at the move, so a user disabled at
 * the new realm since (or one its admin added to the old realm) signed in there, and got the
 * tenant's tokens, until the old realm was retired (attack round 37). Without a known move time
 * (a config `movedFrom` without `at`, a legacy `formerRealmIds`), none.
 */
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { isKeycloakId, isTenantRealm, sameRealm, signInsAtFormerRealms, type RealmEntry, type Tenant } from '../../tenancy/tenant.js';
import { orAfter } from '../../upstream/deadline.js';

/** Where a realm's code is redeemed. */
export type CodeRealm = Pick<RealmEntry, 'upstream' | 'realm' | 'id'>;

/** How long a sign-in waits for a realm's client lookup: a slow admin API must not hold it. */
const CLIENT_LOOKUP_WAIT_MS = 500;

/** The realms to ask for `code`, in order (at least one). */
export async function realmsForCode(deps: Deps, tenant: Tenant, code: string, iss: string | undefined): Promise<CodeRealm[]> {
  if (iss !== undefined) return [await issuingRealm(deps, tenant, iss)];
  const former = signInsAtFormerRealms(tenant, deps.config.formerRealmSignInMinutes) ? await deps.tenants.formerRealms(tenant) : [];
  // Nearly every sign-in: a tenant that never moved has one realm to ask, and no lookup.
  if (!former.length) return [tenant];
  const all: CodeRealm[] = [tenant, ...former];
  const shared = all.filter((r) => all.some((o) => o !== r && o.upstream === r.upstream));
  const client = shared.length ? codeClient(code) : undefined;
  if (client) {
    const ids = await Promise.all(shared.map((r) => orAfter(clientIdAt(deps, r).catch(() => undefined), CLIENT_LOOKUP_WAIT_MS, undefined)));
    const named = shared.filter((_, i) => ids[i] === client);
    if (named.length) return [...named, ...all.filter((r) => !shared.includes(r))];
  }
  return all;
}

/**
 * `redeem` at each of `realms` in turn until one takes the code. A realm after the first is asked
 * only after a refusal of the code (invalid_grant), and the first realm's answer stands if none
 * takes it.
 */
export async function redeemAtFirst<T>(realms: CodeRealm[], redeem: (realm: CodeRealm) => Promise<T>): Promise<T> {
  let first: unknown;
  for (const realm of realms) {
    try {
      return await redeem(realm);
    } catch (err) {
      if (first !== undefined) continue;
      if (!(err instanceof BrokerError && err.code === 'invalid_grant')) throw err;
      first = err;
    }
  }
  throw first;
}

/**
 * The realm an authorization response's `iss` names, if it is this tenant's (its realm, or one
 * it moved from); else the code is refused without asking any realm, where trying it would use
 * it up.
 */
async function issuingRealm(deps: Deps, tenant: Tenant, iss: string): Promise<RealmEntry> {
  const realm = await deps.tenants.realmByIssuer(iss);
  if (!realm || !isTenantRealm(realm, tenant)) {
    throw new BrokerError('invalid_grant', `iss is not the issuer of a realm of tenant ${tenant.slug}`);
  }
  if (!sameRealm(realm, tenant) && !signInsAtFormerRealms(tenant, deps.config.formerRealmSignInMinutes)) {
    throw new BrokerError('invalid_grant', `tenant ${tenant.slug} has moved: sign in again (its realm is ${tenant.issuer})`);
  }
  return realm;
}

/** The client's internal id a Keycloak code names (its third part), if it has that shape. */
export function codeClient(code: string): string | undefined {
  const parts = code.split('.');
  const client = parts.length === 3 ? parts[2]!.toLowerCase() : undefined;
  return client && isKeycloakId(client) ? client : undefined;
}

/** The broker client's internal id at `realm`, lower case. */
async function clientIdAt(deps: Deps, { upstream, realm, id }: CodeRealm): Promise<string | undefined> {
  return (await deps.upstreams.get(upstream).admin.clientInternalId({ name: realm, id }, deps.config.brokerClient.clientId))?.toLowerCase();
}
