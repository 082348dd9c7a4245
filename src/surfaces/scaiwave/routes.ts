/** The ScaiWave Auth API (seeds/001): the one route table of this surface. */
import Router from '@koa/router';
import type { Deps } from '../../deps.js';
import type { SurfaceErrors } from '../../http/error-handler.js';
import { postDirect } from '../../http/direct-lane.js';
import { guard } from '../../http/guard.js';
import { refusalsCounted } from '../../http/refusal-gate.js';
import { asPage } from '../../http/page-routes.js';
import { codeLogin, loginLanding, oidcConfig, passwordLogin, refresh, register, requirePasswordGrant } from './actions.js';
import { serializeScaiwaveError } from './errors.js';
import { resolveHostTenant } from './resolve-host-tenant.js';
import { loginInput, passwordInput } from './schemas.js';

export const PREFIX = '/v1/auth';

export const scaiwaveErrors: SurfaceErrors = { prefix: PREFIX, serialize: serializeScaiwaveError };

export function scaiwaveRoutes(deps: Deps): Router {
  const router = new Router({ prefix: PREFIX });
  const tenant = resolveHostTenant(deps);
  router.get('config', '/config', tenant, oidcConfig(deps));
  router.get('login-landing', '/login', asPage, loginLanding(deps));
  // Anyone can send made-up codes, each one a call to Keycloak (http/refusal-gate.ts). The
  // code comes in the query or the body, as the document says ("query param or form field"):
  // it was body only, and a client written to the document got 400 (attack round 48). A code
  // is the app's one-time proof of a sign-in its browser already carried in a URL, and the
  // broker logs no query string.
  router.post('login', '/login', tenant, guard(loginInput), refusalsCounted(deps.limits.refusals), codeLogin(deps));
  router.post('token', '/token', tenant, requirePasswordGrant, guard(passwordInput, ['body']), passwordLogin(deps));
  // A direct route (http/direct-lane.ts): served without Koa on its own URL.
  postDirect(router, refresh(deps));
  router.post('register', '/register', tenant, register(deps));
  return router;
}
