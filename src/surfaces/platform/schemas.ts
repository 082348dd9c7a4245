/** Request schemas of the Platform OAuth API (seeds/004). */
import { z } from 'zod';
import { tokenField } from '../shared/token-field.js';

const opt = z.string().optional();

/** Body_platform_token_api_v1_platform_oauth_token_post */
export const tokenInput = {
  grant_type: z.string(),
  client_id: opt,
  client_secret: opt,
  code: opt,
  device_code: opt,
  refresh_token: tokenField.optional(),
  redirect_uri: opt,
  code_verifier: opt,
  scope: opt,
  subject_token: tokenField.optional(),
  subject_token_type: opt,
  audience: opt,
  requested_token_type: opt,
  /** RFC 8693 §2.1: taken only to be refused (no delegation; grants/token-exchange.ts). */
  actor_token: tokenField.optional(),
  actor_token_type: opt,
};

/** Body_device_authorize_api_v1_platform_oauth_device_authorize_post */
export const deviceAuthorizeInput = {
  client_id: opt,
  client_secret: opt,
  scope: opt,
};

export const deviceVerifyInput = {
  user_code: z.string().max(64),
};

/** RFC 7009 §2.1 (client credentials as at the token endpoint). */
export const revokeInput = {
  token: tokenField,
  token_type_hint: opt,
  client_id: opt,
  client_secret: opt,
};

/** RFC 7662 §2.1. */
export const introspectInput = {
  token: tokenField,
  token_type_hint: opt,
  client_id: opt,
  client_secret: opt,
};

/** RFC 9126 §2.1: the authorization request's parameters, pushed (plus client authentication). */
export const parInput = {
  client_id: opt,
  client_secret: opt,
  response_type: opt,
  redirect_uri: opt,
  scope: opt,
  state: opt,
  nonce: opt,
  code_challenge: opt,
  code_challenge_method: opt,
  prompt: opt,
  login_hint: opt,
  max_age: opt,
  acr_values: opt,
};
