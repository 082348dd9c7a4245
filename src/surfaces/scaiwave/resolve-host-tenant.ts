/**
 * A ScaiWave deployment serves one tenant per host. The tenant is, in order: the one
 * the configured tenant header names (for proxies and tests), the one the Host maps to,
 * the default tenant. A header naming an unknown tenant is an error, not a fallback.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { byHost, requestHost, type RequestHeaders } from '../../http/request-host.js';
import type { Tenant } from '../../tenancy/tenant.js';

/** The tenant a ScaiWave request is for: the tenant header (when configured), its host, or the default. */
export async function tenantOfHost({ config, tenants }: Pick<Deps, 'config' | 'tenants'>, request: RequestHeaders): Promise<Tenant> {
  const header = config.scaiwave.tenantHeader.toLowerCase();
  const named = header ? request.get(header) : '';
  const host = requestHost(request, config.trustProxy);
  const mapped = byHost(config.scaiwave.hosts, host);
  if (named) {
    const tenant = await tenants.bySlug(named);
    if (!tenant) throw new BrokerError('tenant_not_found', `No tenant ${named}`);
    return tenant;
  }
  if (mapped) {
    const tenant = await tenants.bySlug(mapped);
    if (!tenant) throw new BrokerError('tenant_not_found', `Host ${host} maps to ${mapped}, which is not a tenant`);
    return tenant;
  }
  return tenants.defaultTenant().catch((err: unknown) => {
    // Keycloak being down is its own answer (503), not "no tenant".
    if (err instanceof BrokerError && err.code === 'tenant_not_found') {
      throw new BrokerError('tenant_not_found', `No tenant serves host ${host}`, { cause: err });
    }
    throw err;
  });
}

/** The same, as a step of a Koa route. */
export function resolveHostTenant(deps: Deps): Koa.Middleware {
  return async function resolveHostTenant(ctx, next) {
    ctx.state.tenant = await tenantOfHost(deps, ctx);
    await next();
  };
}

/** The redirect URI of this deployment's /v1/auth/login for the request's host. */
export function loginRedirectUri({ config }: Deps, ctx: Koa.Context): string {
  return byHost(config.scaiwave.redirectUris, requestHost(ctx, config.trustProxy))
    ?? config.scaiwave.redirectUri
    ?? `${config.publicUrl}/v1/auth/login`;
}
