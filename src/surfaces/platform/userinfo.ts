/**
 * GET and POST /api/v1/platform/oauth/userinfo: the user's claims from their realm (the
 * one that issued the access token, verified locally first), plus the tenant; at the platform
 * issuer, `email_verified` as its ID tokens carry it (tenancy/email-vouching.ts).
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { bearerToken } from '../../http/bearer.js';
import { platformSubject } from '../../keys/platform-subject.js';
import { translateUpstreamError } from '../../upstream/translate-error.js';

export function userinfo(deps: Deps): Koa.Middleware {
  return async function userinfo(ctx) {
    const token = bearerToken(ctx);
    const realm = await deps.verifier.issuingRealm(token);
    const tenant = await deps.tenants.byRealm(realm);
    if (!tenant) throw new BrokerError('invalid_token', 'The token belongs to no tenant');
    await deps.verifier.verifyAccessToken(token, tenant);
    // A tenant-level issuer serves its own tenant's users only.
    const issuer = ctx.state.issuer as { tenant?: { slug: string } } | undefined;
    if (issuer?.tenant && issuer.tenant.slug !== tenant.slug) throw new BrokerError('invalid_token', 'The token belongs to another tenant');
    const connector = deps.upstreams.get(realm.upstream).realm(realm.realm);
    let res: Response;
    try {
      // Keycloak loads the user, through the realm's user federation: one of the realm's slots.
      res = await connector.userFetch(`${connector.address.internalBase}/protocol/openid-connect/userinfo`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
    } catch (err) {
      throw translateUpstreamError(err, 'userinfo');
    }
    // Keycloak answers 403 for a token without the openid scope (RFC 6750 §3.1: insufficient_scope).
    if (res.status === 403) throw new BrokerError('insufficient_scope', 'The token lacks the openid scope');
    if (res.status === 401) throw new BrokerError('invalid_token', 'The token is no longer active');
    if (!res.ok) throw translateUpstreamError(new BrokerError('upstream_bad_response', `userinfo answered ${res.status}`), 'userinfo');
    const claims = (await res.json().catch((err) => { throw translateUpstreamError(err, 'userinfo'); })) as Record<string, unknown>;
    // The platform issuer vouches for an address as its ID tokens do (tenancy/email-vouching.ts),
    // and says the `sub` they say (keys/platform-subject.ts; OIDC Core §5.3.2: the same).
    if (issuer?.tenant) {
      ctx.body = { ...claims, tenant_id: tenant.id, tenant: tenant.slug };
      return;
    }
    if (typeof claims.sub !== 'string') throw translateUpstreamError(new BrokerError('upstream_bad_response', 'userinfo answered without a sub'), 'userinfo');
    const said = await deps.vouching.claims(claims, tenant);
    ctx.body = { ...said, sub: platformSubject(tenant.id, claims.sub), tenant_id: tenant.id, tenant: tenant.slug };
  };
}
