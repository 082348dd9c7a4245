/**
 * POST …/oauth/revoke (RFC 7009): the client authenticates as at the token endpoint; the
 * token is revoked at the realm that issued it, as that client, so Keycloak refuses a
 * token of another client. The answer is 200 whenever the request itself was valid
 * (RFC 7009 §2.2): an unknown, foreign or already revoked token looks like a revoked one.
 * Only a Keycloak that cannot be reached answers otherwise (503).
 *
 * A public app's id is anyone's, and each made-up token that names a realm is a call to
 * Keycloak: a token Keycloak did not revoke counts as a refusal of the caller's address
 * (refusal-gate.ts; the route's gate also counts refused client authentication). An attack of
 * 2026-12-06 sent 165,000 in a minute as platform-demo, and acme's own grants got 503.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { cachedTokenRevoked } from '../shared/client-credentials.js';
import { canonicalToken, revokedTokenSessionEnded, tokenNotRevoked, tokenRevoked } from '../shared/introspection.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { IssuerContext } from './issuer.js';
import { realmOfToken } from './token-routing.js';

const HINTS = new Set(['access_token', 'refresh_token']);

/** Marks the answer as a refusal for the route's gate: 200 still, as RFC 7009 §2.2 has it. */
function notRevoked(ctx: Koa.Context): void {
  ctx.state.refused = true;
}

export function revoke(deps: Deps): Koa.Middleware {
  return async function revoke(ctx) {
    const client: AuthenticatedClient = ctx.state.client;
    const { token, token_type_hint: hint } = ctx.state.input as { token: string; token_type_hint?: string };
    const realm = await realmOfToken(deps, token, ctx.state.issuer as IssuerContext);
    if (realm) {
      // First, so that no introspection answered from the cache outlives the revocation.
      await tokenRevoked(deps, realm, token);
      const revoked = await deps.upstreams.get(realm.upstream).realm(realm.realm)
        .revoke(token, hint && HINTS.has(hint) ? hint : undefined, { clientId: client.clientId, clientSecret: client.clientSecret })
        .catch((err: unknown) => {
          // Keycloak's refusals (another client's token, a malformed one) are "nothing to revoke".
          if (err instanceof BrokerError && !err.isUpstreamFailure) return false;
          throw err;
        });
      // Only a token Keycloak did revoke keeps its mark and names a session to mark: no mark
      // stays for a token anybody can make up (or another client's, which Keycloak refused).
      if (revoked) {
        // The mark again: another caller's revoke of this token, which Keycloak refused while
        // this one was under way, took the first away, and an introspection in between put
        // Keycloak's answer of then (active) in its place (attack round 49).
        await tokenRevoked(deps, realm, token);
        await revokedTokenSessionEnded(deps, realm, token);
        await cachedTokenRevoked(deps, canonicalToken(token) ?? token);
      } else {
        await tokenNotRevoked(deps, realm, token);
        notRevoked(ctx);
      }
    }
    ctx.status = 200;
    ctx.body = {};
  };
}
