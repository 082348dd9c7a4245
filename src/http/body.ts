/**
 * Reads the request body once, bounded in size, and parses it by content type:
 * form (application/x-www-form-urlencoded) or JSON. The result is `ctx.state.body`, a
 * plain object of fields, with `ctx.state.bodyKind` saying where it came from.
 * Malformed JSON is a 422 in FastAPI's shape (`json_invalid`), as the documents' API does.
 */
import type Koa from 'koa';
import { BrokerError } from '../errors.js';

const LIMIT = 64 * 1024;

/**
 * The body, whole, refused past LIMIT. Listeners rather than `for await`: the async
 * iterator (and its promises) cost about a tenth of a proxied grant's CPU, for bodies
 * that nearly always arrive in one chunk with the headers.
 */
function readRaw(ctx: Koa.Context): Promise<string> {
  const tooLarge = () => new BrokerError('payload_too_large', `Request body over ${LIMIT} bytes`);
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > LIMIT) return Promise.reject(tooLarge());
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', done).off('close', onClose);
      if (err) reject(err);
      else resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > LIMIT) return done(tooLarge());
      chunks.push(chunk);
    };
    const onEnd = () => done();
    // The client went away before the body ended (an 'error' may or may not come first).
    const onClose = () => done(new Error('The request body was cut off'));
    req.on('data', onData).on('end', onEnd).on('error', done).on('close', onClose);
  });
}

/** The media type of a Content-Type, lower case, without parameters ("" when there is none). */
function mediaType(header: string): string {
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

export async function parseBody(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.state.body = {};
  ctx.state.bodyKind = 'none';
  if (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'PATCH') {
    const raw = await readRaw(ctx);
    if (raw.trim() !== '') {
      const media = mediaType(ctx.get('content-type'));
      if (media === 'application/x-www-form-urlencoded') {
        ctx.state.body = Object.fromEntries(new URLSearchParams(raw));
        ctx.state.bodyKind = 'form';
      } else if (media === 'application/json' || media.endsWith('+json')) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch (err) {
          throw new BrokerError('validation_failed', 'Malformed JSON body', {
            cause: err, details: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }],
          });
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new BrokerError('validation_failed', 'JSON body must be an object', {
            details: [{ loc: ['body'], msg: 'Input should be a valid dictionary or object', type: 'model_attributes_type' }],
          });
        }
        ctx.state.body = parsed as Record<string, unknown>;
        ctx.state.bodyKind = 'json';
      } else {
        throw new BrokerError('unsupported_media_type', 'Send application/x-www-form-urlencoded or application/json');
      }
    }
  }
  await next();
}
