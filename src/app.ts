/**
 * Builds the Koa app from its parts (no listen): cross-cutting middleware, then one
 * route table per surface. Used by main.ts and by every test.
 */
import Koa from 'koa';
import type { Deps } from './deps.js';
import { errorHandler } from './http/error-handler.js';
import { parseBody } from './http/body.js';
import { requestContext } from './http/request-context.js';
import { securityHeaders } from './http/security-headers.js';
import { connectErrors, connectRoutes } from './surfaces/connect/routes.js';
import { platformErrors, platformRoutes } from './surfaces/platform/routes.js';
import { scaiwaveErrors, scaiwaveRoutes } from './surfaces/scaiwave/routes.js';
import { tenantErrors, tenantRoutes } from './surfaces/tenant/routes.js';
import { withDeadline } from './upstream/deadline.js';

export function buildApp(deps: Deps): Koa {
  const app = new Koa({ asyncLocalStorage: true, proxy: deps.config.trustProxy });
  app.silent = true; // errors are logged by the error handler, with the request id
  const surfaces = [connectErrors, scaiwaveErrors, platformErrors, tenantErrors];
  app.use(requestContext(deps.log));
  app.use(securityHeaders);
  app.use(errorHandler(deps.log, surfaces));
  app.use(parseBody);
  // One deadline for all of a request's calls to Keycloak, from here (the body is read).
  app.use((_ctx, next) => withDeadline(deps.config.upstreamTimeoutMs, next));
  for (const router of [connectRoutes(deps), scaiwaveRoutes(deps), platformRoutes(deps), tenantRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: false }));
  }
  return app;
}
