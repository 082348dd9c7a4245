/**
 * The one place where what Keycloak (or the network to it) did wrong becomes one of
 * our error codes. OAuth refusals keep their RFC meaning; transport failures become
 * 502/503/504. The original error stays as `cause` for the log.
 */
import { Response as UndiciResponse } from 'undici';
import { ClientError, ResponseBodyError } from 'openid-client';
import { BrokerError, type ErrorCode } from '../errors.js';
import { UpstreamBadAnswer, UpstreamRefusal, UpstreamTransportError } from './keepalive-client.js';
import { BODY_LIMIT_BYTES, isTooLarge } from './upstream-fetch.js';

const OAUTH_CODES: Record<string, ErrorCode> = {
  invalid_request: 'invalid_request',
  invalid_client: 'invalid_client',
  invalid_grant: 'invalid_grant',
  unauthorized_client: 'unauthorized_client',
  unsupported_grant_type: 'unsupported_grant_type',
  invalid_scope: 'invalid_scope',
  invalid_token: 'invalid_token',
  invalid_target: 'invalid_target',
  access_denied: 'access_denied',
};

/** True for the failures that say nothing about the request, only about Keycloak's reachability. */
function isTimeout(err: unknown): boolean {
  return (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    || (err instanceof ClientError && (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT'));
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof UpstreamRefusal) return err.status;
  const cause = (err as { cause?: unknown; response?: unknown })?.response ?? (err as { cause?: unknown })?.cause;
  // The global fetch's, or undici's own (slotted-fetch.ts calls through it).
  return cause instanceof Response || cause instanceof UndiciResponse ? cause.status : undefined;
}

/** A BrokerError that a library wrapped (openid-client wraps what its customFetch throws). */
function wrappedBrokerError(err: unknown): BrokerError | undefined {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof BrokerError) return e;
  }
  return undefined;
}

export function translateUpstreamError(err: unknown, what: string): BrokerError {
  const ours = wrappedBrokerError(err);
  if (ours) return ours;

  // Keycloak (or a proxy before it) is busy, whatever its body says: nothing is wrong with the
  // request, which a 400 "malformed" told the caller (attack helper round 30b).
  if (statusOf(err) === 429 || (err instanceof ResponseBodyError && err.status === 429)) {
    return new BrokerError('upstream_unavailable', `Keycloak is busy (429) during ${what}`, { cause: err, retryAfter: 5 });
  }

  if (err instanceof ResponseBodyError || (err instanceof UpstreamRefusal && err.error !== undefined)) {
    const upstream = { status: err.status, error: err.error, description: err.error_description };
    if (err.status >= 500) {
      return new BrokerError(err.status === 503 ? 'upstream_unavailable' : 'upstream_bad_response',
        `Keycloak failed during ${what}`, { cause: err, upstream, retryAfter: 5 });
    }
    // Keycloak answers a bad client secret with 401 and either error name.
    const code = err.status === 401 && (err.error === 'unauthorized_client' || err.error === 'invalid_client')
      ? 'invalid_client'
      : OAUTH_CODES[err.error ?? ''] ?? 'invalid_request';
    return new BrokerError(code, err.error_description ?? err.error ?? `Keycloak answered ${err.status}`, { cause: err, upstream });
  }

  // Before the TypeError below: fetch reports an answer cut at its size limit as "terminated".
  if (isTooLarge(err)) {
    return new BrokerError('upstream_bad_response', `Keycloak sent a body over ${BODY_LIMIT_BYTES} bytes during ${what}`, { cause: err });
  }

  if (isTimeout(err)) {
    return new BrokerError('upstream_timeout', `Keycloak did not answer in time during ${what}`, { cause: err, retryAfter: 5 });
  }

  const status = statusOf(err);
  if (status !== undefined) {
    // A resource of the admin API that is not there (a realm deleted meanwhile) is a 404 of ours;
    // a token endpoint that is not there is an upstream that answers wrongly (a proxy's route, a
    // realm gone under a tenant), and a caller was told "not_found" in Keycloak's words (round 30b).
    if (status === 404 && !(err instanceof UpstreamRefusal)) return new BrokerError('not_found', `Keycloak has no such resource (${what})`, { cause: err, status: 404 });
    if (status === 503 || status === 502) {
      return new BrokerError('upstream_unavailable', `Keycloak is unavailable (${what})`, { cause: err, retryAfter: 5 });
    }
    return new BrokerError('upstream_bad_response', `Keycloak answered ${status} during ${what}`, { cause: err, upstream: { status } });
  }

  if (err instanceof TypeError || err instanceof UpstreamTransportError) {
    // fetch() rejects with a TypeError when the connection fails (refused, reset, DNS).
    return new BrokerError('upstream_unavailable', `Keycloak is unreachable (${what})`, { cause: err, retryAfter: 5 });
  }
  if (err instanceof ClientError || err instanceof SyntaxError || err instanceof UpstreamBadAnswer) {
    return new BrokerError('upstream_bad_response', `Keycloak sent an unusable response during ${what}`, { cause: err });
  }
  return new BrokerError('upstream_bad_response', `Keycloak call failed during ${what}`, { cause: err });
}
