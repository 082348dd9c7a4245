/**
 * The records of a sign-in, all in the store so that any replica can continue it:
 * - a login transaction (`tx:`), from authorize to the realm's callback (10 minutes);
 * - a broker authorization code (`code:`), single-use, 60 seconds, bound to the client,
 *   the redirect URI and the PKCE challenge;
 * - an SSO session (`sso:`), named by the broker's cookie.
 */
import { randomBytes } from 'node:crypto';
import type { TokenResponse } from '../../upstream/realm-connector.js';

export const TX_TTL = 600;
export const CODE_TTL = 60;
export const SSO_TTL = 8 * 3600;

export const randomId = (bytes = 32) => randomBytes(bytes).toString('base64url');

export interface LoginTransaction {
  issuer: string;
  issuerPath: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  prompt?: string;
  /** Fixed for a tenant issuer; chosen by email discovery for the platform. */
  tenant?: string;
  /** The realm the browser was sent to: the callback redeems the code there even if the tenant moved meanwhile. */
  upstream?: string;
  realm?: string;
  csrf: string;
  /** The broker's own PKCE and nonce towards the realm. */
  realmVerifier: string;
  realmNonce: string;
  /** Set when the sign-in approves a device: its device code. */
  device?: string;
}

/** A device authorization (RFC 8628), from device/authorize to the device's last poll. */
export interface DeviceGrant {
  issuer: string;
  clientId: string;
  scope: string;
  userCode: string;
  status: 'pending' | 'approved' | 'denied';
  expiresAt: number;
  interval: number;
  tenant?: string;
  tokens?: TokenResponse;
}

export interface AuthorizationCode {
  issuer: string;
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  nonce?: string;
  tenant: string;
  tokens: TokenResponse;
}

export interface SsoSession {
  tenant: string;
  sub: string;
  email?: string;
  /** The realm session, to end it at logout. */
  realmSessionId?: string;
  realmIdToken?: string;
}
