/**
 * An OAuth issuer the broker serves: the platform (`/api/v1/platform/oauth`, GLOBAL apps,
 * tenant found from the email) or one tenant (`/api/v1/auth/tenants/{slug}/oauth`, the
 * tenant fixed by the path). Both run the same actions; this says which one a request is for.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { Tenant } from '../../tenancy/tenant.js';

export interface IssuerContext {
  /** The issuer identifier, e.g. http://127.0.0.1:3000/api/v1/platform/oauth */
  issuer: string;
  /** Path prefix of the OAuth endpoints (no origin). */
  path: string;
  /** Where the JWKS is published (absolute). */
  jwksUri: string;
  /** The tenant, when the issuer is a tenant's. */
  tenant?: Tenant;
}

export const PLATFORM_PATH = '/api/v1/platform/oauth';
export const tenantPath = (slug: string) => `/api/v1/auth/tenants/${encodeURIComponent(slug)}/oauth`;

export function platformIssuer({ config }: Deps): Koa.Middleware {
  return function platformIssuer(ctx, next) {
    ctx.state.issuer = {
      issuer: `${config.publicUrl}${PLATFORM_PATH}`,
      path: PLATFORM_PATH,
      // The broker's keys only; the documented /api/v1/platform/.well-known/jwks.json has the realms'.
      jwksUri: `${config.publicUrl}${PLATFORM_PATH}/.well-known/jwks.json`,
    } satisfies IssuerContext;
    return next();
  };
}

export function tenantIssuer({ config, tenants }: Deps): Koa.Middleware {
  return async function tenantIssuer(ctx, next) {
    const tenant = await tenants.bySlug(ctx.params.slug!);
    if (!tenant) throw new BrokerError('tenant_not_found', `No tenant ${ctx.params.slug}`);
    const path = tenantPath(tenant.slug);
    ctx.state.issuer = {
      issuer: `${config.publicUrl}${path}`,
      path,
      jwksUri: `${config.publicUrl}${path}/.well-known/jwks.json`,
      tenant,
    } satisfies IssuerContext;
    await next();
  };
}
