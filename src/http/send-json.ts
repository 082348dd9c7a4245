/**
 * JSON answers that pass on what Keycloak sent: the bytes that came in go out again, rather
 * than the parsed value serialised anew (a token response is a few kilobytes; stringifying it
 * on every proxied grant was pure cost). The parsed value is what the broker checks, and it
 * is frozen, so that nothing can change it after the bytes were remembered: a route that
 * reshapes an answer builds a new object, which is serialised as usual.
 */
import type Koa from 'koa';

const received = new WeakMap<object, Buffer>();

/** Remembers the bytes `value` was parsed from, and freezes it (see above). */
export function keepBytes<T extends object>(value: T, bytes: Buffer): T {
  received.set(Object.freeze(value), bytes);
  return value;
}

/** Sends `value` as JSON: as the bytes it came in when it is an untouched upstream answer. */
export function sendJson(ctx: Koa.Context, value: object): void {
  const bytes = received.get(value);
  if (!bytes) {
    ctx.body = value;
    return;
  }
  ctx.type = 'json';
  ctx.body = bytes;
}
