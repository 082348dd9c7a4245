/**
 * Which requests a person's browser makes (the sign-in and device pages): their errors are
 * pages, not JSON. Routes say so with `asPage` (or `asPageForForms`: a page when a form was
 * posted). This marks the request before anything can fail — the body is parsed before
 * the route runs, and a 413 or 415 on a page route must be a page too.
 */
import type Koa from 'koa';
import type Router from '@koa/router';
import type { Layer } from '@koa/router';
import type { SurfaceRouting } from './surface-routing.js';

/** Marks a route as a page (its errors render as HTML). */
export function asPage(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.state.page = true;
  return next();
}

/** A page when a form was posted (the approval page), JSON for API callers (and empty bodies). */
export function asPageForForms(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.state.page = ctx.state.bodyKind === 'form';
  return next();
}

/** Before the body is read: a non-empty form is coming. */
const formComing = (ctx: Koa.Context) => Boolean(ctx.is('application/x-www-form-urlencoded')) && (Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '');

export function markPages(routing: SurfaceRouting): Koa.Middleware {
  // The page routes of each table, found once: a request is tested against these few, not
  // against every route of its table.
  const pagesOf = new Map<Router, { layer: Layer; formsOnly: boolean }[]>();
  for (const router of routing.allRouters()) {
    const pages = router.stack.filter((layer) => layer.stack.includes(asPage) || layer.stack.includes(asPageForForms));
    pagesOf.set(router, pages.map((layer) => ({ layer, formsOnly: !layer.stack.includes(asPage) })));
  }
  return function markPages(ctx, next) {
    // Pages live under the OAuth issuers and ScaiWave's redirect URI only.
    const path = ctx.path.toLowerCase();
    if (!path.startsWith('/api/v1/') && !path.startsWith('/v1/auth/login')) return next();
    for (const router of routing.routersFor(ctx.path)) {
      for (const { layer, formsOnly } of pagesOf.get(router) ?? []) {
        if (!layer.match(ctx.path) || !layer.methods.includes(ctx.method)) continue;
        ctx.state.page = formsOnly ? formComing(ctx) : true;
      }
    }
    return next();
  };
}
