import { BrokerError } from '../../../errors.js';
import { clientCredentialsGrant } from '../../shared/client-credentials.js';
import { credentials, publishKeyOf, type Grant } from './grant.js';

/** client_credentials: a confidential client, at the platform's home realm (or the issuer's tenant). */
export const clientCredentials: Grant = async ({ deps, client, input, issuer }) => {
  if (client.app.public) throw new BrokerError('unauthorized_client', 'A public client cannot use client_credentials');
  const home = deps.config.platform.homeTenant ?? deps.config.defaultTenant;
  const tenant = issuer.tenant ?? (home ? await deps.tenants.bySlug(home) : undefined);
  if (!tenant) throw new BrokerError('server_error', 'No platform home tenant is configured');
  const { tokens, fresh } = await clientCredentialsGrant(deps, tenant, credentials(client), input.scope);
  // A cached token's key was checked when Keycloak issued it.
  if (fresh) await publishKeyOf(deps, tokens.access_token);
  return tokens;
};
