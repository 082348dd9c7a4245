/**
 * The management listener, on its own port (like Keycloak's 9000): `/metrics` for
 * Prometheus, `/healthz` and `/readyz` for orchestrators. Kept off the public port so
 * that it can stay unexposed.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Deps } from '../deps.js';
import { health, readiness } from '../surfaces/connect/actions.js';

export function buildManagementApp(deps: Deps): Koa {
  const app = new Koa();
  app.silent = true;
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  router.get('/healthz', health);
  router.get('/readyz', readiness(deps));
  app.use(router.routes());
  return app;
}
