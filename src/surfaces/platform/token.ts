/**
 * POST …/oauth/token (RFC 6749 §3.2) for the platform and tenant issuers. The client is
 * authenticated first (client-auth.ts); each grant is one file under grants/. Access and
 * refresh tokens are the realm's (DESIGN decision 1); the ID token is the broker's, under
 * the issuer the app discovered (decision 3).
 */
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import type { DirectRoute } from '../../http/direct-lane.js';
import { tokenInput } from './schemas.js';
import { issuerAndClient } from './client-auth.js';
import { authorizationCode } from './grants/authorization-code.js';
import { clientCredentials } from './grants/client-credentials.js';
import { deviceCode } from './grants/device-code.js';
import type { Grant } from './grants/grant.js';
import { refreshToken } from './grants/refresh-token.js';
import { tokenExchange } from './grants/token-exchange.js';

const GRANTS: Record<string, Grant> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  client_credentials: clientCredentials,
  'urn:ietf:params:oauth:grant-type:device_code': deviceCode,
  'urn:ietf:params:oauth:grant-type:token-exchange': tokenExchange,
};

export const SUPPORTED_GRANTS = Object.keys(GRANTS);

/**
 * A direct route (http/direct-lane.ts): the lane serves the platform's; the tenant issuers'
 * (a path parameter) go through Koa. Either way the issuer comes first (an unknown tenant is
 * a 404), then the client, then the grant.
 */
export function platformToken(deps: Deps): DirectRoute<typeof tokenInput> {
  return {
    name: 'token', path: '/token', input: tokenInput, sources: ['body'],
    answer(input, request) {
      // A public app's id is anyone's: made-up codes and refresh tokens would each be a call to Keycloak.
      return deps.limits.refusals.run(request.address(), async () => {
        const { issuer, client } = await issuerAndClient(deps, input, request);
        const { grant_type } = input;
        const grant = Object.hasOwn(GRANTS, grant_type) ? GRANTS[grant_type] : undefined;
        if (!grant) throw new BrokerError('unsupported_grant_type', `grant_type ${grant_type} is not supported`);
        if (!(client.app.grantTypes as string[]).includes(grant_type)) {
          throw new BrokerError('unauthorized_client', `${client.clientId} may not use ${grant_type}`);
        }
        return grant({ deps, client, input, issuer });
      });
    },
  };
}
