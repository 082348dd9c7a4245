/** The connect Auth Service API (seeds/003): the one route table of this surface. */
import Router from '@koa/router';
import type { Deps } from '../../deps.js';
import type { SurfaceErrors } from '../../http/error-handler.js';
import { postDirect } from '../../http/direct-lane.js';
import { guard } from '../../http/guard.js';
import { clientCredentialsToken, health, introspectToken, readiness, userPasswordLogin } from './actions.js';
import { serializeConnectError } from './errors.js';
import { resolveRealm } from './resolve-realm.js';
import { userLoginInput } from './schemas.js';

export const PREFIX = '/auth/api/v1';

export const connectErrors: SurfaceErrors = { prefix: PREFIX, serialize: serializeConnectError };

export function connectRoutes(deps: Deps): Router {
  const router = new Router({ prefix: PREFIX });
  router.get('health', '/healthz', health);
  router.get('readiness', '/readyz', readiness(deps));
  // The proxied grants: direct routes (http/direct-lane.ts), served without Koa on their own URL.
  postDirect(router, clientCredentialsToken(deps));
  router.post('user-login', '/oauth/connect/user/login', guard(userLoginInput), resolveRealm(deps), userPasswordLogin(deps));
  postDirect(router, introspectToken(deps));
  return router;
}
