/** Headers every response carries: nothing cached, nothing framed, nothing sniffed; HSTS over TLS. */
import type Koa from 'koa';

export function securityHeaders(publicUrl: string): Koa.Middleware {
  // The broker is reached over TLS (through its proxy) exactly when its public URL says so.
  const hsts = publicUrl.startsWith('https:');
  return function securityHeaders(ctx, next) {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    if (hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    // Token responses must not be cached (RFC 6749 §5.1); routes that may be cached override it.
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    return next();
  };
}
