/** GET …/.well-known/jwks.json: the aggregated key set, cacheable for a few minutes. */
import type Koa from 'koa';
import type { AggregatedJwks } from '../../keys/jwks.js';

export function jwksDocument(jwks: AggregatedJwks): Koa.Middleware {
  return async function jwksDocument(ctx) {
    ctx.body = { keys: await jwks.keys() };
    ctx.set('Cache-Control', 'public, max-age=300');
  };
}
