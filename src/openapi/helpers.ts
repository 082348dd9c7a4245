/**
 * Building blocks for the OpenAPI document (zod-openapi on zod 4): the request side is the
 * very zod shapes the routes' guards validate with; where a route reads them from is the
 * route's declared input sources (http/guard.ts).
 */
import 'zod-openapi';
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import type { InputSource } from '../http/guard.js';

export type Shape = Record<string, z.ZodType>;

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/** The parameters and body of a route whose guard reads `shape` from `sources`. */
export function inputs(shape: Shape, sources: InputSource[], bodyTypes: string[] = [FORM, JSON_TYPE]): Pick<ZodOpenApiOperationObject, 'requestParams' | 'requestBody'> {
  const both = sources.includes('query') && sources.includes('body');
  const op: Pick<ZodOpenApiOperationObject, 'requestParams' | 'requestBody'> = {};
  if (sources.includes('query')) {
    // Given in the query or the body alike: each is optional in either place.
    op.requestParams = { query: both ? z.object(shape).partial() : z.object(shape) };
  }
  if (sources.includes('body')) {
    const schema = z.object(shape);
    op.requestBody = { required: !both, content: Object.fromEntries(bodyTypes.map((t) => [t, { schema }])) };
  }
  return op;
}

export const json = (schema: z.ZodType, description: string) => ({ description, content: { [JSON_TYPE]: { schema } } });
export const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
export const redirect = (description: string) => ({ description, headers: z.object({ location: z.string() }) });

/** FastAPI's 422: `{"detail": [{loc, msg, type}]}` (the documents' HTTPValidationError). */
export const validationError = z.object({
  detail: z.array(z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() })),
}).meta({ id: 'HTTPValidationError' });

/** A token endpoint answer as Keycloak sends it (every field passes through). */
export const tokenResponse = z.looseObject({
  access_token: z.string(),
  token_type: z.string(),
  expires_in: z.number().optional(),
  refresh_token: z.string().optional(),
  refresh_expires_in: z.number().optional(),
  id_token: z.string().optional(),
  scope: z.string().optional(),
}).meta({ id: 'TokenResponse' });

export function withErrors(ok: ZodOpenApiResponsesObject, errors: Record<string, z.ZodType>, description = 'error'): ZodOpenApiResponsesObject {
  const out: Record<string, unknown> = { ...ok };
  for (const [status, schema] of Object.entries(errors)) out[status] ??= json(schema, description);
  return out as ZodOpenApiResponsesObject;
}
