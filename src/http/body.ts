/**
 * Reads the request body once, bounded in size, and parses it by content type:
 * form (application/x-www-form-urlencoded) or JSON. The result is `ctx.state.body`, a
 * plain object of fields, with `ctx.state.bodyKind` saying where it came from.
 * Malformed JSON is a 422 in FastAPI's shape (`json_invalid`), as the documents' API does.
 */
import type Koa from 'koa';
import { BrokerError } from '../errors.js';

const LIMIT = 64 * 1024;

async function readRaw(ctx: Koa.Context): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > LIMIT) throw new BrokerError('payload_too_large', `Request body over ${LIMIT} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > LIMIT) throw new BrokerError('payload_too_large', `Request body over ${LIMIT} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function parseBody(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  ctx.state.body = {};
  ctx.state.bodyKind = 'none';
  if (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'PATCH') {
    const raw = await readRaw(ctx);
    if (raw.trim() !== '') {
      if (ctx.is('application/x-www-form-urlencoded')) {
        ctx.state.body = Object.fromEntries(new URLSearchParams(raw));
        ctx.state.bodyKind = 'form';
      } else if (ctx.is('application/json', '+json')) {
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
