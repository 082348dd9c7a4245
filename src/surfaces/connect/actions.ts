/** The connect API's actions: each the last step of its route's pipeline. */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { Tenant } from '../../tenancy/tenant.js';
import { toScope } from './schemas.js';

function requireGrant(given: string | undefined, expected: string): void {
  if (given !== undefined && given !== expected) {
    throw new BrokerError('unsupported_grant_type', `grant_type must be ${expected}`);
  }
}

/** POST /oauth/connect/token: client credentials against the tenant realm. */
export function clientCredentialsToken({ upstreams }: Deps): Koa.Middleware {
  return async function clientCredentialsToken(ctx) {
    const { client_id, client_secret, grant_type, scopes } = ctx.state.input;
    requireGrant(grant_type, 'client_credentials');
    const tenant: Tenant = ctx.state.tenant;
    ctx.body = await upstreams.get(tenant.upstream).realm(tenant.realm)
      .clientCredentials({ clientId: client_id, clientSecret: client_secret }, toScope(scopes));
  };
}

/** POST /oauth/connect/user/login: password grant through the broker's own client. */
export function userPasswordLogin({ upstreams }: Deps): Koa.Middleware {
  return async function userPasswordLogin(ctx) {
    const { username, password, grant_type, scopes } = ctx.state.input;
    requireGrant(grant_type, 'password');
    const tenant: Tenant = ctx.state.tenant;
    ctx.body = await upstreams.get(tenant.upstream).realm(tenant.realm).password(username, password, toScope(scopes));
  };
}

/** POST /oauth/connect/introspect: RFC 7662 at the tenant realm, booleans as booleans. */
export function introspectToken({ upstreams }: Deps): Koa.Middleware {
  return async function introspectToken(ctx) {
    const tenant: Tenant = ctx.state.tenant;
    ctx.body = await upstreams.get(tenant.upstream).realm(tenant.realm).introspect(ctx.state.input.token);
  };
}

/** GET /healthz: liveness only (the process answers); see /readyz for dependencies. */
export async function health(ctx: Koa.Context): Promise<void> {
  ctx.body = { msg: 'OK' };
}

/**
 * GET /readyz: the store answers and every upstream lists its realms. An upstream whose
 * circuit breaker is open is reported as such ("open", "half-open" while probing), not
 * called; `upstreams` has each breaker's state and failure counts.
 */
export function readiness({ store, upstreams, tenants }: Deps): Koa.Middleware {
  return async function readiness(ctx) {
    const checks: Record<string, string> = {};
    const results = await Promise.allSettled([
      store.ping(),
      ...upstreams.all().map((u) => u.admin.listRealms()),
    ]);
    checks.store = results[0]!.status === 'fulfilled' ? 'up' : 'down';
    upstreams.all().forEach((u, i) => {
      const { state } = u.breaker.snapshot();
      checks[`keycloak:${u.name}`] = state !== 'closed' ? state : results[i + 1]!.status === 'fulfilled' ? 'up' : 'down';
    });
    const ready = Object.values(checks).every((c) => c === 'up');
    if (ready) await tenants.all();
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.set('Retry-After', '5');
    ctx.body = { msg: ready ? 'OK' : 'NOT READY', checks, upstreams: Object.fromEntries(upstreams.all().map((u) => [u.name, u.breaker.snapshot()])) };
  };
}
