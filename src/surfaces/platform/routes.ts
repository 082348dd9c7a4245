/**
 * The ScaiKey Platform OAuth API (seeds/004): the one route table of this surface.
 * Present so far: the JWKS, the token endpoint (client credentials) and userinfo; the
 * authorization-code flow, discovery, logout and the device flow come next (issues 4, 5).
 */
import Router from '@koa/router';
import type { Deps } from '../../deps.js';
import type { SurfaceErrors } from '../../http/error-handler.js';
import { guard } from '../../http/guard.js';
import { authenticateClient } from './client-auth.js';
import { serializePlatformError } from './errors.js';
import { jwksDocument } from './jwks.js';
import { tokenInput } from './schemas.js';
import { platformToken } from './token.js';
import { userinfo } from './userinfo.js';

export const PREFIX = '/api/v1/platform';

export const platformErrors: SurfaceErrors = { prefix: PREFIX, serialize: serializePlatformError };

export function platformRoutes(deps: Deps): Router {
  const router = new Router({ prefix: PREFIX });
  router.get('jwks', '/.well-known/jwks.json', jwksDocument(deps.jwks));
  router.post('token', '/oauth/token', guard(tokenInput), authenticateClient(deps), platformToken(deps));
  router.get('userinfo', '/oauth/userinfo', userinfo(deps));
  router.post('userinfo-post', '/oauth/userinfo', userinfo(deps));
  return router;
}
