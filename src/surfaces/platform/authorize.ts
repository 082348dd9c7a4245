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
import { createHash } from 'node:crypto';
import type Koa from 'koa';
import type { AppConfig } from '../../config/schema.js';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { CookieJar } from '../../http/cookies.js';
import { assertUnderLimit, limitKey, recordFailure } from '../../http/rate-limit.js';
import type { Tenant } from '../../tenancy/tenant.js';
import { chooserPage, emailPage, errorPage } from '../../ui/pages.js';
import type { IssuerContext } from './issuer.js';
import { randomId, TX_TTL, type LoginTransaction, type SsoSession } from './transactions.js';

const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export function findApp({ config }: Deps, clientId: unknown): AppConfig | undefined {
  if (typeof clientId !== 'string' || !Object.hasOwn(config.apps, clientId)) return undefined;
  return config.apps[clientId];
}

/** The Keycloak origins browsers are sent to (for the pages' CSP form-action). */
export function realmOrigins({ config }: Deps): string[] {
  return config.upstreams.map((u) => new URL(u.publicUrl ?? u.url).origin);
}

/** The app's redirect URI with an RFC 6749 §4.1.2.1 error (and RFC 9207 `iss`). */
export function errorRedirect(ctx: Koa.Context, o: { redirectUri: string; issuer: string; state?: string }, error: string, description: string): void {
  const url = new URL(o.redirectUri);
  url.searchParams.set('error', error);
  url.searchParams.set('error_description', description);
  if (o.state) url.searchParams.set('state', o.state);
  url.searchParams.set('iss', o.issuer);
  ctx.redirect(url.href);
}

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

    const tx: LoginTransaction = {
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
      csrf: randomId(),
      realmVerifier: randomId(),
      realmNonce: randomId(),
    };
    const txId = randomId();
    await deps.store.put(`tx:${txId}`, tx, TX_TTL);
    jar.set(ctx, 'rb_csrf', tx.csrf, TX_TTL);

    const forceLogin = prompt?.split(' ').includes('login');
    if (tx.tenant) {
      return toRealm(deps, ctx, txId, tx, iss.tenant!, one('login_hint'));
    }
    const hint = one('login_hint');
    const email = hint && EMAIL.test(hint) ? hint : (!forceLogin && sso?.email) || undefined;
    if (sso && !forceLogin && !hint) {
      // The SSO session names the tenant; the realm's own session spares the password.
      const tenant = await deps.tenants.bySlug(sso.tenant);
      if (tenant) return toRealm(deps, ctx, txId, tx, tenant, sso.email);
    }
    if (email) return continueWithEmail(deps, ctx, txId, tx, email);
    ctx.redirect(`${iss.path}/login?tx=${encodeURIComponent(txId)}`);
  };
}

export async function currentSso(deps: Deps, jar: CookieJar, ctx: Koa.Context): Promise<SsoSession | undefined> {
  const id = jar.get(ctx, 'rb_sso');
  return id ? deps.store.get<SsoSession>(`sso:${id}`) : undefined;
}

/** Discovery, then the realm or the chooser. "Nobody" looks like "somebody" from outside. */
export async function continueWithEmail(deps: Deps, ctx: Koa.Context, txId: string, tx: LoginTransaction, email: string): Promise<void> {
  // Each discovery may query every realm's admin API: bounded per client address.
  const limit = [{ key: limitKey('discovery', ctx.ip), max: deps.config.platform.discoveryAttempts }];
  await assertUnderLimit(deps.store, limit, 'sign-in attempts');
  await recordFailure(deps.store, limit, 300);
  const found = await deps.discovery.find(email);
  if (found.length > 1) {
    tx.tenant = undefined;
    await deps.store.put(`tx:${txId}`, { ...tx, email, choices: found.map((t) => t.slug) }, TX_TTL);
    return chooserPage(ctx, {
      appName: findApp(deps, tx.clientId)!.name,
      action: `${tx.issuerPath}/choose`,
      tx: txId,
      csrf: tx.csrf,
      tenants: found.map((t) => ({ slug: t.slug, name: t.displayName })),
      formTargets: realmOrigins(deps),
    });
  }
  // No account anywhere: go on to the default tenant's login, which will refuse the
  // password like any wrong one, so the answer does not tell who has an account.
  const tenant = found[0] ?? (await deps.tenants.defaultTenant());
  return toRealm(deps, ctx, txId, tx, tenant, email);
}

/** Sends the browser to the tenant realm's authorization endpoint with the broker's callback. */
export async function toRealm(deps: Deps, ctx: Koa.Context, txId: string, tx: LoginTransaction, tenant: Tenant, loginHint?: string): Promise<void> {
  tx.tenant = tenant.slug;
  tx.upstream = tenant.upstream;
  tx.realm = tenant.realm;
  await deps.store.put(`tx:${txId}`, tx, TX_TTL);
  const meta = await deps.upstreams.get(tenant.upstream).realm(tenant.realm).serverMetadata();
  const url = new URL(meta.authorization_endpoint!);
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: tx.clientId,
    redirect_uri: `${deps.config.publicUrl}${tx.issuerPath}/callback`,
    scope: tx.scope,
    state: txId,
    nonce: tx.realmNonce,
    code_challenge: s256(tx.realmVerifier),
    code_challenge_method: 'S256',
    login_hint: loginHint,
    prompt: tx.prompt,
  };
  for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
  ctx.redirect(url.href);
}

async function loadTx(deps: Deps, jar: CookieJar, ctx: Koa.Context, txId: unknown, csrf?: unknown): Promise<LoginTransaction & { email?: string; choices?: string[] }> {
  const tx = typeof txId === 'string' && txId ? await deps.store.get<LoginTransaction & { email?: string; choices?: string[] }>(`tx:${txId}`) : undefined;
  if (!tx) throw new BrokerError('invalid_request', 'This sign-in has expired. Go back to the application and start again.');
  if (csrf !== undefined) {
    // Double submit: the form's token must match both the transaction and this browser's cookie.
    if (typeof csrf !== 'string' || csrf !== tx.csrf || jar.get(ctx, 'rb_csrf') !== tx.csrf) {
      throw new BrokerError('access_denied', 'The form expired or did not come from this site. Go back and try again.', { status: 403 });
    }
  }
  return tx;
}

/** GET …/login?tx=: the email page. */
export function showEmailPage(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function showEmailPage(ctx) {
    const txId = ctx.query.tx;
    const tx = await loadTx(deps, jar, ctx, txId);
    emailPage(ctx, { appName: findApp(deps, tx.clientId)!.name, action: `${tx.issuerPath}/login`, tx: String(txId), csrf: tx.csrf, formTargets: realmOrigins(deps) });
  };
}

/** POST …/login: the email, then discovery. */
export function submitEmail(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function submitEmail(ctx) {
    const body = ctx.state.body as Record<string, unknown>;
    const tx = await loadTx(deps, jar, ctx, body.tx, body.csrf ?? '');
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
    const tx = await loadTx(deps, jar, ctx, body.tx, body.csrf ?? '');
    const slug = typeof body.tenant === 'string' ? body.tenant : '';
    const tenant = tx.choices?.includes(slug) ? await deps.tenants.bySlug(slug) : undefined;
    if (!tenant) throw new BrokerError('invalid_request', 'Choose one of the organisations offered.');
    await toRealm(deps, ctx, String(body.tx), tx, tenant, tx.email);
  };
}
