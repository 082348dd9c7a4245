/**
 * The broker's cookies: HttpOnly, SameSite=Lax, and where the broker is served over TLS,
 * Secure with the `__Host-` prefix (which also pins them to this host and path /).
 *
 * "Served over TLS" is what PUBLIC_URL says, not what the socket says: behind a TLS
 * proxy the broker's own connection is plain HTTP, and the cookies library would refuse
 * (a 500) to set a Secure cookie unless told the browser's side is encrypted.
 */
import type Koa from 'koa';

export interface CookieJar {
  get(ctx: Koa.Context, name: string): string | undefined;
  set(ctx: Koa.Context, name: string, value: string, maxAgeSeconds: number): void;
  clear(ctx: Koa.Context, name: string): void;
}

export function cookieJar(publicUrl: string): CookieJar {
  const tls = publicUrl.startsWith('https:');
  const full = (name: string) => (tls ? `__Host-${name}` : name);
  return {
    get: (ctx, name) => ctx.cookies.get(full(name)) || undefined,
    set: (ctx, name, value, maxAgeSeconds) => {
      if (tls) ctx.cookies.secure = true;
      ctx.cookies.set(full(name), value, {
        httpOnly: true, sameSite: 'lax', secure: tls, path: '/', maxAge: maxAgeSeconds * 1000, overwrite: true,
      });
    },
    clear: (ctx, name) => {
      if (tls) ctx.cookies.secure = true;
      ctx.cookies.set(full(name), '', { httpOnly: true, sameSite: 'lax', secure: tls, path: '/', maxAge: 0, overwrite: true });
    },
  };
}
