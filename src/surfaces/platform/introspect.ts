/**
 * POST …/oauth/introspect (RFC 7662), for confidential apps (the resource servers of the
 * registry): the token is introspected at the realm that issued it, by the broker's own
 * client (present in every realm, in every token's audience as the README requires), and
 * Keycloak's answer passes through. A token the broker cannot route, or one of another
 * tenant at a tenant issuer, is `{"active": false}`.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { inputOf } from '../../http/state.js';
import { cachesIntrospection, introspectAt } from '../shared/introspection.js';
import { introspectInput } from './schemas.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { IssuerContext } from './issuer.js';
import { realmOfToken } from './token-routing.js';

export function introspect(deps: Deps): Koa.Middleware {
  return async function introspect(ctx) {
    const client: AuthenticatedClient = ctx.state.client;
    if (client.app.public) throw new BrokerError('invalid_client', 'Introspection is for confidential clients');
    const { token } = inputOf(ctx, introspectInput);
    const realm = await realmOfToken(deps, token, ctx.state.issuer as IssuerContext);
    if (!realm) {
      ctx.body = { active: false };
      return;
    }
    // The tenant of the issuing realm decides (config introspectionCache.tenants).
    const cached = deps.config.introspectionCache.maxAgeSeconds > 0 && cachesIntrospection(deps, (await deps.tenants.byRealm(realm))?.slug);
    ctx.body = await introspectAt(deps, realm, token, cached);
  };
}
