import { pollDeviceCode } from '../device.js';
import { invalidGrant, withBrokerIdToken, type Grant } from './grant.js';

/**
 * The device_code grant (RFC 8628): the tokens the approving user's realm issued for the
 * device. A code is answered only at the issuer that issued it, and at a tenant issuer
 * only with a user of that tenant (the approval pages enforce both; this is the last word).
 */
export const deviceCode: Grant = async ({ deps, client, input, issuer }) => {
  const { grant } = await pollDeviceCode(deps, client.clientId, input.device_code, issuer.issuer);
  if (issuer.tenant && grant.tenant !== issuer.tenant.slug) throw invalidGrant('The device was approved by a user of another organisation');
  const tenant = await deps.tenants.bySlug(grant.tenant!);
  if (!tenant) throw invalidGrant('The organisation is no longer available');
  return withBrokerIdToken(deps, issuer, client.clientId, tenant, grant.tokens!);
};
