/**
 * The steps of a platform (or tenant-level) sign-in that several endpoints share: start a
 * transaction bound to this browser, load it back from a form, find the user's tenant
 * from their email, send the browser to the tenant realm. authorize.ts, device.ts and
 * callback.ts call these; they do not call each other.
 */
import { createHash } from 'node:crypto';
import type Koa from 'koa';
import type { AppConfig } from '../../config/schema.js';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { clientAddress } from '../../http/client-address.js';
import type { CookieJar } from '../../http/cookies.js';
import { sameSecret } from '../../http/same-secret.js';
import type { Tenant } from '../../tenancy/tenant.js';
import { chooserPage, organisationPage } from '../../ui/pages.js';
import { bindToBrowser, isSameBrowser } from './browser-binding.js';
import { PLATFORM_PATH, tenantPath, type IssuerContext } from './issuer.js';
import { asksPrompt } from './prompt.js';
import { randomId, records, TX_TTL, type LoginTransaction, type SsoSession } from './transactions.js';

export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export function findApp({ config }: Deps, clientId: unknown): AppConfig | undefined {
  if (typeof clientId !== 'string' || !Object.hasOwn(config.apps, clientId)) return undefined;
  return config.apps[clientId];
}

/**
 * Whether `app` is served at `issuer`: a GLOBAL app everywhere, any other at the issuers of the
 * tenants it lists only (never at the platform's, which has no tenant to hold it to).
 */
export function appServedAt(app: AppConfig, issuer: IssuerContext | undefined): boolean {
  if (app.global) return true;
  const slug = issuer?.tenant?.slug;
  return slug !== undefined && (app.tenants ?? []).includes(slug);
}

/** The credentials of registered app `clientId`, as the broker holds them (none for a public app). */
export function credentialsOf(deps: Deps, clientId: string): { clientId: string; clientSecret?: string } {
  const app = findApp(deps, clientId);
  return { clientId, clientSecret: app?.public ? undefined : app?.clientSecret };
}

export const appName = (deps: Deps, clientId: string) => findApp(deps, clientId)?.name ?? clientId;

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

/**
 * Stores a new transaction, bound to this browser. Each one is state that an anonymous
 * caller makes the broker keep: counted per client address first.
 */
export async function startTransaction(deps: Deps, jar: CookieJar, ctx: Koa.Context, fields: Omit<LoginTransaction, 'csrf' | 'browser' | 'realmVerifier' | 'realmNonce' | 'expiresAt'>): Promise<{ txId: string; tx: LoginTransaction }> {
  await deps.limits.signInStart.consume(clientAddress(ctx));
  const tx: LoginTransaction = {
    ...fields, csrf: randomId(), browser: bindToBrowser(jar, ctx), realmVerifier: randomId(), realmNonce: randomId(), expiresAt: Date.now() + TX_TTL * 1000,
  };
  const txId = randomId();
  await records.tx.put(deps.store, txId, tx);
  return { txId, tx };
}

/** Writes a transaction's next step for the rest of its lifetime, never a new one. */
async function rewriteTx(deps: Deps, txId: string, tx: LoginTransaction): Promise<void> {
  // One written before transactions carried their end (a rolling upgrade) gets one now.
  const expiresAt = tx.expiresAt ?? Date.now() + TX_TTL * 1000;
  const left = Math.ceil((expiresAt - Date.now()) / 1000);
  if (!(left > 0)) throw new BrokerError('invalid_request', EXPIRED);
  await records.tx.put(deps.store, txId, { ...tx, expiresAt }, Math.min(left, TX_TTL));
}

export const EXPIRED = 'This sign-in has expired. Go back to the application and start again.';
const OTHER_BROWSER = 'This sign-in was started in another browser or tab that is gone. Go back to the application and start again.';

