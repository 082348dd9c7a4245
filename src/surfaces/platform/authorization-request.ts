/**
 * The checks of an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636),
 * written once for both ways one arrives: the query of GET …/authorize, or the body of a
 * pushed request (RFC 9126, par.ts). The client and its redirect URI come first: when either
 * is wrong nobody may be redirected (no open redirector); anything else wrong is an error
 * the app gets back.
 */
import type { AppConfig } from '../../config/schema.js';
import type { Deps } from '../../deps.js';
import type { IssuerContext } from './issuer.js';
import { promptProblem } from './prompt.js';
import { appServedAt, findApp } from './sign-in.js';

const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
/** Seconds (OIDC Core §3.1.2.1); nine digits at most, which Keycloak reads as an int. */
const MAX_AGE = /^\d{1,9}$/;
/**
 * The longest value of each free-text parameter the broker keeps with a sign-in (transaction,
 * pushed request): generous for any app (a JWT as `state`), small enough that a flood of
 * pushed requests cannot hold 64 KiB each (attack helper, 2026-12-06).
 */
export const MAX_LENGTH: Partial<Record<(typeof PARAMS)[number], number>> = { state: 4096, nonce: 512, scope: 2048, login_hint: 512, acr_values: 512, prompt: 64 };

/** The parameters of an accepted request (only those the broker uses). */
export interface AuthorizationParams {
  client_id: string;
  redirect_uri: string;
  scope: string;
  state?: string;
  nonce?: string;
  code_challenge?: string;
  prompt?: string;
  login_hint?: string;
  /** OIDC Core §3.1.2.1: passed on to the realm, which re-authenticates past it (and for acr_values). */
  max_age?: string;
  acr_values?: string;
}

export type Checked =
  | { ok: true; app: AppConfig; params: AuthorizationParams }
  /** Wrong client or redirect URI: an error page (or a 400 for a pushed request). */
  | { ok: false; page: string }
  /** Anything else: an RFC 6749 §4.1.2.1 error to send back to the app. */
  | { ok: false; redirectUri: string; state?: string; error: string; description: string };

export const PARAMS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt', 'login_hint', 'max_age', 'acr_values'] as const;

export function checkAuthorizationRequest(deps: Deps, iss: IssuerContext, q: Record<string, unknown>): Checked {
  const one = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
  const app = findApp(deps, one('client_id'));
  // A tenant issuer serves GLOBAL apps and its own; the platform GLOBAL ones only.
  if (!app || !appServedAt(app, iss) || !app.grantTypes.includes('authorization_code')) {
    return { ok: false, page: 'This application is not known here. Go back to the application and try again.' };
  }
  const redirectUri = one('redirect_uri');
  if (!redirectUri || !app.redirectUris.includes(redirectUri)) {
    return { ok: false, page: 'The application asked to return to an address it has not registered.' };
  }
  const state = one('state');
  const back = (error: string, description: string): Checked => ({ ok: false, redirectUri, state, error, description });
  for (const k of Object.keys(q)) if (Array.isArray(q[k])) return back('invalid_request', `${k} given twice`);
  for (const [k, max] of Object.entries(MAX_LENGTH)) {
    if ((one(k)?.length ?? 0) > max!) return back('invalid_request', `${k} is longer than ${max} characters`);
  }
  if (!one('response_type')) return back('invalid_request', 'response_type is required');
  if (one('response_type') !== 'code') return back('unsupported_response_type', 'Only response_type=code is supported');
  // OIDC Core §6 and §3.1.2.6: what is not supported is said, not ignored (round 32: a request
  // object was dropped and the sign-in went on with the parameters beside it).
  if (q.request !== undefined) return back('request_not_supported', 'Request objects are not supported: send the parameters, or push them (PAR)');
  if (q.registration !== undefined) return back('registration_not_supported', 'The registration parameter is not supported');
  if (one('response_mode') !== undefined && one('response_mode') !== 'query') return back('invalid_request', 'Only response_mode=query is supported');
  const scope = one('scope') ?? '';
  if (!scope.split(' ').includes('openid')) return back('invalid_scope', 'The openid scope is required');
  const challenge = one('code_challenge');
  const method = one('code_challenge_method');
  if (app.public && !challenge) return back('invalid_request', 'PKCE (code_challenge with S256) is required for public clients');
  if (challenge && method !== 'S256') return back('invalid_request', 'code_challenge_method must be S256');
  if (!challenge && method) return back('invalid_request', 'code_challenge_method without code_challenge');
  if (challenge && !PKCE_VALUE.test(challenge)) return back('invalid_request', 'Malformed code_challenge');
  const badPrompt = promptProblem(one('prompt'));
  if (badPrompt) return back('invalid_request', badPrompt);
  const maxAge = one('max_age');
  if (maxAge !== undefined && !MAX_AGE.test(maxAge)) return back('invalid_request', 'max_age must be a number of seconds');
  return {
    ok: true,
    app,
    params: {
      client_id: one('client_id')!, redirect_uri: redirectUri, scope, state, nonce: one('nonce'),
      code_challenge: challenge, prompt: one('prompt'), login_hint: one('login_hint'), max_age: maxAge, acr_values: one('acr_values'),
    },
  };
}
