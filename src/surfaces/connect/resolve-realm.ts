/**
 * The connect API names its tenant by realm UUID (Keycloak's realm `id`); without one,
 * the default tenant. A malformed UUID is as unknown as a missing realm: 404.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { isKeycloakId, type Tenant } from '../../tenancy/tenant.js';


/** The tenant a connect request names by `realm` (every connect route's input has it). */
export async function tenantOfRealm({ tenants }: Pick<Deps, 'tenants'>, id: string | undefined): Promise<Tenant> {
  if (id === undefined) return tenants.defaultTenant();
  const tenant = isKeycloakId(id) ? await tenants.byId(id) : undefined;
  if (!tenant) throw new BrokerError('tenant_not_found', 'Realm not found');
  return tenant;
}

/** The same, as a step of a Koa route. */
export function resolveRealm(deps: Deps): Koa.Middleware {
  return async function resolveRealmById(ctx, next) {
    ctx.state.tenant = await tenantOfRealm(deps, (ctx.state.input as { realm?: string }).realm);
    await next();
  };
}
