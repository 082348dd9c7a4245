/**
 * POST …/oauth/token (RFC 6749 §3.2) for the platform and tenant issuers. The client is
 * authenticated first (client-auth.ts); each grant is one function. Access and refresh
 * tokens are the realm's (DESIGN decision 1); the ID token is the broker's, under the
 * issuer the app discovered (decision 3).
 */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { issueIdToken } from '../../keys/id-token.js';
import { RealmTokenVerifier } from '../../keys/realm-token-verifier.js';
import type { Tenant } from '../../tenancy/tenant.js';
import type { TokenResponse } from '../../upstream/realm-connector.js';
import { s256 } from './sign-in.js';
import type { AuthenticatedClient } from './client-auth.js';
import { pollDeviceCode } from './device.js';
import type { IssuerContext } from './issuer.js';
import { records } from './transactions.js';

interface GrantRequest {
  deps: Deps;
  client: AuthenticatedClient;
  input: Record<string, string | undefined>;
  issuer: IssuerContext;
}
type Grant = (req: GrantRequest) => Promise<unknown>;

const invalidGrant = (why: string) => new BrokerError('invalid_grant', why);
const realmOf = (deps: Deps, t: Tenant) => deps.upstreams.get(t.upstream).realm(t.realm);
const credentials = (c: AuthenticatedClient) => ({ clientId: c.clientId, clientSecret: c.clientSecret });

/** The realm's tokens, with the broker's ID token in place of the realm's. */
async function withBrokerIdToken(deps: Deps, issuer: IssuerContext, clientId: string, tenant: Tenant, tokens: TokenResponse, nonce?: string) {
  await publishKeyOf(deps, tokens.access_token);
  const { id_token: realmIdToken, session_state: _s, ...rest } = tokens;
  if (typeof realmIdToken !== 'string') return rest;
  const id_token = await issueIdToken(deps.signingKeys, {
    issuer: issuer.issuer, clientId, realmIdToken, tenant, nonce, accessToken: tokens.access_token, ttlSeconds: deps.config.platform.idTokenTtlSeconds,
  });
  return { ...rest, id_token };
}

/**
 * Before handing out a realm token, make sure the platform JWKS lists its key: a realm
 * that rotated its keys gets them refetched (at most once per cooldown).
 */
async function publishKeyOf(deps: Deps, token: string): Promise<void> {
  const kid = jose.decodeProtectedHeader(token).kid;
  if (kid && !(await deps.jwks.has(kid))) deps.log.warn('a realm token key is not in the platform JWKS yet', { kid });
}

/** authorization_code (+ PKCE): redeems a broker code, once. */
const authorizationCode: Grant = async ({ deps, client, input, issuer }) => {
  if (!input.code) throw new BrokerError('invalid_request', 'code is required');
  const record = await records.code.take(deps.store, input.code);
  if (!record) {
    // A code seen again: revoke what its first use issued (RFC 6749 §4.1.2).
    const used = await records.codeUsed.take(deps.store, input.code);
    if (used?.refreshToken) {
      const tenant = await deps.tenants.bySlug(used.tenant);
      if (tenant) await realmOf(deps, tenant).revoke(used.refreshToken, 'refresh_token', credentials(client)).catch(() => {});
    }
    throw invalidGrant('The code is invalid, expired or already used');
  }
  const tenant = await deps.tenants.bySlug(record.tenant);
  const refuse = async (why: string) => {
    // The tokens behind a code that fails here were never handed out: end them.
    if (tenant && typeof record.tokens.refresh_token === 'string') {
      const app = deps.config.apps[record.clientId];
      await realmOf(deps, tenant).revoke(record.tokens.refresh_token, 'refresh_token',
        { clientId: record.clientId, clientSecret: app?.public ? undefined : app?.clientSecret }).catch(() => {});
    }
    throw invalidGrant(why);
  };
  if (!tenant) return refuse('The organisation is no longer available');
  if (record.issuer !== issuer.issuer) return refuse('The code was issued by another issuer');
  if (record.clientId !== client.clientId) return refuse('The code was issued to another client');
  if (input.redirect_uri !== record.redirectUri) return refuse('redirect_uri does not match the authorization request');
  if (record.codeChallenge) {
    if (!input.code_verifier) return refuse('code_verifier is required');
    if (s256(input.code_verifier) !== record.codeChallenge) return refuse('code_verifier does not match the code_challenge');
  } else if (input.code_verifier) {
    return refuse('code_verifier given but no code_challenge was');
  }
  await records.codeUsed.put(deps.store, input.code, { tenant: tenant.slug, refreshToken: typeof record.tokens.refresh_token === 'string' ? record.tokens.refresh_token : undefined });
  return withBrokerIdToken(deps, issuer, client.clientId, tenant, record.tokens, record.nonce);
};

