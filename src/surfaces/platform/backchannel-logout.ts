/**
 * POST …/oauth/backchannel-logout: a realm tells the broker that a user's realm session
 * ended (OIDC Back-Channel Logout 1.0 §2.5; set as the back-channel logout URL of the apps'
 * clients in every realm, which sync-apps does). The logout token is verified against the
 * keys of the realm its `iss` names; the broker session built on that realm session ends,
 * and the apps of that session are told in turn (session-end.ts).
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { realmSessionEnded } from '../shared/introspection.js';
import { endSsoSession, realmSessionKey } from './session-end.js';
import { handOverLinked } from './sso-open.js';
import { records } from './transactions.js';

export function receiveBackchannelLogout(deps: Deps): Koa.Middleware {
  // The clients the broker signs users in as: its own (password grants) and its apps'.
  const audiences = [deps.config.brokerClient.clientId, ...Object.keys(deps.config.apps)];
  return async function receiveBackchannelLogout(ctx) {
    const token = (ctx.state.body as Record<string, unknown>).logout_token;
    if (typeof token !== 'string' || !token) throw new BrokerError('invalid_request', 'logout_token is required');
    const verified = await deps.verifier.verifyLogoutToken(token, audiences, ctx.state.issuer.tenant).catch((err: unknown) => {
      // §2.8: a token that does not validate is a 400 invalid_request; Keycloak being unreachable stays a 5xx.
      if (err instanceof BrokerError && err.isUpstreamFailure) throw err;
      // The verifier's own sentences say what is wrong with the token (never a key or a secret).
      const why = err instanceof BrokerError && err.code === 'invalid_token' ? `: ${err.message}` : '';
      throw new BrokerError('invalid_request', `The logout token is not valid${why}`, { cause: err });
    });
    const sid = verified.claims.sid;
    if (typeof sid === 'string') {
      await realmSessionEnded(deps, verified.realm, sid);
      const ssoId = await records.ssoOfRealmSession.take(deps.store, realmSessionKey(verified.realm.issuer, sid));
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
