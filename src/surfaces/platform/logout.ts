/**
 * GET …/oauth/logout: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
 * Ends the broker's SSO session (by its cookie) and the user's session in their realm,
 * then returns to a registered post-logout URI of the client (exact match) with `state`,
 * or shows a signed-out page. An unregistered URI gets an error page, never a redirect.
 */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import type { CookieJar } from '../../http/cookies.js';
import { errorPage, renderPage } from '../../ui/pages.js';
import { findApp } from './authorize.js';
import type { IssuerContext } from './issuer.js';
import type { SsoSession } from './transactions.js';

export function logout(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function logout(ctx) {
    const q = ctx.query as Record<string, string | undefined>;
    const iss: IssuerContext = ctx.state.issuer;
    let hint: jose.JWTPayload | undefined;
    if (typeof q.id_token_hint === 'string' && q.id_token_hint) {
      try {
        // An expired hint still names the session (the spec allows it): check the
        // signature and the issuer, not the expiry.
        const { payload } = await jose.compactVerify(q.id_token_hint, (await deps.signingKeys.get()).publicKey);
        hint = JSON.parse(new TextDecoder().decode(payload)) as jose.JWTPayload;
        if (hint.iss !== iss.issuer) throw new Error('issuer');
      } catch {
        return errorPage(ctx, 400, 'The sign-out request is not valid.');
      }
    }
    const hintAud = typeof hint?.aud === 'string' ? hint.aud : Array.isArray(hint?.aud) ? hint!.aud[0] : undefined;
    const clientId = typeof q.client_id === 'string' ? q.client_id : hintAud;
    if (q.client_id && hintAud && q.client_id !== hintAud) return errorPage(ctx, 400, 'The sign-out request is not valid.');
    const target = typeof q.post_logout_redirect_uri === 'string' ? q.post_logout_redirect_uri : undefined;
    if (target) {
      const app = findApp(deps, clientId);
      if (!app || !app.postLogoutRedirectUris.includes(target)) {
        return errorPage(ctx, 400, 'The application asked to return to an address it has not registered.');
      }
    }

    const ssoId = jar.get(ctx, 'rb_sso');
    const sso = ssoId ? await deps.store.take<SsoSession>(`sso:${ssoId}`) : undefined;
    jar.clear(ctx, 'rb_sso');
    const ends: Promise<void>[] = [];
    const end = async (slug: string, sid: string) => {
      const tenant = await deps.tenants.bySlug(slug);
      if (tenant) await deps.upstreams.get(tenant.upstream).admin.endSession(tenant.realm, sid);
    };
    if (sso?.realmSessionId) ends.push(end(sso.tenant, sso.realmSessionId));
    if (hint && typeof hint.sid === 'string' && typeof hint.tenant === 'string' && hint.sid !== sso?.realmSessionId) ends.push(end(hint.tenant, hint.sid));
    const results = await Promise.allSettled(ends);
    for (const r of results) if (r.status === 'rejected') deps.log.warn('could not end a realm session at logout', { err: r.reason });

    if (target) {
      const url = new URL(target);
      if (q.state) url.searchParams.set('state', q.state);
      return ctx.redirect(url.href);
    }
    renderPage(ctx, 200, 'Signed out', '<h1>You are signed out</h1><p>You can close this window.</p>');
  };
}
