/** Headers every response carries: nothing cached, nothing framed, nothing sniffed. */
import type Koa from 'koa';

export async function securityHeaders(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('X-Frame-Options', 'DENY');
  // Token responses must not be cached (RFC 6749 §5.1); routes that may be cached override it.
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  await next();
}
