/** The connect Auth Service API (seeds/003): the one route table of this surface. */
import Router from '@koa/router';
import type { Deps } from '../../deps.js';
import type { SurfaceErrors } from '../../http/error-handler.js';
import { guard } from '../../http/guard.js';
import { clientCredentialsToken, health, introspectToken, readiness, userPasswordLogin } from './actions.js';
import { serializeConnectError } from './errors.js';
import { resolveRealm } from './resolve-realm.js';
import { introspectInput, tokenInput, userLoginInput } from './schemas.js';

export const PREFIX = '/auth/api/v1';

export const connectErrors: SurfaceErrors = { prefix: PREFIX, serialize: serializeConnectError };

export function connectRoutes(deps: Deps): Router {
  const router = new Router({ prefix: PREFIX });
  router.get('health', '/healthz', health);
  router.get('readiness', '/readyz', readiness(deps));
  router.post('token', '/oauth/connect/token', guard(tokenInput), resolveRealm(deps), clientCredentialsToken(deps));
  router.post('user-login', '/oauth/connect/user/login', guard(userLoginInput), resolveRealm(deps), userPasswordLogin(deps));
  router.post('introspect', '/oauth/connect/introspect', guard(introspectInput), resolveRealm(deps), introspectToken(deps));
  return router;
}
