/**
 * CORS for the endpoints a browser app calls (issue 11): public metadata (discovery, JWKS)
 * for any origin; the token, userinfo and revocation endpoints only for the origins of
 * the registered apps' redirect URIs (a browser app runs where it receives its code).
 * Credentials are never allowed: these endpoints use no cookies, and `*` with credentials
 * would be refused by browsers anyway. Preflights are answered here, before the routers.
 */
import type Koa from 'koa';
import type { Config } from '../config/schema.js';

const OAUTH = String.raw`(?:/api/v1/platform/oauth|/api/v1/auth/tenants/[^/]+/oauth)`;
const PUBLIC = new RegExp(String.raw`^(?:${OAUTH}/\.well-known/(?:openid-configuration|jwks\.json)|/api/v1/platform/\.well-known/jwks\.json)$`, 'i');
const FOR_APPS = new RegExp(String.raw`^${OAUTH}/(?:token|userinfo|revoke)$`, 'i');

/** Whether CORS answers are given on `path` (the direct lane serves none of those). */
export function corsApplies(path: string): boolean {
  return PUBLIC.test(path) || FOR_APPS.test(path);
}

/** The origins of every registered redirect URI: where the registry's browser apps run. */
export function appOrigins(config: Config): Set<string> {
  const origins = new Set<string>();
  for (const app of Object.values(config.apps)) {
    for (const uri of app.redirectUris) if (URL.canParse(uri)) origins.add(new URL(uri).origin);
  }
  return origins;
}

export function cors(config: Config): Koa.Middleware {
  const allowed = appOrigins(config);
  return function cors(ctx, next) {
    const origin = ctx.get('origin');
    const isPublic = PUBLIC.test(ctx.path);
    const forApps = !isPublic && FOR_APPS.test(ctx.path);
    if (!isPublic && !forApps) return next();
    ctx.vary('Origin');
    const allow = isPublic ? '*' : origin && allowed.has(origin) ? origin : undefined;
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method')) {
      ctx.status = 204;
      if (allow) {
        ctx.set('Access-Control-Allow-Origin', allow);
        ctx.set('Access-Control-Allow-Methods', 'GET, POST');
        ctx.set('Access-Control-Allow-Headers', 'authorization, content-type');
        ctx.set('Access-Control-Max-Age', '600');
      }
      return;
    }
    // Set before the route runs, so that error answers (thrown past this) carry them too.
    if (allow) {
      ctx.set('Access-Control-Allow-Origin', allow);
      ctx.set('Access-Control-Expose-Headers', 'www-authenticate, retry-after');
    }
    return next();
  };
}
