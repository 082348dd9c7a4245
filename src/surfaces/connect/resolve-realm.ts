/**
 * The connect API names its tenant by realm UUID (Keycloak's realm `id`); without one,
 * the default tenant. A malformed UUID is as unknown as a missing realm: 404.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function resolveRealm({ tenants }: Deps): Koa.Middleware {
  return async function resolveRealmById(ctx, next) {
    // Every connect route's input has the optional realm.
    const id = (ctx.state.input as { realm?: string }).realm;
    if (id === undefined) {
      ctx.state.tenant = await tenants.defaultTenant();
    } else {
      const tenant = UUID.test(id) ? await tenants.byId(id) : undefined;
      if (!tenant) throw new BrokerError('tenant_not_found', 'Realm not found');
      ctx.state.tenant = tenant;
    }
    await next();
  };
}
