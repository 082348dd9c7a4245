/** The ScaiWave Auth API's actions (seeds/001): each the last step of its route's pipeline. */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { PreparedBySource, sendPrepared } from '../../http/local-answer.js';
import { inputOf } from '../../http/state.js';
import { loginInput, passwordInput, refreshInput } from './schemas.js';
import { BrokerError, relabel } from '../../errors.js';
import { bearerToken } from '../../http/bearer.js';
import { RealmTokenVerifier } from '../../keys/realm-token-verifier.js';
import type { Tenant } from '../../tenancy/tenant.js';
import { realmsForCode, redeemAtFirst } from './code-realm.js';
import type { TokenResponse } from '../../upstream/realm-connector.js';
import { assertPasswordGrantAllowed, passwordGrant } from '../shared/password-grant.js';
import { registerParticipant } from './participants.js';
import { loginRedirectUri, tenantOfHost } from './resolve-host-tenant.js';
import type { DirectRoute } from '../../http/direct-lane.js';
import { escapeHtml, renderPage } from '../../ui/pages.js';

const realmOf = ({ upstreams }: Deps, tenant: Tenant) => upstreams.get(tenant.upstream).realm(tenant.realm);

/** The documented token shape: four fields, wrapped in `data`. */
function tokenData(res: TokenResponse) {
  return {
    data: {
      access_token: res.access_token,
      refresh_token: res.refresh_token,
      token_type: res.token_type,
      expires_in: res.expires_in,
    },
  };
}

const USER_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'];

/** GET /v1/auth/config: the tenant realm's OIDC endpoints, as a browser reaches them. */
export function oidcConfig(deps: Deps): Koa.Middleware {
  const prepared = new PreparedBySource<object>();
  return async function oidcConfig(ctx) {
    const meta = await realmOf(deps, ctx.state.tenant).serverMetadata();
    const redirectUri = loginRedirectUri(deps, ctx);
    // The body depends on the tenant, chosen by Host (and the tenant header when enabled):
    // a shared cache must key on them, or one tenant's config is served to another's host.
    ctx.vary('Host');
    if (deps.config.trustProxy > 0) ctx.vary('X-Forwarded-Host');
    if (deps.config.scaiwave.tenantHeader) ctx.vary(deps.config.scaiwave.tenantHeader);
    // Prepared once per realm metadata (refreshed by its cache) and redirect URI.
    sendPrepared(ctx, prepared.get(meta, redirectUri, () => ({
      data: {
        issuer: meta.issuer,
        authorization_endpoint: meta.authorization_endpoint,
        token_endpoint: meta.token_endpoint,
        jwks_uri: meta.jwks_uri,
        // What a front end may ask for, in a stable order: not Keycloak's internal scopes.
        scopes_supported: USER_SCOPES.filter((s) => (meta.scopes_supported ?? ['openid', 'profile', 'email']).includes(s)),
        redirect_uri: redirectUri,
        // The client the front end sends to the authorization endpoint: the one /login redeems codes as.
        client_id: deps.config.brokerClient.clientId,
      },
    })), 'public, max-age=300');
  };
}

/**
 * GET /v1/auth/login: the redirect URI as a browser meets it, coming back from the realm
 * with `code` (or `error`). The code is for the front end to POST here: the browser is
 * sent on to the configured front end with the same query, or shown a short page.
 */
export function loginLanding(deps: Deps): Koa.Middleware {
  return async function loginLanding(ctx) {
    const front = deps.config.scaiwave.frontendUrl;
    if (front) {
      const url = new URL(front);
      for (const [k, v] of Object.entries(ctx.query)) if (typeof v === 'string' && ['code', 'state', 'error', 'error_description', 'iss', 'session_state'].includes(k)) url.searchParams.set(k, v);
      return ctx.redirect(url.href);
    }
    const error = typeof ctx.query.error === 'string' ? ctx.query.error : undefined;
    renderPage(ctx, error ? 400 : 200, 'Sign-in', error
      ? `<h1>The sign-in did not complete</h1><p class="error" role="alert">${escapeHtml(error)}</p>`
      : '<h1>Signing you in</h1><p>This address receives the sign-in code for your application, which completes the sign-in by sending it to <code>POST /v1/auth/login</code>. If you see this page, the application has no front end configured here (<code>scaiwave.frontendUrl</code>).</p>');
  };
}

