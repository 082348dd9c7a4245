/**
 * GET …/oauth/callback: the tenant realm sends the browser back here. The broker
 * redeems the realm's code (its own PKCE verifier, as the app's client in that realm),
 * checks the realm's nonce, opens its SSO session (cookie) and sends the browser to the
 * app with a broker code of its own: single-use, 60 s, bound to client, redirect URI
 * and the app's PKCE challenge.
 */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { CookieJar } from '../../http/cookies.js';
import { errorRedirect, findApp } from './authorize.js';
import { completeDeviceSignIn } from './device.js';
import { CODE_TTL, randomId, SSO_TTL, type AuthorizationCode, type LoginTransaction, type SsoSession } from './transactions.js';

export function callback(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function callback(ctx) {
    const q = ctx.query as Record<string, string | undefined>;
    const txId = typeof q.state === 'string' ? q.state : '';
    // take: a callback URL replayed (or raced) finds nothing the second time.
    const tx = txId ? await deps.store.take<LoginTransaction>(`tx:${txId}`) : undefined;
    if (!tx || !tx.tenant) throw new BrokerError('invalid_request', 'This sign-in has expired. Go back to the application and start again.');
    // A device approval has no app to go back to: its errors are pages.
    const back = (error: string, description: string) => {
      if (tx.device) throw new BrokerError(error === 'server_error' ? 'upstream_bad_response' : 'access_denied', `${description}.`, { status: error === 'server_error' ? 502 : 403 });
      errorRedirect(ctx, { redirectUri: tx.redirectUri, issuer: tx.issuer, state: tx.state }, error, description);
    };
    if (q.error) return back(q.error === 'login_required' || q.error === 'access_denied' ? q.error : 'access_denied', 'The sign-in did not complete');
    if (typeof q.code !== 'string' || !q.code) return back('server_error', 'The identity provider sent no code');

    const tenant = await deps.tenants.bySlug(tx.tenant);
    const app = findApp(deps, tx.clientId);
    if (!tenant || !app) return back('server_error', 'The organisation or application is no longer available');
    // The realm that issued the code: the one the browser went to, though the tenant may have moved since.
    const upstream = tx.upstream ?? tenant.upstream;
    const realm = tx.realm ?? tenant.realm;
    const tokens = await deps.upstreams.get(upstream).realm(realm).authorizationCode(
      q.code, `${deps.config.publicUrl}${tx.issuerPath}/callback`, tx.realmVerifier,
      { clientId: tx.clientId, clientSecret: app.public ? undefined : app.clientSecret },
    ).catch((err: unknown) => {
      if (err instanceof BrokerError && err.status < 500) return undefined;
      throw err;
    });
    if (!tokens) return back('access_denied', 'The identity provider refused the sign-in');
    const idToken = typeof tokens.id_token === 'string' ? jose.decodeJwt(tokens.id_token) : undefined;
    if (!idToken || idToken.nonce !== tx.realmNonce) return back('server_error', 'The identity provider answer did not match this sign-in');

    const sso: SsoSession = {
      tenant: tenant.slug,
      sub: String(idToken.sub),
      email: typeof idToken.email === 'string' ? idToken.email : undefined,
      realmSessionId: typeof idToken.sid === 'string' ? idToken.sid : undefined,
      realmIdToken: tokens.id_token as string,
    };
    const ssoId = randomId();
    await deps.store.put(`sso:${ssoId}`, sso, SSO_TTL);
    jar.set(ctx, 'rb_sso', ssoId, SSO_TTL);
    jar.clear(ctx, 'rb_csrf');
    if (tx.device) return completeDeviceSignIn(deps, ctx, tx.device, tenant.slug, tokens);

    const code = randomId();
    const record: AuthorizationCode = {
      issuer: tx.issuer,
      clientId: tx.clientId,
      redirectUri: tx.redirectUri,
      codeChallenge: tx.codeChallenge,
      nonce: tx.nonce,
      tenant: tenant.slug,
      tokens,
    };
    await deps.store.put(`code:${code}`, record, CODE_TTL);
    const url = new URL(tx.redirectUri);
    url.searchParams.set('code', code);
    if (tx.state) url.searchParams.set('state', tx.state);
    url.searchParams.set('iss', tx.issuer);
    ctx.redirect(url.href);
  };
}
