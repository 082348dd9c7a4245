/**
 * A zod guard per route: reads each field of the schema from where the route allows it
 * (the body, form or JSON, and/or the query string), validates, and puts the typed result
 * in `ctx.state.input`. Failures become one 422 BrokerError whose details are FastAPI's
 * `{loc, msg, type}`.
 *
 * Where inputs may come from is the route's declaration, not a guess: OAuth token
 * endpoints take credentials, codes and tokens in the body only (RFC 6749 §2.3.1, §3.2:
 * URLs end up in logs and histories), and such a field sent in the URL is refused, not
 * ignored; the connect API takes query parameters, as its document says.
 */
import type Koa from 'koa';
import { z } from 'zod';
import { BrokerError, type ValidationIssue } from '../errors.js';
import { givenTwice, type BodyKind } from './body.js';

export type Shape = Record<string, z.ZodType>;

/** No query string: nothing to parse (and, like a parsed one, no prototype to read fields from). */
const NO_QUERY: Record<string, unknown> = Object.freeze(Object.create(null));

/** ES2024's String.prototype.isWellFormed (Node 20 has it; the TypeScript lib here is ES2023). */
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** A zod issue in FastAPI's shape; `given` holds the fields as read (absent ones undefined). */
function fastApiIssue(issue: z.core.$ZodIssue, where: Record<string, string>, given: Record<string, unknown>): ValidationIssue {
  const field = String(issue.path[0] ?? '');
  const loc = [where[field] ?? 'query', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  if (given[field] === undefined && issue.code === 'invalid_type') return { loc, msg: 'Field required', type: 'missing' };
  if (issue.code === 'invalid_type' && issue.expected === 'string') return { loc, msg: 'Input should be a valid string', type: 'string_type' };
  return { loc, msg: issue.message, type: issue.code };
}

export type InputSource = 'body' | 'query';

/** A route's input of `shape`, typed. */
export type InputOf<S extends Shape> = z.infer<z.ZodObject<S>>;

/** Fields that name a tenant: given empty, they are given (and name none). */
const NAMES_A_TENANT: ReadonlySet<string> = new Set(['realm']);

/**
 * Reads and validates a route's input from a parsed body and query: the one check behind
 * `guard()` (Koa routes) and the direct lane's routes (direct-lane.ts).
 */
export function inputChecker<S extends Shape>(shape: S, sources: InputSource[] = ['body', 'query']) {
  const schema = z.object(shape);
  const fields = Object.keys(shape);
  const fromBody = sources.includes('body');
  const fromQuery = sources.includes('query');

  /** Where each field was read from, or would have been (for a failure's `loc`). */
  function whereFrom(bodyKind: BodyKind, body: Record<string, unknown>, query: Record<string, unknown>): Record<string, string> {
    const where: Record<string, string> = {};
    for (const field of fields) {
      if (body[field] !== undefined) where[field] = 'body';
      else if (fromQuery && query[field] !== undefined) where[field] = 'query';
      else where[field] = fromBody && (bodyKind === 'json' || !fromQuery) ? 'body' : 'query';
    }
    return where;
  }

  return function check(parsedBody: Record<string, unknown>, bodyKind: BodyKind, query: Record<string, unknown> = NO_QUERY): InputOf<S> {
    const body = fromBody ? parsedBody : {};
    if (!fromQuery) {
      const inUrl = fields.filter((f) => query[f] !== undefined);
      if (inUrl.length) throw new BrokerError('invalid_request', `Send ${inUrl.join(', ')} in the request body, not in the URL`);
    }
    const candidate: Record<string, unknown> = {};
    let repeated: string[] | undefined;
    for (const field of fields) {
      let value = body[field];
      let urlEncoded = bodyKind === 'form';
      if (value === undefined && fromQuery) {
        value = query[field];
        urlEncoded = true;
      }
      // A list from a form or a query string is a name given twice (a JSON list is a wrong type).
      if (urlEncoded && Array.isArray(value)) (repeated ??= []).push(field);
      // An empty form field is as good as absent (FastAPI treats "" as given, but an
      // empty secret or username is never meaningful here). Not a tenant's name: an empty
      // one names no tenant, never the default one (attack round 36: `realm=` sent a user's
      // password to the default tenant's realm).
      candidate[field] = value === '' && !NAMES_A_TENANT.has(field) ? undefined : value;
    }
    if (repeated) throw givenTwice(repeated);
    // Two different values, one in the URL and one in the body: which one a proxy in front
    // checked is anyone's guess, so neither is taken (attack helper, 2026-12-06: a realm in the
    // query and another in the body got the body's realm's token).
    if (fromBody && fromQuery && query !== NO_QUERY) {
      const both = fields.filter((f) => body[f] !== undefined && query[f] !== undefined && !sameText(body[f], query[f]));
      if (both.length) throw new BrokerError('invalid_request', `${both.join(', ')} given in both the URL and the body, with different values`);
    }
    const parsed = schema.safeParse(candidate);
    if (!parsed.success) {
      throw new BrokerError('validation_failed', 'Request validation failed', {
        details: parsed.error.issues.map((i) => fastApiIssue(i, whereFrom(bodyKind, body, query), candidate)),
      });
    }
    // A lone surrogate (JSON can carry "\ud800") is no text: it cannot be form-encoded for
    // Keycloak (encodeURIComponent throws), so it is the caller's error, not a 502.
    const broken = fields.filter((f) => typeof candidate[f] === 'string' && !isWellFormed(candidate[f] as string));
    if (broken.length) {
      const where = whereFrom(bodyKind, body, query);
      throw new BrokerError('validation_failed', 'Request validation failed', {
        details: broken.map((f) => ({ loc: [where[f] ?? 'body', f], msg: 'Input should be a valid string, unable to parse raw data as a unicode string', type: 'string_unicode' })),
      });
    }
    return parsed.data;
  };
}

/**
 * Whether a body value is the text a query value is. A query value is a string (or a list, a
 * name given twice); a JSON body may hold anything, and nothing but a string, number or
 * boolean can be the same text. No conversion of an object: String() throws on one whose
 * `toString` is not a function ({"toString":1}; fuzz, 2026-12-06), and JSON.stringify on one
 * nested thousands deep (attack helper round 25): both were 500s.
 */
function sameText(bodyValue: unknown, queryValue: unknown): boolean {
  if (typeof queryValue !== 'string') return false;
  const t = typeof bodyValue;
  return (t === 'string' || t === 'number' || t === 'boolean') && String(bodyValue) === queryValue;
}

export function guard<S extends Shape>(shape: S, sources: InputSource[] = ['body', 'query']): Koa.Middleware {
  const check = inputChecker(shape, sources);
  return function guardInput(ctx, next) {
    ctx.state.input = check(ctx.state.body, ctx.state.bodyKind, ctx.querystring === '' ? NO_QUERY : (ctx.query as Record<string, unknown>));
    return next();
  };
}
