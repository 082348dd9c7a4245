/**
 * The one password-grant policy, for every surface that takes a user's password
 * (ScaiWave POST /v1/auth/token, connect POST /oauth/connect/user/login):
 *  - the tenant must allow it (`features.auth.password_grant_enabled`, off by default);
 *  - every attempt is counted per account (the one the name typed names, by username or
 *    email: password-account.ts) and per client address **before** the password goes to
 *    Keycloak; the address is counted first, so that a caller over its limit sets off no
 *    account lookup; a right password clears the user's count and gives the
 *    address its point back; Keycloak not reached or failing (5xx) gives both back (no guess
 *    was made), and any other refusal counts, no answer in time too;
 *  - the name goes to Keycloak without spaces around it, as it is counted: Keycloak's direct
 *    grant does not trim, so a padded name was a refusal that found no account, counted
 *    against the account all the same (a lockout Keycloak never saw; attack helper round 24).
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { clientAddress } from '../../http/client-address.js';
import type { Tenant } from '../../tenancy/tenant.js';
import type { TokenResponse } from '../../upstream/realm-connector.js';
import { passwordAccountKey } from './password-account.js';

export function assertPasswordGrantAllowed(tenant: Tenant): void {
  if (!tenant.features.passwordGrantEnabled) {
    throw new BrokerError('feature_disabled', `Password grant is disabled for tenant ${tenant.slug}`,
      { surfaceCode: 'SW_AUTH_PASSWORD_GRANT_DISABLED' });
  }
}

export async function passwordGrant(deps: Deps, ctx: Koa.Context, tenant: Tenant, input: { username: string; password: string; scope?: string }): Promise<TokenResponse> {
  assertPasswordGrantAllowed(tenant);
  const { passwordPerUser: perUser, passwordPerAddress: perAddress } = deps.limits;
  const address = clientAddress(ctx);
  const addressCounted = await perAddress.consume(address);
  const username = input.username.trim();
  const userKey = await passwordAccountKey(deps, tenant, username);
  const userCounted = await perUser.consume(userKey);
  try {
    const tokens = await deps.upstreams.get(tenant.upstream).realm(tenant.realm).password(username, input.password, input.scope);
    await Promise.all([perUser.reset(userKey), perAddress.reward(address, addressCounted)]);
    // Called by the realm's name: the realm that answered must be the tenant's by its keys. A realm
    // that took the name, its own broker client made public, answered with its users' tokens as
    // the tenant's, per-realm secrets or not (realm-name-check.ts; attack round 52).
    await deps.verifier.assertIssuedBy(tokens.access_token, tenant);
    return tokens;
  } catch (err) {
    if (notJudged(err)) await Promise.all([perUser.reward(userKey, userCounted), perAddress.reward(address, addressCounted)]).catch(() => {});
    throw err;
  }
}

/**
 * Whether Keycloak could not have judged the attempt: it was not reached, or failed (5xx, or a
 * 200 that is no token response). Only then are the points given back. Any other answer counts
 * as an attempt, a refusal of the password or of anything else: giving the points back for
 * every answer but `invalid_grant` let a caller with an invalid `scope` (or a NUL in the name)
 * call Keycloak without limit. No answer in time counts as well: a realm's admin can make its
 * grants stall (an LDAP of theirs that never answers), and with the points given back one
 * address kept twenty stalled grants in flight without end, until Keycloak had no workers left
 * for any realm (attacks of 2026-12-06).
 */
function notJudged(err: unknown): boolean {
  if (!(err instanceof BrokerError)) return true;
  if (err.code === 'upstream_unavailable') return true;
  return err.code === 'upstream_bad_response' && (err.upstream?.status ?? 500) >= 500;
}
