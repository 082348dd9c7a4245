/**
 * The ScaiWave Auth API's one error envelope: `{"error": {"code": "SW_AUTH_…", "message"}}`.
 * Validation failures also carry FastAPI's `detail` list (and `error.details`), so that
 * clients of either convention read them. Every code is listed in the README.
 */
import { publicMessage, type BrokerError, type ErrorCode } from '../../errors.js';
import type { ErrorSerializer } from '../../http/error-handler.js';

/** Our generic codes as this surface names them, with the status it gives them. */
const CODES: Record<ErrorCode, [string, number]> = {
  validation_failed: ['SW_AUTH_VALIDATION_FAILED', 422],
  invalid_request: ['SW_AUTH_BAD_REQUEST', 400],
  unsupported_grant_type: ['SW_AUTH_BAD_REQUEST', 400],
  unsupported_media_type: ['SW_AUTH_UNSUPPORTED_MEDIA_TYPE', 415],
  payload_too_large: ['SW_AUTH_PAYLOAD_TOO_LARGE', 413],
  not_found: ['SW_AUTH_NOT_FOUND', 404],
  method_not_allowed: ['SW_AUTH_METHOD_NOT_ALLOWED', 405],
  not_implemented: ['SW_AUTH_NOT_IMPLEMENTED', 501],
  tenant_not_found: ['SW_AUTH_TENANT_NOT_FOUND', 404],
  rate_limited: ['SW_AUTH_RATE_LIMITED', 429],
  feature_disabled: ['SW_AUTH_FEATURE_DISABLED', 403],
  redirect_mismatch: ['SW_AUTH_REDIRECT_MISMATCH', 400],
  // The broker's own client refused: a misconfiguration, not the caller's fault.
  invalid_client: ['SW_AUTH_UPSTREAM_REJECTED', 502],
  unauthorized_client: ['SW_AUTH_UPSTREAM_REJECTED', 502],
  invalid_grant: ['SW_AUTH_INVALID_GRANT', 400],
  invalid_scope: ['SW_AUTH_INVALID_SCOPE', 400],
  invalid_token: ['SW_AUTH_INVALID_TOKEN', 401],
  insufficient_scope: ['SW_AUTH_INSUFFICIENT_SCOPE', 403],
  invalid_target: ['SW_AUTH_BAD_REQUEST', 400],
  access_denied: ['SW_AUTH_ACCESS_DENIED', 403],
  login_required: ['SW_AUTH_LOGIN_REQUIRED', 401],
  authorization_pending: ['SW_AUTH_BAD_REQUEST', 400],
  slow_down: ['SW_AUTH_BAD_REQUEST', 400],
  expired_token: ['SW_AUTH_BAD_REQUEST', 400],
  upstream_unavailable: ['SW_AUTH_UPSTREAM_UNAVAILABLE', 503],
  upstream_timeout: ['SW_AUTH_UPSTREAM_TIMEOUT', 504],
  upstream_bad_response: ['SW_AUTH_UPSTREAM_ERROR', 502],
  store_unavailable: ['SW_AUTH_STORE_UNAVAILABLE', 503],
  server_error: ['SW_AUTH_INTERNAL', 500],
};

/** Codes that routes give to specific failures (see relabel()), with their status. */
export const SURFACE_CODES = {
  SW_AUTH_OIDC_FAILED: 400,
  SW_AUTH_PASSWORD_GRANT_DISABLED: 403,
  SW_AUTH_INVALID_CREDENTIALS: 401,
  SW_AUTH_INVALID_REFRESH_TOKEN: 401,
} as const;
export type SurfaceCode = keyof typeof SURFACE_CODES;

/** Every code this surface can answer with (for the OpenAPI document and the README's table). */
export const ALL_CODES = [...new Set([...Object.values(CODES).map(([c]) => c), ...Object.keys(SURFACE_CODES)])].sort() as [string, ...string[]];

function codeAndStatus(err: BrokerError): [string, number] {
  if (err.surfaceCode && err.surfaceCode in SURFACE_CODES) {
    return [err.surfaceCode, SURFACE_CODES[err.surfaceCode as SurfaceCode]];
  }
  return CODES[err.code];
}

export const serializeScaiwaveError: ErrorSerializer = (ctx, err) => {
  const [code, status] = codeAndStatus(err);
  ctx.status = status;
  const message = publicMessage(err);
  // A bearer credential refused (RFC 6750 §3): not a refresh token in a body, which /refresh's
  // 401s are, though some of them came from the same check (round 48: the header on some only).
  if (code === 'SW_AUTH_INVALID_TOKEN') ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
  if (err.code === 'validation_failed' && err.details) {
    ctx.body = { error: { code, message, details: err.details }, detail: err.details };
    return;
  }
  ctx.body = { error: { code, message } };
};
