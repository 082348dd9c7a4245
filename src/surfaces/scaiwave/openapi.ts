/** The ScaiWave Auth API in the OpenAPI document: `{"data": …}` answers, `SW_AUTH_*` error codes. */
import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { inputs, json } from '../../openapi/helpers.js';
import { ALL_CODES } from './errors.js';
import { PREFIX } from './routes.js';
import { loginInput, passwordInput, refreshInput } from './schemas.js';

const issue = z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() });
export const scaiwaveError = z.object({
  error: z.object({ code: z.enum(ALL_CODES), message: z.string(), details: z.array(issue).optional() }),
  detail: z.array(issue).optional(),
}).meta({ id: 'ScaiWaveError' });
export const scaiwaveTokens = z.object({
  data: z.object({ access_token: z.string(), refresh_token: z.string().optional(), token_type: z.string(), expires_in: z.number() }),
}).meta({ id: 'ScaiWaveTokens' });
export const scaiwaveConfig = z.object({
  data: z.object({
    issuer: z.string(), authorization_endpoint: z.string(), token_endpoint: z.string(), jwks_uri: z.string(),
    scopes_supported: z.array(z.string()), redirect_uri: z.string(), client_id: z.string(),
  }),
}).meta({ id: 'ScaiWaveConfig' });
export const participant = z.object({
  data: z.object({ participant_id: z.string(), tenant_id: z.string(), display_name: z.string(), email: z.string().nullable().optional(), personal_workspace_id: z.string() }),
}).meta({ id: 'Participant' });

const errorStatuses = [400, 401, 403, 404, 413, 415, 422, 429, 502, 503, 504] as const;
const errors = Object.fromEntries(errorStatuses.map((s) => [s, json(scaiwaveError, 'error envelope')]));
const host = z.object({ host: z.string().meta({ description: 'picks the tenant (host map), else the default tenant' }) });

export function scaiwavePaths(): ZodOpenApiPathsObject {
  const tags = ['scaiwave'];
  const op = (operationId: string, summary: string, ok: z.ZodType, extra: object = {}) => ({
    operationId, tags, summary, requestParams: { header: host }, ...extra, responses: { 200: json(ok, 'success'), ...errors },
  });
  return {
    [`${PREFIX}/config`]: { get: op('scaiwave-config', 'The tenant realm\'s OIDC endpoints', scaiwaveConfig) },
    [`${PREFIX}/login`]: {
      get: {
        operationId: 'scaiwave-login-landing', tags, summary: 'The redirect URI as a browser lands on it: on to the front end (scaiwave.frontendUrl) or a short page',
        requestParams: { header: host, query: z.object({ code: z.string().optional(), state: z.string().optional(), error: z.string().optional() }) },
        responses: { 200: { description: 'a page', content: { 'text/html': { schema: z.string() } } }, 302: { description: 'to the front end' }, 400: { description: 'an error page', content: { 'text/html': { schema: z.string() } } } },
      },
      post: op('scaiwave-login', 'Exchange an authorization code', scaiwaveTokens, inputs(loginInput, ['body'])),
    },
    [`${PREFIX}/token`]: { post: op('scaiwave-token', 'Password grant (when the tenant enables it)', scaiwaveTokens, inputs(passwordInput, ['body'])) },
    [`${PREFIX}/refresh`]: { post: op('scaiwave-refresh', 'Refresh, at the realm that issued the token', scaiwaveTokens, inputs(refreshInput, ['body'])) },
    [`${PREFIX}/register`]: { post: { ...op('scaiwave-register', 'The bearer\'s participant (idempotent)', participant), security: [{ bearer: [] }] } },
  };
}
