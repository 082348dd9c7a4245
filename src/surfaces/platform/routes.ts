/**
 * The ScaiKey Platform OAuth API (seeds/004): the one route table of this surface.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { cookieJar } from '../../http/cookies.js';
import type { SurfaceErrors } from '../../http/error-handler.js';
import { postDirect } from '../../http/direct-lane.js';
import { guard } from '../../http/guard.js';
import { refusalsCounted } from '../../http/refusal-gate.js';
import { asPage, asPageForForms } from '../../http/page-routes.js';
import { authorize, showEmailPage, submitChoice, submitEmail, submitOrganisation } from './authorize.js';
import { callback } from './callback.js';
import { authenticateClient } from './client-auth.js';
import { deviceAuthorize, deviceEntry, deviceEntrySubmit, deviceVerifyComplete, deviceVerifyInfo } from './device.js';
import { discoveryDocument } from './discovery.js';
import { serializePlatformError } from './errors.js';
import { platformIssuer } from './issuer.js';
import { issuerKeysDocument, realmKeysDocument } from './jwks.js';
import { logout } from './logout.js';
import { receiveBackchannelLogout } from './backchannel-logout.js';
import { introspect } from './introspect.js';
import { pushedAuthorizationRequest } from './par.js';
import { revoke } from './revoke.js';
import { deviceAuthorizeInput, deviceVerifyInput, parInput, revokeInput } from './schemas.js';
import { platformToken } from './token.js';
import { userinfo } from './userinfo.js';

export const PREFIX = '/api/v1/platform';

export const platformErrors: SurfaceErrors = { prefix: PREFIX, serialize: serializePlatformError };

/** The OAuth endpoints of one issuer, shared by the platform and the tenant-level surface. */
export function mountIssuerRoutes(router: Router, deps: Deps, issuer: Koa.Middleware): void {
  const jar = cookieJar(deps.config.publicUrl);
  // Client authentication refused counts against the caller's address (http/refusal-gate.ts).
  const refused = refusalsCounted(deps.limits.refusals);
  router.get('discovery', '/.well-known/openid-configuration', issuer, discoveryDocument);
  router.get('issuer-jwks', '/.well-known/jwks.json', issuer, issuerKeysDocument(deps.signingKeys));
  router.get('authorize', '/authorize', asPage, issuer, authorize(deps, jar));
  router.post('par', '/par', issuer, guard(parInput, ['body']), refused, authenticateClient(deps), pushedAuthorizationRequest(deps));
  router.get('email-page', '/login', asPage, issuer, showEmailPage(deps, jar));
  router.post('email-submit', '/login', asPage, issuer, submitEmail(deps, jar));
  router.post('tenant-choice', '/choose', asPage, issuer, submitChoice(deps, jar));
  router.post('organisation', '/organisation', asPage, issuer, submitOrganisation(deps, jar));
  router.get('callback', '/callback', asPage, issuer, callback(deps, jar));
  postDirect(router, platformToken(deps)); // a direct route (http/direct-lane.ts) where the path is fixed
  router.post('revoke', '/revoke', issuer, guard(revokeInput, ['body']), refused, authenticateClient(deps), revoke(deps));
  postDirect(router, introspect(deps)); // a direct route, as the token endpoint
  router.get('userinfo', '/userinfo', issuer, userinfo(deps));
  router.post('userinfo-post', '/userinfo', issuer, userinfo(deps));
  router.get('logout', '/logout', asPage, issuer, logout(deps, jar));
  router.post('logout-post', '/logout', asPage, issuer, logout(deps, jar));
  router.post('backchannel-logout', '/backchannel-logout', issuer, receiveBackchannelLogout(deps));
  router.post('device-authorize', '/device/authorize', issuer, guard(deviceAuthorizeInput, ['body']), refused, authenticateClient(deps), deviceAuthorize(deps));
  router.get('device-verify-info', '/device/verify', issuer, guard(deviceVerifyInput, ['query']), deviceVerifyInfo(deps));
  router.post('device-verify', '/device/verify', asPageForForms, issuer, deviceVerifyComplete(deps, jar));
  router.get('device-page', '/device', asPage, issuer, deviceEntry(deps, jar));
  router.post('device-page-submit', '/device', asPage, issuer, deviceEntrySubmit(deps, jar));
}

export function platformRoutes(deps: Deps): Router {
  const router = new Router({ prefix: PREFIX });
  router.get('jwks', '/.well-known/jwks.json', realmKeysDocument(deps.jwks));
  const oauth = new Router({ prefix: '/oauth' });
  mountIssuerRoutes(oauth, deps, platformIssuer(deps));
  router.use(oauth.routes(), oauth.allowedMethods({ throw: false }));
  return router;
}
