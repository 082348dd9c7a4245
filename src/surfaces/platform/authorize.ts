/**
 * GET …/oauth/authorize (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636, RFC 9126 §4), then
 * the sign-in pages, then the realm. The pipeline:
 *  1. the request, from the query or a pushed request (`request_uri`), is checked
 *     (authorization-request.ts): a wrong client or redirect URI gets an error page, never a
 *     redirect; anything else goes back to the app as an RFC 6749 error redirect;
 *  2. an app that must push its requests (requirePushedAuthorizationRequests) gets an error otherwise;
 *  3. a login transaction is stored; the user's email comes from `login_hint`, the SSO
 *     session, or the email page; discovery picks the tenant (a chooser when several);
 *  4. the browser goes to the tenant realm's login with the broker's callback, state,
 *     nonce and PKCE.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { clientAddress } from '../../http/client-address.js';
import type { CookieJar } from '../../http/cookies.js';
import type { Tenant } from '../../tenancy/tenant.js';
import { emailPage, errorPage, organisationPage } from '../../ui/pages.js';
import { checkAuthorizationRequest } from './authorization-request.js';
import type { IssuerContext } from './issuer.js';
import { REQUEST_URI_PREFIX } from './par.js';
import { asksPrompt } from './prompt.js';
import { EXPIRED, appName, continueWithEmail, errorRedirect, findApp, loadTx, realmOrigins, routeSignIn, startTransaction, startedHere, toRealm } from './sign-in.js';
import { currentSso } from './sso-open.js';
import { records, type PushedRequest } from './transactions.js';

// No control character either: Keycloak's user search refuses one (400), which the lookup took for
// a broken server and answered 502, and counted against the browser's discoveries (round 43).
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,255}$/u;

export function authorize(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function authorize(ctx) {
    const iss: IssuerContext = ctx.state.issuer;
    const query = ctx.query as Record<string, unknown>;
    let request: Record<string, unknown> = query;
    if (query.request_uri !== undefined) {
      // A pushed request (RFC 9126 §4): used once, with the client id that pushed it, here only.
      // Read, checked, then taken (once, whoever races): taken first, it was used up when shown
      // with another client id or at another issuer (attack helper round 31). Whoever has the
      // whole address (client id and request_uri) can still use it first: single use is RFC 9126's.
      const id = typeof query.request_uri === 'string' && query.request_uri.startsWith(REQUEST_URI_PREFIX) ? query.request_uri.slice(REQUEST_URI_PREFIX.length) : '';
      const matches = (p: PushedRequest | undefined): p is PushedRequest => p !== undefined && p.issuer === iss.issuer && p.params.client_id === query.client_id;
      const found = id ? await records.pushedRequest.get(deps.store, id) : undefined;
      const pushed = matches(found) ? await records.pushedRequest.take(deps.store, id) : undefined;
      if (!matches(pushed)) {
        return errorPage(ctx, 400, 'This sign-in request has expired or was already used. Go back to the application and start again.');
      }
      request = { ...pushed.params, response_type: 'code', code_challenge_method: pushed.params.code_challenge ? 'S256' : undefined };
    }
    const checked = checkAuthorizationRequest(deps, iss, request);
    if (!checked.ok) {
      if ('page' in checked) return errorPage(ctx, 400, checked.page);
      return errorRedirect(ctx, { redirectUri: checked.redirectUri, issuer: iss.issuer, state: checked.state }, checked.error, checked.description);
    }
    const { app, params } = checked;
    const back = (error: string, description: string) => errorRedirect(ctx, { redirectUri: params.redirect_uri, issuer: iss.issuer, state: params.state }, error, description);
    if (app.requirePushedAuthorizationRequests && request === query) return back('invalid_request', 'This application must push its authorization requests (PAR, RFC 9126)');
    const sso = await currentSso(deps, jar, ctx);
    if (asksPrompt(params.prompt, 'none') && !sso) return back('login_required', 'No session; sign-in is required');

    const { txId, tx } = await startTransaction(deps, jar, ctx, {
      issuer: iss.issuer,
      issuerPath: iss.path,
      clientId: params.client_id,
      redirectUri: params.redirect_uri,
      scope: params.scope,
      state: params.state,
      nonce: params.nonce,
      codeChallenge: params.code_challenge,
      prompt: params.prompt,
      maxAge: params.max_age,
      acrValues: params.acr_values,
      tenant: iss.tenant?.slug,
    });
    const forceLogin = asksPrompt(params.prompt, 'login');
    const hint = params.login_hint;
    await routeSignIn(deps, ctx, txId, tx, {
      issuerTenant: iss.tenant,
      sso: forceLogin ? undefined : sso,
      email: hint && EMAIL.test(hint) ? hint : (!forceLogin && sso?.email) || undefined,
      loginHint: hint,
    });
  };
}

/** GET …/login?tx=: the email page (its form is checked against this browser on submit). */
export function showEmailPage(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function showEmailPage(ctx) {
    const txId = ctx.query.tx;
    const tx = typeof txId === 'string' && txId ? await records.tx.get(deps.store, txId) : undefined;
    // Its form token only to the browser that started the sign-in, at its own issuer (the tx id
    // is in the realm's URL: whoever saw it got the token, though its POST was refused).
    if (!tx || !startedHere(jar, ctx, tx)) throw new BrokerError('invalid_request', EXPIRED);
    emailPage(ctx, { appName: findApp(deps, tx.clientId)!.name, action: `${tx.issuerPath}/login`, tx: String(txId), csrf: tx.csrf, formTargets: realmOrigins(deps) });
  };
}

