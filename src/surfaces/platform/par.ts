/**
 * POST …/oauth/par (RFC 9126): the app pushes its authorization request over the back
 * channel, authenticated as at the token endpoint; it is checked as at …/authorize and kept
 * in the store (every replica can serve the authorize that uses it) for 60 s, single use,
 * bound to the client. The app then sends the browser to …/authorize with only `client_id`
 * and the returned `request_uri`.
 *
 * A public app's requests are anyone's to push: each counts as a sign-in started from the
 * caller's address (`platform.signInsPerAddress`), as at …/authorize. A confidential app's
 * backend, which pushes for all its users from one address, is not limited.
 */
import type Koa from 'koa';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { clientAddress } from '../../http/client-address.js';
import { PARAMS, checkAuthorizationRequest } from './authorization-request.js';
import type { AuthenticatedClient } from './client-auth.js';
import type { IssuerContext } from './issuer.js';
import { PAR_TTL, randomId, records } from './transactions.js';

export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

export function pushedAuthorizationRequest(deps: Deps): Koa.Middleware {
  return async function pushedAuthorizationRequest(ctx) {
    const client: AuthenticatedClient = ctx.state.client;
    const iss: IssuerContext = ctx.state.issuer;
    const body = ctx.state.body as Record<string, unknown>;
    if (client.app.public) await deps.limits.signInStart.consume(clientAddress(ctx));
    if (body.request_uri !== undefined) throw new BrokerError('invalid_request', 'request_uri may not be pushed (RFC 9126 §2.1)');
    const pushed = Object.fromEntries(PARAMS.map((k) => [k, body[k]]).filter(([, v]) => v !== undefined));
    pushed.client_id = client.clientId;
    const checked = checkAuthorizationRequest(deps, iss, pushed);
    if (!checked.ok) {
      if ('page' in checked) throw new BrokerError('invalid_request', checked.page);
      throw new BrokerError(checked.error === 'invalid_scope' ? 'invalid_scope' : 'invalid_request', checked.description);
    }
    const id = randomId();
    await records.pushedRequest.put(deps.store, id, { issuer: iss.issuer, params: checked.params });
    ctx.status = 201;
    ctx.body = { request_uri: `${REQUEST_URI_PREFIX}${id}`, expires_in: PAR_TTL };
  };
}