/** refresh_token: at the realm that issued it (DESIGN decision 2), which a tenant issuer checks is its own. */
const refreshToken: Grant = async ({ deps, client, input, issuer }) => {
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

/** client_credentials: a confidential client, at the platform's home realm (or the issuer's tenant). */
const clientCredentials: Grant = async ({ deps, client, input, issuer }) => {
  if (client.app.public) throw new BrokerError('unauthorized_client', 'A public client cannot use client_credentials');
  const home = deps.config.platform.homeTenant ?? deps.config.defaultTenant;
  const tenant = issuer.tenant ?? (home ? await deps.tenants.bySlug(home) : undefined);
  if (!tenant) throw new BrokerError('server_error', 'No platform home tenant is configured');
  const tokens = await realmOf(deps, tenant).clientCredentials(credentials(client), input.scope);
  await publishKeyOf(deps, tokens.access_token);
  return tokens;
};

/** The device_code grant (RFC 8628): the tokens the approving user's realm issued for the device. */
const deviceCode: Grant = async ({ deps, client, input, issuer }) => {
  const { grant } = await pollDeviceCode(deps, client.clientId, input.device_code);
  if (grant.issuer !== issuer.issuer) throw invalidGrant('The device code was issued by another issuer');
  const tenant = await deps.tenants.bySlug(grant.tenant!);
  if (!tenant) throw invalidGrant('The organisation is no longer available');
  return withBrokerIdToken(deps, issuer, client.clientId, tenant, grant.tokens!);
};

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
 */
const tokenExchange: Grant = async ({ deps, client, input, issuer }) => {
  if (client.app.public) throw new BrokerError('unauthorized_client', 'Token exchange needs a confidential client');
  if (!input.subject_token || !input.subject_token_type) throw new BrokerError('invalid_request', 'subject_token and subject_token_type are required');
  if (!TOKEN_TYPES.has(input.subject_token_type)) throw new BrokerError('invalid_request', 'Unsupported subject_token_type');
  if (input.requested_token_type && !TOKEN_TYPES.has(input.requested_token_type)) throw new BrokerError('invalid_request', 'Unsupported requested_token_type');
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
      && [t.issuer, `${deps.config.publicUrl}/api/v1/auth/tenants/${t.slug}/oauth`, `tenant:${t.slug}`].includes(input.audience!));
    if (target) throw new BrokerError('invalid_target', `Token exchange across tenants (${tenant.slug} → ${target.slug}) is not supported`);
  }
  const fields = {
    subject_token: input.subject_token,
    subject_token_type: input.subject_token_type,
    requested_token_type: input.requested_token_type,
    audience: input.audience,
    scope: input.scope,
  };
  return deps.upstreams.get(realm.upstream).realm(realm.realm).tokenExchange(fields, credentials(client))
    .catch((err: unknown) => {
      // Keycloak names an unknown audience as a bad request: RFC 8693 calls it invalid_target.
      if (err instanceof BrokerError && /audience/i.test(err.message) && /not found|not available|invalid/i.test(err.message)) {
        throw new BrokerError('invalid_target', err.message, { cause: err, upstream: err.upstream });
      }
      throw err;
    });
};

const GRANTS: Record<string, Grant> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  client_credentials: clientCredentials,
  'urn:ietf:params:oauth:grant-type:device_code': deviceCode,
  'urn:ietf:params:oauth:grant-type:token-exchange': tokenExchange,
};

export const SUPPORTED_GRANTS = Object.keys(GRANTS);

export function platformToken(deps: Deps): Koa.Middleware {
  return async function platformToken(ctx) {
    const client: AuthenticatedClient = ctx.state.client;
    const { grant_type } = ctx.state.input;
    const grant = Object.hasOwn(GRANTS, grant_type) ? GRANTS[grant_type] : undefined;
    if (!grant) throw new BrokerError('unsupported_grant_type', `grant_type ${grant_type} is not supported`);
    if (!(client.app.grantTypes as string[]).includes(grant_type)) {
      throw new BrokerError('unauthorized_client', `${client.clientId} may not use ${grant_type}`);
    }
    ctx.body = await grant({ deps, client, input: ctx.state.input, issuer: ctx.state.issuer });
  };
}
