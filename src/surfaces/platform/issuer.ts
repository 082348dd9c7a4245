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

/** The platform's issuer. */
export function platformIssuerContext({ config }: Pick<Deps, 'config'>): IssuerContext {
  return {
    issuer: `${config.publicUrl}${PLATFORM_PATH}`,
    path: PLATFORM_PATH,
    // The broker's keys only; the documented /api/v1/platform/.well-known/jwks.json has the realms'.
    jwksUri: `${config.publicUrl}${PLATFORM_PATH}/.well-known/jwks.json`,
  };
}

/** The issuer of the tenant named `slug` (a 404 when there is none). */
export async function tenantIssuerContext({ config, tenants }: Pick<Deps, 'config' | 'tenants'>, slug: string): Promise<IssuerContext> {
  const tenant = await tenants.bySlug(slug);
  if (!tenant) throw new BrokerError('tenant_not_found', `No tenant ${slug}`);
  const path = tenantPath(tenant.slug);
  return { issuer: `${config.publicUrl}${path}`, path, jwksUri: `${config.publicUrl}${path}/.well-known/jwks.json`, tenant };
}

/** The issuer a request is for: its path's tenant (`slug`), or the platform. */
export function issuerOf(deps: Pick<Deps, 'config' | 'tenants'>, slug: string | undefined): Promise<IssuerContext> {
  return slug === undefined ? Promise.resolve(platformIssuerContext(deps)) : tenantIssuerContext(deps, slug);
}

export function platformIssuer(deps: Deps): Koa.Middleware {
  return function platformIssuer(ctx, next) {
    ctx.state.issuer = platformIssuerContext(deps);
    return next();
  };
}

export function tenantIssuer(deps: Deps): Koa.Middleware {
  return async function tenantIssuer(ctx, next) {
    ctx.state.issuer = await tenantIssuerContext(deps, ctx.params.slug!);
    await next();
  };
}
