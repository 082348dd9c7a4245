/** Headers every response carries: nothing cached, nothing framed, nothing sniffed; HSTS over TLS. */
import type Koa from 'koa';

/**
 * The headers as a flat [name, value, ...] list, made once: Koa sets them one by one, the
 * direct lane (direct-lane.ts) hands the list to `writeHead` as it is.
 */
export function securityHeaderList(publicUrl: string): readonly string[] {
  return Object.freeze([
    'X-Content-Type-Options', 'nosniff',
    'Referrer-Policy', 'no-referrer',
    'X-Frame-Options', 'DENY',
    // The broker is reached over TLS (through its proxy) exactly when its public URL says so.
    ...(publicUrl.startsWith('https:') ? ['Strict-Transport-Security', 'max-age=31536000'] : []),
    // Token responses must not be cached (RFC 6749 §5.1); routes that may be cached override it.
    'Cache-Control', 'no-store',
    'Pragma', 'no-cache',
  ]);
}

export function securityHeaders(list: readonly string[]): Koa.Middleware {
  return function securityHeaders(ctx, next) {
    for (let i = 0; i < list.length; i += 2) ctx.set(list[i]!, list[i + 1]!);
    return next();
  };
}
