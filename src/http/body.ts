/**
 * Reads the request body once, bounded in size, and parses it by content type:
 * form (application/x-www-form-urlencoded) or JSON. `readBody` gives a plain object of
 * fields and the kind of body it came from; `parseBody` puts them in `ctx.state.body` and
 * `ctx.state.bodyKind` for Koa routes, and the direct lane (direct-lane.ts) calls it itself.
 * Malformed JSON is a 422 in FastAPI's shape (`json_invalid`), as the documents' API does.
 */
import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import { BrokerError } from '../errors.js';

const LIMIT = 64 * 1024;

/**
 * The body, whole, refused past LIMIT. Listeners rather than `for await`: the async
 * iterator (and its promises) cost about a tenth of a proxied grant's CPU, for bodies
 * that nearly always arrive in one chunk with the headers.
 */
function readRaw(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new BrokerError('payload_too_large', `Request body over ${LIMIT} bytes`);
  const declared = Number(req.headers['content-length'] || 0);
  if (declared > LIMIT) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      req.off('data', onData).off('end', onEnd).off('error', cutOff).off('close', onClose);
      if (err) reject(err);
      else resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > LIMIT) return done(tooLarge());
      chunks.push(chunk);
    };
    const onEnd = () => done();
    // The client went away before the body ended (an 'error' may or may not come first):
    // the caller's doing, answered (if anyone still listens) and logged as such, not as a
    // failure of ours. Anyone can cut requests short; each must not cost an error line.
    const cutOff = (cause?: Error) => done(new BrokerError('invalid_request', 'The request body was cut off', { cause }));
    const onClose = () => cutOff();
    req.on('data', onData).on('end', onEnd).on('error', cutOff).on('close', onClose);
  });
}

/** The media type of a Content-Type, lower case, without parameters ("" when there is none). */
function mediaType(header: string): string {
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}

export type BodyKind = 'none' | 'form' | 'json';
export interface ParsedBody {
  fields: Record<string, unknown>;
  kind: BodyKind;
}

/**
 * A form's fields. A name given more than once keeps all its values, as in a query string,
 * for the input check to refuse (RFC 6749 §3.2: parameters must not be repeated); taking
 * the last one would let two parts of a request path read different values.
 */
function formFields(raw: string): Record<string, unknown> {
  const params = new URLSearchParams(raw);
  const fields: Record<string, unknown> = Object.fromEntries(params);
  if (params.size === Object.keys(fields).length) return fields;
  for (const name of Object.keys(fields)) {
    const all = params.getAll(name);
    // An own data property, whatever the name (`__proto__` included), as fromEntries made it.
    if (all.length > 1) Object.defineProperty(fields, name, { value: all, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

/** The one refusal of a parameter given more than once (RFC 6749 §3.2), in a form, a query or a JSON object. */
export function givenTwice(names: string[]): BrokerError {
  return new BrokerError('invalid_request', `Each parameter may be given once: ${names.join(', ')} was given more than once`);
}

/**
 * The names given more than once among the members of the JSON object `text` (valid JSON, an
 * object with `distinct` members once parsed): none, at the cost of one pass, when the text
 * has as many members as the object.
 */
export function repeatedMembers(text: string, distinct: number): string[] {
  const names: string[] = [];
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      if (depth === 1 && expectName) names.push(JSON.parse(text.slice(start, i + 1)) as string);
      expectName = false;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      expectName = depth === 1;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectName = true;
    }
  }
  if (names.length === distinct) return [];
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of names) (seen.has(name) ? repeated : seen).add(name);
  return [...repeated];
}

/** The fields of `req`'s body (the Koa pipeline's and the direct lane's one reader). */
export async function readBody(req: IncomingMessage): Promise<ParsedBody> {
  if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') return { fields: {}, kind: 'none' };
  const raw = await readRaw(req);
  if (raw.trim() === '') return { fields: {}, kind: 'none' };
  // A compressed body is not read as garbled text and answered "malformed": 415, as RFC 7694 §3
  // says of a content coding the server does not take.
  const coding = req.headers['content-encoding']?.trim().toLowerCase();
  if (coding && coding !== 'identity') throw new BrokerError('unsupported_media_type', `Content-Encoding ${coding} is not supported: send the body uncompressed`);
  const media = mediaType(req.headers['content-type'] ?? '');
  if (media === 'application/x-www-form-urlencoded') {
    return { fields: formFields(raw), kind: 'form' };
  }
  if (media === 'application/json' || media.endsWith('+json')) {
    // JSON is UTF-8 (RFC 8259 §8.1): a body said to be in another charset is not read as UTF-8.
    // Every charset parameter: a second one, which another reader may take, too (attack round 38).
    for (const [, given] of (req.headers['content-type'] ?? '').matchAll(/;\s*charset\s*=\s*"?([^";\s]*)/gi)) {
      const charset = given!.toLowerCase();
      if (charset !== 'utf-8' && charset !== 'utf8') throw new BrokerError('unsupported_media_type', `charset ${charset} is not supported: send JSON in UTF-8`);
    }
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
    const repeated = repeatedMembers(raw, Object.keys(parsed).length);
    // As a form's repeated parameter (formFields): JSON.parse keeps the last, and a proxy in
    // front may have checked the first (attack round 36: a second "realm" got its realm's token).
    if (repeated.length) throw givenTwice(repeated);
    return { fields: parsed as Record<string, unknown>, kind: 'json' };
  }
  throw new BrokerError('unsupported_media_type', 'Send application/x-www-form-urlencoded or application/json');
}

export async function parseBody(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  // Defined for the error handler even when reading fails.
  ctx.state.body = {};
  ctx.state.bodyKind = 'none';
  const { fields, kind } = await readBody(ctx.req);
  ctx.state.body = fields;
  ctx.state.bodyKind = kind;
  await next();
}
