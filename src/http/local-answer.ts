/**
 * Answers the broker computes itself (JWKS, discovery, /v1/auth/config, health): serialized
 * once into bytes with their ETag, rebuilt only when what they are made of changes (a new
 * key set, new realm metadata: a new source object), and answered 304 to a client that
 * already has them (If-None-Match).
 */
import { createHash } from 'node:crypto';
import type Koa from 'koa';

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
  ctx.status = 200;
  ctx.set('ETag', p.etag);
  ctx.type = 'application/json';
  // The origin's own revalidation (RFC 9110 §13.1.2): a matching If-None-Match is a 304,
  // whatever Cache-Control the request carries (Koa's ctx.fresh says "stale" on no-cache,
  // which fetch() adds to every conditional request).
  const tags = ctx.get('if-none-match').split(',').map((t) => t.trim().replace(/^W\//, ''));
  if (tags.includes(p.etag) || tags.includes('*')) {
    ctx.status = 304;
    return;
  }
  ctx.body = p.body;
}
