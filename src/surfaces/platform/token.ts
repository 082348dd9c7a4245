/**
 * POST /api/v1/platform/oauth/token. Grants are added one by one as the platform grows;
 * each is a function of the authenticated client and the input.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { AuthenticatedClient } from './client-auth.js';

type Grant = (deps: Deps, client: AuthenticatedClient, input: Record<string, string | undefined>) => Promise<unknown>;

/** client_credentials: a confidential GLOBAL client, at the platform's home realm. */
const clientCredentials: Grant = async (deps, client, input) => {
  if (client.app.public) throw new BrokerError('unauthorized_client', 'A public client cannot use client_credentials');
  const home = deps.config.platform.homeTenant ?? deps.config.defaultTenant;
  const tenant = home ? await deps.tenants.bySlug(home) : undefined;
  if (!tenant) throw new BrokerError('server_error', 'No platform home tenant is configured');
  return deps.upstreams.get(tenant.upstream).realm(tenant.realm)
    .clientCredentials({ clientId: client.clientId, clientSecret: client.clientSecret }, input.scope);
};

const GRANTS: Record<string, Grant> = {
  client_credentials: clientCredentials,
};

export function platformToken(deps: Deps): Koa.Middleware {
  return async function platformToken(ctx) {
    const client: AuthenticatedClient = ctx.state.client;
    const { grant_type } = ctx.state.input;
    const grant = Object.hasOwn(GRANTS, grant_type) ? GRANTS[grant_type] : undefined;
    if (!grant) throw new BrokerError('unsupported_grant_type', `grant_type ${grant_type} is not supported`);
    if (!(client.app.grantTypes as string[]).includes(grant_type)) {
      throw new BrokerError('unauthorized_client', `${client.clientId} may not use ${grant_type}`);
    }
    ctx.body = await grant(deps, client, ctx.state.input);
  };
}
