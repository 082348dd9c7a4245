/**
 * The platform OAuth API and the tenant-level issuers in the OpenAPI document: the same
 * endpoints under two prefixes, RFC 6749 error bodies, HTML for the pages a person reads.
 */
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { html, inputs, json, redirect, tokenResponse, validationError, withErrors } from '../../openapi/helpers.js';
import { PLATFORM_PATH } from './issuer.js';
import { PREFIX } from './routes.js';
import { deviceAuthorizeInput, deviceVerifyInput, introspectInput, parInput, revokeInput, tokenInput } from './schemas.js';

export const oauthError = z.object({ error: z.string(), error_description: z.string() }).meta({ id: 'OAuthError' });
export const jwks = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })) }).meta({ id: 'JWKS' });
export const realmJwks = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional(), iss: z.string().meta({ description: 'the realm issuer this key belongs to' }) })),
}).meta({ id: 'RealmJWKS' });
export const discovery = z.looseObject({
  issuer: z.string(), authorization_endpoint: z.string(), token_endpoint: z.string(), jwks_uri: z.string(),
  response_types_supported: z.array(z.string()),
}).meta({ id: 'OpenIDProviderMetadata' });
export const userinfoClaims = z.looseObject({ sub: z.string(), tenant: z.string().optional(), tenant_id: z.string().optional() }).meta({ id: 'UserInfo' });
export const deviceAuthorization = z.object({
  device_code: z.string(), user_code: z.string(), verification_uri: z.string(), verification_uri_complete: z.string(),
  expires_in: z.number(), interval: z.number(),
}).meta({ id: 'DeviceAuthorizationResponse' });
export const deviceInfo = z.object({ client_id: z.string(), application_name: z.string(), scopes: z.array(z.string()), expires_in: z.number() }).meta({ id: 'DeviceVerifyInfo' });
export const parResponse = z.object({ request_uri: z.string(), expires_in: z.number() }).meta({ id: 'PushedAuthorizationResponse' });
export const deviceAnswer = z.object({ status: z.enum(['denied', 'confirm_in_browser']), redirect_to: z.string().optional() }).meta({ id: 'DeviceVerifyAnswer' });

const apiErrors = { 400: oauthError, 401: oauthError, 403: oauthError, 404: oauthError, 413: oauthError, 415: oauthError, 422: validationError, 429: oauthError, 502: oauthError, 503: oauthError, 504: oauthError };
const pageErrors = Object.fromEntries([400, 403, 404, 429, 502, 503, 504].map((s) => [s, html('an error page')]));
const slug = z.object({ slug: z.string().meta({ description: 'the tenant' }) });

