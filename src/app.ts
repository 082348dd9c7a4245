/**
 * Builds the Koa app from its parts (no listen): cross-cutting middleware, then one
 * route table per surface; and the server's request listener, which sends recently
 * recorded local answers itself, serves the direct routes' canonical URLs in the direct
 * lane, and hands everything else to Koa. Used by main.ts and by every test.
 */
import type { RequestListener } from 'node:http';
import Koa from 'koa';
import './http/state.js';
import type { Deps } from './deps.js';
import { cors, CorsPolicy } from './http/cors.js';
import { DirectLane } from './http/direct-lane.js';
import { ErrorPolicy, errorHandler } from './http/error-handler.js';
import { parseBody } from './http/body.js';
import { markPages } from './http/page-routes.js';
import type { AnswerMemo } from './http/answer-memo.js';
import { frontDoor, requestContext } from './http/request-context.js';
import { securityHeaderList, securityHeaders } from './http/security-headers.js';
import { SurfaceRouting } from './http/surface-routing.js';
import { openApiRoutes } from './openapi/routes.js';
import { connectErrors, connectRoutes } from './surfaces/connect/routes.js';
import { platformErrors, platformRoutes } from './surfaces/platform/routes.js';
import { scaiwaveErrors, scaiwaveRoutes } from './surfaces/scaiwave/routes.js';
import { tenantErrors, tenantRoutes } from './surfaces/tenant/routes.js';
import { startDeadline } from './upstream/deadline.js';

/** The listener a server runs: local answers from the memo, the direct lane, the rest through the app. */
export function buildListener(deps: Deps): { app: Koa; listener: RequestListener } {
  const { app, lane } = buildApp(deps, deps.answers);
  return { app, listener: frontDoor(deps.answers, lane, app.callback(), deps.log, deps.metrics) };
}

/** The Koa app, and the direct lane for the routes its tables declared direct (direct-lane.ts). */
export function buildApp(deps: Deps, memo?: AnswerMemo): { app: Koa; lane: DirectLane } {
  // Trusted proxies: the client address is read that many hops from the right of
  // X-Forwarded-For, never from what the client itself put on the left.
  const hops = deps.config.trustProxy;
  const app = new Koa({ proxy: hops > 0, maxIpsCount: hops });
  app.silent = true; // errors are logged by the error handler, with the request id
  const errors = new ErrorPolicy(deps.log, [connectErrors, scaiwaveErrors, platformErrors, tenantErrors]);
  const headers = securityHeaderList(deps.config.publicUrl);
  // A step that only prepares the request (headers, CORS, page marks, guards) is a plain
  // function that returns next(): no promise of its own per request, where each promise is
  // paid for by the request scope's AsyncLocalStorage on Node 20.
  app.use(requestContext(deps.log, deps.metrics, memo));
  app.use(securityHeaders(headers));
  app.use(errorHandler(errors));
  const corsPolicy = new CorsPolicy(deps.config);
  app.use(cors(corsPolicy));
  const routers = [connectRoutes(deps), scaiwaveRoutes(deps), platformRoutes(deps), tenantRoutes(deps), openApiRoutes(deps)];
  const routing = new SurfaceRouting(routers);
  app.use(markPages(routing));
  app.use(parseBody);
  // One deadline for all of a request's calls to Keycloak, from here (the body is read).
  app.use((_ctx, next) => {
    startDeadline(deps.config.upstreamTimeoutMs);
    return next();
  });
  app.use(routing.middleware());
  const lane = new DirectLane(routers, { log: deps.log, metrics: deps.metrics, errors, securityHeaders: headers, cors: corsPolicy, upstreamTimeoutMs: deps.config.upstreamTimeoutMs, trustProxy: hops });
  return { app, lane };
}
