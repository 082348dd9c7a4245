import * as jose from 'jose';
import { BrokerError } from '../../../errors.js';
import { tenantPath } from '../issuer.js';
import { credentials, type Grant } from './grant.js';

const TOKEN_TYPES = new Set([
  'urn:ietf:params:oauth:token-type:access_token',
  'urn:ietf:params:oauth:token-type:refresh_token',
  'urn:ietf:params:oauth:token-type:id_token',
  'urn:ietf:params:oauth:token-type:jwt',
]);

/**
 * Token exchange (RFC 8693), performed by Keycloak's standard token exchange at the realm
 * that issued the subject token (Keycloak exchanges only within one realm). The client
 * must be confidential; Keycloak decides the rest, and its refusals come back as RFC 8693
 * errors. An audience that names another tenant is refused here: no cross-tenant exchange.
 * A requested scope must lie within the subject token's: Keycloak grants any optional
 * scope of the calling client, so an exchange could otherwise widen what the user's token
 * carries (attack helper, 2026-12-06: openid email profile became … address phone).
 */
export const tokenExchange: Grant = async ({ deps, client, input, issuer }) => {
  if (client.app.public) throw new BrokerError('unauthorized_client', 'Token exchange needs a confidential client');
  if (!input.subject_token || !input.subject_token_type) throw new BrokerError('invalid_request', 'subject_token and subject_token_type are required');
  if (!TOKEN_TYPES.has(input.subject_token_type)) throw new BrokerError('invalid_request', 'Unsupported subject_token_type');
  if (input.requested_token_type && !TOKEN_TYPES.has(input.requested_token_type)) throw new BrokerError('invalid_request', 'Unsupported requested_token_type');
  // Keycloak's standard token exchange makes no delegation token (no `act` claim): an actor token
  // was dropped, and a client that asked for delegation got an impersonation token unawares (round 44).
  if (input.actor_token !== undefined || input.actor_token_type !== undefined) {
    throw new BrokerError('invalid_request', 'Delegation (actor_token) is not supported: an exchange issues a token for the subject alone');
  }
  const realm = await deps.verifier.issuingRealm(input.subject_token).catch((err: unknown) => {
    if (err instanceof BrokerError && err.isUpstreamFailure) throw err;
    throw new BrokerError('invalid_request', 'The subject token was not issued by a known realm');
  });
  const tenant = await deps.tenants.byRealm(realm);
  if (!tenant) throw new BrokerError('invalid_request', 'The subject token belongs to no tenant');
  if (issuer.tenant && issuer.tenant.slug !== tenant.slug) {
    throw new BrokerError('invalid_request', `The subject token belongs to tenant ${tenant.slug}, not ${issuer.tenant.slug}`);
  }
  if (input.audience) {
    // A tenant's issuer (or realm) as the audience: that is an exchange across tenants.
    const target = (await deps.tenants.all()).find((t) => t.slug !== tenant.slug
      && [t.issuer, `${deps.config.publicUrl}${tenantPath(t.slug)}`, `tenant:${t.slug}`].includes(input.audience!));
    if (target) throw new BrokerError('invalid_target', `Token exchange across tenants (${tenant.slug} → ${target.slug}) is not supported`);
  }
  const wider = widerScopes(input.subject_token, input.scope);
  if (wider.length) throw new BrokerError('invalid_scope', `An exchange cannot widen the subject token's scope: ${wider.join(' ')} is not in it`);
  const fields = {
    subject_token: input.subject_token,
    subject_token_type: input.subject_token_type,
    requested_token_type: input.requested_token_type,
    audience: input.audience,
    scope: input.scope,
  };
  return deps.upstreams.get(realm.upstream).realm(realm.realm).tokenExchange(fields, credentials(client))
    // The realm session's id stays with the realm, as in the other grants' answers.
    .then(({ session_state: _s, ...tokens }) => tokens)
    .catch((err: unknown) => {
      // Keycloak names an unknown audience as a bad request: RFC 8693 calls it invalid_target.
      if (err instanceof BrokerError && /audience/i.test(err.message) && /not found|not available|invalid/i.test(err.message)) {
        throw new BrokerError('invalid_target', err.message, { cause: err, upstream: err.upstream });
      }
      throw err;
    });
};

/** The scopes of `requested` the subject token does not carry (all of them if it carries none). */
function widerScopes(subjectToken: string, requested: string | undefined): string[] {
  const asked = requested?.split(' ').filter(Boolean) ?? [];
  if (!asked.length) return [];
  const scope = jose.decodeJwt(subjectToken).scope; // decodable: its realm was found from it
  const held = new Set(typeof scope === 'string' ? scope.split(' ') : []);
  return asked.filter((s) => !held.has(s));
}
