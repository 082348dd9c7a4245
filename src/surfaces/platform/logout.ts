/**
 * …/oauth/logout, GET or POST (OpenID Connect RP-Initiated Logout 1.0 §2, §3): ends the
 * broker's SSO session (by its cookie) and the user's session in their realm, then returns
 * to a registered post-logout URI of the client (exact match) with `state`, or shows a
 * signed-out page. An unregistered URI gets an error page, never a redirect.
 *
 * A session ends straight away only when the request carries a valid `id_token_hint`
 * (signed by the broker for this issuer) **about the user of this browser's session**
 * (same `sub` and tenant). Anything else — no hint, or someone else's token, which any
 * user has of their own — could end a user's sessions from a link or an image (logout
 * CSRF): the user is asked first, on a page whose form carries a CSRF token (§3: "the OP
 * SHOULD ask the End-User"). Only this browser's own SSO session (and its realm session)
 * is ever ended: a hint alone ends nothing.
 */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import type { CookieJar } from '../../http/cookies.js';
import { checkFormCsrf, formCsrfToken } from '../../http/form-csrf.js';
import { errorPage, logoutConfirmPage, renderPage } from '../../ui/pages.js';
import type { IssuerContext } from './issuer.js';
import { endSsoSession } from './session-end.js';
import { currentSso, findApp } from './sign-in.js';

const INVALID = 'The sign-out request is not valid.';
const FIELDS = ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id'] as const;

/** The hint's claims when the broker signed it for this issuer (expired hints still name the session). */
async function verifiedHint(deps: Deps, token: string, issuer: string): Promise<jose.JWTPayload | undefined> {
  try {
    const key = await deps.signingKeys.verificationKey(jose.decodeProtectedHeader(token).kid);
    if (!key) return undefined;
    const { payload } = await jose.compactVerify(token, key);
    const claims = JSON.parse(new TextDecoder().decode(payload)) as jose.JWTPayload;
    return claims.iss === issuer ? claims : undefined;
  } catch {
    return undefined;
  }
}

export function logout(deps: Deps, jar: CookieJar): Koa.Middleware {
  return async function logout(ctx) {
    const source = (ctx.method === 'POST' ? ctx.state.body : ctx.query) as Record<string, unknown>;
    const q: Partial<Record<(typeof FIELDS)[number], string>> = {};
    for (const f of FIELDS) if (typeof source[f] === 'string' && source[f]) q[f] = source[f] as string;
    const iss: IssuerContext = ctx.state.issuer;

    const hint = q.id_token_hint ? await verifiedHint(deps, q.id_token_hint, iss.issuer) : undefined;
    if (q.id_token_hint && !hint) return errorPage(ctx, 400, INVALID);
    const hintAud = typeof hint?.aud === 'string' ? hint.aud : Array.isArray(hint?.aud) ? hint!.aud[0] : undefined;
    const clientId = q.client_id ?? hintAud;
    if (q.client_id && hintAud && q.client_id !== hintAud) return errorPage(ctx, 400, INVALID);
    const target = q.post_logout_redirect_uri;
    if (target) {
      const app = findApp(deps, clientId);
      if (!app || !app.postLogoutRedirectUris.includes(target)) {
        return errorPage(ctx, 400, 'The application asked to return to an address it has not registered.');
      }
    }

    const sso = await currentSso(deps, jar, ctx);
    const confirmed = ctx.method === 'POST' && source.confirm === 'yes';
    if (confirmed) checkFormCsrf(jar, ctx);
    const hintIsThisUser = hint !== undefined && sso !== undefined && hint.sub === sso.sub && hint.tenant === sso.tenant;
    if (sso && !hintIsThisUser && !confirmed) {
      const app = clientId ? findApp(deps, clientId) : undefined;
      return logoutConfirmPage(ctx, {
        action: `${iss.path}/logout`, csrf: formCsrfToken(jar, ctx), appName: app?.name, fields: { ...q },
        // The confirmation's answer is a redirect to the app's post-logout URI (CSP form-action).
        formTargets: target ? [new URL(target).origin] : [],
      });
    }

    const ssoId = jar.get(ctx, 'rb_sso');
    if (ssoId) await endSsoSession(deps, ssoId, { endRealmSession: true, endLinked: true });
    jar.clear(ctx, 'rb_sso');

    if (target) {
      const url = new URL(target);
      if (q.state) url.searchParams.set('state', q.state);
      return ctx.redirect(url.href);
    }
    renderPage(ctx, 200, 'Signed out', '<h1>You are signed out</h1><p>You can close this window.</p>');
  };
}
