/**
 * Binds a sign-in to the browser that started it (RFC 9700 §4.7, OIDC Core §3.1.2.1's
 * `state` "bound to the user agent"): the browser holds a random value in a cookie, the
 * transaction holds its hash, and every later step of the sign-in (its forms, the realm's
 * callback, the device approval) compares the two in constant time.
 *
 * Without it, whoever holds a transaction's `state` (it is in the realm's login URL) can
 * have another browser finish the sign-in: login CSRF, or a device approved by a victim
 * who never saw the code. One value per browser, so several tabs can sign in at once.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { CookieJar } from '../../http/cookies.js';
import { randomId, TX_TTL } from './transactions.js';

const COOKIE = 'rb_bind';
const digest = (value: string) => createHash('sha256').update(value).digest();

/** The hash to store with a new transaction; sets (or renews) the browser's cookie. */
export function bindToBrowser(jar: CookieJar, ctx: Koa.Context): string {
  const value = jar.get(ctx, COOKIE) ?? randomId();
  jar.set(ctx, COOKIE, value, TX_TTL);
  return digest(value).toString('base64url');
}

/** This browser's binding hash, when it has one; sets nothing. */
export function browserOf(jar: CookieJar, ctx: Koa.Context): string | undefined {
  const value = jar.get(ctx, COOKIE);
  return value ? digest(value).toString('base64url') : undefined;
}

/** True when this request comes from the browser whose binding hash is `bound`. */
export function isSameBrowser(jar: CookieJar, ctx: Koa.Context, bound: string | undefined): boolean {
  const value = jar.get(ctx, COOKIE);
  if (!value || !bound) return false;
  const expected = Buffer.from(bound, 'base64url');
  const actual = digest(value);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