/** The transaction of a sign-in page's form: its token and this browser must both match. */
export async function loadTx(deps: Deps, jar: CookieJar, ctx: Koa.Context, txId: unknown, csrf: unknown): Promise<LoginTransaction> {
  const tx = typeof txId === 'string' && txId ? await records.tx.get(deps.store, txId) : undefined;
  if (!tx) throw new BrokerError('invalid_request', EXPIRED);
  if (typeof csrf !== 'string' || !sameSecret(csrf, tx.csrf) || !startedHere(jar, ctx, tx)) {
    throw new BrokerError('access_denied', 'The form expired or did not come from this site. Go back and try again.', { status: 403 });
  }
  return tx;
}

/**
 * Whether this request comes from the browser that started the sign-in, at the issuer it was
 * started at (a tenant's form posted at the platform, or the reverse, is not this one's).
 */
export function startedHere(jar: CookieJar, ctx: Koa.Context, tx: LoginTransaction): boolean {
  return isSameBrowser(jar, ctx, tx.browser) && tx.issuerPath === ctx.state.issuer.path;
}

/**
 * Whether a sign-in may go to `tenant`: one started at the platform to any tenant, one started
 * at a tenant's issuer to that tenant only. The email page, the chooser and the organisation
 * page are mounted at tenant issuers too, and a transaction's form sent a globex sign-in to
 * acme's realm (or initech's, on server 2): globex's issuer then signed an ID token for alice
 * (attack helper, 2026-12-06). Every way to a realm goes through toRealm, which asks this.
 */
export function signInMayGoTo(tx: Pick<LoginTransaction, 'issuerPath'>, tenant: Tenant): boolean {
  return tx.issuerPath === PLATFORM_PATH || tx.issuerPath === tenantPath(tenant.slug);
}

/** The transaction a realm callback names by `state`, taken (single use) only from the browser that started it. */
export async function takeTxForCallback(deps: Deps, jar: CookieJar, ctx: Koa.Context, txId: string): Promise<LoginTransaction> {
  // Taken first, whichever browser this is: a callback URL (with a code for whoever's realm
  // session answered it) that reached another browser is burned, so that the browser that
  // started the sign-in cannot replay it afterwards and sign in as that person.
  const tx = txId ? await records.tx.take(deps.store, txId) : undefined;
  if (!tx) throw new BrokerError('invalid_request', EXPIRED);
  if (!isSameBrowser(jar, ctx, tx.browser)) throw new BrokerError('access_denied', OTHER_BROWSER, { status: 403 });
  // The realm was sent back to the issuer the sign-in started at: anything else was made up.
  if (tx.issuerPath !== ctx.state.issuer.path) throw new BrokerError('invalid_request', EXPIRED);
  return tx;
}

/** Discovery, then the realm or the chooser. "Nobody" looks like "somebody" from outside. */
export async function continueWithEmail(deps: Deps, ctx: Koa.Context, txId: string, tx: LoginTransaction, email: string): Promise<void> {
  await deps.limits.discovery.consume(clientAddress(ctx));
  if (deps.config.platform.emailWithoutDomainRule === 'ask') {
    // Domain rules are public knowledge; anything beyond them is asked, never looked up. (A
    // domain a realm lists is looked up, as the rule then holds only for addresses no other
    // tenant has: where one has, the page asks, which tells that much. README "What email discovery reveals".)
    const byDomain = await deps.discovery.byDomainRule(email);
    if (byDomain.length !== 1) {
      await rewriteTx(deps, txId, { ...tx, tenant: undefined, email });
      return organisationPage(ctx, { appName: appName(deps, tx.clientId), action: `${tx.issuerPath}/organisation`, tx: txId, csrf: tx.csrf, formTargets: realmOrigins(deps) });
    }
    return toRealm(deps, ctx, txId, tx, byDomain[0]!, email);
  }
  const found = await deps.discovery.find(email);
  if (found.length > 1) {
    await rewriteTx(deps, txId, { ...tx, tenant: undefined, email, choices: found.map((t) => t.slug) });
    return chooserPage(ctx, {
      appName: appName(deps, tx.clientId),
      action: `${tx.issuerPath}/choose`,
      tx: txId,
      csrf: tx.csrf,
      tenants: chooserLabels(found),
      formTargets: realmOrigins(deps),
    });
  }
  // No account anywhere: go on to the default tenant's login, which will refuse the
  // password like any wrong one (README "What email discovery reveals" says what still shows).
  const tenant = found[0] ?? (await deps.tenants.defaultTenant());
  return toRealm(deps, ctx, txId, tx, tenant, email);
}

