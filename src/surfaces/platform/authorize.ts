/**
 * GET …/oauth/authorize (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636), then the sign-in
 * pages, then the realm. The pipeline:
 *  1. the client and its redirect URI are checked first: when either is wrong the user
 *     gets an error page, never a redirect (no open redirector);
 *  2. everything else that is wrong goes back to the app as an RFC 6749 error redirect;
 *  3. a login transaction is stored; the user's email comes from `login_hint`, the SSO
 *     session, or the email page; discovery picks the tenant (a chooser when several);
 *  4. the browser goes to the tenant realm's login with the broker's callback, state,
 *     nonce and PKCE.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { CookieJar } from '../../http/cookies.js';
import { emailPage, errorPage, organisationPage } from '../../ui/pages.js';
import type { IssuerContext } from './issuer.js';
import { appName, continueWithEmail, currentSso, errorRedirect, findApp, loadTx, realmOrigins, routeSignIn, startTransaction, toRealm } from './sign-in.js';
import { records } from './transactions.js';

const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function authorize(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function authorize(ctx) {
    const q = ctx.query as Record<string, string | string[] | undefined>;
    const one = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
    const iss: IssuerContext = ctx.state.issuer;
    const clientId = one('client_id');
    const app = findApp(deps, clientId);
    // A tenant issuer serves the realm's apps of the registry; the platform serves GLOBAL ones.
    if (!app || (!iss.tenant && !app.global) || !app.grantTypes.includes('authorization_code')) {
      return errorPage(ctx, 400, 'This application is not known here. Go back to the application and try again.');
    }
    const redirectUri = one('redirect_uri');
    if (!redirectUri || !app.redirectUris.includes(redirectUri)) {
      return errorPage(ctx, 400, 'The application asked to return to an address it has not registered.');
    }
    const state = one('state');
    const back = (error: string, description: string) => errorRedirect(ctx, { redirectUri, issuer: iss.issuer, state }, error, description);
    for (const k of Object.keys(q)) if (Array.isArray(q[k])) return back('invalid_request', `${k} given twice`);
    if (!one('response_type')) return back('invalid_request', 'response_type is required');
    if (one('response_type') !== 'code') return back('unsupported_response_type', 'Only response_type=code is supported');
    const scope = one('scope') ?? '';
    if (!scope.split(' ').includes('openid')) return back('invalid_scope', 'The openid scope is required');
    const challenge = one('code_challenge');
    const method = one('code_challenge_method');
    if (app.public && !challenge) return back('invalid_request', 'PKCE (code_challenge with S256) is required for public clients');
    if (challenge && method !== 'S256') return back('invalid_request', 'code_challenge_method must be S256');
    if (!challenge && method) return back('invalid_request', 'code_challenge_method without code_challenge');
    if (challenge && !PKCE_VALUE.test(challenge)) return back('invalid_request', 'Malformed code_challenge');
    const prompt = one('prompt');
    const sso = await currentSso(deps, jar, ctx);
    if (prompt?.split(' ').includes('none') && !sso) return back('login_required', 'No session; sign-in is required');

    const { txId, tx } = await startTransaction(deps, jar, ctx, {
      issuer: iss.issuer,
      issuerPath: iss.path,
      clientId: clientId!,
      redirectUri,
      scope,
      state,
      nonce: one('nonce'),
      codeChallenge: challenge,
      prompt,
      tenant: iss.tenant?.slug,
    });
    const forceLogin = prompt?.split(' ').includes('login');
    const hint = one('login_hint');
    await routeSignIn(deps, ctx, txId, tx, {
      issuerTenant: iss.tenant,
      sso: forceLogin ? undefined : sso,
      email: hint && EMAIL.test(hint) ? hint : (!forceLogin && sso?.email) || undefined,
      loginHint: hint,
    });
  };
}

/** GET …/login?tx=: the email page (its form is checked against this browser on submit). */
export function showEmailPage(deps: Deps): Koa.Middleware {
  return async function showEmailPage(ctx) {
    const txId = ctx.query.tx;
    const tx = typeof txId === 'string' && txId ? await records.tx.get(deps.store, txId) : undefined;
    if (!tx) throw new BrokerError('invalid_request', 'This sign-in has expired. Go back to the application and start again.');
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
 * POST …/organisation (`emailWithoutDomainRule: ask`): the organisation typed, by its
 * slug or display name. Only tenant names can be probed here, never accounts.
 */
export function submitOrganisation(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function submitOrganisation(ctx) {
    const body = ctx.state.body as Record<string, unknown>;
    const tx = await loadTx(deps, jar, ctx, body.tx, body.csrf);
    const typed = typeof body.organisation === 'string' ? body.organisation.trim().toLowerCase() : '';
    const tenant = typed ? (await deps.tenants.all()).find((t) => t.slug === typed || t.displayName.toLowerCase() === typed) : undefined;
    if (!tenant) {
      return organisationPage(ctx, {
        appName: appName(deps, tx.clientId), action: `${tx.issuerPath}/organisation`, tx: String(body.tx), csrf: tx.csrf,
        error: 'No organisation of that name. Check its spelling, or ask your administrator.', formTargets: realmOrigins(deps),
      });
    }
    await toRealm(deps, ctx, String(body.tx), tx, tenant, tx.email);
  };
}
