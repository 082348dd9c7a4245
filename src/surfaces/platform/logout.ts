/**
 * …/oauth/logout, GET or POST (OpenID Connect RP-Initiated Logout 1.0 §2, §3): ends the
 * broker's SSO session and the user's session in their realm, then returns to a registered
 * post-logout URI of the client (exact match) with `state`, or shows a signed-out page. An
 * unregistered URI gets an error page, never a redirect.
 *
 * A session ends straight away only when the request carries a valid `id_token_hint` (signed
 * by the broker for this issuer) **about the session it ends**: this browser's (its cookie),
 * with the same `sub` and tenant, or, when the browser's cookie did not come, the session the
 * hint's `sid` names (the hint's own user's). A cookie does not come with a POST from an app on
 * another site (SameSite=Lax), which the spec allows: that logout used to answer "signed out"
 * and end nothing (attack helper, 2026-12-06).
 *
 * Anything else — no hint, someone else's token (any user has their own), a POST with no
 * cookie and no session its hint names — could end a user's sessions from a link, an image or
 * another site's form (logout CSRF), or must not claim to have: the user is asked first, on a
 * page whose form carries a CSRF token (§3: "the OP SHOULD ask the End-User"), and whose POST,
 * sent from here, carries the browser's cookie. A GET without the cookie is a browser without
 * a session (a top-level navigation sends it): nothing to end of the broker's. A valid hint
 * whose broker session is gone (kept 8 h) still ends the realm session it names.
 *
 * A hint whose key the broker no longer publishes (rotated out, or a restart of a memory store)
 * may well be the broker's: it is read as no hint (the user is asked) and names the app by its
 * audience, rather than leaving the user signed in behind an error page. A hint that fails its
 * signature under a key the broker has is refused.
 */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import type { CookieJar } from '../../http/cookies.js';
import { checkFormCsrf, formCsrfToken } from '../../http/form-csrf.js';
import { errorPage, logoutConfirmPage, renderPage } from '../../ui/pages.js';
import type { IssuerContext } from './issuer.js';
import { endRealmSessionNamedBy, endSsoSession, ssoNamedBy, subjectOfSession } from './session-end.js';
import { appServedAt, findApp } from './sign-in.js';
import { currentSsoEntry, newerSessionsOf } from './sso-open.js';

const INVALID = 'The sign-out request is not valid.';
const FIELDS = ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id'] as const;

/**
 * What an id_token_hint says: `claims` when the broker signed it for this issuer (expired hints
 * still name the session); `retired` (its unverified audience only) when its key is not one the
 * broker has; undefined when it is not a valid hint.
 */
async function readHint(deps: Deps, token: string, issuer: string): Promise<{ claims: jose.JWTPayload } | { retired: { aud?: unknown } } | undefined> {
  try {
    const key = await deps.signingKeys.verificationKey(jose.decodeProtectedHeader(token).kid);
    if (!key) return { retired: { aud: jose.decodeJwt(token).aud } };
    const { payload } = await jose.compactVerify(token, key);
    const claims = JSON.parse(new TextDecoder().decode(payload)) as jose.JWTPayload;
    return claims.iss === issuer ? { claims } : undefined;
  } catch {
    return undefined;
  }
}

const audienceOf = (aud: unknown) => typeof aud === 'string' ? aud : Array.isArray(aud) && typeof aud[0] === 'string' ? aud[0] : undefined;

export function logout(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function logout(ctx) {
    const source = (ctx.method === 'POST' ? ctx.state.body : ctx.query) as Record<string, unknown>;
    const q: Partial<Record<(typeof FIELDS)[number], string>> = {};
    for (const f of FIELDS) if (typeof source[f] === 'string' && source[f]) q[f] = source[f] as string;
    const iss: IssuerContext = ctx.state.issuer;

    const read = q.id_token_hint ? await readHint(deps, q.id_token_hint, iss.issuer) : undefined;
    if (q.id_token_hint && !read) return errorPage(ctx, 400, INVALID);
    const hint = read && 'claims' in read ? read.claims : undefined;
    // A retired key's hint names the app only: its redirect must still be one the app registered.
    const hintAud = audienceOf(hint ? hint.aud : read && 'retired' in read ? read.retired.aud : undefined);
    const clientId = q.client_id ?? hintAud;
    if (q.client_id && hintAud && q.client_id !== hintAud) return errorPage(ctx, 400, INVALID);
    const target = q.post_logout_redirect_uri;
    if (target) {
      const app = findApp(deps, clientId);
      // An app not served at this issuer has no return address here (appServedAt).
      if (!app || !appServedAt(app, iss) || !app.postLogoutRedirectUris.includes(target)) {
        return errorPage(ctx, 400, 'The application asked to return to an address it has not registered.');
      }
    }

    // This browser's session, or (its cookie did not come) the one the hint names.
    const cookieId = jar.get(ctx, 'rb_sso');
    const current = await currentSsoEntry(deps, jar, ctx);
    const named = !current && !cookieId && hint ? await ssoNamedBy(deps, hint) : undefined;
    const entry = current ?? named;
    const confirmed = ctx.method === 'POST' && source.confirm === 'yes';
    if (confirmed) checkFormCsrf(jar, ctx);
    const hintIsThisUser = hint !== undefined && entry !== undefined && hint.tenant === entry.sso.tenant
      && hint.sub !== undefined && hint.sub === (await subjectOfSession(deps, entry.sso, hint.iss));
    const unseen = !entry && !cookieId && ctx.method === 'POST';
    if (!confirmed && ((entry && !hintIsThisUser) || unseen)) {
      const app = clientId ? findApp(deps, clientId) : undefined;
      return logoutConfirmPage(ctx, {
        action: `${iss.path}/logout`, csrf: formCsrfToken(jar, ctx), appName: app?.name, fields: { ...q },
        // The confirmation's answer is a redirect to the app's post-logout URI (CSP form-action).
        formTargets: target ? [new URL(target).origin] : [],
      });
    }

    // The session a hint alone names may be an older one of its browser: the newer ones that link it end too.
    if (named) for (const id of await newerSessionsOf(deps, named.id)) await endSsoSession(deps, id, { endRealmSession: true, endLinked: true });
    if (entry) await endSsoSession(deps, entry.id, { endRealmSession: true, endLinked: true });
    // The broker no longer keeps the session (past its 8 h): the realm may, and the hint names it.
    else if (hint) await endRealmSessionNamedBy(deps, hint);
    jar.clear(ctx, 'rb_sso');

    if (target) {
      const url = new URL(target);
      if (q.state) url.searchParams.set('state', q.state);
      return ctx.redirect(url.href);
    }
    renderPage(ctx, 200, 'Signed out', '<h1>You are signed out</h1><p>You can close this window.</p>');
  };
}
