/** Request schemas of the connect API (seeds/003): query, form or JSON alike. */
import { z } from 'zod';
import { tokenField } from '../shared/token-field.js';
import { usernameField } from '../shared/username-field.js';

const optional = z.string().optional();
const required = z.string();

export const tokenInput = {
  realm: optional,
  client_id: required,
  client_secret: required,
  grant_type: optional,
  scopes: optional,
};

export const userLoginInput = {
  realm: optional,
  username: usernameField,
  password: required,
  grant_type: optional,
  scopes: optional,
};

export const introspectInput = {
  token: tokenField,
  realm: optional,
};

/** The connect API's `scopes` is space- or comma-separated; OAuth's `scope` is space-separated. */
export function toScope(scopes: string | undefined): string | undefined {
  const list = (scopes ?? '').split(/[\s,]+/).filter(Boolean);
  return list.length ? list.join(' ') : undefined;
}
