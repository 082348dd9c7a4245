/**
 * Which realm a presented token goes back to (DESIGN decision 2), for revocation and
 * introspection: its `iss`, read without trusting it, names a known realm; a tenant-level
 * issuer only ever serves its own tenant's tokens (or its moved-from realm's). Anything
 * else is "not ours": the caller answers as the RFCs ask (200 / active:false), never
 * saying whose token it was.
 */
import type { Deps } from '../../deps.js';
import { RealmTokenVerifier } from '../../keys/realm-token-verifier.js';
import type { RealmEntry } from '../../tenancy/tenant.js';
import type { IssuerContext } from './issuer.js';

export async function realmOfToken(deps: Deps, token: string, issuer: IssuerContext): Promise<RealmEntry | undefined> {
  const realm = await deps.verifier.issuingRealm(token).catch(() => undefined);
  if (!realm) return undefined;
  // The platform speaks for its tenants' realms only (by server and id): not for master, an
  // ignored realm, nor a realm of another server carrying a tenant's id (attack round 33).
  if (!issuer.tenant) return (await deps.tenants.byRealm(realm).catch(() => undefined)) ? realm : undefined;
  try {
    RealmTokenVerifier.assertBelongs(realm, issuer.tenant);
  } catch {
    return undefined;
  }
  return realm;
}
