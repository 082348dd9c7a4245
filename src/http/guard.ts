/**
 * A zod guard per route: reads each field of the schema from the body (form or JSON)
 * or else the query string, validates, and puts the typed result in `ctx.state.input`.
 * Failures become one 422 BrokerError whose details are FastAPI's `{loc, msg, type}`.
 */
import type Koa from 'koa';
import { z } from 'zod';
import { BrokerError, type ValidationIssue } from '../errors.js';

type Shape = Record<string, z.ZodType>;

function fastApiIssue(issue: z.core.$ZodIssue, where: Record<string, string>, present: Set<string>): ValidationIssue {
  const field = String(issue.path[0] ?? '');
  const loc = [where[field] ?? 'query', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  if (!present.has(field) && issue.code === 'invalid_type') return { loc, msg: 'Field required', type: 'missing' };
  if (issue.code === 'invalid_type' && issue.expected === 'string') return { loc, msg: 'Input should be a valid string', type: 'string_type' };
  return { loc, msg: issue.message, type: issue.code };
}

export function guard<S extends Shape>(shape: S): Koa.Middleware {
  const schema = z.object(shape);
  return async function guardInput(ctx, next) {
    const body = ctx.state.body as Record<string, unknown>;
    const query = ctx.query as Record<string, unknown>;
    const candidate: Record<string, unknown> = {};
    const where: Record<string, string> = {};
    const present = new Set<string>();
    for (const field of Object.keys(shape)) {
      let value: unknown;
      if (body[field] !== undefined) {
        value = body[field];
        where[field] = 'body';
      } else if (query[field] !== undefined) {
        value = query[field];
        where[field] = 'query';
      } else {
        where[field] = ctx.state.bodyKind === 'json' ? 'body' : 'query';
      }
      // An empty form field is as good as absent (FastAPI treats "" as given, but an
      // empty secret or username is never meaningful here).
      if (value === '') value = undefined;
      if (value !== undefined) present.add(field);
      candidate[field] = value;
    }
    const parsed = schema.safeParse(candidate);
    if (!parsed.success) {
      throw new BrokerError('validation_failed', 'Request validation failed', {
        details: parsed.error.issues.map((i) => fastApiIssue(i, where, present)),
      });
    }
    ctx.state.input = parsed.data;
    await next();
  };
}
