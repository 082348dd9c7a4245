/**
 * POST …/oauth/backchannel-logout: a realm tells the broker that a user's realm session
 * ended (OIDC Back-Channel Logout 1.0 §2.5; set as the back-channel logout URL of the apps'
 * clients in every realm, which sync-apps does). The logout token is verified against the
 * keys of the realm its `iss` names; the broker session built on that realm session ends,
 * and the apps of that session are told in turn (session-end.ts).
 *
 * Keycloak's logout token names the issuer its session began under, though the realm's admin
 * may have renamed the realm since: no realm has that issuer any more, or another realm has taken
 * the name, and such a logout ended nothing (attack rounds 50 and 53). A token that does not
 * verify as the issuer's realm's is taken from the realm its session is recorded at, by id, when
 * the session began under that issuer, and verified with that realm's keys.
 */
import * as jose from 'jose';
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { RealmEntry } from '../../tenancy/tenant.js';
import { realmSessionEnded } from '../shared/introspection.js';
import { endSsoSession, realmSessionKey, ssoOfRealmSession } from './session-end.js';
import { handOverLinked } from './sso-open.js';
import { records } from './transactions.js';

export function receiveBackchannelLogout(deps: Deps): Koa.Middleware {
  // The clients the broker signs users in as: its own (password grants) and its apps'.
  const audiences = [deps.config.brokerClient.clientId, ...Object.keys(deps.config.apps)];
  return async function receiveBackchannelLogout(ctx) {
    const token = (ctx.state.body as Record<string, unknown>).logout_token;
    if (typeof token !== 'string' || !token) throw new BrokerError('invalid_request', 'logout_token is required');
    const tenant = ctx.state.issuer.tenant;
    const verified = await deps.verifier.verifyLogoutToken(token, audiences, tenant).catch(async (err: unknown) => {
      const began = err instanceof BrokerError && err.code === 'invalid_token' ? await realmRenamedSince(deps, token) : undefined;
      if (!began) throw err;
      return deps.verifier.verifyLogoutToken(token, audiences, tenant, began);
    }).catch((err: unknown) => {
      // §2.8: a token that does not validate is a 400 invalid_request; Keycloak being unreachable stays a 5xx.
      if (err instanceof BrokerError && err.isUpstreamFailure) throw err;
      // The verifier's own sentences say what is wrong with the token (never a key or a secret).
      const why = err instanceof BrokerError && err.code === 'invalid_token' ? `: ${err.message}` : '';
      throw new BrokerError('invalid_request', `The logout token is not valid${why}`, { cause: err });
    });
    const sid = verified.claims.sid;
    if (typeof sid === 'string') {
      await realmSessionEnded(deps, verified.realm, sid);
      const ssoId = await sessionOf(deps, verified.realm, sid);
      if (ssoId) {
        // The browser's other sessions, linked from this one, stay within its sign-out's reach: handed
        // over before it ends, so that a sign-in in that browser meanwhile finds the session or its
        // heir (after it, such a sign-in found neither and linked nothing, 2 times in 10: round 40).
        const sso = await records.sso.get(deps.store, ssoId);
        if (sso) await handOverLinked(deps, ssoId, sso);
        // The realm has ended its own session already: only the broker's and the apps' remain.
        await endSsoSession(deps, ssoId, { endRealmSession: false });
      }
    }
    ctx.status = 200;
    ctx.body = '';
  };
}

/**
 * The broker session built on realm session `sid` of `realm`, taken (of two logout tokens for it,
 * one ends it). A session of another realm under that sid is not this realm's to end: a realm's
 * admin signs what they like with their realm's keys, and a session's sid is in its ID tokens.
 */
async function sessionOf(deps: Deps, realm: RealmEntry, sid: string): Promise<string | undefined> {
  const id = await ssoOfRealmSession(deps, { realmSessionId: sid, upstream: realm.upstream });
  const sso = id ? await records.sso.get(deps.store, id) : undefined;
  if (!id || (sso?.realmId !== undefined && sso.realmId.toLowerCase() !== realm.id.toLowerCase())) return undefined;
  return (await records.ssoOfRealmSession.take(deps.store, realmSessionKey(realm.upstream, sid))) === id ? id : undefined;
}

/**
 * For a logout token that is not the realm's its `iss` names now: the realm its session is recorded
 * at, when that session began under that issuer (its realm, by id, renamed since), and the issuer.
 */
async function realmRenamedSince(deps: Deps, token: string): Promise<{ realm: RealmEntry; issuer: string } | undefined> {
  let claims: jose.JWTPayload;
  try {
    claims = jose.decodeJwt(token);
  } catch {
    return undefined;
  }
  const { iss, sid } = claims;
  if (typeof iss !== 'string' || typeof sid !== 'string') return undefined;
  // Only a server whose issuers look like this one's can have begun that session.
  const servers = deps.config.upstreams.filter(({ name }) => iss.startsWith(deps.upstreams.get(name).issuerOf('')));
  for (const { name } of servers) {
    const id = await ssoOfRealmSession(deps, { realmSessionId: sid, upstream: name });
    const sso = id ? await records.sso.get(deps.store, id) : undefined;
    if (!sso?.realmId || sso.upstream !== name || !sso.realm || deps.upstreams.get(name).issuerOf(sso.realm) !== iss) continue;
    const realm = await deps.tenants.realmOf({ upstream: name, id: sso.realmId });
    if (realm && realm.issuer !== iss) return { realm, issuer: iss };
  }
  return undefined;
}