/** POST …/login: the email, then discovery. */
export function submitEmail(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function submitEmail(ctx) {
    const body = ctx.state.body as Record<string, unknown>;
    const tx = await loadTx(deps, jar, ctx, body.tx, body.csrf);
    const email = typeof body.email === 'string' ? body.email.trim() : '';
    if (!EMAIL.test(email)) {
      return emailPage(ctx, { appName: findApp(deps, tx.clientId)!.name, action: `${tx.issuerPath}/login`, tx: String(body.tx), csrf: tx.csrf, error: 'Enter an email address.', formTargets: realmOrigins(deps) });
    }
    await continueWithEmail(deps, ctx, String(body.tx), tx, email);
  };
}

/** POST …/choose: the tenant picked on the chooser, which must be one it offered. */
export function submitChoice(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function submitChoice(ctx) {
    const body = ctx.state.body as Record<string, unknown>;
    const tx = await loadTx(deps, jar, ctx, body.tx, body.csrf);
    const slug = typeof body.tenant === 'string' ? body.tenant : '';
    const tenant = tx.choices?.includes(slug) ? await deps.tenants.bySlug(slug) : undefined;
    if (!tenant) throw new BrokerError('invalid_request', 'Choose one of the organisations offered.');
    await toRealm(deps, ctx, String(body.tx), tx, tenant, tx.email);
  };
}

/**
 * The tenant an organisation name names: the one whose slug or display name it is. A realm's
 * admin sets both (the slug is the realm's name, which they can rename), so any precedence
 * between matches would let them name their realm after another tenant and receive its
 * sign-ins: a name that two tenants answer to names neither.
 */
function tenantNamed(tenants: Tenant[], typed: string): Tenant | 'ambiguous' | undefined {
  const named = tenants.filter((t) => t.slug.toLowerCase() === typed || t.displayName.toLowerCase() === typed);
  return named.length > 1 ? 'ambiguous' : named[0];
}

/**
 * POST …/organisation (`emailWithoutDomainRule: ask`): the organisation typed, by its
 * slug or display name. Only tenant names can be probed here, never accounts.
 */
export function submitOrganisation(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function submitOrganisation(ctx) {
    const body = ctx.state.body as Record<string, unknown>;
    const tx = await loadTx(deps, jar, ctx, body.tx, body.csrf);
    // Only a sign-in that was asked its organisation (the `ask` rule) answers here: otherwise
    // discovery decides, and no form may name a tenant in its place.
    if (deps.config.platform.emailWithoutDomainRule !== 'ask' || !tx.email) {
      throw new BrokerError('invalid_request', 'This sign-in was not asked for an organisation. Go back to the application and start again.');
    }
    // Each name tried counts as a discovery: the tenants are the platform's customer list, and
    // 7,880 names a minute were tried on one transaction (attack helper, 2026-12-06).
    await deps.limits.discovery.consume(clientAddress(ctx));
    const typed = typeof body.organisation === 'string' ? body.organisation.trim().toLowerCase() : '';
    const tenant = typed ? tenantNamed(await deps.tenants.all(), typed) : undefined;
    if (!tenant || tenant === 'ambiguous') {
      return organisationPage(ctx, {
        appName: appName(deps, tx.clientId), action: `${tx.issuerPath}/organisation`, tx: String(body.tx), csrf: tx.csrf,
        error: tenant === 'ambiguous'
          ? 'Several organisations go by that name. Ask your administrator.'
          : 'No organisation of that name. Check its spelling, or ask your administrator.',
        formTargets: realmOrigins(deps),
      });
    }
    await toRealm(deps, ctx, String(body.tx), tx, tenant, tx.email);
  };
}
