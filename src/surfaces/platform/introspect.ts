/**
 * POST …/oauth/introspect (RFC 7662), for confidential apps (the resource servers of the
 * registry): the token is introspected at the realm that issued it, by the broker's own
 * client (present in every realm, in every token's audience as the README requires), and
 * Keycloak's answer passes through (or the opt-in introspection cache's, shared/introspection.ts),
 * at the platform issuer without an `email_verified` the broker does not vouch for.
 * A token the broker cannot route, or one of another tenant at a tenant issuer, is
 * `{"active": false}`.
 *
 * A direct route (http/direct-lane.ts), as the token endpoint: a resource server introspects on
 * every request it serves. The lane serves the platform's; the tenant issuers' (a path
 * parameter) go through Koa. Either way the issuer comes first (an unknown tenant is a 404),
 * then the client.
 */
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { DirectRoute } from '../../http/direct-lane.js';
import { cachesIntrospectionAt, introspectAt } from '../shared/introspection.js';
import { introspectInput } from './schemas.js';
import { issuerAndClient } from './client-auth.js';
import { realmOfToken } from './token-routing.js';

const INACTIVE = Object.freeze({ active: false });

export function introspect(deps: Deps): DirectRoute<typeof introspectInput> {
  return {
    name: 'introspect', path: '/introspect', input: introspectInput, sources: ['body'],
    async answer(input, request) {
      // Wrong secrets count against the address (refusal-gate.ts); an authenticated resource
      // server's inactive answers do not.
      const { issuer } = await deps.limits.refusals.run(request.address(), async () => {
        const found = await issuerAndClient(deps, input, request);
        if (found.client.app.public) throw new BrokerError('invalid_client', 'Introspection is for confidential clients');
        return found;
      });
      const realm = await realmOfToken(deps, input.token, issuer);
      if (!realm) return INACTIVE;
      // The tenant of the issuing realm decides (config introspectionCache.tenants).
      const answer = await introspectAt(deps, realm, input.token, await cachesIntrospectionAt(deps, realm));
      // The platform issuer vouches for an address as its ID tokens do (tenancy/email-vouching.ts);
      // the tenant is looked up only for an answer that carries the claim.
      if (issuer.tenant || answer.email_verified === undefined) return answer;
      return deps.vouching.claims(answer, await deps.tenants.byRealm(realm));
    },
  };
}