/** POST /v1/auth/login: server-side code exchange at the tenant realm. */
export function codeLogin(deps: Deps): Koa.Middleware {
  return async function codeLogin(ctx) {
    const { code, redirect_uri, code_verifier, iss } = inputOf(ctx, loginInput);
    const expected = loginRedirectUri(deps, ctx);
    if (redirect_uri !== undefined && redirect_uri !== expected) {
      throw new BrokerError('redirect_mismatch', `redirect_uri does not match this deployment's (${expected})`);
    }
    const tenant: Tenant = ctx.state.tenant;
    // Only realms the code may be from, in order (code-realm.ts: asking a wrong realm of the same
    // Keycloak server uses the code up).
    const res = await realmsForCode(deps, tenant, code, iss)
      .then((realms) => redeemAtFirst(realms, (r) => deps.upstreams.get(r.upstream).realm(r.realm).authorizationCode(code, expected, code_verifier)))
      .catch(relabel(['invalid_grant', 'invalid_request'], 'SW_AUTH_OIDC_FAILED'));
    // The realm that answered is the tenant's by its keys (realm-name-check.ts; round 52).
    await deps.verifier.assertIssuedBy(res.access_token, tenant);
    ctx.body = tokenData(res);
  };
}

/** Password grant is off unless the tenant turns it on (before input validation, as documented). */
export async function requirePasswordGrant(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  assertPasswordGrantAllowed(ctx.state.tenant);
  await next();
}

/** POST /v1/auth/token: direct password grant, every attempt limited per user and address. */
export function passwordLogin(deps: Deps): Koa.Middleware {
  return async function passwordLogin(ctx) {
    const { username, password, scope } = inputOf(ctx, passwordInput);
    const res = await passwordGrant(deps, ctx, ctx.state.tenant, { username, password, scope })
      .catch(relabel(['invalid_grant'], 'SW_AUTH_INVALID_CREDENTIALS'));
    ctx.body = tokenData(res);
  };
}

/** POST /v1/auth/refresh: at the realm that issued the token, which must be this tenant's. */
export function refresh(deps: Deps): DirectRoute<typeof refreshInput> {
  return {
    name: 'refresh', path: '/refresh', input: refreshInput, sources: ['body'],
    answer({ refresh_token: token }, request) {
      // Anyone can send made-up refresh tokens here, each one a call to Keycloak.
      return deps.limits.refusals.run(request.address(), async () => {
        const tenant = request.tenant = await tenantOfHost(deps, request);
        const relabelInvalid = relabel(['invalid_grant', 'invalid_token', 'invalid_request'], 'SW_AUTH_INVALID_REFRESH_TOKEN');
        const realm = await deps.verifier.issuingRealm(token).catch(relabelInvalid);
        try {
          RealmTokenVerifier.assertBelongs(realm, tenant);
        } catch (err) {
          relabelInvalid(err);
        }
        const res = await deps.upstreams.get(realm.upstream).realm(realm.realm).refresh(token).catch(relabelInvalid);
        return tokenData(res);
      });
    },
  };
}

/** POST /v1/auth/register: the bearer's participant, created on first call, refreshed after. */
export function register(deps: Deps): Koa.Middleware {
  return async function register(ctx) {
    const tenant: Tenant = ctx.state.tenant;
    const claims = await deps.verifier.verifyAccessToken(bearerToken(ctx), tenant, deps.config.scaiwave.audience);
    ctx.body = { data: await registerParticipant(deps.store, tenant, claims) };
  };
}
