/** The bearer token of a request (RFC 6750 §2.1), or an invalid_token error. */
import type Koa from 'koa';
import { BrokerError } from '../errors.js';

export function bearerToken(ctx: Koa.Context): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  if (!m) throw new BrokerError('invalid_token', 'A Bearer access token is required');
  return m[1]!;
}
