/**
 * The ID tokens the broker issues as the platform (or tenant-level) issuer (DESIGN
 * decision 3): the realm ID token's claims about the user, re-issued under the broker's
 * issuer and key, with the app as audience, the app's nonce, and the tenant.
 */
import * as jose from 'jose';
import type { Tenant } from '../tenancy/tenant.js';
import { subjectAt } from './platform-subject.js';
import type { SigningKeys } from './signing-key.js';

/** Claims about the user that pass from the realm's ID token. */
const USER_CLAIMS = ['sub', 'auth_time', 'acr', 'amr', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'preferred_username', 'locale'];

export async function issueIdToken(keys: SigningKeys, opts: {
  issuer: string;
  clientId: string;
  realmIdToken: string;
  tenant: Tenant;
  nonce?: string;
  accessToken?: string;
  ttlSeconds: number;
  /**
   * At the platform issuer (every tenant's users under one `iss`): whether it vouches for the
   * user's address (tenancy/email-vouching.ts). A tenant's own issuer passes its realm's claim on.
   */
  vouch?: (email: unknown) => Promise<boolean>;
  /** At the platform issuer: `sub` is scoped to the tenant (keys/platform-subject.ts). */
  atPlatform: boolean;
  /**
   * The realm session (Keycloak's `session_state` in its token answer): the `sid`. Not the realm
   * ID token's `sid` claim, which a realm admin's protocol mapper may set to anything, as another
   * tenant's user's session id, which the platform issuer's logout tokens then named to its apps
   * (attack round 33); `session_state` is the session's own id, which mappers do not reach.
   */
  sessionId?: string;
}): Promise<string> {
  const realm = jose.decodeJwt(opts.realmIdToken);
  const claims: Record<string, unknown> = {};
  for (const c of USER_CLAIMS) if (realm[c] !== undefined) claims[c] = realm[c];
  if (typeof claims.sub !== 'string') throw new Error('the realm\'s ID token has no sub');
  claims.sub = subjectAt(opts.atPlatform, opts.tenant.id, claims.sub);
  if (opts.sessionId !== undefined) claims.sid = opts.sessionId;
  if (claims.email_verified !== undefined && opts.vouch && !(await opts.vouch(claims.email))) delete claims.email_verified;
  if (opts.nonce) claims.nonce = opts.nonce;
  claims.tenant_id = opts.tenant.id;
  claims.tenant = opts.tenant.slug;
  if (opts.accessToken) {
    // at_hash (OIDC Core §3.1.3.6): left half of SHA-256 of the access token.
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(opts.accessToken)));
    claims.at_hash = Buffer.from(digest.slice(0, 16)).toString('base64url');
  }
  const key = await keys.get();
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setAudience(opts.clientId)
    .setIssuedAt()
    .setExpirationTime(`${opts.ttlSeconds}s`)
    .sign(key.privateKey);
}
