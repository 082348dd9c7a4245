/**
 * A user's tokens the way a ScaiWave app gets them: Keycloak's real login form at the
 * tenant realm (with the broker's client and the host's redirect URI), then the code to
 * POST /v1/auth/login with the tenant's Host. Works for tenants whose password grant is off.
 */
import assert from 'node:assert/strict';
import { withHost } from './broker.js';
import { loginAtKeycloak } from './keycloak-login.js';

export interface ScaiWaveTenant {
  /** The Host that names the tenant, e.g. initech.localhost:3000. */
  host: string;
  /** Its redirect URI in the broker's config (scaiwave.redirectUris). */
  redirectUri: string;
  realm: string;
  /** Where the realm's Keycloak is reached (a server, or a proxy in front of one). */
  keycloakUrl: string;
}

export async function scaiwaveLogin(brokerUrl: string, t: ScaiWaveTenant, user: string): Promise<{ access_token: string; refresh_token: string }> {
  const back = await loginAtKeycloak({ baseUrl: t.keycloakUrl, realm: t.realm, clientId: 'realm-broker', redirectUri: t.redirectUri }, user, `${user.split('@')[0]}-pass`);
  const res = await withHost('POST', `${brokerUrl}/v1/auth/login`, t.host, { code: back.searchParams.get('code')! });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data;
}
