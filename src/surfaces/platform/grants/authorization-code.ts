import { BrokerError } from '../../../errors.js';
import { revokedTokenSessionEnded } from '../../shared/introspection.js';
import { records } from '../transactions.js';
import { credentialsOf, s256 } from '../sign-in.js';
import { invalidGrant, realmOf, withBrokerIdToken, type Grant } from './grant.js';

/** authorization_code (+ PKCE): redeems a broker code, once. */
export const authorizationCode: Grant = async ({ deps, client, input, issuer }) => {
  if (!input.code) throw new BrokerError('invalid_request', 'code is required');
  const record = await records.code.take(deps.store, input.code);
  if (!record) {
    // A code seen again: revoke what its first use issued (RFC 6749 §4.1.2), as the client it
    // was issued to: sent again by another client, a revocation as that one changed nothing,
    // and the mark was gone for the real replay (attack helper, 2026-12-06).
    const used = await records.codeUsed.take(deps.store, input.code);
    if (used?.refreshToken) {
      const tenant = await deps.tenants.bySlug(used.tenant);
      // undefined: Keycloak not reached; false: it knew no such token (expired, revoked before).
      const revoked = tenant && await realmOf(deps, tenant).revoke(used.refreshToken, 'refresh_token', credentialsOf(deps, used.clientId)).catch(() => undefined);
      // Its access token may have been introspected already: the cache must not outlive this.
      if (tenant && revoked) await revokedTokenSessionEnded(deps, tenant, used.refreshToken);
      // Keycloak not reached: the mark stays, for the next replay to try again.
      if (tenant && revoked === undefined) await records.codeUsed.put(deps.store, input.code, used);
    }
    throw invalidGrant('The code is invalid, expired or already used');
  }
  const tenant = await deps.tenants.bySlug(record.tenant);
  const refuse = async (why: string) => {
    // The tokens behind a code that fails here were never handed out: end them.
    if (tenant && typeof record.tokens.refresh_token === 'string') {
      await realmOf(deps, tenant).revoke(record.tokens.refresh_token, 'refresh_token', credentialsOf(deps, record.clientId)).catch(() => {});
    }
    throw invalidGrant(why);
  };
  if (!tenant) return refuse('The organisation is no longer available');
  if (record.issuer !== issuer.issuer) return refuse('The code was issued by another issuer');
  // The last word, as for a device (the sign-in pages keep a tenant issuer's to its realm).
  if (issuer.tenant && tenant.slug !== issuer.tenant.slug) return refuse('The code was issued for a user of another organisation');
  if (record.clientId !== client.clientId) return refuse('The code was issued to another client');
  if (input.redirect_uri !== record.redirectUri) return refuse('redirect_uri does not match the authorization request');
  if (record.codeChallenge) {
    if (!input.code_verifier) return refuse('code_verifier is required');
    if (s256(input.code_verifier) !== record.codeChallenge) return refuse('code_verifier does not match the code_challenge');
  } else if (input.code_verifier) {
    return refuse('code_verifier given but no code_challenge was');
  }
  await records.codeUsed.put(deps.store, input.code, { tenant: tenant.slug, clientId: record.clientId, refreshToken: typeof record.tokens.refresh_token === 'string' ? record.tokens.refresh_token : undefined });
  return withBrokerIdToken(deps, issuer, client.clientId, tenant, record.tokens, record.nonce);
};
