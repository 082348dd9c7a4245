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
// A trailing slash too: the routers serve that form of each path (attack helper round 25: the
// token endpoint's was served without CORS, which a browser app spelling it so could not use).
const PUBLIC = new RegExp(String.raw`^(?:${OAUTH}/\.well-known/(?:openid-configuration|jwks\.json)|/api/v1/platform/\.well-known/jwks\.json)/?$`, 'i');
const FOR_APPS = new RegExp(String.raw`^${OAUTH}/(?:token|userinfo|revoke)/?$`, 'i');

/** The origins of every registered redirect URI: where the registry's browser apps run. */
export function appOrigins(config: Config): Set<string> {
  const origins = new Set<string>();
  for (const app of Object.values(config.apps)) {
    for (const uri of app.redirectUris) if (URL.canParse(uri)) origins.add(new URL(uri).origin);
  }
  return origins;
}

/** Which CORS rule covers a path: public metadata, the apps' endpoints, or none. */
export type CorsRule = 'public' | 'apps' | undefined;

export function corsRuleOf(path: string): CorsRule {
  return PUBLIC.test(path) ? 'public' : FOR_APPS.test(path) ? 'apps' : undefined;
}

export class CorsPolicy {
  private readonly allowed: Set<string>;

  constructor(config: Config) {
    this.allowed = appOrigins(config);
  }

  /** The origin to allow under `rule` for a request from `origin`, if any. */
  allow(rule: CorsRule, origin: string): string | undefined {
    return rule === 'public' ? '*' : rule === 'apps' && origin && this.allowed.has(origin) ? origin : undefined;
  }

  /**
   * The headers of an answer (not a preflight's) under `rule`, as a flat [name, value, ...]
   * list: the Koa middleware sets them, the direct lane sends them (direct-lane.ts).
   */
  answerHeaders(rule: CorsRule, origin: string): string[] {
    if (!rule) return [];
    const allow = this.allow(rule, origin);
    return allow
      ? ['Vary', 'Origin', 'Access-Control-Allow-Origin', allow, 'Access-Control-Expose-Headers', 'www-authenticate, retry-after']
      : ['Vary', 'Origin'];
  }
}

export function cors(policy: CorsPolicy): Koa.Middleware {
  return function cors(ctx, next) {
    const rule = corsRuleOf(ctx.path);
    if (!rule) return next();
    const origin = ctx.get('origin');
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method')) {
      ctx.vary('Origin');
      ctx.status = 204;
      const allow = policy.allow(rule, origin);
      if (allow) {
        ctx.set('Access-Control-Allow-Origin', allow);
        ctx.set('Access-Control-Allow-Methods', 'GET, POST');
        ctx.set('Access-Control-Allow-Headers', 'authorization, content-type');
        ctx.set('Access-Control-Max-Age', '600');
      }
      return;
    }
    // Set before the route runs, so that error answers (thrown past this) carry them too.
    const headers = policy.answerHeaders(rule, origin);
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === 'Vary') ctx.vary(headers[i + 1]!);
      else ctx.set(headers[i]!, headers[i + 1]!);
    }
    return next();
  };
}
