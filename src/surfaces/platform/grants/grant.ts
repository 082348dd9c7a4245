/**
 * What every grant of the platform and tenant token endpoints shares: the request it
 * gets, and the answer it builds (the realm's tokens with the broker's ID token).
 */
import * as jose from 'jose';
import type { Deps } from '../../../deps.js';
import { BrokerError } from '../../../errors.js';
import { issueIdToken } from '../../../keys/id-token.js';
import { isRealmSessionId } from '../../../upstream/admin-connector.js';
import type { Tenant } from '../../../tenancy/tenant.js';
import type { TokenResponse } from '../../../upstream/realm-connector.js';
import type { AuthenticatedClient } from '../client-auth.js';
import type { IssuerContext } from '../issuer.js';

export interface GrantRequest {
  deps: Deps;
  client: AuthenticatedClient;
  input: Record<string, string | undefined>;
  issuer: IssuerContext;
}
export type Grant = (req: GrantRequest) => Promise<object>;

export const invalidGrant = (why: string) => new BrokerError('invalid_grant', why);
export const realmOf = (deps: Deps, t: Tenant) => deps.upstreams.get(t.upstream).realm(t.realm);
export const credentials = (c: AuthenticatedClient) => ({ clientId: c.clientId, clientSecret: c.clientSecret });

/** The realm's tokens, with the broker's ID token in place of the realm's. */
export async function withBrokerIdToken(deps: Deps, issuer: IssuerContext, clientId: string, tenant: Tenant, tokens: TokenResponse, nonce?: string) {
  // The realm that answered is the tenant's by its keys, not by the name it was called by: a
  // realm given the name of the tenant's (renamed away a moment ago) answered as the tenant,
  // and its users got the broker's ID tokens as the tenant's (attack round 50). Its keys are
  // fetched by name too, and their realm's id checked (realm-token-verifier.ts).
  await deps.verifier.assertIssuedBy(tokens.access_token, tenant);
  await publishKeyOf(deps, tokens.access_token);
  const { id_token: realmIdToken, session_state: sessionState, ...rest } = tokens;
  if (typeof realmIdToken !== 'string') return rest;
  const id_token = await issueIdToken(deps.signingKeys, {
    issuer: issuer.issuer, clientId, realmIdToken, tenant, nonce, accessToken: tokens.access_token, ttlSeconds: deps.config.platform.idTokenTtlSeconds,
    vouch: issuer.tenant ? undefined : (email) => deps.vouching.vouches(tenant, email),
    atPlatform: !issuer.tenant,
    sessionId: isRealmSessionId(sessionState) ? sessionState : undefined,
  });
  return { ...rest, id_token };
}

/**
 * Before handing out a realm token, make sure the platform JWKS lists its key: a realm
 * that rotated its keys gets them refetched (at most once per cooldown).
 */
export async function publishKeyOf(deps: Deps, token: string): Promise<void> {
  const kid = jose.decodeProtectedHeader(token).kid;
  const { iss } = jose.decodeJwt(token);
  if (kid && typeof iss === 'string' && !(await deps.jwks.has(kid, iss))) deps.log.warn('a realm token key is not in the platform JWKS yet', { kid, iss });
}
