/**
 * Answers the broker computes itself (JWKS, discovery, /v1/auth/config, health): serialized
 * once into bytes with their ETag, rebuilt only when what they are made of changes (a new
 * key set, new realm metadata: a new source object), and answered 304 to a client that
 * already has them (If-None-Match). The server then keeps the whole answer for a moment and
 * sends it again without entering Koa (answer-memo.ts).
 */
import { createHash } from 'node:crypto';
import type Koa from 'koa';
import { matchesEtag } from './answer-memo.js';
import { JSON_TYPE } from './send-json.js';

export interface Prepared {
  body: Buffer;
  etag: string;
}

export function prepare(value: unknown): Prepared {
  const body = Buffer.from(JSON.stringify(value));
  return { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

/** Prepared bytes per source object: a source replaced by its cache (new keys, new metadata) is prepared anew. */
export class PreparedBySource<S extends object> {
  private readonly prepared = new WeakMap<S, Map<string, Prepared>>();

  get(source: S, variant: string, build: () => unknown): Prepared {
    let variants = this.prepared.get(source);
    if (!variants) {
      variants = new Map();
      this.prepared.set(source, variants);
    }
    let p = variants.get(variant);
    if (!p) {
      p = prepare(build());
      // Variants of one source are few (hosts of a tenant); bound them all the same.
      if (variants.size > 100) variants.clear();
      variants.set(variant, p);
    }
    return p;
  }
}

export function sendPrepared(ctx: Koa.Context, p: Prepared, cacheControl: string): void {
  ctx.set('Cache-Control', cacheControl);
  // security-headers.ts sends `Pragma: no-cache` with every `no-store`; not with these.
  if (!cacheControl.includes('no-store')) ctx.remove('Pragma');
  ctx.status = 200;
  ctx.set('ETag', p.etag);
  ctx.set('Content-Type', JSON_TYPE);
  // The origin's own revalidation (RFC 9110 §13.1.2): a matching If-None-Match is a 304,
  // whatever Cache-Control the request carries (Koa's ctx.fresh says "stale" on no-cache,
  // which fetch() adds to every conditional request).
  if (matchesEtag(ctx.get('if-none-match'), p.etag)) {
    ctx.status = 304;
    return;
  }
  ctx.body = p.body;
  ctx.state.localAnswer = p;
}
