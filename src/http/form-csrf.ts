/**
 * CSRF for the broker's own forms that no sign-in transaction carries (the device code
 * page, the sign-out confirmation): one random token per browser in a cookie, echoed by
 * the form (double submit), compared in constant time.
 */
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import { BrokerError } from '../errors.js';
import type { CookieJar } from './cookies.js';
import { sameSecret } from './same-secret.js';

const COOKIE = 'rb_fcsrf';

export function formCsrfToken(jar: CookieJar, ctx: Koa.Context): string {
  let token = jar.get(ctx, COOKIE);
  if (!token) {
    token = randomBytes(32).toString('base64url');
    jar.set(ctx, COOKIE, token, 3600);
  }
  return token;
}

export function checkFormCsrf(jar: CookieJar, ctx: Koa.Context): void {
  const sent = (ctx.state.body as Record<string, unknown>).csrf;
  const cookie = jar.get(ctx, COOKIE);
  if (typeof sent !== 'string' || !cookie || !sameSecret(sent, cookie)) {
    throw new BrokerError('access_denied', 'The form expired or did not come from this site. Go back and try again.', { status: 403 });
  }
}