/**
 * The chooser's buttons. A realm's admin sets its display name: two that read alike (another
 * tenant's copied, in another case or spacing) each get their slug beside it, so that no
 * button can pass for another tenant's.
 */
export function chooserLabels(tenants: Tenant[]): { slug: string; name: string }[] {
  // Invisible characters (format, default-ignorable) are dropped: a zero-width space or a soft
  // hyphen makes a name look the same. Look-alike letters of other scripts are not caught.
  const key = (name: string) => name.normalize('NFKC').replace(/[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
  const count = new Map<string, number>();
  for (const t of tenants) count.set(key(t.displayName), (count.get(key(t.displayName)) ?? 0) + 1);
  return tenants.map((t) => ({ slug: t.slug, name: count.get(key(t.displayName))! > 1 ? `${t.displayName} (${t.slug})` : t.displayName }));
}

/** Sends the browser to the tenant realm's authorization endpoint with the broker's callback. */
export async function toRealm(deps: Deps, ctx: Koa.Context, txId: string, tx: LoginTransaction, tenant: Tenant, loginHint?: string): Promise<void> {
  if (!signInMayGoTo(tx, tenant)) {
    throw new BrokerError('access_denied', 'This sign-in is for another organisation. Go back to the application and start again.', { status: 403 });
  }
  // The realm the browser goes to: the callback redeems the code there even if the tenant moves meanwhile.
  await rewriteTx(deps, txId, { ...tx, tenant: tenant.slug, upstream: tenant.upstream, realm: tenant.realm });
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
    // The realm's session may be older than the app allows, or not of the level it asks:
    // the realm decides (it re-authenticates), and its ID token's auth_time and acr say so.
    max_age: tx.maxAge,
    acr_values: tx.acrValues,
  };
  for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
  ctx.redirect(url.href);
}

/**
 * Where a new sign-in goes first: a tenant issuer's realm; the realm of the SSO session
 * (whose own session spares the password); discovery from a known email; else the email page.
 */
export async function routeSignIn(deps: Deps, ctx: Koa.Context, txId: string, tx: LoginTransaction, o: { issuerTenant?: Tenant; sso?: SsoSession; email?: string; loginHint?: string }): Promise<void> {
  // prompt=none: no page of the broker's either (OIDC Core §3.1.2.1). The session's own user
  // (no hint, or the hint is their email) goes to their realm, which answers silently or not;
  // another user's hint is login_required, as the realm would answer with its session's user.
  const silent = asksPrompt(tx.prompt, 'none');
  // At a tenant issuer, the session must be that tenant's too: the realm answers with its own
  // session's user, whoever the broker's latest session is (attack helper round 22).
  const sessionHere = o.sso && (!o.issuerTenant || o.sso.tenant === o.issuerTenant.slug) ? o.sso : undefined;
  const hintIsSessionUser = o.loginHint !== undefined && o.loginHint.toLowerCase() === sessionHere?.email?.toLowerCase();
  const loginRequired = () => errorRedirect(ctx, { redirectUri: tx.redirectUri, issuer: tx.issuer, state: tx.state }, 'login_required', 'The user must sign in (prompt=none)');
  if (o.issuerTenant) {
    if (silent && o.loginHint && !hintIsSessionUser) return loginRequired();
    return toRealm(deps, ctx, txId, tx, o.issuerTenant, o.loginHint);
  }
  if (o.sso && (!o.loginHint || (silent && hintIsSessionUser))) {
    const tenant = await deps.tenants.bySlug(o.sso.tenant);
    if (tenant) return toRealm(deps, ctx, txId, tx, tenant, o.sso.email);
  }
  if (silent) return loginRequired();
  if (o.email) return continueWithEmail(deps, ctx, txId, tx, o.email);
  ctx.redirect(`${tx.issuerPath}/login?tx=${encodeURIComponent(txId)}`);
}
