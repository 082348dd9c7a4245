/**
 * Authenticates the client at the token endpoint (RFC 6749 §2.3): client_secret_basic
 * (the `authorization` header), client_secret_post, or none for public clients. Only apps
 * of the registry are known; one method per request (§2.3.1).
 */
import type Koa from 'koa';
import type { AppConfig } from '../../config/schema.js';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { KnownSecret } from '../../http/same-secret.js';
import type { DirectRequest } from '../../http/direct-lane.js';
import { issuerOf, type IssuerContext } from './issuer.js';
import { appServedAt } from './sign-in.js';

export interface AuthenticatedClient {
  clientId: string;
  app: AppConfig;
  clientSecret?: string;
}

const bad = (why: string) => new BrokerError('invalid_client', why);

function fromBasic(header: string): { id: string; secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw bad('Malformed Basic credentials');
  try {
    return { id: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')) };
  } catch {
    throw bad('Malformed Basic credentials');
  }
}

/** Each app's secret as a KnownSecret, remade when the app's secret changes (apps sync). */
const known = new WeakMap<AppConfig, KnownSecret>();
function secretOf(app: AppConfig): KnownSecret {
  let secret = known.get(app);
  if (secret?.secret !== (app.clientSecret ?? '')) known.set(app, (secret = new KnownSecret(app.clientSecret ?? '')));
  return secret;
}

/**
 * The client a request authenticates as (Basic or the body, RFC 6749 §2.3.1), for `issuer`:
 * the platform serves GLOBAL apps only; a tenant issuer serves those and the tenant's own
 * (`appServedAt`).
 */
export function authenticate(config: Deps['config'], input: { client_id?: string; client_secret?: string }, authorization: string, issuer: IssuerContext | undefined): AuthenticatedClient {
  const basic = authorization ? fromBasic(authorization) : undefined;
  if (authorization && !basic) throw bad('Unsupported client authentication scheme');
  if (basic && input.client_secret) throw bad('Use one client authentication method, not two');
  if (basic && input.client_id && input.client_id !== basic.id) throw bad('client_id does not match the credentials');
  const clientId = basic?.id ?? input.client_id;
  const secret = basic?.secret ?? input.client_secret;
  if (!clientId) throw bad('Client authentication is required');
  const app = Object.hasOwn(config.apps, clientId) ? config.apps[clientId] : undefined;
  if (!app || !appServedAt(app, issuer)) throw bad('Unknown client');
  if (app.public) {
    if (secret) throw bad('A public client has no secret');
  } else if (!secret || !secretOf(app).matches(secret)) {
    throw bad('Invalid client credentials');
  }
  return { clientId, app, clientSecret: app.public ? undefined : secret };
}

export function authenticateClient({ config }: Deps): Koa.Middleware {
  return function authenticateClient(ctx, next) {
    ctx.state.client = authenticate(config, ctx.state.input as { client_id?: string; client_secret?: string }, ctx.get('authorization'), ctx.state.issuer);
    return next();
  };
}

/**
 * The issuer and the client of a direct route's request (the token and introspection
 * endpoints): the issuer first (an unknown tenant is a 404, and the request is that tenant's
 * in the access line), then the client it serves.
 */
export async function issuerAndClient(deps: Deps, input: { client_id?: string; client_secret?: string }, request: DirectRequest): Promise<{ issuer: IssuerContext; client: AuthenticatedClient }> {
  const issuer = await issuerOf(deps, request.params.slug);
  if (issuer.tenant) request.tenant = issuer.tenant;
  return { issuer, client: authenticate(deps.config, input, request.get('authorization'), issuer) };
}
