/**
 * Which route table a request belongs to, by its path's prefix (case-insensitive, as the
 * tables themselves match), so that a request is matched against its own surface's routes
 * only, and once: running every table in turn (and each one's 405 check) cost more than
 * most routes' own work. Tables without a prefix (the OpenAPI document) are tried for
 * paths no prefix claims.
 */
import type Router from '@koa/router';
import type Koa from 'koa';

interface Table {
  prefix: string;
  router: Router;
  run: Koa.Middleware;
}

export class SurfaceRouting {
  private readonly prefixed: Table[];
  private readonly rest: Table[];

  constructor(routers: Router[]) {
    const tables = routers.map((router): Table => {
      const routes = router.routes() as Koa.Middleware;
      const allowed = router.allowedMethods({ throw: false }) as Koa.Middleware;
      // A prefix with parameters (the tenant issuers' `/:slug/oauth`) is claimed by its fixed part.
      const prefix = (router.opts.prefix ?? '').split('/:')[0]!.toLowerCase();
      return { prefix, router, run: (ctx, next) => routes(ctx, () => allowed(ctx, next)) };
    });
    // Longest first, so that a prefix inside another (none today) still finds its own table.
    this.prefixed = tables.filter((t) => t.prefix !== '').sort((a, b) => b.prefix.length - a.prefix.length);
    this.rest = tables.filter((t) => t.prefix === '');
  }

  /** The tables that may hold a route for `path`. */
  tablesFor(path: string): Table[] {
    const lower = path.toLowerCase();
    for (const t of this.prefixed) {
      if (lower.startsWith(t.prefix) && (lower.length === t.prefix.length || lower[t.prefix.length] === '/')) return [t];
    }
    return this.rest;
  }

  /** The routers that may hold a route for `path` (page-routes.ts asks before the body is read). */
  routersFor(path: string): Router[] {
    return this.tablesFor(path).map((t) => t.router);
  }

  /** Every table's router. */
  allRouters(): Router[] {
    return [...this.prefixed, ...this.rest].map((t) => t.router);
  }

  /** Runs the request's own table(s); `routers` lists every table (tests read the routes from it). */
  middleware(): Koa.Middleware & { routers: Router[] } {
    const dispatch: Koa.Middleware = (ctx, next) => {
      const tables = this.tablesFor(ctx.path);
      const run = (i: number): Promise<unknown> => (i < tables.length ? Promise.resolve(tables[i]!.run(ctx, () => run(i + 1))) : next());
      return run(0);
    };
    return Object.assign(dispatch, { routers: this.allRouters() });
  }
}
