/** GET /openapi.json: the document, built once on first use (it depends only on config). */
import Router from '@koa/router';
import { readFileSync } from 'node:fs';
import type { Deps } from '../deps.js';
import { openApiDocument } from './document.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function openApiRoutes(deps: Deps): Router {
  const router = new Router();
  let body: string | undefined;
  router.get('openapi', '/openapi.json', (ctx) => {
    body ??= JSON.stringify(openApiDocument(deps.config.publicUrl, VERSION));
    ctx.type = 'application/json';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = body;
  });
  return router;
}
