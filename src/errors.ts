/**
 * The broker's one error type. Everything that goes wrong inside (bad input, a refusal
 * from Keycloak, an unreachable store) becomes a BrokerError with a stable `code`; each
 * surface has one serializer that turns it into that surface's documented wire shape.
 *
 * Like Koa's own contract, `status` is the HTTP meaning and `expose` says whether the
 * message may be shown to the caller (never for 5xx: details go to the log only).
 */
export type ErrorCode =
  // the caller's input
  | 'validation_failed' // 422, with `details` in FastAPI's shape
  | 'invalid_request'
  | 'unsupported_grant_type'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_implemented'
  | 'tenant_not_found'
  | 'rate_limited'
  | 'feature_disabled'
  | 'redirect_mismatch'
  // OAuth refusals (RFC 6749 §5.2, RFC 6750 §3.1, RFC 8693 §2.2.2)
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope' // RFC 6750 §3.1: 403
  | 'invalid_target'
  | 'access_denied'
  | 'login_required' // OIDC Core §3.1.2.6: the action needs a signed-in user
  // RFC 8628 §3.5 (device flow polling)
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  // the broker's dependencies
  | 'upstream_unavailable' // 503: Keycloak refused the connection
  | 'upstream_timeout' // 504: Keycloak did not answer in time
  | 'upstream_bad_response' // 502: Keycloak answered with something we cannot use
  | 'store_unavailable' // 503: Redis down or slow
  | 'server_error';

const defaultStatus: Record<ErrorCode, number> = {
  validation_failed: 422,
  invalid_request: 400,
  unsupported_grant_type: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  not_found: 404,
  method_not_allowed: 405,
  not_implemented: 501,
  tenant_not_found: 404,
  rate_limited: 429,
  feature_disabled: 403,
  redirect_mismatch: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  invalid_scope: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_target: 400,
  access_denied: 403,
  login_required: 401,
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  upstream_bad_response: 502,
  store_unavailable: 503,
  server_error: 500,
};

/** One entry of a FastAPI-shaped 422 body: `{"detail":[{loc,msg,type}]}`. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export interface BrokerErrorOptions {
  status?: number;
  cause?: unknown;
  details?: ValidationIssue[];
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  /** What the upstream said, for the log (never sent on 5xx). */
  upstream?: { status?: number; error?: string; description?: string };
  /** A surface's own code for this failure, where the generic one is too coarse. */
  surfaceCode?: string;
}

export class BrokerError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details?: ValidationIssue[];
  readonly retryAfter?: number;
  readonly upstream?: BrokerErrorOptions['upstream'];
  surfaceCode?: string;

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.status = options.status ?? defaultStatus[code];
    this.expose = this.status < 500;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
    this.upstream = options.upstream;
    this.surfaceCode = options.surfaceCode;
  }

  get isUpstreamFailure(): boolean {
    return this.code.startsWith('upstream_') || this.code === 'store_unavailable';
  }
}

/**
 * What a caller may read of an error: the one rule, for every surface (Dex's way).
 * - 5xx: a fixed sentence per code. What failed inside (Keycloak's answer, its internal
 *   URL, a config hint) goes to the log with the request id, never to the caller.
 * - A refusal that came from Keycloak (`upstream` set): a fixed sentence per code too.
 *   Keycloak's descriptions can name internal issuers, say "Account disabled" where we
 *   answer "invalid credentials", or hint at its configuration.
 * - The broker's own 4xx messages: as written, they are written for the caller.
 */
const PUBLIC_MESSAGES: Partial<Record<ErrorCode, string>> = {
  upstream_unavailable: 'The identity service is unavailable; try again shortly',
  upstream_timeout: 'The identity service did not answer in time; try again shortly',
  upstream_bad_response: 'The identity service sent an answer the broker cannot use',
  store_unavailable: 'The session store is unavailable; try again shortly',
  not_implemented: 'This method is not supported',
  server_error: 'Internal server error',
  invalid_request: 'The identity service refused the request as malformed',
  invalid_client: 'Client authentication failed',
  invalid_grant: 'The credentials or grant are invalid, expired or revoked',
  unauthorized_client: 'The client may not use this grant',
  unsupported_grant_type: 'This grant type is not supported',
  invalid_scope: 'The requested scope is invalid',
  invalid_token: 'The token is invalid or expired',
  insufficient_scope: 'The token lacks a scope this request needs',
  invalid_target: 'The requested audience is not available',
  access_denied: 'Access denied',
};

export function publicMessage(err: BrokerError): string {
  if (err.status >= 500 || err.upstream) return PUBLIC_MESSAGES[err.code] ?? 'The request was refused';
  return err.message;
}

/** Anything thrown, as a BrokerError: unknown errors become an unexposed 500. */
export function asBrokerError(err: unknown): BrokerError {
  if (err instanceof BrokerError) return err;
  return new BrokerError('server_error', 'Internal server error', { cause: err });
}

/**
 * Gives the surface code `surfaceCode` to a BrokerError of one of `codes`, then rethrows:
 * `.catch(relabel(['invalid_grant'], 'SW_AUTH_OIDC_FAILED'))`.
 */
export function relabel(codes: ErrorCode[], surfaceCode: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof BrokerError && codes.includes(err.code)) err.surfaceCode = surfaceCode;
    throw err;
  };
}
