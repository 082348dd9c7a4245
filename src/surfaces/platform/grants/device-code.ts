import { pollDeviceCode } from '../device.js';
import { invalidGrant, withBrokerIdToken, type Grant } from './grant.js';

/** The device_code grant (RFC 8628): the tokens the approving user's realm issued for the device. */
export const deviceCode: Grant = async ({ deps, client, input, issuer }) => {
  const { grant } = await pollDeviceCode(deps, client.clientId, input.device_code);
  if (grant.issuer !== issuer.issuer) throw invalidGrant('The device code was issued by another issuer');
  const tenant = await deps.tenants.bySlug(grant.tenant!);
  if (!tenant) throw invalidGrant('The organisation is no longer available');
  return withBrokerIdToken(deps, issuer, client.clientId, tenant, grant.tokens!);
};
