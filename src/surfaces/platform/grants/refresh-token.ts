import { BrokerError } from '../../../errors.js';
import { RealmTokenVerifier } from '../../../keys/realm-token-verifier.js';
import { credentials, invalidGrant, withBrokerIdToken, type Grant } from './grant.js';

/** refresh_token: at the realm that issued it (DESIGN decision 2), which a tenant issuer checks is its own. */
export const refreshToken: Grant = async ({ deps, client, input, issuer }) => {
  if (!input.refresh_token) throw new BrokerError('invalid_request', 'refresh_token is required');
  const realm = await deps.verifier.issuingRealm(input.refresh_token).catch((err: unknown) => {
    // Its server being unreachable says nothing against the token.
    if (err instanceof BrokerError && err.isUpstreamFailure) throw err;
    throw invalidGrant('The refresh token is not valid');
  });
  const tenant = await deps.tenants.byRealm(realm);
  if (!tenant) throw invalidGrant('The refresh token belongs to no tenant');
  if (issuer.tenant) {
    try {
      RealmTokenVerifier.assertBelongs(realm, issuer.tenant);
    } catch {
      throw invalidGrant('The refresh token was issued for another tenant');
    }
  }
  const tokens = await deps.upstreams.get(realm.upstream).realm(realm.realm).refresh(input.refresh_token, input.scope, credentials(client))
    .catch((err: unknown) => {
      if (err instanceof BrokerError && err.code === 'invalid_token') throw new BrokerError('invalid_grant', err.message, { cause: err, upstream: err.upstream });
      throw err;
    });
  return withBrokerIdToken(deps, issuer, client.clientId, tenant, tokens);
};
