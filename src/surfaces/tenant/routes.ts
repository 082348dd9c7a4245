/**
 * The tenant-level OAuth endpoints, `/api/v1/auth/tenants/{slug}/oauth/*`: the same
 * endpoints as the platform's, with the tenant fixed by the path (no email step) and the
 * tenant's own issuer. An unknown slug is a 404.
 */
import Router from '@koa/router';
import type { Deps } from '../../deps.js';
import type { SurfaceErrors } from '../../http/error-handler.js';
import { serializePlatformError } from '../platform/errors.js';
import { tenantIssuer } from '../platform/issuer.js';
import { mountIssuerRoutes } from '../platform/routes.js';

export const PREFIX = '/api/v1/auth/tenants';

export const tenantErrors: SurfaceErrors = { prefix: PREFIX, serialize: serializePlatformError };

export function tenantRoutes(deps: Deps): Router {
  const router = new Router({ prefix: `${PREFIX}/:slug/oauth` });
  const issuer = tenantIssuer(deps);
  mountIssuerRoutes(router, deps, issuer);
  return router;
}
