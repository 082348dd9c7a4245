/**
 * GET …/oauth/.well-known/openid-configuration: the issuer's metadata (OIDC Discovery,
 * RFC 8414). It lists only what works: every endpoint here is served, every grant and
 * authentication method is supported.
 */
import type Koa from 'koa';
import { prepare, sendPrepared, type Prepared } from '../../http/local-answer.js';
import type { IssuerContext } from './issuer.js';
import { PROMPTS } from './prompt.js';
import { SUPPORTED_GRANTS } from './token.js';

/** Prepared per issuer (the platform and each tenant: bounded by the tenants). */
const prepared = new Map<string, Prepared>();

export async function discoveryDocument(ctx: Koa.Context): Promise<void> {
  const { issuer }: IssuerContext = ctx.state.issuer;
  let p = prepared.get(issuer);
  if (!p) {
    if (prepared.size > 10_000) prepared.clear();
    p = prepare(metadata(ctx.state.issuer as IssuerContext));
    prepared.set(issuer, p);
  }
  sendPrepared(ctx, p, 'public, max-age=300');
}

function metadata({ issuer, jwksUri }: IssuerContext): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    pushed_authorization_request_endpoint: `${issuer}/par`,
    require_pushed_authorization_requests: false,
    revocation_endpoint: `${issuer}/revoke`,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint: `${issuer}/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    jwks_uri: jwksUri,
    end_session_endpoint: `${issuer}/logout`,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    device_authorization_endpoint: `${issuer}/device/authorize`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: SUPPORTED_GRANTS,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'sid', 'at_hash', 'email', 'email_verified',
      'name', 'given_name', 'family_name', 'preferred_username', 'tenant_id', 'tenant'],
    prompt_values_supported: PROMPTS,
    authorization_response_iss_parameter_supported: true,
  };
}