/** The issuer endpoints, at the platform (`tenant` false) or under /api/v1/auth/tenants/{slug}. */
function issuerPaths(base: string, tenant: boolean): ZodOpenApiPathsObject {
  const tags = [tenant ? 'tenant' : 'platform'];
  const id = (name: string) => `${tenant ? 'tenant' : 'platform'}-${name}`;
  const params = tenant ? { path: slug } : undefined;
  const api = (name: string, summary: string, ok: z.ZodType, extra: Partial<ZodOpenApiOperationObject> = {}): ZodOpenApiOperationObject => ({
    operationId: id(name), tags, summary, ...extra, requestParams: { ...params, ...extra.requestParams },
    responses: withErrors({ 200: json(ok, 'success') }, apiErrors),
  });
  const page = (name: string, summary: string, extra: Partial<ZodOpenApiOperationObject> = {}, ok = html('a page')): ZodOpenApiOperationObject => ({
    operationId: id(name), tags, summary, ...extra, requestParams: { ...params, ...extra.requestParams },
    responses: { 200: ok, 302: redirect('on to the next step'), ...pageErrors },
  });
  const form = (fields: Record<string, z.ZodType>) => ({ requestBody: { content: { 'application/x-www-form-urlencoded': { schema: z.object(fields) } } } });
  const authorizeQuery = z.object({
    response_type: z.literal('code').optional(), client_id: z.string(), redirect_uri: z.string().optional(), scope: z.string().optional(), state: z.string().optional(),
    request_uri: z.string().optional().meta({ description: 'from …/par (RFC 9126): then only client_id besides' }),
    nonce: z.string().optional(), code_challenge: z.string().optional(), code_challenge_method: z.literal('S256').optional(),
    prompt: z.string().optional(), login_hint: z.string().optional(),
    max_age: z.string().regex(/^\d+$/).optional().meta({ description: 'seconds: the realm re-authenticates a session older than this' }),
    acr_values: z.string().optional().meta({ description: 'passed on to the realm' }),
  });
  const logoutFields = { id_token_hint: z.string().optional(), post_logout_redirect_uri: z.string().optional(), state: z.string().optional(), client_id: z.string().optional() };
  return {
    [`${base}/.well-known/openid-configuration`]: { get: api('discovery', 'OpenID Provider metadata', discovery) },
    [`${base}/.well-known/jwks.json`]: { get: api('issuer-jwks', 'The issuer\'s keys: the broker\'s signing keys only (verifies its ID tokens)', jwks) },
    [`${base}/authorize`]: { get: page('authorize', 'Authorization request (code + PKCE)', { requestParams: { query: authorizeQuery } }) },
    [`${base}/par`]: {
      post: {
        ...api('par', 'Pushed authorization request (RFC 9126)', z.object({}), { ...inputs(parInput, ['body'], ['application/x-www-form-urlencoded']), security: [{ clientBasic: [] }, {}] }),
        responses: withErrors({ 201: json(parResponse, 'the request_uri to use at …/authorize') }, apiErrors),
      },
    },
    [`${base}/login`]: {
      get: page('email-page', 'The email page', { requestParams: { query: z.object({ tx: z.string() }) } }),
      post: page('email-submit', 'The email typed', form({ tx: z.string(), csrf: z.string(), email: z.string() })),
    },
    [`${base}/choose`]: { post: page('tenant-choice', 'The organisation picked on the chooser', form({ tx: z.string(), csrf: z.string(), tenant: z.string() })) },
    [`${base}/organisation`]: { post: page('organisation', 'The organisation typed (emailWithoutDomainRule: ask)', form({ tx: z.string(), csrf: z.string(), organisation: z.string() })) },
    [`${base}/callback`]: { get: page('callback', 'The realms\' redirect target', { requestParams: { query: z.object({ state: z.string(), code: z.string().optional(), error: z.string().optional() }) } }) },
    [`${base}/token`]: { post: api('token', 'Token endpoint: authorization_code, refresh_token, client_credentials, device_code, token-exchange', tokenResponse, { ...inputs(tokenInput, ['body'], ['application/x-www-form-urlencoded']), security: [{ clientBasic: [] }, {}] }) },
    [`${base}/revoke`]: { post: api('revoke', 'Token revocation (RFC 7009): 200 for any valid request', z.object({}), { ...inputs(revokeInput, ['body'], ['application/x-www-form-urlencoded']), security: [{ clientBasic: [] }, {}] }) },
    [`${base}/introspect`]: { post: api('introspect', 'Token introspection (RFC 7662), confidential clients', z.looseObject({ active: z.boolean() }), { ...inputs(introspectInput, ['body'], ['application/x-www-form-urlencoded']), security: [{ clientBasic: [] }] }) },
    [`${base}/userinfo`]: {
      get: api('userinfo', 'UserInfo (bearer access token of the user\'s realm)', userinfoClaims, { security: [{ bearer: [] }] }),
      post: api('userinfo-post', 'UserInfo, POST', userinfoClaims, { security: [{ bearer: [] }] }),
    },
    [`${base}/logout`]: {
      get: page('logout', 'RP-initiated logout (asks the user without a valid id_token_hint)', { requestParams: { query: z.object(logoutFields) } }),
      post: page('logout-post', 'RP-initiated logout, form-serialized', form({ ...logoutFields, confirm: z.literal('yes').optional(), csrf: z.string().optional() })),
    },
    [`${base}/backchannel-logout`]: {
      post: {
        operationId: id('backchannel-logout'), tags, summary: 'A realm\'s logout token (OIDC Back-Channel Logout 1.0): ends the broker session and tells its apps',
        requestParams: params, requestBody: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ logout_token: z.string() }) } } },
        responses: withErrors({ 200: { description: 'done' } }, apiErrors),
      },
    },
    [`${base}/device/authorize`]: { post: api('device-authorize', 'Device authorization (RFC 8628)', deviceAuthorization, inputs(deviceAuthorizeInput, ['body'], ['application/x-www-form-urlencoded'])) },
    [`${base}/device/verify`]: {
      get: api('device-verify-info', 'What a user code asks for', deviceInfo, inputs(deviceVerifyInput, ['query'])),
      post: {
        ...api('device-verify', 'Approve or deny (needs the signed-in user; the approval page posts a form)', deviceAnswer, {
          requestBody: { content: {
            'application/json': { schema: z.object({ user_code: z.string(), action: z.enum(['approve', 'deny']) }) },
            'application/x-www-form-urlencoded': { schema: z.object({ consent: z.string(), csrf: z.string(), action: z.enum(['approve', 'deny']) }) },
          } },
        }),
      },
    },
    [`${base}/device`]: {
      get: page('device-page', 'The code entry page', { requestParams: { query: z.object({ user_code: z.string().optional() }) } }),
      post: page('device-page-submit', 'The code typed, then the sign-in', form({ csrf: z.string(), user_code: z.string() })),
    },
  };
}

export function platformPaths(): ZodOpenApiPathsObject {
  return {
    [`${PREFIX}/.well-known/jwks.json`]: {
      get: {
        operationId: 'platform-jwks', tags: ['platform'], summary: 'Every realm\'s signing keys, each with its issuer (verifies the realms\' access tokens)',
        responses: { 200: json(realmJwks, 'the realm keys') },
      },
    },
    ...issuerPaths(PLATFORM_PATH, false),
    ...issuerPaths('/api/v1/auth/tenants/{slug}/oauth', true),
  };
}
