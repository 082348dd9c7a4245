/** The connect API in the OpenAPI document: its schemas.ts shapes, taken from the query, a form or JSON. */
import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { inputs, json, tokenResponse, validationError, withErrors } from '../../openapi/helpers.js';
import { PREFIX } from './routes.js';
import { introspectInput, tokenInput, userLoginInput } from './schemas.js';

export const connectError = z.object({ detail: z.string(), error: z.string() }).meta({ id: 'ConnectError' });
const errors = { 400: connectError, 401: connectError, 403: connectError, 404: connectError, 413: connectError, 415: connectError, 422: validationError, 429: connectError, 502: connectError, 503: connectError, 504: connectError };
export const health = z.object({ msg: z.string() }).meta({ id: 'Msg' });
/** Each Keycloak server's circuit breaker (upstream/circuit-breaker.ts snapshot()). */
const breaker = z.object({ state: z.enum(['closed', 'open', 'half-open']), failures: z.number(), openSince: z.string().optional(), outageFailures: z.number().optional() });
export const readiness = z.object({
  msg: z.enum(['OK', 'DEGRADED', 'NOT READY']).describe('DEGRADED: some (not all) Keycloak servers are down; their tenants answer 503'),
  checks: z.record(z.string(), z.string()),
  upstreams: z.record(z.string(), breaker).optional(),
}).meta({ id: 'Readiness' });
export const introspection = z.looseObject({ active: z.boolean() }).meta({ id: 'IntrospectionResponse' });

export function connectPaths(): ZodOpenApiPathsObject {
  const tags = ['connect'];
  return {
    [`${PREFIX}/healthz`]: { get: { operationId: 'connect-health', tags, summary: 'Liveness', responses: { 200: json(health, 'the process answers') } } },
    [`${PREFIX}/readyz`]: { get: { operationId: 'connect-readiness', tags, summary: 'Readiness: the store and every Keycloak server', responses: { 200: json(readiness, 'ready'), 503: json(readiness, 'not ready') } } },
    [`${PREFIX}/oauth/connect/token`]: { post: { operationId: 'connect-token', tags, summary: 'Client credentials token', ...inputs(tokenInput, ['body', 'query']), responses: withErrors({ 200: json(tokenResponse, 'the realm\'s token') }, errors) } },
    [`${PREFIX}/oauth/connect/user/login`]: { post: { operationId: 'connect-user-login', tags, summary: 'User password login (the tenant\'s password-grant policy applies)', ...inputs(userLoginInput, ['body', 'query']), responses: withErrors({ 200: json(tokenResponse, 'the realm\'s tokens') }, errors) } },
    [`${PREFIX}/oauth/connect/introspect`]: { post: { operationId: 'connect-introspect', tags, summary: 'Token introspection (RFC 7662)', ...inputs(introspectInput, ['body', 'query']), responses: withErrors({ 200: json(introspection, 'RFC 7662, booleans as booleans') }, errors) } },
  };
}
