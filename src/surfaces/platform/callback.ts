/**
 * GET …/oauth/callback: the tenant realm sends the browser back here. Only the browser
 * that started the sign-in may finish it (browser-binding.ts): a callback URL replayed in
 * another browser (login CSRF, or a victim lured into approving an attacker's device) is
 * refused before anything happens. Then the broker redeems the realm's code (its own PKCE
 * verifier, as the app's client in that realm), checks the realm's nonce, opens or joins the
 * browser's SSO session (sso-open.ts) and either
 * - sends the browser to the app with a broker code of its own: single-use, 60 s, bound
 *   to client, redirect URI and the app's PKCE challenge; or
 * - for a device, shows the signed-in user the approval page (device.ts).
 */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { CookieJar } from '../../http/cookies.js';
import { isTenantRealm, signInsAtFormerRealms } from '../../tenancy/tenant.js';
import { isRealmSessionId } from '../../upstream/admin-connector.js';
import { askDeviceConsent } from './device.js';
import { EXPIRED, credentialsOf, errorRedirect, findApp, takeTxForCallback } from './sign-in.js';
import { openSsoSession } from './sso-open.js';
import { randomId, records } from './transactions.js';

export function callback(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function callback(ctx) {
    const q = ctx.query as Record<string, string | undefined>;
    const tx = await takeTxForCallback(deps, jar, ctx, typeof q.state === 'string' ? q.state : '');
    if (!tx.tenant) throw new BrokerError('invalid_request', EXPIRED);
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
    let realmId = tenant.id;
    if (upstream !== tenant.upstream || realm !== tenant.realm) {
      // A realm the tenant left: its codes are the tenant's for the window after the move only.
      const entry = await deps.tenants.realmByIssuer(deps.upstreams.get(upstream).issuerOf(realm));
      if (!entry || !isTenantRealm(entry, tenant) || !signInsAtFormerRealms(tenant, deps.config.formerRealmSignInMinutes)) {
        return back('access_denied', 'The organisation has moved since this sign-in began: sign in again');
      }
      realmId = entry.id;
    }
    const tokens = await deps.upstreams.get(upstream).realm(realm).authorizationCode(
      q.code, `${deps.config.publicUrl}${tx.issuerPath}/callback`, tx.realmVerifier,
      credentialsOf(deps, tx.clientId),
    ).catch((err: unknown) => {
      if (err instanceof BrokerError && err.status < 500) return undefined;
      throw err;
    });
    if (!tokens) return back('access_denied', 'The identity provider refused the sign-in');
    const idToken = typeof tokens.id_token === 'string' ? jose.decodeJwt(tokens.id_token) : undefined;
    if (!idToken || idToken.nonce !== tx.realmNonce) return back('server_error', 'The identity provider answer did not match this sign-in');

    const sso = await openSsoSession(deps, jar, ctx, tx.browser, {
      tenant: tenant.slug,
      tenantId: tenant.id,
      sub: String(idToken.sub),
      email: typeof idToken.email === 'string' ? idToken.email : undefined,
      // The realm session to end at logout: Keycloak's session_state (the session's own id), not
      // the ID token's sid, which a realm admin's mapper may set (attack round 33); of its shape only.
      realmSessionId: isRealmSessionId(tokens.session_state) ? tokens.session_state : undefined,
      upstream,
      realm,
      realmId,
      realmIdToken: tokens.id_token as string,
      client: { clientId: tx.clientId, issuer: tx.issuer },
    });
    if (tx.device) return askDeviceConsent(deps, ctx, { deviceCode: tx.device, tenant: tenant.slug, sub: sso.sub, email: sso.email, browser: tx.browser, tokens, issuerPath: tx.issuerPath });

    const code = randomId();
    await records.code.put(deps.store, code, {
      issuer: tx.issuer,
      clientId: tx.clientId,
      redirectUri: tx.redirectUri,
      codeChallenge: tx.codeChallenge,
      nonce: tx.nonce,
      tenant: tenant.slug,
      tokens,
    });
    const url = new URL(tx.redirectUri);
    url.searchParams.set('code', code);
    if (tx.state) url.searchParams.set('state', tx.state);
    url.searchParams.set('iss', tx.issuer);
    ctx.redirect(url.href);
  };
}
