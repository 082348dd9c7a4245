/** Request schemas of the ScaiWave Auth API (seeds/001): query, form or JSON alike. */
import { z } from 'zod';
import { tokenField } from '../shared/token-field.js';
import { usernameField } from '../shared/username-field.js';

export const loginInput = {
  code: z.string(),
  redirect_uri: z.string().optional(),
  /** Not in the document: for apps that used PKCE at the authorization request. */
  code_verifier: z.string().optional(),
  /**
   * Not in the document: the `iss` of the authorization response (RFC 9207), which Keycloak
   * sends with the code. It names the realm that issued the code, which alone is asked.
   */
  iss: z.string().optional(),
};

export const passwordInput = {
  grant_type: z.literal('password', { error: 'grant_type must be "password"' }).optional(),
  username: usernameField,
  password: z.string().max(1024),
  scope: z.string().optional(),
};

export const refreshInput = {
  refresh_token: tokenField,
};
